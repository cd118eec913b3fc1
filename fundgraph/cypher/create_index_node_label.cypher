// Entities of one type (matrix, entity lookups, filters) are found by their model label kept as the property
// `label`: an index seek instead of a scan of every node (Neo4j 5.26 cannot seek on a dynamic label).
CREATE INDEX fundgraph_node_label IF NOT EXISTS FOR (n:Node) ON (n.label)
