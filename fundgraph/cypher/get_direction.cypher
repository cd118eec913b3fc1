// GET /api/directions/{id}: the build check (build, layout of the meta node) and the direction's fg_detail, its
// detail as the API sends it (JSON bytes written at load: codec.direction_details), so a detail is one statement,
// an index seek and one property read. Reading its mentions, entities and evidence here and building the read
// model in Python was ~0.9 ms of CPU a detail at 100,000 directions. No row has found without detail.
// (d:Node {id}) is a seek on the uniqueness index; (d:Direction {id}) would scan every direction.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (d:Node {id: $id})
WHERE d:Direction
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found, d.fg_detail AS detail
