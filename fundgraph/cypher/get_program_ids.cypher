// Program ids in manifest order (the rows of the matrix, the `known` list of an unknown-program error).
MATCH (p:Program)
RETURN p.id AS id
ORDER BY p.manifest_order, p.id
