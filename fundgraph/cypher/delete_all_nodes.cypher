// Empty the fundgraph graph (benchmarks and tests), a batch at a time.
MATCH (n:Node)
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
