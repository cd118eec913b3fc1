// GET /api/directions/{id}: the direction's properties (but those in $skip: vectors, query forms), its community,
// and every MENTIONS edge to an entity with that entity's properties, in build order (fg_seq).
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
                      ELSE {entity: e.id, label: e.label, node: [k IN keys(e) WHERE NOT k IN $skip | [k, e[k]]],
                            edge: [k IN keys(r) | [k, r[k]]]} END) AS mentions
}
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found,
       [k IN keys(d) WHERE NOT k IN $skip | [k, d[k]]] AS props, communities, mentions
