// GET /api/directions/{id}: the direction's properties (but those in $skip: vectors, query forms), its community,
// and every MENTIONS edge to an entity in build order (fg_seq), with the values of the entity's $entity_keys and of
// the edge's $mention_keys in that order (what the detail shows: every key of each was 60 db hits an entity).
// With the build check (build, layout of the meta node), so a detail is one statement; no row has d null.
// (d:Node {id}) is a seek on the uniqueness index; (d:Direction {id}) would scan every direction.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (d:Node {id: $id})
WHERE d:Direction
CALL (d) {
  OPTIONAL MATCH (d)-[ic:IN_COMMUNITY]->(c:Node)
  WITH ic, c
  ORDER BY ic.fg_seq
  RETURN collect(c.id) AS communities
}
CALL (d) {
  OPTIONAL MATCH (d)-[r:MENTIONS]->(e:Node)
  WHERE e.label IN $entity_labels
  WITH r, e
  ORDER BY r.fg_seq
  RETURN collect(CASE WHEN r IS NULL THEN null
                      ELSE {entity: e.id, label: e.label, node: [k IN $entity_keys | e[k]],
                            edge: [k IN $mention_keys | r[k]]} END) AS mentions
}
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found,
       [k IN keys(d) WHERE NOT k IN $skip | [k, d[k]]] AS props, communities, mentions
