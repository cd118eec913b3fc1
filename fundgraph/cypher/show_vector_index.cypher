SHOW VECTOR INDEXES YIELD name, state, options
WHERE name = 'direction_embedding'
RETURN name, state, options.indexConfig.`vector.dimensions` AS dimensions
