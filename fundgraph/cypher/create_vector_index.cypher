// Direction text vectors (already L2-normalised) under a cosine vector index.
// Quantisation off (on by default in 5.x): the index returns exact cosines of the stored projections (a direction
// asked with its own projection scores 1.0; with quantisation 0.9986), and at 256 dimensions the index stays small.
// The dimension depends on the encoder, so it is a parameter (Neo4j 5.26 accepts parameters in OPTIONS).
CREATE VECTOR INDEX direction_embedding IF NOT EXISTS
FOR (d:Direction) ON d.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false}}
