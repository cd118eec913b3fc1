"""Evaluate cross-program similarity against the hand-judged gold set (``fundgraph/data/eval/gold_similar.yaml``).

For every direction named in a gold pair, all directions of *other* programs are ranked against it; its
relevant set is every direction it is paired with. We report Recall@k (share of the relevant set found in
the top k, averaged over queries) and MRR (reciprocal rank of the first relevant direction).

Methods compared in one run, on the same parsed corpus:

- ``shipped``: the build's method (encoder from settings + rarity-weighted shared entities, title-weighted);
- ``baseline``: plain jieba TF-IDF over the whole direction text (no vocabulary, no synonyms, no entity
  score, no field weights), cosine only;
- optionally ``sentence-transformers`` with a given model, through the shipped scoring.

It also counts the directions with no real counterpart (002's mining, quantum, deep-sea and polar
directions) that get a cross-program SIMILAR_TO edge above the threshold (each encoder's own calibrated
threshold, see :func:`graph.similarity_layer.similar_threshold`).

Lineage (CONTINUES) is scored against ``fundgraph/data/eval/gold_lineage.yaml``: precision (strict: borderline
pairs count as wrong; lenient: as right) and recall of the shipped :class:`graph.similarity_layer.LineageRule`
and, for comparison, of the rule with its parts switched off (score only = the rule before the gold set).

The shipped weights were chosen on this gold set, so the shipped figure is optimistic. :func:`cross_validate`
gives an honest one: the gold queries are split in two folds along the gold graph's connected components
(no pair straddles the folds), the scoring weights are tuned on one fold and scored on the other, and back.
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

from fundgraph.core.errors import InputError
from fundgraph.core.paths import EVAL_DIR
from fundgraph.core.settings import Settings
from fundgraph.embeddings.encoders import Encoder, PlainTfidfEncoder, SentenceTransformerEncoder
from fundgraph.embeddings.scoring import Candidates, ScoringConfig, rank
from fundgraph.graph.build.similarity import (
    LineageRule,
    candidates_from_graph,
    direction_fields,
    direction_words,
    encode_directions,
    find_continues,
    lineage_rule,
    similar_cut,
    wants_words,
)
from fundgraph.loaders.records import ParsedDocument

GOLD_PATH = EVAL_DIR / "gold_similar.yaml"
LINEAGE_GOLD_PATH = EVAL_DIR / "gold_lineage.yaml"


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
    threshold: float | None = None
    similar_edges: int | None = None
    cv_recall_at_k: float | None = None
    cv_mrr: float | None = None
    cv_choices: list[dict[str, float]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    lineage: list[LineageScore] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        d = dict(self.__dict__)
        d["lineage"] = [ls.as_dict() for ls in self.lineage]
        return d


@dataclass
class LineageGold:
    """Lineage gold: later direction → the earlier ones it carries forward, and the borderline ones."""

    continues: dict[str, set[str]]
    borderline: dict[str, set[str]]

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """Gold (later, earlier) pairs."""
        return {(a, b) for a, bs in self.continues.items() for b in bs}


@dataclass
class LineageScore:
    """Precision/recall of one lineage rule against the lineage gold set."""

    rule: str
    edges: int
    correct: int
    borderline: int
    gold: int
    shipped: bool = False
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Strict precision (borderline edges count as wrong); 1.0 with no edges."""
        return self.correct / self.edges if self.edges else 1.0

    @property
    def lenient_precision(self) -> float:
        """Precision counting borderline edges as right."""
        return (self.correct + self.borderline) / self.edges if self.edges else 1.0

    @property
    def recall(self) -> float:
        """Share of the gold pairs found."""
        return self.correct / self.gold if self.gold else 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            **self.__dict__,
            "precision": self.precision,
            "lenient_precision": self.lenient_precision,
            "recall": self.recall,
        }


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


