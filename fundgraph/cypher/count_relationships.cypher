MATCH (:Node)-[r]->(:Node) RETURN count(r) AS count
