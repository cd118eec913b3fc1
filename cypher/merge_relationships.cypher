// One batch of relationships. row: {source, target, type, key, props}; type is checked against graph.model.Rel.
// fg_key is the networkx edge key, so parallel edges of one type (MENTIONS per field) stay distinct.
UNWIND $rows AS row
MATCH (a:Node {id: row.source})
MATCH (b:Node {id: row.target})
MERGE (a)-[r:$(row.type) {fg_key: row.key}]->(b)
SET r = row.props, r.fg_key = row.key, r.fg_build = $build