def load_lineage_gold(path: Path = LINEAGE_GOLD_PATH) -> LineageGold:
    """Read the lineage gold YAML."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cont: dict[str, set[str]] = {}
        border: dict[str, set[str]] = {}
        for series in data["series"]:
            for d in series["directions"]:
                cont[str(d["id"])] = {str(x) for x in d.get("continues") or []}
                border[str(d["id"])] = {str(x) for x in d.get("borderline") or []}
        return LineageGold(cont, border)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise InputError(f"cannot read the lineage gold set: {e}", path=path) from e


def lineage_metrics(edges: set[tuple[str, str]], gold: LineageGold, rule: str) -> LineageScore:
    """Score (later, earlier) edges whose later direction the gold set judges."""
    judged = [(a, b) for a, b in sorted(edges) if a in gold.continues]
    correct = [e for e in judged if e[1] in gold.continues[e[0]]]
    border = [e for e in judged if e[1] in gold.borderline.get(e[0], set())]
    wrong = [f"{a}→{b}" for a, b in judged if (a, b) not in correct and (a, b) not in border]
    return LineageScore(rule, len(judged), len(correct), len(border), len(gold.pairs), wrong=wrong)


def evaluate_lineage(
    docs: list[ParsedDocument],
    cands: Candidates,
    config: ScoringConfig,
    encoder: Encoder,
    gold: LineageGold,
    *,
    shipped: LineageRule,
) -> list[LineageScore]:
    """The shipped lineage rule, then the same rule with its parts switched off (an ablation), on the gold."""
    variants = [
        (shipped, True),
        (LineageRule(shipped.threshold, mutual=False, title_agrees=False), False),  # the rule before the gold
        (LineageRule(shipped.threshold, mutual=True, title_agrees=False), False),
        (LineageRule(shipped.threshold, mutual=False, title_agrees=True), False),
    ]
    missing = [d for d in gold.continues if d not in cands.index]
    missing += [d for ds in (*gold.continues.values(), *gold.borderline.values()) for d in ds if d not in cands.index]
    if missing:
        raise InputError(f"lineage gold set names unknown directions: {sorted(set(missing))}", path=LINEAGE_GOLD_PATH)
    out = []
    for rule, is_shipped in variants:
        made = find_continues(docs, cands, config, encoder, rule)
        score = lineage_metrics({(c.later, c.earlier) for c in made}, gold, rule.describe())
        score.shipped = is_shipped
        out.append(score)
    return out


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
    """Each query's cross-program ranking, as ``similar`` lists it.

    Re-ordered by the word mix when ``cands`` carry word rows (:meth:`RankingContext.mixed`).
    """
    from fundgraph.graph.read.ranking import RankingContext

    context = RankingContext({"scoring": config.state()}, {})
    out = {}
    for q in queries:
        i = cands.index[q]
        ranked = rank(cands.vectors[i], cands.entities[i], cands, config=config, exclude=i,
                      exclude_program=cands.programs[i])
        if cands.words is not None:
            ranked = context.mixed(ranked, cands.words[i], cands, len(ranked))
        out[q] = [s.id for s in ranked]
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
) -> tuple[int, float, int]:
    """Unrelated directions with a SIMILAR_TO edge above the threshold, their best score, all such edges.

    Counts ``unrelated`` directions with an edge (outgoing or incoming) at or above the threshold, the best
    score any of them reaches, and how many SIMILAR_TO edges the build would make.
    """
    linked: set[str] = set()
    best = 0.0
    edges = 0
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
            edges += s.score >= threshold
            if did in wanted or s.id in wanted:
                best = max(best, s.score)
                if s.score >= threshold:
                    linked.add(did if did in wanted else s.id)
    return len(linked), best, edges


#: Weights tried by :func:`cross_validate` (text vs entities, hierarchy decay, extracted keywords).
CV_GRID: dict[str, tuple[float, ...]] = {
    "text_weight": (0.3, 0.4, 0.5, 0.6, 0.7),
    "hierarchy_decay": (0.0, 0.5, 0.7),
    "extracted_keyword_weight": (0.0, 0.3),
}


def gold_folds(gold: Gold) -> tuple[list[str], list[str]]:
    """Two folds of queries, whole connected components of the gold graph each (largest first, greedily)."""
    gg = nx.Graph()
    for q, rel in gold.relevant.items():
        gg.add_edges_from((q, r) for r in rel)
    comps = sorted((sorted(c) for c in nx.connected_components(gg)), key=lambda c: (-len(c), c[0]))
    folds: tuple[list[str], list[str]] = ([], [])
    for c in comps:
        min(folds, key=len).extend(c)
    return sorted(folds[0]), sorted(folds[1])


def cross_validate(
    g: nx.MultiDiGraph, ids: list[str], vectors: np.ndarray, gold: Gold, base: ScoringConfig, *, k: int = 5,
    words: Any = None,
) -> tuple[float, float, list[dict[str, float]]]:
    """2-fold cross-validated Recall@k and MRR: weights tuned on one fold, scored on the other.

    ``words``: the directions' word rows, when the lists are re-ordered by the word mix.

    Returns:
        (Recall@k, MRR) over all queries, each scored with weights tuned on the other fold; and the weights
        each fold chose.
    """
    folds = gold_folds(gold)
    per_config: list[tuple[dict[str, float], dict[str, list[str]]]] = []
    for tw in CV_GRID["text_weight"]:
        for decay in CV_GRID["hierarchy_decay"]:
            for xw in CV_GRID["extracted_keyword_weight"]:
                choice = {"text_weight": tw, "hierarchy_decay": decay, "extracted_keyword_weight": xw}
                cfg = base.with_(
                    text_weight=tw, entity_weight=1.0 - tw, hierarchy_decay=decay, extracted_keyword_weight=xw
                )
                cands = candidates_from_graph(g, ids, vectors, cfg)
                cands.words = words
                per_config.append((choice, _rankings(cands, cfg, sorted(gold.relevant))))

    def sub(queries: list[str]) -> Gold:
        return Gold({q: gold.relevant[q] for q in queries}, 0)

    recall_sum = rr_sum = 0.0
    chosen = []
    for train, test in (folds, folds[::-1]):
        best = max(
            per_config,
            key=lambda c: (sum(metrics(c[1], sub(train), k)[:2]), -abs(c[0]["text_weight"] - 0.5)),
        )
        r, m, _ = metrics(best[1], sub(test), k)
        recall_sum += r * len(test)
        rr_sum += m * len(test)
        chosen.append(best[0])
    n = max(len(folds[0]) + len(folds[1]), 1)
    return recall_sum / n, rr_sum / n, chosen


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
    cv: bool = True,
    lineage_gold: LineageGold | None = None,
) -> MethodScore:
    """Fit/encode with ``encoder`` (None: the settings' encoder) and score the gold queries."""
    t0 = time.perf_counter()
    ids, vectors, enc, _lex, cfg = encode_directions(
        g, docs, settings=settings, encoder=encoder, config=config
    )
    cands = candidates_from_graph(g, ids, vectors, cfg)
    words = None
    if wants_words(enc, cfg):  # the lists as the stores give them: re-ordered by the word mix
        words = cands.words = direction_words([direction_fields(d) for doc in docs for d in doc.directions])[1]
    missing = [q for q in gold.relevant if q not in cands.index]
    if missing:
        raise InputError(f"gold set names unknown directions: {missing}", path=GOLD_PATH)
    r, m, misses = metrics(_rankings(cands, cfg, sorted(gold.relevant)), gold, k)
    unrelated = unrelated_directions(docs, gold)
    # The cut the build's SIMILAR_TO edges use: the calibrated confidence as a score (the encoder's own score
    # threshold for an encoder the calibration was not fitted for).
    _calibration, threshold = similar_cut(settings, enc)
    threshold = round(float(threshold), 4)
    n_linked, best, n_edges = _unrelated_edges(
        cands, cfg, unrelated, top_k=settings.similar_top_k, threshold=threshold
    )
    score = MethodScore(
        name,
        r,
        m,
        k,
        len(gold.relevant),
        0.0,
        n_linked,
        len(unrelated),
        round(best, 4),
        threshold,
        n_edges,
        misses=misses,
    )
    if lineage_gold is not None:
        score.lineage = evaluate_lineage(
            docs, cands, cfg, enc, lineage_gold, shipped=lineage_rule(settings, enc)
        )
    if cv:
        score.cv_recall_at_k, score.cv_mrr, score.cv_choices = cross_validate(g, ids, vectors, gold, cfg, k=k,
                                                                               words=words)
    score.seconds = time.perf_counter() - t0
    return score


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
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.pipeline import base_graph
    from fundgraph.loaders.corpus import load_corpus
    from fundgraph.loaders.vocab import load_vocabularies

    docs = load_corpus(settings.manifest)
    vocab = load_vocabularies(settings.vocab_dir)
    g = base_graph(docs)
    add_entity_layer(g, docs, vocab)
    return g, docs


def evaluate(
    settings: Settings,
    *,
    st_model: str | None = None,
    k: int = 5,
    gold_path: Path = GOLD_PATH,
    lineage_path: Path = LINEAGE_GOLD_PATH,
) -> list[MethodScore]:
    """Shipped method and baseline (and sentence-transformers when ``st_model`` is given), in one run.

    The encoder-based methods also carry their lineage (CONTINUES) scores on the lineage gold set.
    """
    gold = load_gold(gold_path)
    lineage_gold = load_lineage_gold(lineage_path)
    g, docs = build_entity_graph(settings)
    shipped = settings
    out = [
        evaluate_method(
            f"shipped ({settings.encoder}+entities)",
            g,
            docs,
            gold,
            settings=shipped,
            encoder=None,
            k=k,
            lineage_gold=lineage_gold,
        ),
        evaluate_baseline(docs, gold, k=k),
    ]
    if st_model:
        if (
            st_model == SentenceTransformerEncoder.name
        ):  # `--encoder sentence-transformers`: the settings' model
            st_model = settings.st_model
        st = SentenceTransformerEncoder(st_model, batch_size=settings.st_batch_size)
        out.append(
            evaluate_method(
                "sentence-transformers+entities",
                g,
                docs,
                gold,
                settings=settings,
                encoder=st,
                k=k,
                lineage_gold=lineage_gold,
            )
        )
    return out


def format_report(scores: list[MethodScore], gold: Gold | None = None) -> str:
    """A small table for the terminal (cv = 2-fold cross-validated weights; thr = SIMILAR_TO threshold)."""
    lines = [
        f"{'method':34s} {'R@' + str(scores[0].k):>6s} {'MRR':>6s} {'cv R@' + str(scores[0].k):>7s} "
        f"{'cv MRR':>6s} {'thr':>5s} {'edges':>5s} {'unrelated':>9s} {'s':>5s}"
    ]
    for s in scores:
        un = f"{s.unrelated_with_edges}/{s.unrelated_total}" if s.unrelated_total is not None else "-"
        cvr = f"{s.cv_recall_at_k:.3f}" if s.cv_recall_at_k is not None else "-"
        cvm = f"{s.cv_mrr:.3f}" if s.cv_mrr is not None else "-"
        thr = f"{s.threshold:.2f}" if s.threshold is not None else "-"
        edges = str(s.similar_edges) if s.similar_edges is not None else "-"
        lines.append(
            f"{s.method:34s} {s.recall_at_k:6.3f} {s.mrr:6.3f} {cvr:>7s} {cvm:>6s} {thr:>5s} {edges:>5s} "
            f"{un:>9s} {s.seconds:5.1f}"
        )
    if gold is not None:
        lines.append(f"gold: {gold.pairs} pairs, {len(gold.relevant)} queries")
    lineage = [(s, ls) for s in scores for ls in s.lineage]
    if lineage:
        n_gold = lineage[0][1].gold
        lines.append("")
        lines.append(
            f"lineage (CONTINUES, later → earlier edition) on {n_gold} gold pairs "
            "(P = strict precision, P~ = borderline pairs counted right):"
        )
        lines.append(f"{'method':34s} {'rule':52s} {'edges':>5s} {'P':>6s} {'P~':>6s} {'R':>6s}")
        for s, ls in lineage:
            name = s.method if ls.shipped else ""
            rule = ls.rule + (" (shipped)" if ls.shipped else "")
            lines.append(
                f"{name:34s} {rule:52s} {ls.edges:5d} {ls.precision:6.3f} {ls.lenient_precision:6.3f} "
                f"{ls.recall:6.3f}"
            )
    return "\n".join(lines)


def as_array(scores: list[MethodScore]) -> np.ndarray:
    """(recall, mrr) rows, for tests."""
    return np.array([[s.recall_at_k, s.mrr] for s in scores], dtype=float)
