// Whether a node has this id (the centre of a neighbourhood).
MATCH (n:Node {id: $id})
RETURN n.id AS id
