// POST /api/search, one statement: the build check (build, layout) and the candidates to re-score with their
// rows (as find_similar_candidates): every direction when $exhaustive (a small graph: exactly the embedded
// store's answer), else the $n nearest to $vector (the text's 256-d projection) by the vector index.
OPTIONAL MATCH (m:FundgraphMeta {id: 'fundgraph'})
CALL () {
  CALL () {
    WITH 1 AS one
    WHERE $exhaustive
    MATCH (c:Direction)
    RETURN c
    UNION ALL
    WITH 1 AS one
    WHERE NOT $exhaustive
    CALL db.index.vector.queryNodes('direction_embedding', $n, $vector) YIELD node
    RETURN node AS c
  }
  RETURN collect(c {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val,
                     .fg_word_idx, .fg_word_val,
                     .fg_prof_e, .fg_prof_w, .fg_direct,
                     embedding: CASE WHEN c.fg_vec_idx IS NULL THEN c.embedding END}) AS candidates
}
RETURN m.build AS build, m.layout AS layout, candidates
