// Every fundgraph node carries the common label :Node and a unique stable id (graph.model id conventions).
CREATE CONSTRAINT fundgraph_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE
