// Empty the fundgraph graph (benchmarks and tests): its relationships first, a batch at a time, so that
// deleting a batch of nodes does not also delete all their relationships in one transaction (DETACH DELETE of
// 25,000 nodes at 100,000 directions went past Neo4j's transaction memory limit).
MATCH (:Node)-[r]->()
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS deleted
