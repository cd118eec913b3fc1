// Dropped before loading vectors of another dimension (a different encoder).
DROP INDEX direction_embedding IF EXISTS
