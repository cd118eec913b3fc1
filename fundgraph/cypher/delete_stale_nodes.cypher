// Nodes not written by the current build, a batch at a time.
MATCH (n:Node)
WHERE n.fg_build IS NULL OR n.fg_build <> $build
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
