// Analyst query: everything one hop from a direction: its program, section, entities, similar and
// continued directions and community. :param id => 'most-btit-2024:1.1'
MATCH (d:Direction {id: $id})-[r]-(n:Node)
RETURN type(r) AS relationship, CASE WHEN startNode(r) = d THEN 'out' ELSE 'in' END AS way,
       n.id AS neighbour, n.label AS label, n.name AS name, r.field AS field, r.score AS score
ORDER BY relationship, way, neighbour
