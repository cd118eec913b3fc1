import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx


def test_rows_kept_as_rows_give_the_products_of_the_transposed_matrix():
    rng = np.random.default_rng(3)
    m = sp.random(500, 60, density=0.08, format="csr", dtype=np.float32, random_state=rng)
    t = vx.transposed(m)
    assert isinstance(t, vx.Transposed)  # fewer features than rows: kept as rows
    block = m[[0, 7, 99, 498]]
    got = vx.block_products(block, t)
    expected = (block @ m.T.tocsr()).toarray()
    assert got.shape == (4, 500) and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-6 and got[1, 7] > 0
    wide = sp.random(20, 300, density=0.1, format="csr", dtype=np.float32, random_state=rng)
    assert sp.issparse(vx.transposed(wide))  # more features than rows: the CSR transpose
