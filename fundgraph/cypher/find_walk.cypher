// GET /api/graph/neighborhood of depth 1 or 2 and limit <= codec.WALK_HEAD + 1, from what the node stores:
// - a node with few neighbours its walk (codec.walk_heads: fg_walk, the depth-2 walk's first nodes past the node, in
//   the walk's order; fg_walk_n, its level-1 count and whether the walk goes on);
// - a hub (fg_nbrs, its first neighbours in id order: codec.neighbour_heads) with at least $limit neighbours: the walk
//   is its first $limit - 1 neighbours (level 1 fills it), as hub.
// With the build check and the node with id $id: the stored walk (null when the node has none: the caller then walks
// with find_neighbourhood) and the views ([id, fg_view]) of the node and of the walk's first $limit - 1 nodes (of its
// level-1 nodes only, at depth 1): an index seek and one property read a node, instead of expanding the walk here.
// With $stored (depth and limit those of codec.STORED_DEPTH/STORED_LIMIT) and a node that stores that answer (fg_nb,
// gzip-compressed JSON), the answer instead of any view.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (x:Node {id: $id})
WITH m, x, CASE WHEN $stored THEN x.fg_nb END AS answer
WITH m, x, answer, CASE WHEN answer IS NULL THEN x END AS y
WITH m, x, answer, y.fg_walk AS walk, y.fg_walk_n AS counts,
     CASE WHEN y.fg_walk IS NULL AND size(y.fg_nbrs) >= $limit THEN y.fg_nbrs[..$limit - 1] END AS hub
CALL (walk, counts, hub) {
  UNWIND CASE WHEN walk IS NULL THEN coalesce(hub, [])
              WHEN $depth = 1 THEN walk[..counts[0]][..$limit - 1]
              ELSE walk[..$limit - 1] END AS wid
  MATCH (w:Node {id: wid})
  RETURN collect([w.id, w.fg_view]) AS views
}
RETURN m.build AS build, m.layout AS layout, x.id AS exact, answer, walk[..$limit] AS walk, size(walk) AS walk_size,
       counts, hub,
       CASE WHEN x IS NULL OR answer IS NOT NULL OR (walk IS NULL AND hub IS NULL) THEN [] ELSE [[x.id, x.fg_view]] END
       + views AS views
