"""Write the graded similarity set (fundgraph/data/eval/graded_similar.yaml) from the readers' files.

Each grading round is a folder of tests/data/relevance holding ``grades_A.jsonl`` and ``grades_B.jsonl`` (two
readers, independently, every pair of the round's pool) and ``adjudicated.jsonl`` (a third reading of every pair
the two graded differently). A pair's grade is the readers' common grade, else the adjudicated one. Agreement
(Cohen's kappa, plain and linear-weighted) is reported over all rounds' pairs. The queries are the first
round's (scripts/relevance_pool.py); later rounds only add pairs, when a new system's top 10 holds pairs no
reader has graded yet (standard pooling).

    python scripts/relevance_merge.py            # rewrite the YAML
    python scripts/relevance_merge.py --check    # exit 1 when the YAML differs from the readers' files
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "relevance"
OUT = ROOT / "fundgraph" / "data" / "eval" / "graded_similar.yaml"
#: The rounds in order: the folder of each (the first round's files sit in the relevance folder itself).
ROUNDS = (DATA, DATA / "round2", DATA / "round3")

DESCRIPTION = (
    "Graded relevance of cross-program similar directions (issue 15). Pooled from the cross-program top 10 of four "
    "systems (fundgraph as of the pooling commit, jieba-word TF-IDF, character TF-IDF, BM25 over jieba words; "
    "scripts/relevance_pool.py --queries 44 --seed 15), every pair graded 0/1/2 by two readers independently (they "
    "saw neither scores nor which system retrieved a pair), disagreements resolved by a third reading."
)
ROUND2 = (
    " Round 2 (tests/data/relevance/round2): the pairs in the cross-program top 10 of the tuned scorings (shared-term "
    "weights, logistic fusion) that no reader had graded, graded the same way by two new readers."
)
ROUND3 = (
    " Round 3 (tests/data/relevance/round3, scripts/relevance_deepen.py): the pairs no reader had graded in the"
    " lists of the pool expansion rankings (feedback weighted by cosine; Rocchio), in-sample top 10 and out-of-fold"
    " top 5 of every fold seed, graded the same way by two new readers, disagreements by a third."
)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def merge_round(folder: Path) -> list[dict]:
    a = {(r["query"], r["candidate"]): int(r["grade"]) for r in read_jsonl(folder / "grades_A.jsonl")}
    b = {(r["query"], r["candidate"]): int(r["grade"]) for r in read_jsonl(folder / "grades_B.jsonl")}
    adj = {(r["query"], r["candidate"]): int(r["grade"]) for r in read_jsonl(folder / "adjudicated.jsonl")}
    if set(a) != set(b):
        sys.exit(f"{folder}: the two readers graded different pairs ({len(set(a) ^ set(b))} differ)")
    pairs = []
    for key in a:
        if a[key] != b[key] and key not in adj:
            sys.exit(f"{folder}: pair {key} graded {a[key]} and {b[key]} but not adjudicated")
        grade = a[key] if a[key] == b[key] else adj[key]
        pairs.append({"query": key[0], "candidate": key[1], "reader_a": a[key], "reader_b": b[key], "grade": grade})
    return pairs


def build() -> dict:
    previous = yaml.safe_load(OUT.read_text(encoding="utf-8"))
    rounds = [f for f in ROUNDS if (f / "grades_A.jsonl").exists()]
    pairs: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for folder in rounds:
        for p in merge_round(folder):
            key = (p["query"], p["candidate"])
            if key in seen:
                sys.exit(f"{folder}: pair {key} was graded in an earlier round")
            seen.add(key)
            pairs.append(p)
    pairs.sort(key=lambda p: (p["query"], p["candidate"]))
    ra = [p["reader_a"] for p in pairs]
    rb = [p["reader_b"] for p in pairs]
    return {
        "description": DESCRIPTION + (ROUND2 if len(rounds) > 1 else "") + (ROUND3 if len(rounds) > 2 else ""),
        "rubric": (DATA / "RUBRIC.md").read_text(encoding="utf-8"),
        "agreement": {
            "pairs": len(pairs),
            "cohen_kappa": round(float(cohen_kappa_score(ra, rb)), 3),
            "cohen_kappa_linear": round(float(cohen_kappa_score(ra, rb, weights="linear")), 3),
            "disagreements": sum(x != y for x, y in zip(ra, rb, strict=True)),
        },
        "queries": previous["queries"],
        "pairs": pairs,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    data = build()
    head = "# Graded similarity set (issue 15). Generated from the readers' files; see `description`.\n"
    text = head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
    if args.check:
        same = yaml.safe_load(OUT.read_text(encoding="utf-8")) == data
        print("graded set matches the readers' files" if same else "graded set DIFFERS from the readers' files")
        sys.exit(0 if same else 1)
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {data['agreement']}")


if __name__ == "__main__":
    main()
