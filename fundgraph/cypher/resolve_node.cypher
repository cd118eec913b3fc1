// GET /api/graph/neighborhood: the node with id $id, else the entities whose lookup forms (fg_lookup: id,
// vocabulary id, names, synonyms, abbreviations) hold $key, with their labels (graph.read.semantics.resolve_node
// picks one).
OPTIONAL MATCH (x:Node {id: $id})
WITH x
OPTIONAL MATCH (e:Node)
WHERE x IS NULL AND $key IN e.fg_lookup
RETURN x.id AS exact, [p IN collect([e.label, e.id]) WHERE p[1] IS NOT NULL] AS found
