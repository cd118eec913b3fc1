MATCH (m:FundgraphMeta {id: 'fundgraph'})
RETURN m.build AS build, m.loading AS loading, m.meta AS meta, m.encoder_state AS encoder_state,
       m.direction_ids AS direction_ids, m.dimensions AS dimensions, m.sparse AS sparse
