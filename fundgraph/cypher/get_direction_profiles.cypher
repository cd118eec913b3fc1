// Similar/search candidates: every direction's brief, text vector (its sparse row fg_vec_idx/fg_vec_val, or the
// dense embedding when there is no sparse row) and MENTIONS edges (entity and the edge properties in $edge_keys)
// in build order. What the shared ranking needs, and nothing else of the directions.
MATCH (d:Direction)
CALL (d) {
  OPTIONAL MATCH (d)-[r:MENTIONS]->(e:Node)
  WITH r, e
  ORDER BY r.fg_seq
  RETURN collect(CASE WHEN r IS NULL THEN null
                      ELSE [e.id, [k IN $edge_keys WHERE r[k] IS NOT NULL | [k, r[k]]]] END) AS mentions
}
RETURN d {.id, .program_id, .code, .title, .title_en, .category} AS brief,
       CASE WHEN d.fg_vec_idx IS NULL THEN d.embedding END AS embedding, d.fg_vec_idx AS vec_idx,
       d.fg_vec_val AS vec_val, mentions
