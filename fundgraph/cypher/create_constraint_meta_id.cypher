CREATE CONSTRAINT fundgraph_meta_id IF NOT EXISTS FOR (m:FundgraphMeta) REQUIRE m.id IS UNIQUE
