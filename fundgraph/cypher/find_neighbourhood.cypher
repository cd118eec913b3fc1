// GET /api/graph/neighborhood, in one statement: the build check (build, layout), the node with id $id (null
// when none has it: the caller then resolves a name with resolve_node, whose lookup forms have no index and
// which therefore is not part of this statement: the planner scanned every node even when the id matched),
// and from that node the first two levels of the breadth-first walk (graph.read.semantics.walk):
// - level1: its neighbours (either direction), smallest ids first, at most $limit (the walk takes $limit - 1;
//   one more tells that it is truncated);
// - level2 (when $depth >= 2 and level 1 does not fill the walk): per level-1 node, in order, its neighbours
//   not seen yet, smallest ids first, at most 2 * room + 1 of them (room: what the walk can still take; the
//   nodes earlier level-1 nodes add, the nodes still to add, and one to tell truncation; a slice, as LIMIT
//   cannot name a variable).
// Every lookup starts from the :Node(id) uniqueness index.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (x:Node {id: $id})
CALL (x) {
  OPTIONAL MATCH (x)--(v:Node)
  WHERE $depth >= 1 AND v <> x
  WITH DISTINCT v.id AS vid
  ORDER BY vid
  LIMIT $limit
  RETURN [i IN collect(vid) WHERE i IS NOT NULL] AS level1
}
CALL (x, level1) {
  WITH x, level1, [x.id] + level1 AS seen, 2 * ($limit - 1 - size(level1)) + 1 AS cap
  UNWIND CASE WHEN $depth >= 2 AND size(level1) < $limit THEN level1 ELSE [] END AS uid
  MATCH (u:Node {id: uid})
  CALL (u, seen, cap) {
    OPTIONAL MATCH (u)--(w:Node)
    WHERE NOT w.id IN seen
    WITH DISTINCT w.id AS wid
    ORDER BY wid
    RETURN [i IN collect(wid) WHERE i IS NOT NULL] AS sorted
  }
  WITH uid, sorted[..cap] AS neighbours
  RETURN collect([uid, neighbours]) AS level2
}
RETURN m.build AS build, m.layout AS layout, x.id AS exact, level1, level2
