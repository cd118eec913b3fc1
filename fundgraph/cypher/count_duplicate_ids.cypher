// Ids held by more than one node (a correct load leaves none).
MATCH (n:Node) WITH n.id AS id, count(*) AS c WHERE c > 1 RETURN count(*) AS count
