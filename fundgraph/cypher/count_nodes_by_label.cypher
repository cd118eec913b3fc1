MATCH (n:Node) RETURN n.label AS label, count(*) AS count ORDER BY label
