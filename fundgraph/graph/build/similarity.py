"""The similarity layer: direction vectors, SIMILAR_TO, CONTINUES, topic communities.

- **SIMILAR_TO** (Direction → Direction of a *different* program): each direction's top k
  (``settings.similar_top_k``) whose calibrated ``confidence`` reaches the threshold (``settings.
  similar_min_confidence``, else the calibration's; see :func:`similar_cut`), scored by
  :func:`embeddings.scoring.rank` (text cosine + rarity-weighted shared entities), with the explanation and the
  confidence as flat properties.
  Same-program similarity is not stored; the stores compute it live (API ``scope=all``).
- **CONTINUES** (later Direction → earlier Direction of the same program series): for each pair of
  consecutive editions of any series, a direction of the later edition continues its best match in the
  previous edition when that match is unambiguous (:class:`LineageRule`): the combined score reaches the
  lineage threshold, the match is mutual (the earlier direction's best match in the later edition is this
  one), and the titles agree (by title alone the same earlier direction is the best match).
- **Communities**: Louvain (seeded) over the directions' similarity graph (each direction's top k over all
  programs, above the threshold); Community nodes labelled by their most characteristic entities.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.calibration import Calibration, calibration_for
from fundgraph.embeddings.encoders import Encoder, LexicalEncoder, encoder_from_settings, encoder_from_state
from fundgraph.embeddings.lexicon import Lexicon, Term
from fundgraph.embeddings.scoring import (
    Candidates,
    EntityInfo,
    Neighbour,
    Scored,
    ScoringConfig,
    direction_vectors,
    shared_groups,
)
from fundgraph.embeddings.similarity import idf_profile
from fundgraph.embeddings.topk import Selection, neighbour_index, top_k_all
from fundgraph.embeddings.words import WordVectoriser, pool_orders
from fundgraph.graph.build.background import Background, InTurn, can_fork
from fundgraph.graph.build.pipeline import StepCount
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.profiles import candidates_from_graph, direction_mentions, entity_type_of
from fundgraph.loaders.records import Direction, ParsedDocument

if TYPE_CHECKING:
    import igraph as ig  # imported where used: it imports matplotlib (~0.3 s), which fundgraph add never needs

    from fundgraph.core.settings import Settings

Progress = Callable[[str], None]

#: Minimum score for a later direction to "carry forward" an earlier one, as a share of the encoder's
#: calibrated SIMILAR_TO threshold (lexical: 0.8 × 0.25 = 0.20; scores live on different scales per encoder).
CONTINUES_SHARE = 0.8
#: The lineage threshold of the lexical encoder (the default), for reference.
CONTINUES_THRESHOLD = 0.20
#: Louvain seed (communities are the same on every build).
COMMUNITY_SEED = 42
#: From this many directions, the ranking, lineage and Louvain run partly in other processes beside the build's
#: (below, starting them costs more than it saves).
BACKGROUND_MIN_DIRECTIONS = 5000
#: The rows a forked ranking process takes at most: the forked half is ranked by one fork after another, each
#: ending before the next starts. A fork's private memory grows with the work it does (each page it writes, free
#: blocks of the build's heap included, is copied), on top of a fixed part (~220 MB at 20,000 directions): one
#: fork for the whole half held 1.5 GB at 100,000 directions, forks of 6,250 rows ~0.5 GB each.
FORKED_ROWS = 6_250
#: The directions (both editions of each pair counted) one forked lineage process links at most: lineage runs in
#: parts, each in a fork of its own, one after another (:class:`background.InTurn`), started by the build between
#: its parts of the ranking. At 100,000 directions one fork for all of it grew to ~0.95 GB private and, with a
#: ranking fork beside it, set the build's peak (6,044 MB: the build's RSS and its forks' private memory); five
#: parts hold 0.3-0.7 GB each (a part's own work and the old copies of the pages the build writes while it lives),
#: and the similarity stage's peak is 5,554 MB.
LINEAGE_ROWS = 25_000


def lexicon_types() -> frozenset[str]:
    """Entity types whose vocabulary names feed the lexicon (the schema registry's ``lexicon`` rows)."""
    return frozenset(t.key for t in ENTITY_REGISTRY.rows() if t.lexicon)


@dataclass
class SimilarityResult:
    """What the similarity layer hands back to the build (vectors are stored with the graph)."""

    direction_ids: list[str]
    vectors: vx.TextMatrix
    encoder_state: dict[str, Any] = field(default_factory=dict)
    #: The ranking candidates the edges were scored with (the embedded store writes them: not made twice).
    candidates: Candidates | None = None
    #: Each direction's word TF-IDF row (the word mix's, :mod:`fundgraph.embeddings.words`), rows as ``vectors``.
    words: sp.csr_matrix | None = None
    #: Each direction's first-pass best ``word_pool`` across programs (rows, -1 past a short list), their scores,
    #: and their order once mixed (positions into the pool, :func:`embeddings.words.pool_orders`): ``similar``
    #: answers from these instead of ranking every direction (:func:`pool_arrays`).
    pools: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


# -- reading the graph the earlier layers built -----------------------------------------------------------


def lexicon_from_graph(g: nx.MultiDiGraph) -> Lexicon:
    """Lexicon of the vocabulary entities present in the graph (names, English names, synonyms)."""
    return Lexicon.from_terms(lexicon_terms(g))


def lexicon_terms(g: nx.MultiDiGraph) -> list[Term]:
    """The terms of :func:`lexicon_from_graph`, in entity id order."""
    terms = []
    wanted = lexicon_types()
    for node, data in g.nodes(data=True):
        t = entity_type_of(g, node)
        if t not in wanted:
            continue
        syn = data.get("synonyms") or []
        if isinstance(syn, str):
            syn = [syn]
        terms.append(
            Term(
                node,
                t,
                str(data.get("name") or node),
                str(data.get("name_en") or ""),
                tuple(str(s) for s in syn),
            )
        )
    terms.sort(key=lambda t: t.entity_id)
    return terms


def direction_fields(d: Direction) -> dict[str, str]:
    """The texts of a direction that are encoded, by field."""
    return {
        "title": d.title,
        "keywords": "；".join(d.keywords),
        "content": d.content or "",
        "metrics": d.metrics or "",
    }


def boilerplate_terms(g: nx.MultiDiGraph, direction_ids: Sequence[str]) -> set[str]:
    """Names of entities the entity layer flagged as boilerplate in some program."""
    names: set[str] = set()
    for _d, ms in direction_mentions(g, direction_ids).items():
        for ent, e in ms:
            if e.get("boilerplate") or g.nodes[ent].get("boilerplate"):
                names.add(str(g.nodes[ent].get("name") or ""))
    names.discard("")
    return names


def similar_threshold(settings: Settings, encoder: Encoder) -> float:
    """The SIMILAR_TO threshold: the one set explicitly in the settings, else the encoder's calibrated one.

    Scores live on different scales per encoder (MiniLM cosines of any two Chinese texts are high), so
    one fixed number cannot serve both; each encoder carries its own, measured on the gold set.
    """
    if settings.similar_threshold is not None:
        return float(settings.similar_threshold)
    return float(encoder.default_threshold)


def similar_cut(settings: Settings, encoder: Encoder) -> tuple[Calibration | None, float]:
    """The calibration SIMILAR_TO edges carry confidence by, and their threshold as a score.

    The threshold is a confidence: ``settings.similar_min_confidence``, else the calibration's own
    ``min_confidence`` (``fundgraph/data/eval/calibration.json``), turned into the lowest score that reaches it
    (:meth:`Calibration.min_score`), so that an edge exists exactly when its confidence reaches the threshold. A
    score threshold set explicitly (``settings.similar_threshold``) still wins, and an encoder the calibration
    was not fitted for (sentence-transformers) keeps its own score threshold and has no confidence. Lineage and
    communities keep the encoder's score threshold (:func:`similar_threshold`).
    """
    calibration = calibration_for(encoder.name)
    if calibration is not None:
        calibration = calibration.with_min_confidence(settings.similar_min_confidence)
    if calibration is None or settings.similar_threshold is not None:
        return calibration, similar_threshold(settings, encoder)
    return calibration, calibration.min_score()


# -- the layer ---------------------------------------------------------------------------------------------


def encode_directions(
    g: nx.MultiDiGraph,
    docs: list[ParsedDocument],
    *,
    settings: Settings,
    encoder: Encoder | None = None,
    config: ScoringConfig | None = None,
    progress: bool = False,
    early: EarlyEncoding | None = None,
) -> tuple[list[str], vx.TextMatrix, Encoder, Lexicon, ScoringConfig]:
    """Fit the encoder on the corpus and compute every direction's text vector (no edges added).

    ``early``: :func:`encode_inputs`' result, used when it was made with the lexicon of ``g`` (else ignored).
    """
    config = config or ScoringConfig()
    directions = [d for doc in docs for d in doc.directions]
    ids = [d.id for d in directions]
    lexicon = lexicon_from_graph(g)
    if encoder is None and early is not None and early.lexicon_state == lexicon.state():
        return ids, early.vectors, encoder_from_state(early.encoder_state), lexicon, config
    if encoder is None:
        # The entity layer's per-program boilerplate (大模型 in 天元) is not passed: it is often exactly what
        # links two programs, and the idf over all directions already weighs truly common words down
        # (measured: Recall@5 0.851 → 0.886 without it).
        encoder = encoder_from_settings(settings, lexicon=lexicon)
    fields = [direction_fields(d) for d in directions]
    encoder.fit([" ".join(f.values()) for f in fields])
    vectors = direction_vectors(encoder, fields, config, progress=progress)
    return ids, vectors, encoder, lexicon, config


def wants_words(encoder: Encoder, config: ScoringConfig) -> bool:
    """Whether the build keeps word vectors: the mix weight was chosen for the lexical encoder's score only."""
    return encoder.name == LexicalEncoder.name and config.word_mix > 0


def direction_words(fields: Sequence[Mapping[str, str]]) -> tuple[dict[str, Any], sp.csr_matrix]:
    """The word vocabulary (:meth:`WordVectoriser.state`) fitted on the directions' texts, and their word rows."""
    vectoriser = WordVectoriser()
    rows = vectoriser.fit_encode([" ".join(f.values()) for f in fields])
    return vectoriser.state(), rows


@dataclass
class EarlyEncoding:
    """The settings' encoder fitted and every direction encoded before the entity layer (:func:`encode_inputs`)."""

    #: The lexicon it was made with (:func:`encode_directions` uses it only when the graph's lexicon is equal).
    lexicon_state: dict[str, Any]
    encoder_state: dict[str, Any]
    vectors: vx.TextMatrix
    #: Every series direction's title encoded on its own (:func:`series_title_rows`).
    titles: tuple[sp.csr_matrix, dict[str, int]] | None
    #: The word vocabulary and every direction's word row (:func:`direction_words`), when the build keeps them.
    words: tuple[dict[str, Any], sp.csr_matrix] | None = None


@dataclass(frozen=True)
class EarlyInputs:
    """What :func:`encode_inputs` reads, made small: plain texts and terms, no documents or graphs.

    The build sends it to a fresh process (pickled: 18 MB at 20,000 directions, in 0.06 s). A forked process shared the
    build's pages instead, but the build writes to most of them while the encoding runs (the entity layer walks
    every document), and each page written while the fork lives is held twice: 2.6-3.1 GB more at 100,000.
    """

    fields: list[dict[str, str]]  # :func:`direction_fields` of every direction, in document order
    terms: list[Term]  # the lexicon's (:func:`lexicon_terms`)
    titles: list[tuple[str, str]]  # (id, title) of the series editions' directions (:func:`series_titles`)
    settings: Settings
    config: ScoringConfig | None = None


def early_inputs(docs: list[ParsedDocument], entity_graph: nx.MultiDiGraph, *, settings: Settings,
                 config: ScoringConfig | None = None) -> EarlyInputs:
    """:func:`encode_inputs`' inputs: ``entity_graph`` holds the vocabulary entities the entity layer will add."""
    return EarlyInputs(fields=[direction_fields(d) for doc in docs for d in doc.directions],
                       terms=lexicon_terms(entity_graph), titles=series_titles(series_editions(docs)),
                       settings=settings, config=config)


def encode_inputs(inputs: EarlyInputs) -> EarlyEncoding:
    """:func:`encode_directions` and lineage's title vectors from :class:`EarlyInputs` alone.

    The inputs need the documents and the vocabulary entities they cite only (``entity_graph`` of
    :func:`early_inputs`: :func:`graph.build.entities.vocabulary_entity_graph`), so on large corpora the build runs
    this in another process beside keyword choice and the entity layer.
    """
    lexicon = Lexicon.from_terms(inputs.terms)
    encoder = encoder_from_settings(inputs.settings, lexicon=lexicon)
    encoder.fit([" ".join(f.values()) for f in inputs.fields])
    config = inputs.config or ScoringConfig()
    vectors = direction_vectors(encoder, inputs.fields, config)
    return EarlyEncoding(lexicon_state=lexicon.state(), encoder_state=encoder.state(), vectors=vectors,
                         titles=title_rows(encoder, inputs.titles),
                         words=direction_words(inputs.fields) if wants_words(encoder, config) else None)


def add_similarity_layer(
    g: nx.MultiDiGraph,
    docs: list[ParsedDocument],
    vocab: Any = None,
    *,
    settings: Settings,
    encoder: Encoder | None = None,
    progress: Progress | None = None,
    early: EarlyEncoding | Background[EarlyEncoding] | None = None,
) -> SimilarityResult:
    """Add SIMILAR_TO, CONTINUES, Community and IN_COMMUNITY to ``g``; return the direction vectors.

    Args:
        g: the graph after the entity layer (Direction nodes, entity nodes, MENTIONS edges).
        docs: the parsed documents (direction texts; program series and years for lineage).
        vocab: the vocabularies (unused: the entity nodes in ``g`` carry names, English names and synonyms).
        settings: encoder choice, ``similar_top_k``, ``similar_threshold``.
        encoder: an encoder to use instead of the one the settings name (it is fitted here).
        progress: called with a short message as each step starts.
        early: the vectors and fitted encoder made before the entity layer (:func:`encode_inputs`), used when
            no ``encoder`` is given and their lexicon is the graph's; or the background step making them.
    """
    say = progress or (lambda _m: None)
    say("encoding directions")
    config = ScoringConfig()
    forked = sum(len(doc.directions) for doc in docs) >= BACKGROUND_MIN_DIRECTIONS and can_fork(settings.build_workers)
    # The candidates' entity side reads only the graph: made while the early encoding may still be running in
    # its forked process (this one waited for it), the vectors put in after.
    profiled = None
    if forked:
        ids = [d.id for doc in docs for d in doc.directions]
        profiled = candidates_from_graph(g, ids, vx.empty(len(ids)), config)
        profiled.entity_matrix  # noqa: B018 - the ranking's and the forked lineage's, made once here
    if isinstance(early, Background):
        early = early.result()
    ids, vectors, encoder, lexicon, config = encode_directions(
        g, docs, settings=settings, encoder=encoder, config=config, progress=progress is not None, early=early
    )
    used_early = early is not None and vectors is early.vectors
    words = None
    if wants_words(encoder, config):
        say("word vectors")
        words = early.words if used_early and early is not None and early.words is not None else direction_words(
            [direction_fields(d) for doc in docs for d in doc.directions])
    if profiled is not None and list(profiled.ids) == list(ids):
        cands = profiled.with_vectors(vectors)
    else:  # the encoder's rows are not the documents' directions in order: profile them as encoded
        cands = candidates_from_graph(g, ids, vectors, config)
    if words is not None:
        cands.words = words[1]
    method = f"{encoder.name}+entities"
    threshold = similar_threshold(settings, encoder)
    calibration, edge_threshold = similar_cut(settings, encoder)

    # Lineage reads only the candidates, the encoder and the documents, not the ranking below: on a large corpus
    # its parts run in forked processes while this one ranks (the first while the ranking's index is built on one
    # core; beside Louvain, later, it was slower: 267 s against 247 at 100,000 directions).
    lineage = lineage_rule(settings, encoder)
    titles = early.titles if early is not None and used_early else None
    # Every row's rarity-weighted profile, made once here for lineage's fork and the ranking's (lineage's fork made
    # its series rows' own, as its own memory).
    profiles = [idf_profile(e, cands.idf) for e in cands.entities] if forked else None
    if forked:  # in parts, each in a fork of its own, one after another, started as the ranking goes (LINEAGE_ROWS)
        continues = InTurn([partial(find_continues, docs, cands, config, encoder, lineage, titles=titles,
                                    profiles=profiles, pairs=part)
                            for part in edition_parts(series_editions(docs), LINEAGE_ROWS)], parallel=True)
    else:
        continues = InTurn([partial(find_continues, docs, cands, config, encoder, lineage, progress=progress,
                                    titles=titles)], parallel=False)

    say("linking similar directions across programs")
    # One pass of blocked matrix products serves both lists (SIMILAR_TO across programs, and the communities'
    # similarity graph over all programs); each equals rank(..., k, exclude=i[, exclude_program]) cut at the
    # threshold, without looping over every candidate in Python (embeddings.topk). Above
    # settings.exact_similarity_max directions the candidates come from a nearest-neighbour index (not every pair).
    selections = [
        Selection(settings.similar_top_k, edge_threshold, cross_group=True),
        Selection(settings.similar_top_k, threshold, explain=False),  # Louvain weighs them, nothing reads why
    ]
    if words is not None:  # each row's first-pass pool across programs, which the word mix re-orders
        selections.append(Selection(config.word_pool, None, cross_group=True, explain=False))
    across, everywhere, *pooled = ranked_in_parts(cands, config, selections, exact_max=settings.exact_similarity_max,
                                                  forked=forked, profiles=profiles, between=continues.poll)
    pools = None
    if pooled:
        members, scores = pool_arrays(pooled[0], config.word_pool)
        del pooled
        pools = (members, scores, pool_orders(members, scores, cands.words, cands.ids, config.word_mix))
    # Louvain needs only the lists over all programs: on a large corpus it runs in another process while this one
    # adds SIMILAR_TO (the second core), handing back only the communities' members. A fresh one, given the pairs'
    # arrays (~20 MB at 100,000 directions): a fork grew to ~1.2 GB private meanwhile, keeping the old copies of
    # the pages this one wrote.
    pairs = similarity_pairs(cands, everywhere)
    del everywhere
    communities = Background(partial(louvain_of_pairs, pairs), parallel=forked, fresh=True)
    groups = list(shared_groups().values())  # once, not per edge (a walk of the registry each)
    confidences = iter(calibration.confidence_list([s.score for ranked in across for s in ranked])
                       if calibration is not None else ())
    for did, ranked in zip(ids, across, strict=True):
        for s in ranked:
            props = s.edge_props(groups)
            if calibration is not None:
                props["confidence"] = next(confidences)
            g.add_edge(did, s.id, key=Rel.SIMILAR_TO.value, type=Rel.SIMILAR_TO.value, method=method, **props)
    del across  # its scored lists are edge properties now: free them before lineage, communities and the store

    say("linking editions of a series")
    add_continues(g, docs, cands, config, encoder, method=method, rule=lineage,
                  made=[c for made in continues.results() for c in made])

    say("finding topic communities")
    add_communities(g, cands, config, top_k=settings.similar_top_k, threshold=threshold,
                    communities=[[cands.ids[v] for v in members] for members in communities.result()])

    state = dict(encoder.state())
    state.setdefault("lexicon", lexicon.state())
    state["scoring"] = config.state()
    state["method"] = method
    state["similar_threshold"] = edge_threshold
    if calibration is not None:
        state["similar_min_confidence"] = calibration.min_confidence
        state["calibration"] = calibration.state()
    state["similar_top_k"] = settings.similar_top_k
    state["continues_threshold"] = lineage.threshold
    if words is not None:
        state["words"] = words[0]
    return SimilarityResult(direction_ids=ids, vectors=vectors, encoder_state=state, candidates=cands,
                            words=None if words is None else words[1], pools=pools)


def pool_arrays(lists: Sequence[Sequence[Any]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first-pass pool as arrays: the candidates' rows (int32, -1 past a short list) and their scores.

    The scores are float64: the 6-decimal scores as the live ranking has them, which the word mix's order reads.
    """
    rows = np.full((len(lists), width), -1, dtype=np.int32)
    scores = np.full((len(lists), width), np.nan, dtype=np.float64)
    for i, ranked in enumerate(lists):
        for j, s in enumerate(ranked[:width]):
            rows[i, j] = s.index
            scores[i, j] = s.score
    return rows, scores


def ranked_in_parts(cands: Candidates, config: ScoringConfig, selections: Sequence[Selection], *,
                    exact_max: int | None, forked: bool,
                    profiles: Sequence[tuple[dict[str, float], float]] | None = None,
                    between: Callable[[], None] | None = None) -> list[list[list[Scored]]]:
    """:func:`top_k_all` of every row, the second half of the rows ranked in forked processes (``forked``).

    Each row's lists depend only on that row and on the shared nearest-neighbour index, so the parts give
    exactly the lists one pass gives. The index is built here, once, before the forks (on one core: its graph
    must not depend on threads' timing). At 100,000 directions the rows' part of the ranking (candidate products,
    text cosines, re-scoring and explanations) was ~70 s on one core while the second had only lineage's fork
    (~35 s) to do. The half is cut into parts of at most :data:`FORKED_ROWS` rows, each ranked by a fork of its
    own while this process ranks the same share of the first half, which bounds what any one fork copies of the
    build's memory (:data:`FORKED_ROWS`). ``profiles``: every row's :func:`embeddings.similarity.idf_profile` when
    the caller has them. ``between``: called after the index is built and between parts (where this process may
    fork: lineage's parts are started there, :class:`background.InTurn`).
    """
    if not forked or len(cands.ids) < 2:
        return top_k_all(cands, config, selections, exact_max=exact_max)
    neighbours = neighbour_index(cands, config, exact_max=exact_max)
    between = between or (lambda: None)
    between()
    if profiles is None:  # once, for both processes
        profiles = [idf_profile(e, cands.idf) for e in cands.entities]
    rows = np.arange(len(cands.ids))
    half = rows.size // 2
    parts = -(-(rows.size - half) // FORKED_ROWS)
    mine, theirs = np.array_split(rows[:half], parts), np.array_split(rows[half:], parts)

    def ranked(part: np.ndarray) -> list[list[list[Scored]]]:
        return top_k_all(cands, config, selections, rows=part, exact_max=exact_max, profiles=profiles,
                         neighbours=neighbours)

    first: list[list[list[Scored]]] = [[] for _ in selections]
    second: list[list[list[Scored]]] = [[] for _ in selections]
    for here, there in zip(mine, theirs, strict=True):
        job = Background(partial(ranked, there), parallel=True)
        for lists, more in zip(first, ranked(here), strict=True):
            lists.extend(more)
        between()
        for lists, more in zip(second, job.result(), strict=True):
            lists.extend(more)
        between()
    return [a + b for a, b in zip(first, second, strict=True)]


@dataclass(frozen=True)
class LineageRule:
    """When a direction of a later edition CONTINUES one of the previous edition.

    The score alone cannot tell a continuation from a direction of the same broad field (an ICU large model
    and a 2021 smart-pathology direction share 智慧诊疗, AI and multi-omics). A continuation names the same
    object, so it is *unambiguous*: the two directions pick each other, and their titles agree. At most one
    predecessor per direction.

    Attributes:
        threshold: minimum combined score (text + shared entities) of the pair.
        mutual: the earlier direction's best match in the later edition must be this direction.
        title_agrees: by title alone (encoded on its own), the two must be each other's best match across the
            two editions, with a title similarity above zero.
    """

    threshold: float = CONTINUES_THRESHOLD
    mutual: bool = True
    title_agrees: bool = True

    def describe(self) -> str:
        """Short human-readable form (eval tables)."""
        parts = [f"score≥{self.threshold:.2f}"]
        if self.mutual:
            parts.append("mutual best")
        if self.title_agrees:
            parts.append("titles agree")
        return " + ".join(parts)


def lineage_rule(settings: Settings | None, encoder: Encoder) -> LineageRule:
    """The shipped rule, its threshold scaled to the encoder (:data:`CONTINUES_SHARE` × SIMILAR_TO threshold)."""
    base = (
        float(settings.similar_threshold)
        if settings is not None and settings.similar_threshold is not None
        else float(encoder.default_threshold)
    )
    return LineageRule(threshold=round(CONTINUES_SHARE * base, 4))


@dataclass
class Continuation:
    """One CONTINUES link: the later direction, the earlier one, and why."""

    later: str
    earlier: str
    from_year: int
    to_year: int
    scored: Scored
    title_score: float
    runner_up: float

    def edge_props(self, rule: LineageRule) -> dict[str, Any]:
        """Flat edge properties: the score's explanation plus the lineage evidence."""
        props = self.scored.edge_props()
        props["summary"] = (
            f"Carries forward {self.earlier} ({self.to_year} → {self.from_year}): "
            f"{rule.describe()} (title similarity {self.title_score:.2f}, next best {self.runner_up:.2f}). "
            + props["summary"]
        )
        props["title_score"] = round(self.title_score, 6)
        return props


def series_editions(docs: Sequence[ParsedDocument]) -> list[tuple[ParsedDocument, ParsedDocument]]:
    """(previous, later) pairs of consecutive editions of every series with two or more dated editions."""
    by_series: dict[str, list[ParsedDocument]] = defaultdict(list)
    for doc in docs:
        if doc.program.series and doc.program.year is not None:
            by_series[doc.program.series].append(doc)
    out = []
    for series in sorted(by_series):
        editions = sorted(by_series[series], key=lambda d: (d.program.year or 0, d.program.id))
        for prev, later in itertools.pairwise(editions):
            if prev.program.year != later.program.year:
                out.append((prev, later))
    return out


def edition_parts(pairs: Sequence[tuple[ParsedDocument, ParsedDocument]], rows: int
                  ) -> list[list[tuple[ParsedDocument, ParsedDocument]]]:
    """``pairs`` cut in order into parts of about ``rows`` directions each (both editions of a pair counted)."""
    parts: list[list[tuple[ParsedDocument, ParsedDocument]]] = [[]]
    size = 0
    for pair in pairs:
        if parts[-1] and size >= rows:
            parts.append([])
            size = 0
        parts[-1].append(pair)
        size += len(pair[0].directions) + len(pair[1].directions)
    return parts


def title_vectors(encoder: Encoder, directions: Sequence[Direction]) -> dict[str, np.ndarray]:
    """Direction id → its title encoded on its own (unit length; zero for an empty title), dense.

    Only two editions' directions at a time (a few dozen rows), so dense rows cost nothing here.
    """
    if not directions:
        return {}
    m = vx.l2_normalise(vx.as_rows(encoder.encode([d.title or "" for d in directions])))
    # One dense copy of the few rows, not one sparse row slice each (a third of lineage's time at 1,000 directions).
    rows = np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float32)
    return {d.id: rows[i] for i, d in enumerate(directions)}


def series_titles(pairs: Sequence[tuple[ParsedDocument, ParsedDocument]]) -> list[tuple[str, str]]:
    """(id, title) of every direction of the editions in ``pairs``, each once, in the order first met."""
    seen: dict[str, str] = {}
    for prev, later in pairs:
        for d in (*prev.directions, *later.directions):
            seen.setdefault(d.id, d.title or "")
    return list(seen.items())


def title_rows(encoder: Encoder, titles: Sequence[tuple[str, str]]) -> tuple[sp.csr_matrix, dict[str, int]] | None:
    """:func:`series_title_rows` from :func:`series_titles`' list."""
    if not titles:
        return None
    m = vx.l2_normalise(vx.as_rows(encoder.encode([title for _id, title in titles])))
    if not sp.issparse(m):
        return None
    return m.tocsr(), {did: i for i, (did, _t) in enumerate(titles)}


def series_title_rows(
    encoder: Encoder, pairs: Sequence[tuple[ParsedDocument, ParsedDocument]]
) -> tuple[sp.csr_matrix, dict[str, int]] | None:
    """Every series direction's title encoded on its own, in one call: the rows and direction id → row.

    Most editions are in two pairs (as the later, then as the previous edition): encoding each title once, in one
    call, was a third of lineage's time when every pair encoded its own. Only for an encoder whose rows are sparse
    (the lexical encoders: each row computed and normalised on its own, so the rows are those of a per-pair
    call); None for others (a dense model's batch may change its rows in the last bits).
    """
    return title_rows(encoder, series_titles(pairs))


def _series_titles(
    encoder: Encoder, pairs: Sequence[tuple[ParsedDocument, ParsedDocument]],
    rows: tuple[sp.csr_matrix, dict[str, int]] | None = None,
) -> Callable[[Sequence[Direction]], dict[str, np.ndarray]] | None:
    """:func:`title_vectors` of any editions' directions, from :func:`series_title_rows` (``rows`` when made)."""
    rows = rows if rows is not None else series_title_rows(encoder, pairs)
    if rows is None:
        return None
    m, row = rows

    def titles(directions: Sequence[Direction]) -> dict[str, np.ndarray]:
        dense = np.asarray(m[[row[d.id] for d in directions]].toarray(), dtype=np.float32)
        return {d.id: dense[i] for i, d in enumerate(directions)}

    return titles


def candidate_subset(cands: Candidates, rows: Sequence[int]) -> Candidates:
    """The candidates ``rows`` of ``cands`` on their own, scored as inside the whole corpus.

    The corpus's entity rarity (``idf``), entity names and hierarchy are kept, so every score, order and
    explanation among these rows is the one the whole set gives (:func:`embeddings.scoring.rescore` reads
    only the rows it is given, and the rows' text vectors are the same).
    """
    rows = sorted(set(rows))
    sub = Candidates(
        ids=[cands.ids[i] for i in rows],
        programs=[cands.programs[i] for i in rows],
        vectors=cands.vectors[rows] if rows else vx.empty(0, vx.dimension(cands.vectors),
                                                         sparse=sp.issparse(cands.vectors)),
        entities=[cands.entities[i] for i in rows],
        info=cands.info,
        idf=cands.idf,
        parents=cands.parents,
        hierarchy_decay=cands.hierarchy_decay,
        type_weights=cands.type_weights,
    )
    if cands._entity_matrix is not None:
        # The whole set's entity rows (its columns, every entity in sorted order, as a subset's own are): a row
        # depends only on its profile and the idf, so these are the rows the subset would make, not made again
        # (with the profiles made once in find_continues, 6 % of lineage's CPU at 20,000 directions).
        matrix, columns = cands._entity_matrix
        sub._entity_matrix = (matrix[rows], columns)
    return sub


class TitleDots:
    """Title similarities of one edition pair, each exactly ``float(titles[a] @ titles[b])``, made where they count.

    Each later title was dotted with every earlier one (and back) to find the best: a third of lineage's time at
    100,000 directions. One float32 matrix product of the two editions' titles gives every value to within
    ``D = 2 (nnz + 1) 2⁻²⁴`` of the exact dot (unit rows; a float32 dot rounds only where both rows have a non-zero,
    products and sums, ``nnz`` the most non-zeros of a row; ``D`` covers the error of both), so the exact best is
    among those within ``2D`` (:attr:`margin`) of the row's best approximate value: only those, and the pairs
    asked for, are dotted exactly.
    """

    def __init__(self, titles: dict[str, np.ndarray], later_ids: Sequence[str], prev_ids: Sequence[str]) -> None:
        self.titles = titles
        self.later_ids, self.prev_ids = list(later_ids), list(prev_ids)
        self.later_row = {d: i for i, d in enumerate(self.later_ids)}
        self.prev_row = {d: i for i, d in enumerate(self.prev_ids)}
        later = np.stack([titles[d] for d in self.later_ids]) if self.later_ids else np.zeros((0, 0), np.float32)
        prev = np.stack([titles[d] for d in self.prev_ids]) if self.prev_ids else np.zeros((0, 0), np.float32)
        if later.size and prev.size:
            # Only the columns both editions have (the others add exact zeros), and einsum rather than BLAS: a
            # multi-threaded sgemm per edition pair tripled lineage's CPU at 20,000 directions on 2 busy cores.
            shared = np.flatnonzero(later.any(axis=0) & prev.any(axis=0))
            self.approx = np.einsum("if,jf->ij", later[:, shared], prev[:, shared])
        else:
            self.approx = np.zeros((len(later_ids), len(prev_ids)), dtype=np.float32)
        nnz = max((int(np.count_nonzero(m, axis=1).max(initial=0)) for m in (later, prev)), default=0)
        self.margin = 4.0 * (nnz + 2) * 2.0**-24 + 1e-9
        self._best_prev: dict[str, float] = {}
        self._best_later: dict[str, float] = {}

    def exact(self, a: str, b: str) -> float:
        """``float(titles[a] @ titles[b])``."""
        return float(self.titles[a] @ self.titles[b])

    def best_prev(self, later: str) -> float:
        """``max(exact(later, p) for p in prev_ids)``."""
        if later not in self._best_prev:
            row = self.approx[self.later_row[later]]
            near = np.flatnonzero(row >= row.max() - self.margin)
            self._best_prev[later] = max(self.exact(later, self.prev_ids[j]) for j in near.tolist())
        return self._best_prev[later]

    def best_later(self, earlier: str) -> float:
        """``max(exact(earlier, x) for x in later_ids)``."""
        if earlier not in self._best_later:
            col = self.approx[:, self.prev_row[earlier]]
            near = np.flatnonzero(col >= col.max() - self.margin)
            self._best_later[earlier] = max(self.exact(earlier, self.later_ids[i]) for i in near.tolist())
        return self._best_later[earlier]


def _titles_agree(dots: TitleDots, later: str, earlier: str) -> bool:
    """The earlier title is the later's best among its edition's, and the later's is the earlier's best.

    Both ways since character unigrams (any two Chinese titles share characters): one way let BT-IT 2024:4 (memory
    decoding) link to 2021:2.4 (an EEG codec chip), whose own best title is 2024:7's.
    """
    t = dots.exact(later, earlier)
    if not (t > 1e-6 and t >= dots.best_prev(later) - 1e-6):
        return False
    return t >= dots.best_later(earlier) - 1e-6


def find_continues(
    docs: Sequence[ParsedDocument],
    cands: Candidates,
    config: ScoringConfig,
    encoder: Encoder,
    rule: LineageRule | None = None,
    *,
    progress: Progress | None = None,
    titles: tuple[sp.csr_matrix, dict[str, int]] | None = None,
    profiles: Sequence[tuple[dict[str, float], float]] | None = None,
    pairs: Sequence[tuple[ParsedDocument, ParsedDocument]] | None = None,
) -> list[Continuation]:
    """The CONTINUES links :class:`LineageRule` accepts, for every series with two or more editions.

    ``titles``: :func:`series_title_rows` of ``docs``' editions with ``encoder`` when already made; ``profiles``:
    every row's :func:`similarity.idf_profile` when already made (else those of the series' rows are made here);
    ``pairs``: only these of :func:`series_editions`' pairs (default all), in their order: each pair's links
    depend on that pair alone, so parts of the list give the whole list's links, part after part.

    Each later direction is ranked against the previous edition's directions only, and each earlier one
    against the later edition's (:func:`embeddings.topk.top_k_all` with those rows and columns): the work
    grows with the editions' sizes, not with the corpus.
    """
    rule = rule or LineageRule()
    by_program: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(cands.programs):
        by_program[p].append(i)
    made: list[Continuation] = []
    pairs = series_editions(docs) if pairs is None else pairs
    count = StepCount(progress or (lambda _m: None), "linking editions of a series", len(pairs))
    every_title = _series_titles(encoder, pairs, titles)
    # Each direction's rarity-weighted profile once: it is ranked in up to two edition pairs, both ways, and each
    # ranking read every row's (with the entity rows taken in candidate_subset, 6 % of lineage's CPU at 20,000
    # directions).
    made_profiles: dict[int, tuple[dict[str, float], float]] = {}

    def profile(i: int) -> tuple[dict[str, float], float]:
        if profiles is not None:
            return profiles[i]
        got = made_profiles.get(i)
        if got is None:
            got = made_profiles[i] = idf_profile(cands.entities[i], cands.idf)
        return got

    for prev, later in pairs:
        count.add()
        eds = [*prev.directions, *later.directions]
        titles = title_vectors(encoder, eds) if every_title is None else every_title(eds)
        prev_ids = [d.id for d in prev.directions]
        # The two editions alone: top_k_all's set-up is linear in its candidates, and there are as many
        # edition pairs as the corpus has series, so ranking inside the whole corpus made lineage quadratic.
        pair_rows_ = sorted({*by_program.get(prev.program.id, []), *by_program.get(later.program.id, [])})
        pair = candidate_subset(cands, pair_rows_)
        pair_profiles = [profile(i) for i in pair_rows_]
        pair_rows = defaultdict(list)
        for i, p in enumerate(pair.programs):
            pair_rows[p].append(i)
        later_ids = [d.id for d in later.directions]
        later_rows = [pair.index[d] for d in later_ids]
        (forward,) = top_k_all(pair, config, [Selection(2)], rows=later_rows,
                               columns=pair_rows.get(prev.program.id, []), profiles=pair_profiles)
        back: dict[str, str | None] = {}
        if rule.mutual:
            prev_rows = [pair.index[d] for d in prev_ids]
            # only the best one's id is read: not explained (Selection.explain)
            (backward,) = top_k_all(pair, config, [Selection(1, explain=False)], rows=prev_rows,
                                    columns=pair_rows.get(later.program.id, []), profiles=pair_profiles)
            back = {d: (b[0].id if b else None) for d, b in zip(prev_ids, backward, strict=True)}
        dots = TitleDots(titles, later_ids, prev_ids)
        for d, ranked in zip(later.directions, forward, strict=True):
            if not ranked or ranked[0].score < rule.threshold:
                continue
            # The best match, or the runner-up when the best fails the checks and the runner-up passes them (two
            # sub-directions of one earlier topic can score within a hair: BT-IT 2024:1 against 2021:1.2 and 1.1).
            s = next((c for c in ranked[:2] if c.score >= rule.threshold
                      and not (rule.mutual and back.get(c.id) != d.id)
                      and not (rule.title_agrees and not _titles_agree(dots, d.id, c.id))),
                     None)
            if s is None:
                continue
            made.append(
                Continuation(
                    later=d.id,
                    earlier=s.id,
                    from_year=int(later.program.year or 0),
                    to_year=int(prev.program.year or 0),
                    scored=s,
                    title_score=dots.exact(d.id, s.id),
                    runner_up=max((c.score for c in ranked[:2] if c is not s), default=0.0),
                )
            )
    return made


def add_continues(
    g: nx.MultiDiGraph,
    docs: list[ParsedDocument],
    cands: Candidates,
    config: ScoringConfig,
    encoder: Encoder,
    *,
    method: str,
    rule: LineageRule | None = None,
    progress: Progress | None = None,
    titles: tuple[sp.csr_matrix, dict[str, int]] | None = None,
    made: list[Continuation] | None = None,
) -> list[Continuation]:
    """CONTINUES edges from directions of a later edition to the previous edition's ones they carry on.

    ``made``: :func:`find_continues` of the same arguments when already found (the build finds them in a forked
    process).
    """
    rule = rule or LineageRule()
    if made is None:
        made = find_continues(docs, cands, config, encoder, rule, progress=progress, titles=titles)
    for c in made:
        g.add_edge(
            c.later,
            c.earlier,
            key=Rel.CONTINUES.value,
            type=Rel.CONTINUES.value,
            method=method,
            from_year=c.from_year,
            to_year=c.to_year,
            **c.edge_props(rule),
        )
    return made


@dataclass(frozen=True)
class SimilarityPairs:
    """The similarity graph's edges as arrays: pair ``k`` joins vertices ``edges[k]`` with weight ``weights[k]``."""

    n: int
    edges: np.ndarray  # (pairs, 2) int64, the smaller vertex first
    weights: np.ndarray  # float64

    def graph(self) -> ig.Graph:
        """The igraph graph (vertex i is direction i)."""
        import igraph as ig

        return ig.Graph(n=self.n, edges=self.edges.tolist(), edge_attrs={"weight": self.weights.tolist()})


def similarity_pairs(cands: Candidates, ranked: Sequence[Sequence[Scored | Neighbour]]) -> SimilarityPairs:
    """:func:`similarity_graph`'s edges from each direction's ranked list (one per direction, in ``cands`` order).

    Each pair once, at the larger of its two scores, in the order the pairs first appear (the vertices' and edges'
    order is the order Louvain visits them in: the same order gives the same communities).
    """
    index = cands.index
    n = len(cands.ids)
    lengths = np.fromiter((len(row) for row in ranked), dtype=np.int64, count=len(ranked))
    mine = np.repeat(np.arange(len(ranked), dtype=np.int64), lengths)
    theirs = np.fromiter((index[s.id] for row in ranked for s in row), dtype=np.int64, count=mine.size)
    scores = np.fromiter((s.score for row in ranked for s in row), dtype=np.float64, count=mine.size)
    lo, hi = np.minimum(mine, theirs), np.maximum(mine, theirs)
    keys = lo * max(n, 1) + hi
    order = np.argsort(keys, kind="stable")  # a pair's entries together, in the order they were met
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
    first = order[starts]  # where each pair first appears
    best = np.maximum.reduceat(scores[order], starts) if keys.size else np.zeros(0)
    met = np.argsort(first, kind="stable")
    return SimilarityPairs(n, np.column_stack([lo[first[met]], hi[first[met]]]), best[met])


def similarity_graph(
    cands: Candidates,
    config: ScoringConfig,
    *,
    top_k: int,
    threshold: float,
    ranked: Sequence[Sequence[Scored | Neighbour]] | None = None,
) -> ig.Graph:
    """Undirected weighted graph over directions: each one's top k over all programs, above the threshold.

    Vertex i is ``cands.ids[i]``; an edge's ``weight`` is its score. ``ranked``: those lists when already
    computed (:func:`embeddings.topk.top_k_all`), one per direction.
    """
    if ranked is None:
        (ranked,) = top_k_all(cands, config, [Selection(top_k, threshold, explain=False)])
    return similarity_pairs(cands, ranked).graph()


def louvain_of_pairs(pairs: SimilarityPairs) -> list[list[int]]:
    """:func:`louvain` of :func:`similarity_pairs`' graph, as lists of vertex numbers (a fresh process's step)."""
    return louvain(pairs.graph(), range(pairs.n))  # type: ignore[arg-type]


def louvain(sg: ig.Graph, ids: Sequence[str]) -> list[list[str]]:
    """Louvain communities (seeded) of the similarity graph, as lists of direction ids; one each without edges.

    igraph's multilevel Louvain (C): on the similarity graph of 20,000 directions 0.45 s of CPU against 5.8 s for
    networkx's ``louvain_communities`` (the build's forked step once took longer than the ranking beside it), the
    same modularity (0.9834; 244 communities against 241).
    """
    import igraph as ig

    if not sg.ecount():
        return [[d] for d in ids]
    rng = random.Random(COMMUNITY_SEED)
    ig.set_random_number_generator(rng)
    try:
        parts = sg.community_multilevel(weights="weight")
    finally:
        ig.set_random_number_generator(random)
    return [[ids[v] for v in part] for part in parts]


def entity_counts(cands: Candidates) -> Counter[str]:
    """Entity id → number of directions whose profile has it."""
    df: Counter[str] = Counter()
    for p in cands.entities:
        df.update(p.keys())
    return df


def community_terms(
    members: Sequence[str], cands: Candidates, *, n_terms: int = 3, df_all: Counter[str] | None = None
) -> list[EntityInfo]:
    """The entities most characteristic of a set of directions: frequent inside, rare outside (c-TF-IDF).

    ``df_all``: :func:`entity_counts` of ``cands`` when already counted (once per build, not per community).
    """
    df_all = entity_counts(cands) if df_all is None else df_all
    inside: Counter[str] = Counter()
    for d in members:
        inside.update(cands.entities[cands.index[d]].keys())
    total = len(cands.ids)
    scored = []
    for e, c in inside.items():
        info = cands.info.get(e)
        if info is None or info.type == "discipline":
            continue
        df = df_all[e]
        # share of the community citing it × how specific it is to the community
        score = (c / len(members)) * math.log(1 + total / df) * (c / df)
        scored.append((score, c, e))
    scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
    # A keyword and a technique may carry the same name (合成生物学): name each term once.
    terms: list[EntityInfo] = []
    for _, _, e in scored:
        info = cands.info[e]
        if all(t.name != info.name for t in terms):
            terms.append(info)
        if len(terms) == n_terms:
            break
    return terms


def add_communities(
    g: nx.MultiDiGraph,
    cands: Candidates,
    config: ScoringConfig,
    *,
    top_k: int,
    threshold: float,
    ranked: Sequence[Sequence[Scored | Neighbour]] | None = None,
    communities: Sequence[Sequence[str]] | None = None,
) -> list[list[str]]:
    """Louvain communities (seeded) on the similarity graph; Community nodes for groups of two or more.

    ``communities``: :func:`louvain` of the similarity graph when already found (the build finds them in another
    process); ``ranked`` is then not needed.
    """
    if communities is None:
        sg = similarity_graph(cands, config, top_k=top_k, threshold=threshold, ranked=ranked)
        communities = louvain(sg, cands.ids)
    groups = sorted((sorted(c) for c in communities), key=lambda m: (-len(m), m[0]))
    kept = [m for m in groups if len(m) >= 2]
    df_all = entity_counts(cands)
    for n, members in enumerate(kept, start=1):
        cid = f"community:{n}"
        terms = community_terms(members, cands, df_all=df_all)
        zh = [t.name for t in terms]
        en = [t.name_en or t.name for t in terms]
        programs = sorted({cands.programs[cands.index[d]] for d in members})
        g.add_node(
            cid,
            id=cid,
            label=Label.COMMUNITY.value,
            name=" / ".join(zh) or f"社区 {n}",
            name_en=" / ".join(en) or f"Community {n}",
            terms=zh,
            terms_en=en,
            size=len(members),
            programs=programs,
        )
        for d in members:
            g.add_edge(d, cid, key=Rel.IN_COMMUNITY.value, type=Rel.IN_COMMUNITY.value)
    return kept
