// One batch of MENTIONS relationships (merge_relationships_<TYPE>: one file per type, so the type is
// static and the planner can use it; Cypher cannot take a type as a parameter without losing that).
// row: {source, target, key, props}. fg_key is the networkx edge key: parallel edges stay distinct.
UNWIND $rows AS row
MATCH (a:Node {id: row.source})
MATCH (b:Node {id: row.target})
MERGE (a)-[r:MENTIONS {fg_key: row.key}]->(b)
SET r = row.props, r.fg_key = row.key, r.fg_build = $build
