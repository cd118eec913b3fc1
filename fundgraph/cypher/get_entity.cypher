// GET /api/entities/{type}/{id}: one entity, its direct members and groups (MEMBER_OF), and the directions
// citing it in canonical order (fg_order).
MATCH (e:Node {id: $id})
CALL (e) {
  OPTIONAL MATCH (m:Node)-[:MEMBER_OF]->(e)
  RETURN collect(DISTINCT m.id) AS members
}
CALL (e) {
  OPTIONAL MATCH (e)-[:MEMBER_OF]->(g:Node)
  RETURN collect(DISTINCT g.id) AS groups
}
CALL (e) {
  OPTIONAL MATCH (d:Node)-[:MENTIONS]->(e)
  WITH DISTINCT d
  ORDER BY d.fg_order
  RETURN collect(d {.id, .program_id, .code, .title, .title_en, .category}) AS directions
}
RETURN [k IN keys(e) | [k, e[k]]] AS props, members, groups, directions
