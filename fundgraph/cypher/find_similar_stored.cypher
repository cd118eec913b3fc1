// GET /api/directions/{id}/similar, first statement (the whole answer for scope cross-program with k up to the
// build's similar_top_k, RankingContext.stored_similar): the build check (build, layout), direction $id (a seek
// on the :Node(id) uniqueness index) with its cited entities, and its stored SIMILAR_TO edges (the build's
// cross-program top list at or above the threshold, ranked as live) with each target's brief and cited entities.
// No candidate and no vector is read here: find_similar_candidates(_all) reads them when the list cannot answer.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (d:Node {id: $id})
WHERE d:Direction
CALL (d) {
  OPTIONAL MATCH (d)-[s:SIMILAR_TO]->(t:Node)
  RETURN collect(CASE WHEN s IS NULL THEN null
                      ELSE {brief: t {.id, .program_id, .code, .title, .title_en, .category}, direct: t.fg_direct,
                            props: [k IN keys(s) | [k, s[k]]]} END) AS stored
}
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found,
       CASE WHEN d IS NULL THEN null ELSE d {.id, .program_id, .fg_direct} END AS direction, stored
