"""Pool candidates for the graded similarity evaluation (issue 15), the way IR test collections are built.

Picks query directions from every program (seeded), takes the cross-program top 10 of four systems —
fundgraph's shipped scoring, plain jieba-word TF-IDF, character-bigram TF-IDF and BM25 (bm25s over jieba
words) — and writes the union, shuffled and without scores or system names, for readers to grade 0/1/2.

    python scripts/relevance_pool.py --queries 44 --out pool.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from fundgraph.core.settings import Settings
from fundgraph.embeddings.encoders import PlainTfidfEncoder
from fundgraph.embeddings.scoring import rank
from fundgraph.evaluation.similarity import build_entity_graph
from fundgraph.graph.build.similarity import candidates_from_graph, direction_fields, encode_directions


def cosine_top(m: np.ndarray, i: int, programs: list[str], k: int) -> list[int]:
    s = m @ m[i]
    order = np.argsort(-s, kind="stable")
    return [int(j) for j in order if programs[j] != programs[i]][:k]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=44)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    directions = [d for doc in docs for d in doc.directions]
    ids = [d.id for d in directions]
    programs = [d.program_id for d in directions]
    texts = [" ".join(direction_fields(d).values()) for d in directions]

    # fundgraph (shipped)
    cids, vectors, _enc, _lex, cfg = encode_directions(g, docs, settings=settings)
    cands = candidates_from_graph(g, cids, vectors, cfg)
    assert cids == ids
    systems: dict[str, dict[str, list[str]]] = defaultdict(dict)
    # word TF-IDF
    word = PlainTfidfEncoder().fit(texts).encode(texts)
    # char TF-IDF (1-2 grams over characters)
    char = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    char = char.toarray().astype(np.float32)
    char /= np.linalg.norm(char, axis=1, keepdims=True) + 1e-12
    # BM25 over jieba words
    import bm25s
    import jieba

    tokens = [[w for w in jieba.lcut(t) if w.strip()] for t in texts]
    bm = bm25s.BM25()
    bm.index(tokens, show_progress=False)

    rng = random.Random(args.seed)
    by_program = defaultdict(list)
    for i, p in enumerate(programs):
        by_program[p].append(i)
    per = -(-args.queries // len(by_program))
    queries = sorted(i for p, rows in by_program.items() for i in rng.sample(rows, min(per, len(rows))))
    queries = queries[: args.queries] if len(queries) > args.queries else queries

    pool = []
    for i in queries:
        ours = [s.id for s in rank(cands.vectors[i], cands.entities[i], cands, config=cfg, exclude=i,
                                   exclude_program=programs[i])][: args.k]
        systems["fundgraph"][ids[i]] = ours
        systems["tfidf-word"][ids[i]] = [ids[j] for j in cosine_top(word, i, programs, args.k)]
        systems["tfidf-char"][ids[i]] = [ids[j] for j in cosine_top(char, i, programs, args.k)]
        scores = bm.get_scores(tokens[i])
        order = np.argsort(-scores, kind="stable")
        systems["bm25"][ids[i]] = [ids[j] for j in order if programs[j] != programs[i]][: args.k]
        union = sorted({c for s in systems.values() for c in s[ids[i]]})
        rng.shuffle(union)
        pool.extend({"query": ids[i], "candidate": c} for c in union)

    def card(d) -> dict:
        return {"id": d.id, "program": d.program_id, "title": d.title, "keywords": list(d.keywords),
                "content": (d.content or "")[:600], "metrics": (d.metrics or "")[:200]}

    by_id = {d.id: d for d in directions}
    with args.out.open("w", encoding="utf-8") as fh:
        for row in pool:
            fh.write(json.dumps({"query": card(by_id[row["query"]]), "candidate": card(by_id[row["candidate"]])},
                                ensure_ascii=False) + "\n")
    runs = args.out.with_suffix(".runs.json")
    runs.write_text(json.dumps(systems, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(queries)} queries, {len(pool)} pairs → {args.out}; system runs → {runs}")


if __name__ == "__main__":
    main()
