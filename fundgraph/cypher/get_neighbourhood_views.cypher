// GET /api/graph/neighborhood: the fg_view of the chosen nodes find_neighbourhood did not read ahead (those a walk
// past depth 2 adds), as [id, fg_view] rows (codec.neighbourhood_views: what the neighbourhood shows of the node
// and of its outgoing edges, UTF-8 JSON bytes written at load): an index seek and one property read a node.
UNWIND $ids AS id
MATCH (n:Node {id: id})
RETURN collect([n.id, n.fg_view]) AS views
