// The load is complete: the graph now is build $build. Encoder state and build meta are JSON strings;
// $ranking is the vocabulary similar/search re-score with (loader.ranking_rows), JSON;
// $dimensions is the text vectors' dimension, $sparse whether they are stored as fg_vec_idx/fg_vec_val.
MERGE (m:FundgraphMeta {id: 'fundgraph'})
SET m.build = $build, m.loading = null, m.loading_since = null, m.loaded_at = datetime(),
    m.meta = $meta, m.encoder_state = $encoder_state, m.direction_ids = $direction_ids,
    m.direction_count = $direction_count, m.ranking = $ranking,
    m.dimensions = $dimensions, m.sparse = $sparse, m.node_count = $node_count,
    m.relationship_count = $relationship_count,
    m.layout = $layout
