// Candidate retrieval from the vector index: the $n directions whose `embedding` (the projection of their text
// vector, codec.projection) is nearest to direction $id's, nearest first. Neo4j's cosine score is (1 + cos) / 2.
MATCH (d:Node {id: $id})
CALL db.index.vector.queryNodes('direction_embedding', $n, d.embedding) YIELD node, score
RETURN node.id AS id, score
