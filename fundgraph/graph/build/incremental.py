"""Adding one document to a built graph without rebuilding the rest (``fundgraph add``).

What is recomputed, and what stays as the last full build (``fundgraph build`` / ``build --full``) left it:

- **Parse and extract**: the new document only (from the per-document cache when it is there; cached for the
  next build otherwise).
- **Text vectors** (*frozen encoder*): the new directions are encoded with the encoder state of the last full
  build: its vocabulary and IDF. Words the vocabulary lacks are ignored, and no existing vector changes. The
  drift is recorded in the meta (``incremental``): the share of the new directions' feature occurrences
  outside the vocabulary, and the directions added since the full build as a share of its directions; past
  :data:`ADDED_SHARE_BOUND` or :data:`OOV_SHARE_BOUND` the meta (and ``fundgraph add``) suggest
  ``fundgraph build --full``. The word rows of the word mix (:mod:`fundgraph.embeddings.words`) likewise: the
  new directions' with the last full build's word vocabulary and idf; no stored row changes. The first-pass
  pools (each direction's best 30 across programs, which ``similar`` re-scores and mixes: :attr:`BuiltGraph.pools`)
  as the SIMILAR_TO lists: a new direction's is its exact best, and it is inserted into the existing pools it
  ranks before the last member of (:func:`_added_pools`).
- **Entity rarity** (idf over directions): recomputed over every direction, new ones included, as a full build
  and both stores at query time compute it. The SIMILAR_TO lists of directions the new ones do not enter are
  not re-scored: their scores are those of the last build (the idf of N directions moves by at most
  ln((N+n)/N) per entity, n the directions added).
- **Keywords** of the new directions without 关键词 are chosen against the keyword counts the last build cached
  plus the new document's own; a term no earlier document had as a candidate counts in the new document only.
  Other documents keep their keywords.
- **SIMILAR_TO**: each new direction's top k over every other program (exact: :func:`embeddings.topk.top_k_all`
  with the new rows). An existing direction's list changes only if a new direction enters it: one product of
  the new rows with every row (:func:`embeddings.topk.block_scores`) is compared with each direction's stored
  k-th score (read from the edge arrays and bytes, :func:`.stores.embedded.append.stored_lists`); where a new
  direction may beat it, its exact score (:func:`embeddings.scoring.rescore`) decides, and it is *inserted*: the
  list keeps its stored entries and scores, the new directions that rank before its k-th enter at their exact
  scores, and the list is cut to k. The list is not ranked again against every row (at 100,000 directions, 480
  lists re-ranked cost 3 s of the addition's 5); a full build's ranking of it may differ as every list not
  entered may (entity rarity drift; at 100,000 the build's lists come from the nearest-neighbour index), within
  the bound ``tests/graph/test_incremental_full.py`` checks against a full build that ranks exactly. At any size
  the edges touching the new directions are exact top-k (:func:`check_exact`, on the graph as written; asserted by
  ``tests/graph/test_incremental_columns.py`` and ``benchmarks/add_one.py``).
- **CONTINUES**: only the new document's series. The pairs of consecutive editions are listed before and
  after the addition; the links of pairs that are no longer consecutive (the new edition falls between two)
  are removed, and new pairs are linked by the same rule as a full build.
- **Communities** (*best-neighbour rule*): a new direction joins the community with the largest summed score
  among its neighbours (top k over all programs, above the threshold) that belong to one, in rounds until no
  more join (a round sees the communities of the rounds before it, so a new direction can follow a sibling);
  new directions linked only to each other form a new community when two or more are connected. Community
  sizes and programs are updated; their names stay. ``fundgraph build`` runs Louvain over everything again.
- **Entities**: the new directions' MENTIONS, new entity nodes (with their MEMBER_OF groups), and the flags
  a document changes on existing entities (program boilerplate, a keyword only ever extracted).

A document whose program is already in the graph (an edited or replaced document) is refused here: the caller
rebuilds (:class:`NeedsFullBuild`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from fundgraph.core.errors import FundgraphError
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.encoders import Encoder, LexicalEncoder, encoder_from_state
from fundgraph.embeddings.scoring import (
    Candidates,
    EntityInfo,
    Neighbour,
    Scored,
    ScoringConfig,
    candidate_margin,
    direction_vectors,
    entity_profile,
    expand_hierarchy,
    rescore,
)
from fundgraph.embeddings.topk import Selection, block_scores, top_k_all
from fundgraph.embeddings.words import WordVectoriser, pool_orders
from fundgraph.graph.build.similarity import (
    LineageRule,
    community_terms,
    direction_fields,
    entity_counts,
    find_continues,
    pool_arrays,
    series_editions,
)
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.profiles import entity_type_of

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.entities import DirectionKeywords, DocumentExtract
    from fundgraph.graph.stores.base import BuiltGraph
    from fundgraph.loaders.corpus import CorpusDocument
    from fundgraph.loaders.records import ParsedDocument
    from fundgraph.loaders.vocab import Vocabulary

Progress = Callable[[str], None]

#: Directions added since the last full build, as a share of its directions, past which a full build is
#: suggested (the frozen IDF then describes a corpus a tenth smaller than the one served).
ADDED_SHARE_BOUND = 0.10
#: Share of the new directions' feature occurrences outside the frozen vocabulary past which a full build is
#: suggested: twice what the 4,000-feature cap leaves out of a document like the corpus's own (measured 0.245 for
#: a document recombined from the synthetic corpus's sentences), so half the new text is invisible to the score.
OOV_SHARE_BOUND = 0.5
#: What the meta says of the rule (shown by ``fundgraph add``).
RULE = ("text vectors and word rows: vocabulary and IDF frozen at the last full build (new words ignored until "
        "`fundgraph build --full`); entity rarity over every direction; new directions inserted into the existing "
        "lists they enter; lineage for the new document's series; communities: best-neighbour rule")


class NeedsFullBuild(FundgraphError):
    """The change cannot be made incrementally (a program already in the graph): rebuild instead."""


@dataclass
class AddReport:
    """What :func:`add_document` changed."""

    program_id: str
    directions: list[str]
    #: SIMILAR_TO edges from the new directions.
    similar_edges: int = 0
    #: Existing directions whose SIMILAR_TO list a new direction entered.
    entered: list[str] = field(default_factory=list)
    #: CONTINUES edges added and removed.
    continues_added: int = 0
    continues_removed: int = 0
    #: New direction → the community it joined (None: none).
    communities: dict[str, str | None] = field(default_factory=dict)
    #: Share of the new directions' feature occurrences outside the frozen vocabulary (None: not lexical).
    oov_share: float | None = None
    #: Seconds per step (parse, vectors, candidates, similar, lineage, communities).
    timings: dict[str, float] = field(default_factory=dict)


# -- parse and extract -----------------------------------------------------------------------------------------
@dataclass
class NewDocument:
    """The new document parsed and extracted, with its keywords chosen."""

    doc: ParsedDocument
    extract: DocumentExtract
    keywords: list[DirectionKeywords]


def prepare_document(settings: Settings, document: CorpusDocument, vocab: Vocabulary, *,
                     directions_before: int) -> NewDocument:
    """Parse and extract ``document`` (cache first), and choose its keywords by the rule of this module.

    Args:
        settings: the cache and vocabulary settings.
        document: the manifest entry of the new document, with its file.
        vocab: the vocabularies.
        directions_before: directions of the graph before the addition (the keyword statistics' corpus size).
    """
    from fundgraph.graph.build.cache import DocumentCache
    from fundgraph.graph.build.entities import document_keywords, extract_document
    from fundgraph.loaders.keywords import KeywordStats, document_frequencies

    cache = DocumentCache(settings.cache_dir or Path(settings.home) / "cache", settings.vocab_dir) \
        if settings.build_cache else None
    hit = key = None
    if cache is not None:
        key = cache.key(document.entry, document.path.read_bytes())
        hit = cache.get(key)
    if hit is not None:
        doc, extract = hit.doc, hit.extract
    else:
        doc = document.load()
        extract = extract_document(doc, vocab)
        if cache is not None and key is not None:
            cache.put(key, doc, extract)
    terms = extract.terms()
    df = dict(document_frequencies(extract.texts, terms))
    if cache is not None and terms:
        counts = cache.keyword_counts()
        if counts.docs:
            index = {t: i for i, t in enumerate(counts.terms)}
            summed = np.bincount(np.concatenate([v[1] for v in counts.docs.values()]),
                                 weights=np.concatenate([v[2] for v in counts.docs.values()]),
                                 minlength=len(counts.terms))
            for t in terms:
                if t in index:
                    df[t] = df.get(t, 0) + int(summed[index[t]])
    stats = KeywordStats.from_counts(directions_before + len(extract.texts), df)
    return NewDocument(doc=doc, extract=extract, keywords=document_keywords(doc, extract, stats))


# -- nodes and MENTIONS -------------------------------------------------------------------------------------------
def merge_document_nodes(g: nx.MultiDiGraph, new: NewDocument, vocab: Vocabulary, *, manifest_order: int,
                         titles_en: dict[str, str]) -> None:
    """Add the new document's program, sections, directions, entities and MENTIONS to ``g``.

    The document's own graph is built by the build's functions (:func:`pipeline.base_graph`,
    :func:`entities.add_entity_layer`) and merged: nodes already in ``g`` keep their properties except the
    flags a full build derives from every document (boilerplate programs; a keyword's ``extracted``).
    """
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.pipeline import base_graph

    sub = base_graph([new.doc], titles_en)
    sub.nodes[new.doc.program.id]["manifest_order"] = manifest_order
    add_entity_layer(sub, [new.doc], vocab, extracts=[new.extract], keywords=[new.keywords])
    for n, data in sub.nodes(data=True):
        if n not in g:
            g.add_node(n, **data)
            continue
        old = g.nodes[n]
        if data.get("boilerplate"):
            old["boilerplate"] = True
            progs = list(old.get("boilerplate_programs") or [])
            old["boilerplate_programs"] = progs + [p for p in data.get("boilerplate_programs") or [] if p not in progs]
        if data.get("label") == Label.KEYWORD.value and "extracted" in old:
            old["extracted"] = bool(old["extracted"]) and bool(data.get("extracted"))
    for u, v, k, data in sub.edges(keys=True, data=True):
        if not g.has_edge(u, v, key=k):
            g.add_edge(u, v, key=k, **data)


# -- the addition -------------------------------------------------------------------------------------------------
def oov_share(encoder: Encoder, texts: Sequence[str]) -> float | None:
    """Share of the texts' feature occurrences the (frozen) lexical vocabulary does not have; None otherwise."""
    if not isinstance(encoder, LexicalEncoder):
        return None
    total = missing = 0
    for t in texts:
        for f in encoder.features(t):
            total += 1
            missing += f not in encoder.vocabulary
    return missing / total if total else 0.0


def graph_candidates(g: nx.MultiDiGraph, direction_ids: list[str], vectors: vx.TextMatrix,
                     config: ScoringConfig) -> Candidates:
    """:func:`graph.profiles.candidates_from_graph` (the same profiles, rarity and entity names), read faster.

    The adjacency dicts are walked directly and only the groups (MEMBER_OF) of cited entities are looked up,
    instead of one edge view per direction and a pass over every edge of the graph: at 20,000 directions
    1.5 → 0.5 s of CPU, the largest part of an addition's compute. ``parents`` holds those groups only.
    """
    mentions_rel, member_rel = Rel.MENTIONS.value, Rel.MEMBER_OF.value
    succ = g.succ
    nodes = g.nodes
    types: dict[str, str] = {}
    parents: dict[str, list[str]] = {}

    def note(ent: str) -> None:
        if ent in types or ent not in nodes:
            return
        t = entity_type_of(g, ent)
        if t:
            types[ent] = t

    def groups(ent: str) -> list[str]:
        found = parents.get(ent)
        if found is None:
            found = sorted({v for v, keyed in succ[ent].items() if any(e.get("type") == member_rel
                                                                      for e in keyed.values())}) if ent in succ else []
            parents[ent] = found
            for v in found:
                groups(v)
        return found

    cited: list[list[tuple[str, str, bool]]] = []
    for d in direction_ids:
        rows = []
        for ent, keyed in succ[d].items():
            for e in keyed.values():
                if e.get("type") == mentions_rel:
                    note(ent)
                    if not e.get("boilerplate"):
                        rows.append((ent, e.get("field") or "", bool(e.get("extracted"))))
        cited.append(rows)
    for ent in list(types):
        groups(ent)
    tree = {k: v for k, v in parents.items() if v}
    profiles = []
    for rows in cited:
        p = entity_profile(rows, config.entity_types, types, config.entity_field_weights,
                           type_weights=config.type_weights, extracted_weight=config.extracted_keyword_weight)
        p = expand_hierarchy(p, tree, decay=config.hierarchy_decay, depth=config.hierarchy_depth)
        for ent in p:
            note(ent)
        profiles.append(p)
    info = {ent: EntityInfo(id=ent, type=t, name=str(nodes[ent].get("name") or ent),
                            name_en=str(nodes[ent].get("name_en") or "")) for ent, t in types.items()}
    return Candidates(ids=list(direction_ids), programs=[nodes[d]["program_id"] for d in direction_ids],
                      vectors=vectors, entities=profiles, info=info, parents=tree,
                      hierarchy_decay=config.hierarchy_decay, type_weights=dict(config.type_weights))


def _similar_out(g: nx.MultiDiGraph, did: str) -> list[tuple[str, dict[str, Any]]]:
    return [(v, e) for _, v, e in g.out_edges(did, data=True) if e.get("type") == Rel.SIMILAR_TO.value]


def _set_similar(g: nx.MultiDiGraph, did: str, ranked: Sequence[Scored], method: str) -> None:
    for _, v, _k in [(u, v, k) for u, v, k, e in g.out_edges(did, keys=True, data=True)
                     if e.get("type") == Rel.SIMILAR_TO.value]:
        g.remove_edge(did, v, key=Rel.SIMILAR_TO.value)
    for s in ranked:
        g.add_edge(did, s.id, key=Rel.SIMILAR_TO.value, type=Rel.SIMILAR_TO.value, method=method, **s.edge_props())


def _insert_similar(g: nx.MultiDiGraph, did: str, merged: Sequence[tuple[float, str, Any]], method: str) -> None:
    """Replace ``did``'s SIMILAR_TO edges with ``merged`` (score, target, stored edge properties or a new Scored)."""
    for v in [v for v, _ in _similar_out(g, did)]:
        g.remove_edge(did, v, key=Rel.SIMILAR_TO.value)
    for _, v, x in merged:
        props = {"type": Rel.SIMILAR_TO.value, "method": method, **x.edge_props()} if isinstance(x, Scored) else x
        g.add_edge(did, v, key=Rel.SIMILAR_TO.value, **props)


def add_document(built: BuiltGraph, new: NewDocument, vocab: Vocabulary, *, settings: Settings | None = None,
                 progress: Progress | None = None) -> AddReport:
    """Add one parsed document to ``built`` in place, recomputing only what it changes (see the module).

    Raises:
        NeedsFullBuild: the document's program or one of its direction ids is already in the graph, or the
            graph carries no encoder state.
    """
    from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles

    say = progress or (lambda _m: None)
    partial = _partial_graph(built)
    g = partial.g if partial is not None else built.graph
    doc = new.doc
    pid = doc.program.id
    ids_new = [d.id for d in doc.directions]
    where = partial if partial is not None else g
    if pid in where or any(d in where for d in ids_new):
        raise NeedsFullBuild(f"program {pid} is already in the graph: rebuild it with `fundgraph build`",
                             detail={"program_id": pid})
    state = built.encoder_state
    if not state or "scoring" not in state:
        raise NeedsFullBuild("the stored graph has no encoder state to add with: run `fundgraph build`")
    report = AddReport(program_id=pid, directions=ids_new)
    timings = report.timings
    config = ScoringConfig.from_state(state.get("scoring"))
    k = int(state.get("similar_top_k", 5))
    threshold = float(state.get("similar_threshold", 0.25))
    method = str(state.get("method", ""))

    say("adding nodes and mentions")
    t = time.perf_counter()
    titles_en: dict[str, str] = {}
    if settings is not None:
        titles = load_title_translations(settings.vocab_dir / TITLES_FILE)
        titles_en = match_titles(titles, [(x.id, x.title) for x in (*doc.sections, *doc.directions)]).english
    programs = list(built.meta.get("programs") or [])
    if partial is not None:  # the stored nodes the document's own graph touches, and their groups
        from fundgraph.graph.build.pipeline import base_graph

        partial.ensure_groups(n for n in _document_nodes(new, vocab, base_graph) if n in partial.columns.index)
    merge_document_nodes(g, new, vocab, manifest_order=len(programs), titles_en=titles_en)
    timings["nodes_s"] = time.perf_counter() - t

    say("encoding the new directions (frozen vocabulary)")
    t = time.perf_counter()
    encoder = encoder_from_state(state)
    fields = [direction_fields(d) for d in doc.directions]
    rows_new = direction_vectors(encoder, fields, config)
    report.oov_share = oov_share(encoder, [" ".join(f.values()) for f in fields])
    old_vectors = built.vectors
    n_old = len(built.direction_ids)
    if sp.issparse(old_vectors) or sp.issparse(rows_new):
        vectors: vx.TextMatrix = _stacked(sp.csr_matrix(old_vectors), sp.csr_matrix(rows_new))
    else:
        vectors = np.vstack([np.asarray(old_vectors, np.float32), np.asarray(rows_new, np.float32)])
    ids = [*built.direction_ids, *ids_new]
    # The word rows (the word mix's) with the build's word vocabulary, frozen as the encoder's is.
    vectoriser = WordVectoriser.from_state(state.get("words"))
    words = None
    if vectoriser is not None and built.words is not None:
        words = _stacked(sp.csr_matrix(built.words), vectoriser.encode(" ".join(f.values()) for f in fields))
    timings["vectors_s"] = time.perf_counter() - t

    say("entity profiles and rarity over every direction")
    t = time.perf_counter()
    if partial is not None:
        cands, stored_profiles = _stored_candidates(built, partial, ids_new, vectors, config)
    else:
        cands = graph_candidates(g, ids, vectors, config)
    _ = cands.entity_matrix
    timings["candidates_s"] = time.perf_counter() - t

    say("similar lists of the new directions")
    t = time.perf_counter()
    rows = list(range(n_old, len(ids)))
    lists = None
    if partial is not None:  # read from the columns' arrays: tens of thousands of lists are looked at, few change
        from fundgraph.graph.stores.embedded.append import stored_lists

        def lists(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return stored_lists(partial.columns, cands, cols)
    maybe, stored, near = entry_candidates(g, cands, config, rows, k=k, threshold=threshold, lists=lists)
    # The new rows ranked (across programs: SIMILAR_TO; over all: the communities' neighbours).
    across, everywhere = top_k_all(cands, config, [Selection(k, threshold, cross_group=True),
                                                   Selection(k, threshold, explain=False)], rows=rows)
    for did, ranked in zip(ids_new, across, strict=True):
        _set_similar(g, did, ranked, method)
        report.similar_edges += len(ranked)
    for j, kth, near_rows in zip(maybe, stored, near, strict=True):  # the new rows inserted where they enter
        did = cands.ids[j]
        entering = rescore(vx.dense_row(cands.vectors, j), cands.entities[j], near_rows, cands, config, k=k,
                           threshold=threshold)
        if not entering or (-entering[0].score, entering[0].id) > (-kth[0], kth[1]):
            continue
        if partial is not None:
            partial.ensure([did])
        current = [(float(e["score"]), v, e) for v, e in _similar_out(g, did)]
        merged = sorted([*current, *((x.score, x.id, x) for x in entering)], key=lambda t: (-t[0], t[1]))[:k]
        if any(isinstance(x, Scored) for _, _, x in merged):
            _insert_similar(g, did, merged, method)
            report.entered.append(did)
    if built.pools is not None and words is not None:
        built.pools = _added_pools(built.pools, g, cands, config, rows, words)
    timings["similar_s"] = time.perf_counter() - t

    say("linking editions of the series")
    t = time.perf_counter()
    if partial is not None and doc.program.series:
        partial.ensure_series(doc.program.series)
    report.continues_added, report.continues_removed = _update_lineage(g, doc, cands, config, encoder, state,
                                                                       method)
    timings["lineage_s"] = time.perf_counter() - t

    say("joining communities")
    t = time.perf_counter()
    if partial is not None:
        partial.ensure_label(Label.COMMUNITY.value)
        partial.ensure(s.id for ranked in everywhere for s in ranked)
    report.communities = _join_communities(g, cands, ids_new, everywhere)
    timings["communities_s"] = time.perf_counter() - t

    built.direction_ids = ids
    built.vectors = vectors
    built.words = words
    if partial is not None:
        from fundgraph.graph.stores.embedded.append import appended_columns

        t = time.perf_counter()
        _update_meta(built, doc, report, counts=partial.counts())
        built.columns = appended_columns(partial, *stored_profiles, vectors)  # type: ignore[attr-defined]
        timings["columns_s"] = time.perf_counter() - t
    else:
        if getattr(built, "columns", None) is not None:
            built.columns = None  # type: ignore[attr-defined]  # the graph changed: the writer makes them again
        _update_meta(built, doc, report)
    return report


def _added_pools(pools: tuple[np.ndarray, np.ndarray, np.ndarray], g: nx.MultiDiGraph, cands: Candidates,
                 config: ScoringConfig, rows: list[int], words: sp.csr_matrix
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first-pass pools (:attr:`BuiltGraph.pools`) with the new ``rows``: theirs ranked, others entered.

    As the SIMILAR_TO lists are: a new row's pool is its exact best across programs; an existing pool keeps its
    stored members and scores, the new rows that rank before its last member enter at their exact scores, and it
    is cut to its width (:func:`entry_candidates` finds the pools they may enter, one product of the new rows).
    The mixed order of the new pools and of those that changed is made again (:func:`embeddings.words.pool_orders`).
    """
    width = pools[0].shape[1]
    (ranked,) = top_k_all(cands, config, [Selection(width, None, cross_group=True, explain=False)], rows=rows)
    new_rows, new_scores = pool_arrays(ranked, width)
    members = np.vstack([np.asarray(pools[0], dtype=np.int32), new_rows])
    scores = np.vstack([np.asarray(pools[1], dtype=np.float64), new_scores])
    changed = list(rows)

    def lists(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return members[cols].astype(np.int64), scores[cols].astype(np.float64)

    maybe, kth, near = entry_candidates(g, cands, config, rows, k=width, threshold=-math.inf, lists=lists)
    for j, last, near_rows in zip(maybe, kth, near, strict=True):
        entering = rescore(vx.dense_row(cands.vectors, j), cands.entities[j], near_rows, cands, config, k=width)
        if not entering or (-entering[0].score, entering[0].id) > (-last[0], last[1]):
            continue
        current = [(float(sc), cands.ids[int(r)], int(r)) for r, sc in zip(members[j], scores[j], strict=True)
                   if r >= 0]
        merged = sorted([*current, *((x.score, x.id, x.index) for x in entering)], key=lambda t: (-t[0], t[1]))
        members[j], scores[j] = -1, np.nan
        for c, (sc, _did, r) in enumerate(merged[:width]):
            members[j, c], scores[j, c] = r, sc
        changed.append(j)
    order = np.vstack([np.asarray(pools[2], dtype=np.int16), np.zeros((len(rows), width), dtype=np.int16)])
    mixed = pool_orders(members, scores, words, cands.ids, config.word_mix, rows=changed)
    order[changed] = mixed[changed]
    return members, scores, order


def _stacked(old: sp.csr_matrix, new: sp.csr_matrix) -> sp.csr_matrix:
    """The rows of ``old`` then ``new`` as one CSR float32 matrix, canonical when both are (then marked so).

    Three concatenations instead of ``sp.vstack`` and the writer's canonical copy (:func:`vectors.to_csr`): the
    stored vectors are canonical as written, so the 127 MB of them at 100,000 directions are copied once.
    """
    canonical = old.has_canonical_format
    new = vx.to_csr(new)
    m = sp.csr_matrix((np.concatenate([np.asarray(old.data, np.float32), new.data]),
                       np.concatenate([np.asarray(old.indices, np.int32), new.indices.astype(np.int32)]),
                       np.concatenate([np.asarray(old.indptr, np.int64),
                                       np.asarray(new.indptr[1:], np.int64) + int(old.indptr[-1])])),
                      shape=(old.shape[0] + new.shape[0], max(old.shape[1], new.shape[1])), copy=False)
    if canonical:
        m.has_sorted_indices = True
        m.has_canonical_format = True
    return m


def _partial_graph(built: BuiltGraph) -> Any:
    """A :class:`PartialGraph` over the stored columns; None when ``built`` is a networkx graph (worked on whole)."""
    columns = getattr(built, "columns", None)
    if columns is None or getattr(built, "_graph", None) is not None:
        return None
    if list(columns.profiles.get("ids") or []) != list(built.direction_ids):
        return None
    from fundgraph.graph.stores.embedded.append import PartialGraph

    return PartialGraph(columns)


def _document_nodes(new: NewDocument, vocab: Vocabulary, base_graph: Callable[..., nx.MultiDiGraph]) -> list[str]:
    """The nodes of the new document's own graph (what :func:`merge_document_nodes` merges)."""
    from fundgraph.graph.build.entities import add_entity_layer

    sub = base_graph([new.doc], {})
    add_entity_layer(sub, [new.doc], vocab, extracts=[new.extract], keywords=[new.keywords])
    return list(sub.nodes)


def _stored_candidates(built: BuiltGraph, partial: Any, ids_new: list[str], vectors: vx.TextMatrix,
                       config: ScoringConfig) -> tuple[Candidates, tuple[dict[str, Any], sp.csr_matrix, sp.csr_matrix]]:
    """The candidates of :func:`graph_candidates` over every direction, the stored ones read from the columns.

    The stored directions' profiles are the build's (``profiles.*``); the new directions' are made from the
    partial graph; entity rarity is counted again over all of them (as :func:`similarity.rarity_weights`), and the
    idf-weighted unit rows (:func:`vectors.entity_matrix`) are made by array operations.

    Returns:
        The candidates, and what the columns store of them (profiles document, raw and weighted matrices).
    """
    from fundgraph.graph.stores.embedded.columns import ProfileRows

    c = partial.columns
    p = c.profiles
    fresh = graph_candidates(partial.g, ids_new, vx.empty(len(ids_new)), config)
    old_entities: list[str] = list(p["entities"])
    entities = sorted(set(old_entities).union(*fresh.entities))
    col = {e: i for i, e in enumerate(entities)}
    remap = np.asarray([col[e] for e in old_entities], dtype=np.int64)
    n_old = len(p["ids"])
    old_raw = c.matrix("profiles", (n_old, len(old_entities)))
    indptr = [np.asarray(old_raw.indptr, dtype=np.int64)]
    indices = [remap[np.asarray(old_raw.indices)]] if len(old_entities) else [np.zeros(0, np.int64)]
    data = [np.asarray(old_raw.data, dtype=np.float64)]
    end = int(indptr[0][-1])
    for prof in fresh.entities:  # each profile's entities in its own order (explanations follow it)
        indices.append(np.asarray([col[e] for e in prof], dtype=np.int64))
        data.append(np.asarray(list(prof.values()), dtype=np.float64))
        end += len(prof)
        indptr.append(np.asarray([end], dtype=np.int64))
    n = n_old + len(ids_new)
    raw = sp.csr_matrix((np.concatenate(data), np.concatenate(indices).astype(np.int32), np.concatenate(indptr)),
                        shape=(n, len(entities)))
    df = np.bincount(raw.indices, minlength=len(entities))
    idf = {e: math.log(n / int(d)) for e, d in zip(entities, df.tolist(), strict=True) if d}
    idf_vec = np.asarray([idf.get(e, 0.0) for e in entities], dtype=np.float64)
    weighted = sp.csr_matrix((raw.data * idf_vec[raw.indices], raw.indices, raw.indptr), shape=raw.shape)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = sp.csr_matrix(sp.diags(scale) @ weighted)
    unit.eliminate_zeros()
    unit.sort_indices()
    info = {e: EntityInfo(id=e, type=t, name=name, name_en=en) for e, (t, name, en) in p["info"].items()}
    info.update(fresh.info)
    parents = {**p["parents"], **fresh.parents}
    ids = [*p["ids"], *ids_new]
    programs = [*c.programs_of(p["ids"]), *fresh.programs]
    cands = Candidates(ids=ids, programs=programs, vectors=vectors, entities=ProfileRows(raw, entities), info=info,
                       idf=idf, parents=parents, hierarchy_decay=config.hierarchy_decay,
                       type_weights=dict(config.type_weights))
    cands._entity_matrix = (unit, col)
    doc = {"ids": ids, "entities": entities, "idf": idf, "parents": parents,
           "info": {e: [i.type, i.name, i.name_en] for e, i in info.items()}}
    return cands, (doc, raw, unit)


Lists = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def entry_candidates(g: nx.MultiDiGraph, cands: Candidates, config: ScoringConfig, rows: list[int], *, k: int,
                     threshold: float, lists: Lists | None = None,
                     ) -> tuple[list[int], list[tuple[float, str]], list[list[int]]]:
    """The existing rows whose SIMILAR_TO list one of the new ``rows`` may enter, and each one's k-th entry.

    One approximate product of the new rows with every row (:func:`embeddings.topk.block_scores`); a column is kept
    when a new row is within the products' error margin of its k-th stored score (the threshold when it lists
    fewer than k). The exact scores of the kept ones decide (:func:`add_document`). ``lists`` gives, for columns,
    the row numbers of the directions each lists and their stored scores (columns × width; -1 and NaN where
    fewer); by default read from ``g``'s SIMILAR_TO edges.

    Returns:
        The rows; per row its k-th entry as (score, direction id): a new direction enters the list when it
        ranks before it (score descending, then id); (-inf, "") when the list has fewer than k; and per row the
        new rows within the margin of that (the others cannot enter).
    """
    n_old = rows[0]
    scores = block_scores(cands, config, rows)
    margin = candidate_margin(cands.vectors, config)
    codes = cands.program_codes[0]
    best = scores[:, :n_old].max(axis=0)
    cols = np.flatnonzero((best >= threshold - margin) & (codes[:n_old] != codes[rows[0]]))
    if not cols.size:
        return [], [], []
    listed, stored = lists(cols) if lists is not None else _graph_lists(g, cands, cols)
    full = (listed >= 0).sum(axis=1) >= k
    lowest = np.where(full, np.nanmin(np.where(listed >= 0, stored, np.inf), axis=1), -np.inf)
    floor = np.maximum(lowest, threshold) - margin
    keep = np.flatnonzero(best[cols] >= floor)
    kth: list[tuple[float, str]] = []
    entering: list[list[int]] = []
    for r in keep.tolist():
        entering.append([rows[i] for i in np.flatnonzero(scores[:, cols[r]] >= floor[r]).tolist()])
        if not full[r]:
            kth.append((-math.inf, ""))
            continue
        entries = sorted(((float(stored[r, c]), cands.ids[int(listed[r, c])]) for c in range(listed.shape[1])
                          if listed[r, c] >= 0), key=lambda t: (-t[0], t[1]))
        kth.append(entries[k - 1])
    return cols[keep].tolist(), kth, entering


def _graph_lists(g: nx.MultiDiGraph, cands: Candidates, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`entry_candidates`'s ``lists`` read from the SIMILAR_TO edges of ``g``."""
    found = [[(cands.index.get(v, -1), float(e["score"])) for v, e in _similar_out(g, cands.ids[j])]
             for j in cols.tolist()]
    width = max((len(x) for x in found), default=0)
    listed = np.full((len(found), width), -1, dtype=np.int64)
    stored = np.full((len(found), width), np.nan, dtype=np.float64)
    for r, x in enumerate(found):
        listed[r, : len(x)] = [i for i, _ in x]
        stored[r, : len(x)] = [sc for _, sc in x]
    return listed, stored


@dataclass
class _Program:
    id: str
    series: str | None
    year: int | None


@dataclass
class _Direction:
    id: str
    title: str


@dataclass
class _Edition:
    """What :func:`similarity.find_continues` reads of a document, from the graph."""

    program: _Program
    directions: list[_Direction]


def _editions(g: nx.MultiDiGraph, series: str) -> list[_Edition]:
    out = []
    for p, data in g.nodes(data=True):
        if data.get("label") != Label.PROGRAM.value or data.get("series") != series:
            continue
        dirs = [g.nodes[v] for _, v, e in g.out_edges(p, data=True) if e.get("type") == Rel.HAS_DIRECTION.value]
        dirs.sort(key=lambda d: (d.get("ordinal") or 0, d["id"]))
        out.append(_Edition(_Program(p, series, data.get("year")),
                            [_Direction(d["id"], d.get("title") or d.get("name") or "") for d in dirs]))
    return out


def _update_lineage(g: nx.MultiDiGraph, doc: ParsedDocument, cands: Candidates, config: ScoringConfig,
                    encoder: Encoder, state: dict[str, Any], method: str) -> tuple[int, int]:
    """CONTINUES of the new document's series: links of pairs no longer consecutive removed, new pairs linked."""
    series = doc.program.series
    if not series or doc.program.year is None:
        return 0, 0
    editions = _editions(g, series)
    before = {(a.program.id, b.program.id) for a, b in
              series_editions([e for e in editions if e.program.id != doc.program.id])}  # type: ignore[arg-type]
    after_pairs = series_editions(editions)  # type: ignore[arg-type]
    after = {(a.program.id, b.program.id) for a, b in after_pairs}
    removed = 0
    for prev, later in before - after:
        prev_dirs = {v for _, v, e in g.out_edges(prev, data=True) if e.get("type") == Rel.HAS_DIRECTION.value}
        for _, d, e in list(g.out_edges(later, data=True)):
            if e.get("type") != Rel.HAS_DIRECTION.value:
                continue
            for _, v, k in [(u, v, kk) for u, v, kk, ee in g.out_edges(d, keys=True, data=True)
                            if ee.get("type") == Rel.CONTINUES.value and v in prev_dirs]:
                g.remove_edge(d, v, key=k)
                removed += 1
    rule = LineageRule(threshold=float(state.get("continues_threshold", LineageRule().threshold)))
    todo = [pair for pair in after_pairs if (pair[0].program.id, pair[1].program.id) not in before]
    made = find_continues([x for pair in todo for x in pair], cands, config, encoder, rule)  # type: ignore[misc]
    wanted = {(a.program.id, b.program.id) for a, b in todo}
    added = 0
    for c in made:
        if (cands.programs[cands.index[c.earlier]], cands.programs[cands.index[c.later]]) not in wanted:
            continue
        g.add_edge(c.later, c.earlier, key=Rel.CONTINUES.value, type=Rel.CONTINUES.value, method=method,
                   from_year=c.from_year, to_year=c.to_year, **c.edge_props(rule))
        added += 1
    return added, removed


def _community_of(g: nx.MultiDiGraph, did: str) -> str | None:
    for _, v, e in g.out_edges(did, data=True):
        if e.get("type") == Rel.IN_COMMUNITY.value:
            return v
    return None


def _join_communities(g: nx.MultiDiGraph, cands: Candidates, ids_new: list[str],
                      everywhere: Sequence[Sequence[Neighbour]]) -> dict[str, str | None]:
    """The best-neighbour rule (see the module); Community nodes' sizes and programs follow."""
    neighbours = {d: list(ranked) for d, ranked in zip(ids_new, everywhere, strict=True)}
    joined: dict[str, str | None] = dict.fromkeys(ids_new)
    known: dict[str, str | None] = {}

    def community(did: str) -> str | None:
        if did in joined:
            return joined[did]
        if did not in known:
            known[did] = _community_of(g, did)
        return known[did]

    while True:  # in rounds: a round sees the communities of the graph and of the rounds before it
        decided: dict[str, str] = {}
        for d in ids_new:
            if joined[d] is not None:
                continue
            votes: dict[str, float] = defaultdict(float)
            for s in neighbours[d]:
                c = community(s.id)
                if c is not None:
                    votes[c] += s.score
            if votes:
                decided[d] = min(votes, key=lambda c: (-votes[c], c))
        if not decided:
            break
        joined.update(decided)
    # New directions linked only to each other: a new community per connected group of two or more.
    alone = [d for d in ids_new if joined[d] is None]
    links = nx.Graph()
    links.add_nodes_from(alone)
    links.add_edges_from((d, s.id) for d in alone for s in neighbours[d] if s.id in links)
    groups = sorted((sorted(c) for c in nx.connected_components(links) if len(c) >= 2), key=lambda m: (-len(m), m[0]))
    next_no = 1 + max((int(str(n).split(":", 1)[1]) for n, data in g.nodes(data=True) if groups and
                       data.get("label") == Label.COMMUNITY.value and str(n).split(":", 1)[1].isdigit()), default=0)
    df_all = entity_counts(cands) if groups else None
    for members in groups:
        cid = f"community:{next_no}"
        next_no += 1
        terms = community_terms(members, cands, df_all=df_all)
        zh = [x.name for x in terms]
        en = [x.name_en or x.name for x in terms]
        g.add_node(cid, id=cid, label=Label.COMMUNITY.value, name=" / ".join(zh) or f"社区 {next_no - 1}",
                   name_en=" / ".join(en) or f"Community {next_no - 1}", terms=zh, terms_en=en, size=0, programs=[])
        for d in members:
            joined[d] = cid
    for d, cid in joined.items():
        if cid is None:
            continue
        g.add_edge(d, cid, key=Rel.IN_COMMUNITY.value, type=Rel.IN_COMMUNITY.value)
        node = g.nodes[cid]
        node["size"] = int(node.get("size") or 0) + 1
        program = cands.programs[cands.index[d]]
        if program not in (node.get("programs") or []):
            node["programs"] = sorted([*(node.get("programs") or []), program])
    return joined


def _update_meta(built: BuiltGraph, doc: ParsedDocument, report: AddReport,
                 counts: tuple[int, int] | None = None) -> None:
    """Counts, the programs, and the drift since the last full build (``meta.incremental``)."""
    meta = built.meta
    if counts is None:
        counts = (built.graph.number_of_nodes(), built.graph.number_of_edges())
    meta["programs"] = [*(meta.get("programs") or []), doc.program.id]
    meta["direction_count"] = len(built.direction_ids)
    meta["node_count"], meta["edge_count"] = counts
    inc = dict(meta.get("incremental") or {})
    base = int(inc.get("directions_at_full_build") or (len(built.direction_ids) - len(report.directions)))
    added = int(inc.get("directions_added") or 0) + len(report.directions)
    history = [*(inc.get("added") or []),
               {"program": doc.program.id, "directions": len(report.directions),
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "oov_share": None if report.oov_share is None else round(report.oov_share, 4)}]
    oov = [h["oov_share"] for h in history if h.get("oov_share") is not None]
    added_share = added / base if base else math.inf
    worst_oov = max(oov, default=0.0)
    inc.update({
        "rule": RULE,
        "directions_at_full_build": base,
        "directions_added": added,
        "added_share": round(added_share, 6),
        "max_oov_share": worst_oov,
        "bounds": {"added_share": ADDED_SHARE_BOUND, "oov_share": OOV_SHARE_BOUND},
        "rebuild_suggested": bool(added_share > ADDED_SHARE_BOUND or worst_oov > OOV_SHARE_BOUND),
        "added": history,
    })
    meta["incremental"] = inc


def rebuild_suggested(built: BuiltGraph) -> bool:
    """Whether the drift since the last full build is past the stated bounds (see :data:`ADDED_SHARE_BOUND`)."""
    return bool((built.meta.get("incremental") or {}).get("rebuild_suggested"))


# -- comparing with a full build ----------------------------------------------------------------------------------
def _typed_edges(g: nx.MultiDiGraph, rel: Rel) -> dict[tuple[str, str], dict[str, Any]]:
    return {(u, v): e for u, v, e in g.edges(data=True) if e.get("type") == rel.value}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def compare_graphs(incremental: nx.MultiDiGraph, full: nx.MultiDiGraph, new_directions: Sequence[str]
                   ) -> dict[str, Any]:
    """How far an incrementally updated graph is from a full build of the same corpus.

    SIMILAR_TO edge Jaccard over the whole graph, over the edges that touch a new direction and over those
    leaving one; the mean per-direction list Jaccard; the largest and mean score difference of the edges both
    have; CONTINUES Jaccard; and whether the new directions' nodes and MENTIONS are equal.
    """
    new = set(new_directions)
    a, b = _typed_edges(incremental, Rel.SIMILAR_TO), _typed_edges(full, Rel.SIMILAR_TO)
    touching_a = {p for p in a if p[0] in new or p[1] in new}
    touching_b = {p for p in b if p[0] in new or p[1] in new}
    out_a = {p for p in a if p[0] in new}
    out_b = {p for p in b if p[0] in new}
    lists: dict[str, tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for u, v in a:
        lists[u][0].add(v)
    for u, v in b:
        lists[u][1].add(v)
    common = a.keys() & b.keys()
    diffs = [abs(float(a[p]["score"]) - float(b[p]["score"])) for p in common]

    def mentions(g: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
        return {(u, v, k) for d in new if d in g for u, v, k, e in g.out_edges(d, keys=True, data=True)
                if e.get("type") == Rel.MENTIONS.value}

    def props(g: nx.MultiDiGraph) -> dict[str, dict[str, Any]]:
        return {d: dict(g.nodes[d]) for d in new if d in g}

    return {
        "similar_edges": (len(a), len(b)),
        "similar_jaccard": _jaccard(set(a), set(b)),
        "similar_jaccard_touching_new": _jaccard(touching_a, touching_b),
        "similar_jaccard_from_new": _jaccard(out_a, out_b),
        "list_jaccard_mean": float(np.mean([_jaccard(x, y) for x, y in lists.values()])) if lists else 1.0,
        "score_diff_max": max(diffs, default=0.0),
        "score_diff_mean": float(np.mean(diffs)) if diffs else 0.0,
        "continues_jaccard": _jaccard(set(_typed_edges(incremental, Rel.CONTINUES)),
                                      set(_typed_edges(full, Rel.CONTINUES))),
        "new_nodes_equal": props(incremental) == props(full),
        "new_mentions_equal": mentions(incremental) == mentions(full),
        "new_mentions": (len(mentions(incremental)), len(mentions(full))),
    }


def check_exact(queries: Any, new_directions: Sequence[str]) -> dict[str, Any]:
    """How the SIMILAR_TO edges touching the new directions compare with exact top-k, on the stored result.

    The rule an addition follows (see the module) and a full build follows up to ``exact_similarity_max``
    directions: every pair scored, the best k over other programs at least the threshold. Computed here from
    what the store serves (``queries``: the :class:`~.stores.embedded.queries.GraphQueries` of the written graph),
    not from the addition's own objects:

    - ``new_lists_exact``: share of the new directions whose stored list equals their exact top k (members, order,
      scores to 1e-6);
    - ``entered_score_diff_max``: the largest difference between a new direction's stored score in an existing
      list and its exact score from that direction;
    - ``missed_entries``: pairs (existing direction, new direction) where the new one's exact score beats the
      list's k-th entry (or the threshold, for a list shorter than k) and it is not listed; ``wrong_entries``:
      listed although it does not. Candidates for both are the existing directions the new one scores within
      ``margin`` of their k-th entry from its own side (the score is symmetric up to rounding).
    """
    from fundgraph.embeddings.scoring import rescore

    margin = 0.05
    cands = queries.candidates()
    state = queries.built.encoder_state or {}
    config = queries.ranking_context.config
    k = int(state.get("similar_top_k", 5))
    threshold = float(state.get("similar_threshold", 0.25))
    columns = queries.columns
    rows = [cands.index[d] for d in new_directions]
    new = set(new_directions)

    def stored(d: str) -> list[tuple[str, float]]:
        out = [(v, float(e["score"])) for v, _, e in columns.out_edges(d, Rel.SIMILAR_TO.value)]
        return sorted(out, key=lambda p: (-p[1], p[0]))

    exact, wide = top_k_all(cands, config, [Selection(k, threshold, cross_group=True),
                                            Selection(len(cands.ids), threshold - margin, cross_group=True)],
                            rows=rows)
    equal = 0
    for d, ranked in zip(new_directions, exact, strict=True):
        got, want = stored(d), [(s.id, s.score) for s in ranked]
        equal += len(got) == len(want) and all(a == c and abs(b - e) <= 1e-6
                                               for (a, b), (c, e) in zip(got, want, strict=True))
    diffs: list[float] = []
    missed: list[tuple[str, str]] = []
    wrong: list[tuple[str, str]] = []
    looked = 0
    lists: dict[str, list[tuple[str, float]]] = {}
    for n, ranked in zip(new_directions, wide, strict=True):
        for s in ranked:
            if s.id in new:
                continue
            lst = lists.setdefault(s.id, stored(s.id))
            kth = (lst[k - 1][1], lst[k - 1][0]) if len(lst) >= k else (threshold, "")
            listed = any(v == n for v, _ in lst)
            if not listed and s.score < kth[0] - margin:
                continue
            looked += 1
            j = cands.index[s.id]
            back = rescore(vx.dense_row(cands.vectors, j), cands.entities[j], [cands.index[n]], cands, config)
            score = back[0].score if back else 0.0
            if listed:  # at its exact score, and within the best k
                diffs.append(abs(score - dict(lst)[n]))
                if score < kth[0] - 1e-6:
                    wrong.append((s.id, n))
            elif score >= threshold and (score > kth[0] + 1e-6 or (abs(score - kth[0]) <= 1e-6 and n < kth[1])):
                missed.append((s.id, n))
    return {
        "new_lists_exact": equal / len(new_directions) if new_directions else 1.0,
        "entered_pairs_checked": looked,
        "entered_score_diff_max": max(diffs, default=0.0),
        "missed_entries": len(missed),
        "wrong_entries": len(wrong),
    }
