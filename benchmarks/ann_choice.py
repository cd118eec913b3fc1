"""Which approximate nearest-neighbour method gives the similarity stage its candidates at large N.

    FUNDGRAPH_MANIFEST=/tmp/fundgraph-corpora/n20000-s0/manifest.yaml FUNDGRAPH_HOME=/tmp/ann-h20 \
        PYTHONPATH=$PWD python -m fundgraph.cli build
    PYTHONPATH=$PWD python benchmarks/ann_choice.py --home /tmp/ann-h20

Reads the built graph's real vectors and entity profiles, takes the exact candidate sets of the build's two
selections (SIMILAR_TO: top k of other programs above the threshold; communities: top k of all programs above the
threshold; ``embeddings.topk.candidate_sets`` on the exact path) as ground truth, and for each method prints the
time to project, to index and to query every row for K candidates, and the recall of the exact sets among those K
(cross: the K filtered to other programs, before the library's re-query of rows short of them). The last row is
the library's own path (``embeddings.ann.neighbour_candidates`` with the re-query), as the build runs it.

Methods: a reduced dense projection of the combined rows ``[√wt·text | √we·entities]`` (randomized SVD fitted on a
sample, or a Gaussian random projection) into hnswlib, usearch or faiss (HNSW, IVF), and a brute-force search of
the projection (the projection's own ceiling, quadratic).
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np


def load(home: Path, cache: Path):
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from fundgraph.embeddings.scoring import ScoringConfig
    from fundgraph.graph.build.similarity import candidates_from_graph
    from fundgraph.graph.stores.embedded.files import read_built

    built = read_built(home / "current")
    config = ScoringConfig.from_state(built.encoder_state.get("scoring"))
    cands = candidates_from_graph(built.graph, built.direction_ids, built.vectors.copy(), config)
    data = {
        "vectors": cands.vectors, "entities": cands.entity_matrix[0], "groups": cands.program_codes[0],
        "text_weight": config.text_weight, "entity_weight": config.entity_weight,
        "threshold": float(built.encoder_state["similar_threshold"]),
        "k": int(built.encoder_state["similar_top_k"]),
        "margin": None,
    }
    from fundgraph.embeddings.scoring import candidate_margin

    data["margin"] = candidate_margin(cands.vectors, config)
    cache.write_bytes(pickle.dumps(data, protocol=5))
    return data


def truth(data, cache: Path):
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return list(z["cross"]), list(z["every"])
    from fundgraph.embeddings.topk import Selection, candidate_sets

    k, thr = data["k"], data["threshold"]
    t0 = time.perf_counter()
    cross, every = candidate_sets(
        data["vectors"], data["entities"], [Selection(k, thr, cross_group=True), Selection(k, thr)],
        text_weight=data["text_weight"], entity_weight=data["entity_weight"], groups=data["groups"],
        margin=data["margin"],
    )
    print(f"exact candidate sets: {time.perf_counter() - t0:.1f} s")
    np.savez(cache, cross=np.array(cross, dtype=object), every=np.array(every, dtype=object))
    return cross, every


def recall(found: np.ndarray, want: list[np.ndarray], groups: np.ndarray | None = None) -> float:
    hit = total = 0
    for r, w in enumerate(want):
        if not w.size:
            continue
        f = found[r]
        f = f[f >= 0]
        if groups is not None:
            f = f[groups[f] != groups[r]]
        hit += np.isin(w, f).sum()
        total += w.size
    return hit / max(total, 1)


def svd(rows, dim, sample=20_000):
    from sklearn.utils.extmath import randomized_svd

    rng = np.random.default_rng(0)
    fit = rows if rows.shape[0] <= sample else rows[np.sort(rng.choice(rows.shape[0], sample, replace=False))]
    _u, _s, vt = randomized_svd(fit, dim, n_oversamples=10, n_iter=4, random_state=0)
    out = np.asarray(rows @ vt.T.astype(np.float32), dtype=np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def random_projection(rows, dim):
    from fundgraph.embeddings.ann import projection

    return projection(rows, dim=dim)


def q_hnswlib(points, k):
    from fundgraph.embeddings.ann import NeighbourIndex

    t0 = time.perf_counter()
    index = NeighbourIndex.build(points)
    t1 = time.perf_counter()
    got = index.query(points, k + 1)
    return got, t1 - t0, time.perf_counter() - t1


def q_usearch(points, k):
    from usearch.index import Index

    t0 = time.perf_counter()
    index = Index(ndim=points.shape[1], metric="ip", dtype="f32", connectivity=16, expansion_add=100,
                  expansion_search=max(2 * k, 64))
    index.add(np.arange(points.shape[0]), points, threads=2)
    t1 = time.perf_counter()
    got = index.search(points, k + 1, threads=2).keys.astype(np.int64)
    return got, t1 - t0, time.perf_counter() - t1


def q_faiss_hnsw(points, k):
    import faiss

    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(points.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    index.add(points)
    t1 = time.perf_counter()
    index.hnsw.efSearch = max(2 * k, 64)
    _, got = index.search(points, k + 1)
    return got.astype(np.int64), t1 - t0, time.perf_counter() - t1


def q_faiss_ivf(points, k):
    import faiss

    t0 = time.perf_counter()
    nlist = int(4 * np.sqrt(points.shape[0]))
    quant = faiss.IndexFlatIP(points.shape[1])
    index = faiss.IndexIVFFlat(quant, points.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(points)
    index.add(points)
    t1 = time.perf_counter()
    index.nprobe = 16
    _, got = index.search(points, k + 1)
    return got.astype(np.int64), t1 - t0, time.perf_counter() - t1


def q_brute(points, k):
    t1 = time.perf_counter()
    out = np.empty((points.shape[0], k + 1), dtype=np.int64)
    for b0 in range(0, points.shape[0], 2048):
        s = points[b0 : b0 + 2048] @ points.T
        part = np.argpartition(-s, k, axis=1)[:, : k + 1]
        out[b0 : b0 + 2048] = part
    return out, 0.0, time.perf_counter() - t1


def drop_self(got, k):
    got = got.copy()
    got[got == np.arange(got.shape[0])[:, None]] = -1
    order = np.argsort(got < 0, axis=1, kind="stable")
    return np.take_along_axis(got, order, axis=1)[:, :k]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=None, help="where to cache the vectors and the exact sets")
    ap.add_argument("--quick", action="store_true", help="only the library's own path")
    args = ap.parse_args()
    work = args.work or args.home
    data = load(args.home, work / "ann_choice_data.pkl")
    cross, every = truth(data, work / "ann_choice_truth.npz")
    from fundgraph.embeddings.ann import combined_rows, neighbour_candidates

    groups = data["groups"]
    n, k = data["vectors"].shape[0], data["k"]
    rows = combined_rows(data["vectors"], data["entities"], text_weight=data["text_weight"],
                         entity_weight=data["entity_weight"])
    print(f"N={n}  combined width={rows.shape[1]}  nnz/row={rows.nnz / n:.0f}  k={k}  "
          f"exact sets: cross {sum(map(len, cross))}, all {sum(map(len, every))}")
    print(f"{'projection':<10} {'index':<12} {'K':>4} {'project s':>10} {'index s':>8} {'query s':>8} "
          f"{'R all':>7} {'R cross':>8}")
    plans = [] if args.quick else [
        ("svd128", "hnswlib", 30), ("svd128", "hnswlib", 60), ("svd256", "hnswlib", 30),
        ("rp128", "hnswlib", 30), ("rp128", "hnswlib", 60), ("rp256", "brute", 30), ("rp256", "hnswlib", 30),
        ("rp256", "hnswlib", 60), ("rp256", "usearch", 30), ("rp256", "faiss-hnsw", 30), ("rp256", "faiss-ivf", 30),
        ("rp512", "hnswlib", 30),
    ]
    projected: dict[str, tuple[np.ndarray, float]] = {}
    runners = {"brute": q_brute, "hnswlib": q_hnswlib, "usearch": q_usearch, "faiss-hnsw": q_faiss_hnsw,
               "faiss-ivf": q_faiss_ivf}
    for proj, idx, kk in plans:
        if proj not in projected:
            t0 = time.perf_counter()
            pts = svd(rows, int(proj[3:])) if proj.startswith("svd") else random_projection(rows, int(proj[2:]))
            projected[proj] = (pts, time.perf_counter() - t0)
        pts, tp = projected[proj]
        got, tb, tq = runners[idx](pts, kk)
        got = drop_self(got, kk)
        print(f"{proj:<10} {idx:<12} {kk:>4} {tp:>10.1f} {tb:>8.1f} {tq:>8.1f} {recall(got, every):>7.4f} "
              f"{recall(got, cross, groups):>8.4f}", flush=True)
    from fundgraph.embeddings import ann

    t0 = time.perf_counter()
    pts = ann.projection(rows)
    t1 = time.perf_counter()
    got = neighbour_candidates(pts, ann.candidate_count(k), groups=groups, cross_k=ann.candidate_count(k))
    t2 = time.perf_counter()
    print(f"{'library':<10} {'hnswlib+req':<12} {ann.candidate_count(k):>4} {t1 - t0:>10.1f} {'':>8} "
          f"{t2 - t1:>8.1f} {recall(got, every):>7.4f} {recall(got, cross, groups):>8.4f}")


if __name__ == "__main__":
    main()
