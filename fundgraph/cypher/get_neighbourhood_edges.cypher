// GET /api/graph/neighborhood: the outgoing edges of the chosen nodes $sources (those whose fg_view holds none:
// more than codec.VIEW_MAX_OUT_EDGES) to any chosen node ($ids), in build order (fg_seq), as compact rows
// [source id, target id, its $edge_keys' values] (null where unset). Values in a fixed key order rather than
// [key, value] pairs: each property is read once and the keys are not sent again for every edge.
// The nodes are found once (index seeks) and the relationships kept by node identity (v IN ns).
CALL () {
  UNWIND $ids AS id
  MATCH (n:Node {id: id})
  RETURN collect(n) AS ns
}
UNWIND $sources AS sid
MATCH (u:Node {id: sid})
MATCH (u)-[r]->(v)
WHERE v IN ns
WITH u, r, v
ORDER BY r.fg_seq
RETURN collect([u.id, v.id] + [k IN $edge_keys | r[k]]) AS edges
