// Direction text vectors (already L2-normalised) under a cosine vector index.
// The dimension depends on the encoder, so it is a parameter (Neo4j 5.26 accepts parameters in OPTIONS).
CREATE VECTOR INDEX direction_embedding IF NOT EXISTS
FOR (d:Direction) ON d.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
