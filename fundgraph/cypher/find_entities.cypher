// GET /api/entities: entities of the given labels whose id/name/English name/synonym contains $q
// (fg_search holds their lookup forms; $q is a lookup form or null), with the number of directions and of
// programs citing each. $keys: the node properties the summary shows (name, name_en, codes).
MATCH (e:Node)
WHERE e.label IN $labels AND ($q IS NULL OR any(h IN coalesce(e.fg_search, []) WHERE h CONTAINS $q))
CALL (e) {
  OPTIONAL MATCH (d:Node)-[:MENTIONS]->(e)
  RETURN count(DISTINCT d) AS direction_count, count(DISTINCT d.program_id) AS program_count
}
RETURN e.id AS id, e.label AS label, [k IN $keys WHERE e[k] IS NOT NULL | [k, e[k]]] AS props,
       direction_count, program_count
