// GET /api/directions/{id}/similar when the stored list cannot answer, up to the store's exact_max directions
// (see find_similar_candidates): every direction with its row (the answer is then exactly the embedded store's).
MATCH (c:Direction)
RETURN collect(c {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val, .fg_word_idx,
                  .fg_word_val, .fg_prof_e, .fg_prof_w, .fg_direct,
                  embedding: CASE WHEN c.fg_vec_idx IS NULL THEN c.embedding END})
       AS candidates
