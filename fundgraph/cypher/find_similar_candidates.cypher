// GET /api/directions/{id}/similar when the stored list cannot answer (after find_similar_stored, in the same
// transaction): direction $id's row and the candidates to re-score with theirs, the $n nearest by the vector
// index over the 256-d projection (db.index.vector.queryNodes: HNSW, no scan). find_similar_candidates_all reads
// every direction instead (a small graph): one statement choosing by a parameter scanned every direction whichever
// it chose (102,000 db hits at 100,000 directions). A row: brief, sparse vector fg_vec_idx/fg_vec_val (or the
// dense embedding when there is none), word row fg_word_idx/fg_word_val (the word mix's), profile fg_prof_e/fg_prof_w, cited entities fg_direct.
MATCH (d:Node {id: $id})
WHERE d:Direction
CALL db.index.vector.queryNodes('direction_embedding', $n, d.embedding) YIELD node AS c
WITH d, collect(c) AS cs
RETURN [c IN CASE WHEN d IN cs THEN cs ELSE cs + d END |
        c {.id, .program_id, .code, .title, .title_en, .category, .fg_vec_idx, .fg_vec_val, .fg_word_idx,
           .fg_word_val, .fg_prof_e, .fg_prof_w,
           .fg_direct, embedding: CASE WHEN c.fg_vec_idx IS NULL THEN c.embedding END}] AS candidates
