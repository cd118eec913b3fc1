// One batch of nodes into a database that holds no fundgraph graph yet (loader.replace's first load): CREATE,
// as there is nothing to merge with. row: {id, label, props}, as merge_nodes.
UNWIND $rows AS row
CREATE (n:Node {id: row.id})
SET n = row.props, n.id = row.id, n.fg_build = $build
SET n:$(row.label)
