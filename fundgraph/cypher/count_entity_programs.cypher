// GET /api/overlaps/matrix: the program ids in manifest order, and per entity of label $label (an index seek on
// :Node(label)) the number of citing directions in each program. $keys: the properties the summary shows.
CALL () {
  MATCH (p:Program)
  WITH p
  ORDER BY p.manifest_order, p.id
  RETURN collect(p.id) AS programs
}
CALL () {
  MATCH (e:Node)
  WHERE e.label = $label
  MATCH (d:Node)-[:MENTIONS]->(e)
  WITH e, d.program_id AS program, count(DISTINCT d) AS directions
  WITH e, collect([program, directions]) AS per_program
  RETURN collect({id: e.id, props: [k IN $keys WHERE e[k] IS NOT NULL | [k, e[k]]], per_program: per_program}) AS rows
}
RETURN programs, rows
