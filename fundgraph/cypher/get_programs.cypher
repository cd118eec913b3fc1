// GET /api/programs: every program in manifest order with its direction count.
MATCH (p:Program)
OPTIONAL MATCH (p)-[:HAS_DIRECTION]->(d:Direction)
WITH p, count(d) AS direction_count
RETURN p {.id, .name, .name_en, .funder, .funder_en, .series, .year, .status, .source_file} AS program,
       direction_count
ORDER BY p.manifest_order, p.id
