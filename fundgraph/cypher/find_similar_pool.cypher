// GET /api/directions/{id}/similar, scope cross-program with k up to the build's pool (after find_similar_stored, in
// the same transaction): direction $id, the first $k ids of its stored pool (fg_pool: the build's best 30 across
// programs in the word mix's order, which is the answer's order) with their rows, to re-score exactly
// (RankingContext.ordered), and the first pass's best score (fg_pool_best: whether another program holds a related
// one). One seek on the :Node(id) uniqueness index per id, no vector index and no scan. A row as
// find_similar_candidates reads it.
MATCH (d:Node {id: $id})
WHERE d:Direction
WITH d, coalesce(d.fg_pool, [])[0..$k] AS chosen
OPTIONAL MATCH (c:Node)
WHERE c.id IN chosen
WITH d, chosen, collect(c) AS cs
RETURN d.fg_pool IS NOT NULL AS pooled, chosen, d.fg_pool_best AS best,
       [x IN cs + [d] |
        x {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val, .fg_word_idx,
           .fg_word_val, .fg_prof_e, .fg_prof_w, .fg_direct,
           embedding: CASE WHEN x.fg_vec_idx IS NULL THEN x.embedding END}] AS candidates
