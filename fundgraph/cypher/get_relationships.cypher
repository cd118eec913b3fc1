MATCH (a:Node)-[r]->(b:Node)
RETURN a.id AS source, b.id AS target, type(r) AS type, properties(r) AS props
ORDER BY r.fg_seq, a.id, b.id
