// GET /api/health: the meta node (build, layout, build meta) and the node and relationship counts, both from
// the count store (every fundgraph relationship starts at a :Node).
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
CALL () {
  MATCH (n:Node)
  RETURN count(n) AS node_count
}
CALL () {
  MATCH (:Node)-[r]->()
  RETURN count(r) AS edge_count
}
RETURN m.build AS build, m.layout AS layout, m.meta AS meta, node_count, edge_count
