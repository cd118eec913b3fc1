// GET /api/graph/neighborhood: the chosen nodes' small properties ($node_keys) and the relationships among
// them in build order (fg_seq), with their edge key and small properties ($edge_keys).
// The nodes are found once (index seeks) and the relationships kept by node identity (v IN ns): matching
// (v:Node) and reading v.id for every relationship of every chosen node was most of the statement's db hits
// (12,000-24,000 at 100,000 directions, 100 nodes).
CALL () {
  UNWIND $ids AS id
  MATCH (n:Node {id: id})
  RETURN collect(n) AS ns
}
CALL (ns) {
  UNWIND ns AS u
  MATCH (u)-[r]->(v)
  WHERE v IN ns
  WITH u, r, v
  ORDER BY r.fg_seq
  RETURN collect({source: u.id, target: v.id, props: [k IN $edge_keys WHERE r[k] IS NOT NULL | [k, r[k]]]})
         AS edges
}
RETURN [n IN ns | {id: n.id, props: [k IN $node_keys WHERE n[k] IS NOT NULL | [k, n[k]]]}] AS nodes, edges
