// The naive loader of benchmarks/neo4j_load.py: one statement per node.
MERGE (n:Node {id: $id})
SET n = $props, n.id = $id, n.fg_build = $build
SET n:$($label)
