MATCH (m:FundgraphMeta) DELETE m
