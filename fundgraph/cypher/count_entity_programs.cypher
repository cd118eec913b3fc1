// GET /api/overlaps/matrix: per entity of label $label, the number of citing directions in each program.
// $keys: the properties the summary shows.
MATCH (d:Node)-[:MENTIONS]->(e:Node)
WHERE e.label = $label
WITH e, d.program_id AS program, count(DISTINCT d) AS directions
RETURN e.id AS id, [k IN keys(e) WHERE k IN $keys | [k, e[k]]] AS props,
       collect([program, directions]) AS per_program
