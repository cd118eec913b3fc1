// GET /api/overlaps/matrix: per entity of label $label, the number of directions in each program citing it or
// any of its members (MEMBER_OF, transitively): the set GET /api/directions?<type>=<entity> lists
// (graph.read.semantics.MATRIX_RULE). $keys: the properties the summary shows.
MATCH (e:Node)
WHERE e.label = $label
MATCH (d:Direction)-[:MENTIONS]->(:Node)-[:MEMBER_OF*0..]->(e)
WITH e, d.program_id AS program, count(DISTINCT d) AS directions
RETURN e.id AS id, [k IN keys(e) WHERE k IN $keys | [k, e[k]]] AS props,
       collect([program, directions]) AS per_program
