// GET /api/graph/neighborhood, the elements: each chosen node's fg_view (codec.neighbourhood_views: what the
// neighbourhood shows of the node and of its outgoing edges, one JSON string written at load), in $ids' order.
// 100 index seeks and 100 property reads; the caller keeps the edges whose target is chosen. (Reading every
// relationship of the chosen nodes and 10 properties of each kept one was 10,000 db hits and 8 ms of Neo4j CPU at
// 100,000 directions.) A node with too many outgoing edges has none in its view: get_neighbourhood_edges.
UNWIND $ids AS id
MATCH (n:Node {id: id})
RETURN collect([n.id, n.fg_view]) AS views
