// The naive loader of benchmarks/neo4j_load.py: one statement per relationship.
MATCH (a:Node {id: $source})
MATCH (b:Node {id: $target})
MERGE (a)-[r:$($type) {fg_key: $key}]->(b)
SET r = $props, r.fg_key = $key, r.fg_build = $build
