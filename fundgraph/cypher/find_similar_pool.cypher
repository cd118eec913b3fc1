// GET /api/directions/{id}/similar, scope cross-program with k up to the build's pool (after find_similar_stored, in
// the same transaction): direction $id and its stored first-pass pool (fg_pool: the build's best 30 across programs,
// which the word mix re-orders) with their rows, to re-score exactly and mix (RankingContext.pooled): one seek on
// the :Node(id) uniqueness index per id, no vector index and no scan. A row as find_similar_candidates reads it.
MATCH (d:Node {id: $id})
WHERE d:Direction
OPTIONAL MATCH (c:Node)
WHERE c.id IN coalesce(d.fg_pool, [])
WITH d, collect(c) AS cs
RETURN d.fg_pool IS NOT NULL AS pooled,
       [x IN cs + [d] |
        x {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val, .fg_word_idx,
           .fg_word_val, .fg_prof_e, .fg_prof_w, .fg_direct,
           embedding: CASE WHEN x.fg_vec_idx IS NULL THEN x.embedding END}] AS candidates
