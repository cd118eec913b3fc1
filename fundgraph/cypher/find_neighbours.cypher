// GET /api/graph/neighborhood, one BFS level: for each frontier node (in the given order), its neighbours
// (either direction) not in $seen, smallest ids first, at most $cap of them.
UNWIND $frontier AS id
MATCH (u:Node {id: id})
CALL (u) {
  OPTIONAL MATCH (u)--(v:Node)
  WHERE NOT v.id IN $seen
  WITH DISTINCT v.id AS vid
  ORDER BY vid
  LIMIT $cap
  RETURN collect(vid) AS neighbours
}
RETURN id, neighbours
