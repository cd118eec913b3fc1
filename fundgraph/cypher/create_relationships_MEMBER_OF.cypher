// One batch of MEMBER_OF relationships into a database that holds no fundgraph graph yet (loader.replace's first
// load): CREATE, as there is nothing to merge with. row: {source, target, key, props}, as merge_relationships_MEMBER_OF.
UNWIND $rows AS row
MATCH (a:Node {id: row.source})
MATCH (b:Node {id: row.target})
CREATE (a)-[r:MEMBER_OF]->(b)
SET r = row.props, r.fg_key = row.key, r.fg_build = $build
