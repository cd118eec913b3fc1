// GET /api/overlaps: the stored SIMILAR_TO edges between directions of programs $a and $b (either way),
// in build order (fg_seq), with both ends' briefs and the entities each cites itself (fg_direct).
MATCH (s:Direction)
WHERE s.program_id IN [$a, $b]
MATCH (s)-[r:SIMILAR_TO]->(t:Direction)
WHERE (s.program_id = $a AND t.program_id = $b) OR (s.program_id = $b AND t.program_id = $a)
RETURN s {.id, .program_id, .code, .title, .title_en, .category} AS source,
       t {.id, .program_id, .code, .title, .title_en, .category} AS target,
       s.fg_direct AS source_direct, t.fg_direct AS target_direct, [k IN keys(r) | [k, r[k]]] AS props
ORDER BY r.fg_seq
