MATCH (m:FundgraphMeta {id: 'fundgraph'})
RETURN m.build AS build
