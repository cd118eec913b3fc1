// Similar/search: what one build re-scores candidates with besides their rows (read once per build, small):
// the build meta and encoder state, the vocabulary (loader.ranking_rows: entity info, idf, MEMBER_OF parents,
// citation counts, JSON), the vector dimensions and the number of directions. Never the corpus.
MATCH (m:FundgraphMeta {id: 'fundgraph'})
RETURN m.build AS build, m.layout AS layout, m.meta AS meta, m.encoder_state AS encoder_state,
       m.ranking AS ranking, m.dimensions AS dimensions, m.sparse AS sparse, m.direction_count AS direction_count
