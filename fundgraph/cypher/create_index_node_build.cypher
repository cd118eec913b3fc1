// The loader tags every node with the build it came from and sweeps nodes of older builds.
CREATE INDEX fundgraph_node_build IF NOT EXISTS FOR (n:Node) ON (n.fg_build)
