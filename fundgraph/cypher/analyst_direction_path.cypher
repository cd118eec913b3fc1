// Analyst query: the shortest path (any relationship, either way, at most 6 hops) between two directions,
// e.g. through a shared disease, a SIMILAR_TO link or a common program. :param from => '…', :param to => '…'
MATCH (a:Direction {id: $from}), (b:Direction {id: $to})
MATCH p = shortestPath((a)-[*..6]-(b))
RETURN [n IN nodes(p) | n.id] AS node_ids,
       [n IN nodes(p) | n.label] AS labels,
       [r IN relationships(p) | type(r)] AS relationship_types,
       length(p) AS hops
