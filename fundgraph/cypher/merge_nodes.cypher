// One batch of nodes. row: {id, label, props}; label is checked against graph.model.Label before it is sent.
// SET n = row.props replaces every property, so a re-load leaves no stale property behind.
UNWIND $rows AS row
MERGE (n:Node {id: row.id})
SET n = row.props, n.id = row.id, n.fg_build = $build
SET n:$(row.label)
