// GET /api/directions: directions matching every filter, in canonical order (fg_order: program manifest
// order, ordinal, id); the total and one page in one query.
// $filters: [{entities: [entity ids, members included], keyword: lookup form or null}]: a direction matches
// a filter when it MENTIONS one of the entities, or (keyword filters) lists the keyword among its 关键词.
// $category and $q are lookup forms (graph.queries.norm) or null.
MATCH (d:Direction)
WHERE ($program IS NULL OR d.program_id = $program)
  AND ($category IS NULL OR $category IN d.fg_category)
  AND ($q IS NULL OR d.fg_text CONTAINS $q)
  AND all(f IN $filters WHERE
        (f.keyword IS NOT NULL AND f.keyword IN coalesce(d.fg_keywords, []))
        OR EXISTS { MATCH (d)-[:MENTIONS]->(m:Node) WHERE m.id IN f.entities })
WITH d
ORDER BY d.fg_order
WITH collect(d) AS ds
RETURN size(ds) AS total,
       [d IN ds[$offset..($offset + $limit)] | d {.id, .program_id, .code, .title, .title_en, .category}] AS items
