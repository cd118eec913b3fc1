// GET /api/overlaps/matrix: the program ids in manifest order, and per entity of label $label (an index seek on
// :Node(label)) the number of directions in each program citing it or any of its members (MEMBER_OF,
// transitively): the set GET /api/directions?<type>=<entity> lists (graph.read.semantics.MATRIX_RULE).
// $keys: the properties the summary shows.
CALL () {
  MATCH (p:Program)
  WITH p
  ORDER BY p.manifest_order, p.id
  RETURN collect(p.id) AS programs
}
CALL () {
  MATCH (e:Node)
  WHERE e.label = $label
  MATCH (d:Direction)-[:MENTIONS]->(:Node)-[:MEMBER_OF*0..]->(e)
  WITH e, d.program_id AS program, count(DISTINCT d) AS directions
  WITH e, collect([program, directions]) AS per_program
  RETURN collect({id: e.id, props: [k IN $keys WHERE e[k] IS NOT NULL | [k, e[k]]], per_program: per_program}) AS rows
}
RETURN programs, rows
