// Relationships not written by the current build (older or interrupted loads), a batch at a time.
MATCH (:Node)-[r]->(:Node)
WHERE r.fg_build IS NULL OR r.fg_build <> $build
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS deleted
