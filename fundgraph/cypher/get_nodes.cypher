// Every node in the order the build created them (fg_seq), so the graph read back iterates alike.
MATCH (n:Node)
RETURN n.id AS id, properties(n) AS props
ORDER BY n.fg_seq, n.id
