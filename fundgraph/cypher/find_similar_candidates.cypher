// GET /api/directions/{id}/similar, one statement: the build check (build, layout), direction $id (a seek on
// the :Node(id) uniqueness index) with its row (text vector, entity profile, cited entities), its stored
// SIMILAR_TO edges (the build's cross-program top list at or above the threshold, as ranked live), and the
// candidates to re-score with their rows: the $n nearest by the vector index over the 256-d projection
// (db.index.vector.queryNodes: HNSW, no scan; find_similar_candidates_all: every direction). A candidate's row: brief, sparse vector fg_vec_idx/fg_vec_val
// (or the dense embedding when there is none), profile fg_prof_e/fg_prof_w, cited entities fg_direct.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
OPTIONAL MATCH (d:Node {id: $id})
WHERE d:Direction
CALL (d) {
  OPTIONAL MATCH (d)-[s:SIMILAR_TO]->(t:Node)
  RETURN collect(CASE WHEN s IS NULL THEN null
                      ELSE {brief: t {.id, .program_id, .code, .title, .title_en, .category}, direct: t.fg_direct,
                            props: [k IN keys(s) | [k, s[k]]]} END) AS stored
}
CALL (d) {
  WITH d
  WHERE d IS NOT NULL
  CALL db.index.vector.queryNodes('direction_embedding', $n, d.embedding) YIELD node AS c
  RETURN collect(c {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val,
                    .fg_prof_e, .fg_prof_w, .fg_direct,
                    embedding: CASE WHEN c.fg_vec_idx IS NULL THEN c.embedding END}) AS candidates
}
RETURN m.build AS build, m.layout AS layout, d IS NOT NULL AS found,
       CASE WHEN d IS NULL THEN null
            ELSE d {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val, .fg_prof_e,
                    .fg_prof_w, .fg_direct, embedding: CASE WHEN d.fg_vec_idx IS NULL THEN d.embedding END} END
         AS direction,
       stored, candidates
