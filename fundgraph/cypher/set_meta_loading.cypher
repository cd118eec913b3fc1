// Marks a load in progress; `build` (the complete graph readers trust) changes only when the load ends.
MERGE (m:FundgraphMeta {id: 'fundgraph'})
SET m.loading = $build, m.loading_since = datetime()
