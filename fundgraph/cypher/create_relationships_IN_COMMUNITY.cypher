// One batch of IN_COMMUNITY relationships into a database that holds no fundgraph graph yet (loader.replace's first
// load): CREATE, as there is nothing to merge with. row: {source, target, key, props}, as merge_relationships_IN_COMMUNITY.
UNWIND $rows AS row
MATCH (a:Node {id: row.source})
MATCH (b:Node {id: row.target})
CREATE (a)-[r:IN_COMMUNITY]->(b)
SET r = row.props, r.fg_key = row.key, r.fg_build = $build
