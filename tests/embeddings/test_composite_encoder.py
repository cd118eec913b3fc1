import numpy as np

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.encoders import CompositeEncoder, encoder_from_state
from fundgraph.embeddings.lexicon import Lexicon, Term
from fundgraph.embeddings.scoring import ScoringConfig, direction_vectors

LEX = Lexicon.from_terms([Term("disease:ad", "disease", "阿尔茨海默病", "Alzheimer's disease", ("AD",))])
FIELDS = [
    {"title": "阿尔茨海默病早期影像诊断", "keywords": "影像；诊断", "content": "研发阿尔茨海默病多模态影像诊断方法",
     "metrics": ""},
    {"title": "肺癌影像筛查", "keywords": "肺癌；筛查", "content": "构建肺癌低剂量影像筛查模型", "metrics": "发表论文"},
    {"title": "阿尔茨海默病血液标志物", "keywords": "标志物", "content": "发现阿尔茨海默病血液标志物", "metrics": ""},
]


def fitted(**kw):
    return CompositeEncoder(LEX, min_df=1, **kw).fit(FIELDS)


def test_rows_are_sparse_unit_and_blocks_are_weighted_cosines():
    enc = fitted(blocks={"text": 1.0, "title": 1.0})
    m = vx.to_csr(enc.encode(FIELDS))
    assert np.allclose(vx.row_norms(m), 1.0)
    _place, offsets, dim = enc.layout()
    assert m.shape[1] == dim and offsets["title"][1] == offsets["text"][1] + dim // 2
    text = vx.to_csr(CompositeEncoder.from_state({**enc.state(), "blocks": {"text": 1.0}}).encode(FIELDS))
    title = vx.to_csr(CompositeEncoder.from_state({**enc.state(), "blocks": {"title": 1.0}}).encode(FIELDS))
    # Each block normalised on its own: the cosine is the mean of the blocks' cosines.
    want = ((text @ text.T).toarray() + (title @ title.T).toarray()) / 2
    assert np.allclose((m @ m.T).toarray(), want, atol=1e-6)
    assert (m @ m.T)[0, 2] > (m @ m.T)[0, 1]


def test_free_text_reads_every_block_and_english_meets_chinese():
    enc = fitted()
    q = vx.to_csr(enc.encode(["Alzheimer's disease imaging"]))
    m = vx.to_csr(enc.encode(FIELDS))
    scores = (m @ q.T).toarray().ravel()
    assert scores.argmax() == 0 and scores[0] > scores[1]
    # every block holds the query: its columns span all the blocks' offsets
    _place, offsets, _dim = enc.layout()
    starts = sorted(o for _k, o in offsets.values())
    assert {int(np.searchsorted(starts, c, side="right")) for c in q.indices} == set(range(1, len(starts) + 1))


def test_state_round_trip_and_direction_vectors_use_the_fields():
    enc = fitted()
    again = encoder_from_state(enc.state())
    assert isinstance(again, CompositeEncoder)
    a, b = vx.to_csr(enc.encode(FIELDS)), vx.to_csr(again.encode(FIELDS))
    assert np.allclose(a.toarray(), b.toarray())
    v = vx.to_csr(direction_vectors(enc, FIELDS, ScoringConfig()))
    assert np.allclose(v.toarray(), a.toarray())
    # a state without blocks is the field-summed lexical encoder's
    assert type(encoder_from_state({**enc.lexical.state()})).__name__ == "LexicalEncoder"
