// Similar/search candidates: the nodes directions mention or that MEMBER_OF links (their properties in
// $node_keys: label, name, English name), and every MEMBER_OF edge, in build order.
CALL () {
  MATCH (e:Node)
  WHERE EXISTS { MATCH (:Direction)-[:MENTIONS]->(e) } OR EXISTS { MATCH (e)-[:MEMBER_OF]-(:Node) }
  RETURN collect([e.id, [k IN $node_keys WHERE e[k] IS NOT NULL | [k, e[k]]]]) AS entities
}
CALL () {
  MATCH (a:Node)-[r:MEMBER_OF]->(b:Node)
  WITH a, b, r
  ORDER BY r.fg_seq
  RETURN collect([a.id, b.id]) AS member_of
}
RETURN entities, member_of
