// Directions nearest to a vector, from the vector index. Neo4j's cosine score is (1 + cos) / 2.
CALL db.index.vector.queryNodes('direction_embedding', $k, $vector) YIELD node, score
RETURN node.id AS id, score
