// GET /api/overlaps: entities cited by directions of both programs $a and $b, each with every direction citing
// it (canonical order) and the number of programs citing it. $keys: the properties the summary shows.
MATCH (:Direction {program_id: $a})-[:MENTIONS]->(e:Node)
WHERE e.label IN $entity_labels
WITH DISTINCT e
WHERE EXISTS { MATCH (:Direction {program_id: $b})-[:MENTIONS]->(e) }
CALL (e) {
  MATCH (d:Node)-[:MENTIONS]->(e)
  WITH DISTINCT d
  ORDER BY d.fg_order
  RETURN collect(d {.id, .program_id, .code, .title, .title_en, .category}) AS directions,
         count(DISTINCT d.program_id) AS program_count
}
RETURN e.id AS id, e.label AS label, [k IN $keys WHERE e[k] IS NOT NULL | [k, e[k]]] AS props,
       directions, program_count
