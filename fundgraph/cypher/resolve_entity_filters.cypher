// The entities each filter value names, with their members (MEMBER_OF, transitively), and for a keyword
// filter the number of directions listing the value among their own 关键词.
// $filters: [{type, label, key}]; key is the lookup form (graph.queries.norm) of the value, compared with
// fg_lookup (the lookup forms of an entity's id, vocabulary id, name, English name, synonyms, abbreviations).
UNWIND range(0, size($filters) - 1) AS i
WITH i, $filters[i] AS f
CALL (f) {
  OPTIONAL MATCH (e:Node)
  WHERE e.label = f.label AND f.key IN e.fg_lookup
  RETURN collect(e.id) AS found
}
CALL (found) {
  OPTIONAL MATCH (m:Node)-[:MEMBER_OF*0..]->(e:Node)
  WHERE e.id IN found
  RETURN collect(DISTINCT m.id) AS expanded
}
CALL (f) {
  OPTIONAL MATCH (d:Direction)
  WHERE f.type = 'keyword' AND f.key IN d.fg_keywords
  RETURN count(d) AS own
}
RETURN i, found, expanded, own
ORDER BY i
