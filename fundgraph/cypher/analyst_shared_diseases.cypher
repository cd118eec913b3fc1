// Analyst query: diseases cited by directions of at least $min_programs programs (e.g. :param min_programs => 3).
MATCH (p:Program)-[:HAS_DIRECTION]->(d:Direction)-[:MENTIONS]->(e:Disease)
WITH e, collect(DISTINCT p.id) AS programs, count(DISTINCT d) AS direction_count
WHERE size(programs) >= $min_programs
RETURN e.id AS disease, e.name AS name, e.name_en AS name_en, size(programs) AS program_count,
       direction_count, programs
ORDER BY program_count DESC, direction_count DESC, disease
