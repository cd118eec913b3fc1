// GET /api/graph/neighborhood, in one statement: the build check (build, layout), the node with id $id (null
// when none has it: the caller then resolves a name with resolve_node, whose lookup forms have no index and
// which therefore is not part of this statement: the planner scanned every node even when the id matched),
// and from that node the first two levels of the breadth-first walk (graph.read.semantics.walk):
// - level1: its neighbours (either direction), smallest ids first, at most $limit (the walk takes $limit - 1;
//   one more tells that it is truncated);
// - level2 (when $depth >= 2 and level 1 does not fill the walk): the level-1 nodes in order, each with its
//   neighbours not seen yet, smallest ids first, as the walk takes them: at most 2 * $limit per node (room for
//   the walk's needs and for the nodes earlier level-1 nodes added, which are at most what the walk can take),
//   a neighbour of an earlier level-1 node left out (the walk took it there), and the stream stops after $limit
//   of them (the walk needs at most $limit - size(level1) more). The stream is lazy: no level-1 node after that
//   is expanded. A direction's hubs (its program, community, common entities) have thousands of neighbours each;
//   reading and sorting all of them for every level-1 node was 93,000 db hits and 260 ms at 20,000 directions.
// A hub (a node with more than codec.NEIGHBOUR_HUB_DEGREE relationships) carries fg_nbrs, its first $head
// neighbour ids in order (codec.neighbour_heads): both levels take a hub's neighbours from that list when it
// holds all of them (shorter than $head) or enough of them ($limit for level 1; 3 * $limit for level 2: at most
// $limit of them are seen already), instead of reading and sorting all its relationships (the first level-1 hub
// read in full was most of a 1.4 s neighbourhood at 20,000 directions). The list is in order already: its nodes are
// not sorted again, so the seeks stop with the stream (sorting them read all 2 * $limit: ~0.4 ms of Neo4j CPU a
// depth-2 neighbourhood at 100,000 directions).
// With them, views: [id, fg_view] of the node and of the nodes of both levels the walk takes (codec.neighbourhood_views:
// what the answer shows of a node and of its outgoing edges), so that a walk of depth <= 2 from an id needs no other
// statement (a second one seeking the ~100 chosen nodes again was a third of the Neo4j CPU of a neighbourhood). The
// walk takes the first $limit - 1 nodes of level 1 then of level 2 in stream order (the rest only tell it is truncated):
// only theirs are read (the views of all the stream's nodes were ~20% more bytes, read, sent and decoded).
// Every lookup starts from the :Node(id) uniqueness index.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (x:Node {id: $id})
CALL (x) {
  WITH x.fg_nbrs AS h
  WHERE $depth >= 1 AND h IS NOT NULL AND (size(h) < $head OR size(h) >= $limit)
  RETURN h[..$limit] AS level1
  UNION ALL
  WITH x, x.fg_nbrs AS h
  WHERE NOT ($depth >= 1 AND h IS NOT NULL AND (size(h) < $head OR size(h) >= $limit))
  OPTIONAL MATCH (x)--(v:Node)
  WHERE $depth >= 1 AND v <> x
  WITH DISTINCT v.id AS vid
  ORDER BY vid
  LIMIT $limit
  RETURN [i IN collect(vid) WHERE i IS NOT NULL] AS level1
}
CALL (level1) {
  UNWIND level1 AS uid
  MATCH (u:Node {id: uid})
  RETURN collect(u) AS us
}
CALL (x, level1, us) {
  WITH [x.id] + level1 AS seen, us
  UNWIND CASE WHEN $depth >= 2 AND size(level1) < $limit THEN range(0, size(us) - 1) ELSE [] END AS pos
  WITH seen, us, pos, us[pos] AS u
  CALL (u, seen) {
    WITH u.fg_nbrs AS h, seen
    WHERE h IS NOT NULL AND (size(h) < $head OR size(h) >= 3 * $limit)
    UNWIND [i IN h[..3 * $limit] WHERE NOT i IN seen][..2 * $limit] AS wid
    MATCH (w:Node {id: wid})
    RETURN w
    UNION ALL
    WITH u, u.fg_nbrs AS h, seen
    WHERE NOT (h IS NOT NULL AND (size(h) < $head OR size(h) >= 3 * $limit))
    MATCH (u)--(w:Node)
    WHERE NOT w.id IN seen
    WITH DISTINCT w
    ORDER BY w.id
    LIMIT 2 * $limit
    RETURN w
  }
  WITH pos, u, w
  WHERE none(p IN us[..pos] WHERE EXISTS { (p)--(w) })
  LIMIT $limit
  WITH pos, u.id AS uid, collect(w) AS ws
  ORDER BY pos
  RETURN collect([uid, [w IN ws | w.id]]) AS level2, collect(ws) AS level2_nodes
}
WITH m, x, level1, level2, us, reduce(acc = [], l IN level2_nodes | acc + l) AS ws,
     CASE WHEN size(level1) < $limit THEN $limit - 1 - size(level1) ELSE 0 END AS room
RETURN m.build AS build, m.layout AS layout, x.id AS exact, level1, level2,
       CASE WHEN x IS NULL THEN [] ELSE [[x.id, x.fg_view]] END + [u IN us[..$limit - 1] | [u.id, u.fg_view]]
         + [w IN ws[..room] | [w.id, w.fg_view]] AS views
