// GET /api/graph/neighborhood: the chosen nodes' small properties ($node_keys) and the relationships among
// them in build order (fg_seq), with their edge key and small properties ($edge_keys).
CALL () {
  UNWIND $ids AS id
  MATCH (n:Node {id: id})
  RETURN collect({id: n.id, props: [k IN $node_keys WHERE n[k] IS NOT NULL | [k, n[k]]]}) AS nodes
}
CALL () {
  UNWIND $ids AS id
  MATCH (u:Node {id: id})-[r]->(v:Node)
  WHERE v.id IN $ids
  WITH u, r, v
  ORDER BY r.fg_seq
  RETURN collect({source: u.id, target: v.id, props: [k IN $edge_keys WHERE r[k] IS NOT NULL | [k, r[k]]]})
         AS edges
}
RETURN nodes, edges
