// GET /api/entities/{type}/{id}: the entity with that id and label, else those whose lookup forms hold $key.
OPTIONAL MATCH (x:Node {id: $id})
WHERE x.label = $label
WITH x
OPTIONAL MATCH (e:Node)
WHERE x IS NULL AND e.label = $label AND $key IN e.fg_lookup
RETURN x.id AS exact, collect(e.id) AS found
