// GET /api/directions/{id}/similar with scope cross-program and k up to what its stored SIMILAR_TO list answers:
// the build check (build, layout) and the direction's fg_similar (its answer in parts, JSON bytes written at load:
// store.SimilarAnswers), one index seek and one property read. Reading the stored edges with their targets'
// briefs and ranking them in Python was ~1 ms of CPU a request at 100,000 directions.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (d:Node {id: $id})
WHERE d:Direction
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found, d.fg_similar AS answer
