"""Evaluate cross-program similarity against the hand-judged gold set (``tests/data/gold_similar.yaml``).

For every direction named in a gold pair, all directions of *other* programs are ranked against it; its
relevant set is every direction it is paired with. We report Recall@k (share of the relevant set found in
the top k, averaged over queries) and MRR (reciprocal rank of the first relevant direction).

Methods compared in one run, on the same parsed corpus:

- ``shipped``: the build's method (encoder from settings + rarity-weighted shared entities, title-weighted);
- ``baseline``: plain jieba TF-IDF over the whole direction text (no vocabulary, no synonyms, no entity
  score, no field weights), cosine only;
- optionally ``sentence-transformers`` with a given model, through the shipped scoring.

It also counts the directions with no real counterpart (002's mining, quantum, deep-sea and polar
directions) that get a cross-program SIMILAR_TO edge above the threshold.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import yaml

from embeddings.encoders import Encoder, PlainTfidfEncoder, SentenceTransformerEncoder
from embeddings.scoring import Candidates, ScoringConfig, rank
from fundgraph.errors import InputError
from fundgraph.paths import PROJECT_ROOT
from fundgraph.settings import Settings
from graph.similarity_layer import candidates_from_graph, direction_fields, encode_directions
from loaders.records import ParsedDocument

GOLD_PATH = PROJECT_ROOT / "tests" / "data" / "gold_similar.yaml"


@dataclass
class Gold:
    """The gold set: relevant directions per query, and the directions expected to stay unlinked."""

    relevant: dict[str, set[str]]
    pairs: int
    unrelated_programs: list[str] = field(default_factory=list)
    unrelated_sections: list[str] = field(default_factory=list)


@dataclass
class MethodScore:
    """Metrics of one method."""

    method: str
    recall_at_k: float
    mrr: float
    k: int
    queries: int
    seconds: float
    unrelated_with_edges: int | None = None
    unrelated_total: int | None = None
    unrelated_max_score: float | None = None
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return dict(self.__dict__)


def load_gold(path: Path = GOLD_PATH) -> Gold:
    """Read the gold YAML (pairs are symmetric)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rel: dict[str, set[str]] = defaultdict(set)
        for p in data["pairs"]:
            rel[p["a"]].add(p["b"])
            rel[p["b"]].add(p["a"])
        un = data.get("unrelated") or {}
        return Gold(
            dict(rel),
            len(data["pairs"]),
            list(un.get("programs", [])),
            [str(s) for s in un.get("sections", [])],
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise InputError(f"cannot read the similarity gold set: {e}", path=path) from e


def metrics(rankings: dict[str, list[str]], gold: Gold, k: int) -> tuple[float, float, list[str]]:
    """Recall@k and MRR of ranked candidate ids per query, and the queries with no hit in the top k."""
    recalls, rr, misses = [], [], []
    for q, rel in sorted(gold.relevant.items()):
        ranked = rankings.get(q, [])
        top = ranked[:k]
        recalls.append(len(rel & set(top)) / len(rel))
        first = next((i for i, d in enumerate(ranked, start=1) if d in rel), None)
        rr.append(1.0 / first if first else 0.0)
        if not rel & set(top):
            misses.append(q)
    n = max(len(recalls), 1)
    return sum(recalls) / n, sum(rr) / n, misses


def _rankings(cands: Candidates, config: ScoringConfig, queries: list[str]) -> dict[str, list[str]]:
    out = {}
    for q in queries:
        i = cands.index[q]
        out[q] = [
            s.id
            for s in rank(
                cands.vectors[i],
                cands.entities[i],
                cands,
                config=config,
                exclude=i,
                exclude_program=cands.programs[i],
            )
        ]
    return out


def unrelated_directions(docs: list[ParsedDocument], gold: Gold) -> list[str]:
    """Ids of the directions the gold set names as having no real counterpart."""
    out = []
    for doc in docs:
        if doc.program.id not in gold.unrelated_programs:
            continue
        out.extend(d.id for d in doc.directions if d.code.split(".")[0].strip() in gold.unrelated_sections)
    return out


def _unrelated_edges(
    cands: Candidates, config: ScoringConfig, unrelated: list[str], *, top_k: int, threshold: float
) -> tuple[int, float]:
    """How many of ``unrelated`` would get a SIMILAR_TO edge (outgoing or incoming) above the threshold."""
    linked: set[str] = set()
    best = 0.0
    wanted = set(unrelated)
    for i, did in enumerate(cands.ids):
        for s in rank(
            cands.vectors[i],
            cands.entities[i],
            cands,
            config=config,
            k=top_k,
            exclude=i,
            exclude_program=cands.programs[i],
        ):
            if did in wanted or s.id in wanted:
                best = max(best, s.score)
                if s.score >= threshold:
                    linked.add(did if did in wanted else s.id)
    return len(linked), best


def evaluate_method(
    name: str,
    g: nx.MultiDiGraph,
    docs: list[ParsedDocument],
    gold: Gold,
    *,
    settings: Settings,
    encoder: Encoder | None,
    config: ScoringConfig | None = None,
    k: int = 5,
) -> MethodScore:
    """Fit/encode with ``encoder`` (None: the settings' encoder) and score the gold queries."""
    t0 = time.perf_counter()
    ids, vectors, _enc, _lex, cfg = encode_directions(
        g, docs, settings=settings, encoder=encoder, config=config
    )
    cands = candidates_from_graph(g, ids, vectors, cfg)
    missing = [q for q in gold.relevant if q not in cands.index]
    if missing:
        raise InputError(f"gold set names unknown directions: {missing}", path=GOLD_PATH)
    r, m, misses = metrics(_rankings(cands, cfg, sorted(gold.relevant)), gold, k)
    unrelated = unrelated_directions(docs, gold)
    n_linked, best = _unrelated_edges(
        cands, cfg, unrelated, top_k=settings.similar_top_k, threshold=settings.similar_threshold
    )
    return MethodScore(
        name,
        r,
        m,
        k,
        len(gold.relevant),
        time.perf_counter() - t0,
        n_linked,
        len(unrelated),
        round(best, 4),
        misses,
    )


def evaluate_baseline(docs: list[ParsedDocument], gold: Gold, *, k: int = 5) -> MethodScore:
    """Plain jieba TF-IDF over each direction's whole text, cosine only, cross-program."""
    t0 = time.perf_counter()
    directions = [d for doc in docs for d in doc.directions]
    texts = [" ".join(direction_fields(d).values()) for d in directions]
    enc = PlainTfidfEncoder().fit(texts)
    vectors = enc.encode(texts)
    cands = Candidates(
        ids=[d.id for d in directions],
        programs=[d.program_id for d in directions],
        vectors=vectors,
        entities=[{} for _ in directions],
        info={},
    )
    cfg = ScoringConfig(text_weight=1.0, entity_weight=0.0)
    r, m, misses = metrics(_rankings(cands, cfg, sorted(gold.relevant)), gold, k)
    return MethodScore(
        "baseline (plain jieba TF-IDF)", r, m, k, len(gold.relevant), time.perf_counter() - t0, misses=misses
    )


def build_entity_graph(settings: Settings) -> tuple[nx.MultiDiGraph, list[ParsedDocument]]:
    """Parse the corpus and add the entity layer (what the similarity layer sees during a build)."""
    from graph.build import base_graph
    from graph.entity_layer import add_entity_layer
    from loaders.corpus import load_corpus
    from loaders.vocab import load_vocabularies

    docs = load_corpus(settings.manifest)
    vocab = load_vocabularies(settings.vocab_dir)
    g = base_graph(docs)
    add_entity_layer(g, docs, vocab)
    return g, docs


def evaluate(
    settings: Settings, *, st_model: str | None = None, k: int = 5, gold_path: Path = GOLD_PATH
) -> list[MethodScore]:
    """Shipped method and baseline (and sentence-transformers when ``st_model`` is given), in one run."""
    gold = load_gold(gold_path)
    g, docs = build_entity_graph(settings)
    shipped = settings.model_copy(update={"encoder": settings.encoder})
    out = [
        evaluate_method(
            f"shipped ({settings.encoder}+entities)", g, docs, gold, settings=shipped, encoder=None, k=k
        ),
        evaluate_baseline(docs, gold, k=k),
    ]
    if st_model:
        st = SentenceTransformerEncoder(st_model, batch_size=settings.st_batch_size)
        out.append(
            evaluate_method(
                "sentence-transformers+entities", g, docs, gold, settings=settings, encoder=st, k=k
            )
        )
    return out


def format_report(scores: list[MethodScore], gold: Gold | None = None) -> str:
    """A small table for the terminal."""
    lines = [
        f"{'method':44s} {'Recall@' + str(scores[0].k):>9s} {'MRR':>6s} {'unrelated linked':>17s} {'s':>6s}"
    ]
    for s in scores:
        un = f"{s.unrelated_with_edges}/{s.unrelated_total}" if s.unrelated_total is not None else "-"
        lines.append(f"{s.method:44s} {s.recall_at_k:9.3f} {s.mrr:6.3f} {un:>17s} {s.seconds:6.1f}")
    if gold is not None:
        lines.append(f"gold: {gold.pairs} pairs, {len(gold.relevant)} queries")
    return "\n".join(lines)


def as_array(scores: list[MethodScore]) -> np.ndarray:
    """(recall, mrr) rows, for tests."""
    return np.array([[s.recall_at_k, s.mrr] for s in scores], dtype=float)
