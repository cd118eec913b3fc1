"""Fit the calibrated confidence (issue 15): shipped similarity score → P(readers grade the pair related).

Scores every graded (query, candidate) pair of fundgraph/data/eval/graded_similar.yaml with the shipped scoring
on the bundled corpus, fits isotonic regression of "grade ≥ 1" on the score, and writes
fundgraph/data/eval/calibration.json (format: fundgraph/embeddings/calibration.py). The SIMILAR_TO threshold,
``min_confidence``, is the confidence at the lowest score from which the graded pairs at or above it are related
with at least ``--precision`` (the stated edge precision). A reliability table of held-out confidence (isotonic
fitted on the other folds, split by query) against the observed share of related pairs is printed.

    PYTHONPATH=$PWD python scripts/fit_calibration.py            # writes the package's calibration.json
    PYTHONPATH=$PWD python scripts/fit_calibration.py --dry-run  # prints only
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import yaml
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import GroupKFold

from fundgraph.core.paths import EVAL_DIR
from fundgraph.core.settings import Settings
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.calibration import CALIBRATION_PATH, DECIMALS, Calibration
from fundgraph.embeddings.scoring import rescore
from fundgraph.evaluation.similarity import build_entity_graph
from fundgraph.graph.build.similarity import candidates_from_graph, encode_directions

GRADED = EVAL_DIR / "graded_similar.yaml"


def graded_scores(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(score, related, query) of every graded pair, scored as the shipped build scores it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, _enc, _lex, cfg = encode_directions(g, docs, settings=settings)
    cands = candidates_from_graph(g, ids, vectors, cfg)
    scores, related, queries = [], [], []
    for p in data["pairs"]:
        q, c = cands.index[p["query"]], cands.index[p["candidate"]]
        (s,) = rescore(vx.as_query(cands.vectors[q]), cands.entities[q], [c], cands, cfg)
        scores.append(s.score)
        related.append(int(p["grade"]) >= 1)
        queries.append(p["query"])
    return np.asarray(scores), np.asarray(related, dtype=float), queries


def isotonic_points(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """The knots of an isotonic fit (increasing, clipped to [0, 1]), as [score, confidence] pairs."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    pts = [[round(float(a), 6), round(float(b), DECIMALS)] for a, b in zip(iso.X_thresholds_, iso.y_thresholds_,
                                                                          strict=True)]
    out: list[list[float]] = []
    for a, b in pts:  # drop knots that repeat a score
        if out and a == out[-1][0]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def confidence_for_precision(conf: np.ndarray, y: np.ndarray, precision: float, min_pairs: int) -> float | None:
    """The lowest confidence c such that the graded pairs with confidence ≥ c are related with ≥ ``precision``."""
    best = None
    for c in sorted(set(conf.tolist()), reverse=True):
        m = conf >= c
        if m.sum() >= min_pairs and y[m].mean() >= precision:
            best = float(c)
    return best


def reliability(x: np.ndarray, y: np.ndarray, groups: list[str], folds: int = 5) -> list[tuple[str, int, float, float]]:
    """Held-out confidence bins: (bin, pairs, mean confidence, observed share related)."""
    held = np.zeros_like(x)
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        cal = Calibration(tuple(map(tuple, isotonic_points(x[train], y[train]))), 0.5)
        held[test] = cal.confidences(x[test])
    edges = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
    rows = []
    for lo, hi in itertools.pairwise(edges):
        m = (held >= lo) & (held < hi)
        if m.any():
            rows.append((f"[{lo:.1f}, {min(hi, 1.0):.1f})", int(m.sum()), float(held[m].mean()), float(y[m].mean())))
    return rows


def dump(doc: dict) -> str:
    """The JSON document with one point per line (readable diffs when it is refitted)."""
    points = ",\n  ".join(json.dumps(p) for p in doc["points"])
    rest = {k: v for k, v in doc.items() if k != "points"}
    head = json.dumps(rest, ensure_ascii=False, indent=1)[:-2]
    return f'{head},\n "points": [\n  {points}\n ]\n}}\n'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--precision", type=float, default=0.80, help="stated precision of SIMILAR_TO edges")
    ap.add_argument("--min-pairs", type=int, default=20, help="pairs above the threshold the precision needs")
    ap.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()

    x, y, groups = graded_scores(GRADED)
    points = isotonic_points(x, y)
    cal = Calibration(tuple(map(tuple, points)), 0.5)
    found = confidence_for_precision(cal.confidences(x), y, args.precision, args.min_pairs)
    min_conf = found if found is not None else 1.0
    above = x >= cal.with_min_confidence(min_conf).min_score()
    fitted_on = (f"{len(x)} graded pairs of graded_similar.yaml ({int(y.sum())} related, grade >= 1), "
                 f"scored by the shipped lexical+entities scoring; min_confidence: graded pairs at or above it "
                 f"related >= {args.precision:.2f} (observed {y[above].mean():.3f} over {int(above.sum())} pairs)")
    doc = {"method": "isotonic", "points": points, "fitted_on": fitted_on, "min_confidence": min_conf,
           "encoder": "lexical"}
    print(f"{len(x)} pairs, {int(y.sum())} related; {len(points)} knots; min_confidence {min_conf} = score "
          f"{cal.with_min_confidence(min_conf).min_score()}; precision above {y[above].mean():.3f} over "
          f"{int(above.sum())} pairs; today's score threshold 0.25 = confidence {cal.confidence(0.25)}")
    print("held-out reliability (5 folds by query):")
    print(f"{'confidence':<12}{'pairs':>7}{'mean conf':>11}{'related':>9}")
    for b, n, c, r in reliability(x, y, groups):
        print(f"{b:<12}{n:>7}{c:>11.3f}{r:>9.3f}")
    if not args.dry_run:
        args.out.write_text(dump(doc), encoding="utf-8")
        print(f"→ {args.out}")


if __name__ == "__main__":
    main()
