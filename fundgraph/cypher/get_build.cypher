// The build readers trust, and the layout version of the loader that wrote it (query properties fg_*).
MATCH (m:FundgraphMeta {id: 'fundgraph'})
RETURN m.build AS build, m.layout AS layout
