"""The build pipeline: documents → records → entities → vectors and similarity → one graph.

Each layer is a function over the same ``networkx.MultiDiGraph``:

1. :func:`base_graph` — programs, funders, series, sections, directions (from the loaders' records);
2. :func:`graph.entity_layer.add_entity_layer` — diseases, modalities, disciplines, techniques, keywords;
3. :func:`graph.similarity_layer.add_similarity_layer` — vectors, SIMILAR_TO, CONTINUES, communities.

Before them, :func:`extract_corpus` parses each document and extracts what it yields on its own
(:func:`graph.build.entities.extract_document`): from the per-document cache (:mod:`graph.build.cache`) when
the document, the vocabularies and the code are unchanged, otherwise in a process pool over documents
(``Settings.build_workers``) when there is enough to parse for the pool to pay, in manifest order either way.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import networkx as nx
from pydantic import BaseModel

from fundgraph.core.errors import FundgraphError, InputError
from fundgraph.core.memory import collector_paused
from fundgraph.core.schema import (
    BUILTIN_ENTITY_TYPES,
    DIRECTION_FIELDS,
    ENTITY_REGISTRY,
    PROGRAM_FIELDS,
    FieldSpec,
    using_registry,
)
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.loaders.records import Direction, ParsedDocument, Program

if TYPE_CHECKING:
    from fundgraph.core.schema import EntityRegistry
    from fundgraph.core.settings import Settings
    from fundgraph.embeddings.encoders import Encoder
    from fundgraph.graph.build.cache import DocumentCache
    from fundgraph.graph.build.entities import DirectionKeywords, DocumentExtract
    from fundgraph.loaders.corpus import CorpusDocument, LeftOut
    from fundgraph.loaders.keywords import KeywordStats
    from fundgraph.loaders.vocab import Vocabulary

Progress = Callable[[str], None]


class StepCount:
    """Counts and ETA of a long step, told through the build's ``progress`` callback, at most every ``every`` s.

    Messages read ``parsing documents: 1,234 / 20,000 (6 %, ETA 35 s)``: the CLI shows them in place in its
    status line on a terminal (and nothing elsewhere); callers that key on the step messages (the benchmarks)
    ignore them. Used as ``with StepCount(say, "parsing documents", n) as count: ... count.add()``.
    """

    def __init__(self, say: Progress, step: str, total: int, *, every: float = 0.5) -> None:
        self.say, self.step, self.total, self.every = say, step, total, every
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def __enter__(self) -> StepCount:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def add(self, n: int = 1) -> None:
        """``n`` more items done."""
        self.done += n
        now = time.perf_counter()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        share = 100 * self.done / self.total if self.total else 100.0
        self.say(f"{self.step}: {self.done:,} / {self.total:,} ({share:.0f} %, ETA {eta:.0f} s)")


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def node_properties(record: BaseModel, fields: Iterable[FieldSpec]) -> dict[str, Any]:
    """A record's registry fields as flat node properties (lists of primitives only, so Neo4j stores them unchanged).

    A list is copied, an enum gives its value, and a field with ``parts`` (funding, source) becomes one
    ``<name>_<part>`` property per part (None when the field is).
    """
    props: dict[str, Any] = {}
    for f in fields:
        value = getattr(record, f.name, None)
        if f.parts:
            props.update({f"{f.name}_{part}": getattr(value, part, None) for part in f.parts})
        elif f.is_list:
            props[f.name] = list(value)
        else:
            props[f.name] = value.value if isinstance(value, Enum) else value
    return props


def program_node(p: Program) -> dict[str, Any]:
    """Flat properties of a Program node."""
    return {"id": p.id, "label": Label.PROGRAM.value, **node_properties(p, PROGRAM_FIELDS)}


def direction_node(d: Direction) -> dict[str, Any]:
    """Flat properties of a Direction node (``title_en`` None until English titles are matched)."""
    props = list(node_properties(d, DIRECTION_FIELDS).items())
    # The label of the metrics (考核指标 …) is stored beside them but neither exported nor served: no registry field.
    at = [k for k, _ in props].index("metrics") + 1
    props.insert(at, ("metrics_label", d.metrics_label))
    return {"id": d.id, "label": Label.DIRECTION.value, "name": d.title, "name_en": None, **dict(props)}


def base_graph(docs: list[ParsedDocument], titles_en: Mapping[str, str] | None = None) -> nx.MultiDiGraph:
    """Programs, funders, series, sections and directions, with their structural edges.

    ``titles_en`` maps direction and section ids to English titles (:func:`loaders.titles.match_titles`);
    a node without one keeps ``name_en`` (and a direction ``title_en``) None.
    """
    titles_en = titles_en or {}
    g = nx.MultiDiGraph()
    for order, doc in enumerate(docs):
        p = doc.program
        g.add_node(p.id, **program_node(p), manifest_order=order)
        for i, funder in enumerate(p.funder):
            fid = f"funder:{_slug(p.funder_en[i]) if i < len(p.funder_en) else funder}"
            if fid not in g:
                g.add_node(fid, id=fid, label=Label.FUNDER.value, name=funder,
                           name_en=p.funder_en[i] if i < len(p.funder_en) else None)
            g.add_edge(p.id, fid, key=Rel.FUNDED_BY.value, type=Rel.FUNDED_BY.value)
        if p.series:
            sid = f"series:{_slug(p.series_en or p.series)}"
            if sid not in g:
                g.add_node(sid, id=sid, label=Label.SERIES.value, name=p.series, name_en=p.series_en)
            g.add_edge(p.id, sid, key=Rel.IN_SERIES.value, type=Rel.IN_SERIES.value)
        for s in doc.sections:
            g.add_node(s.id, id=s.id, label=Label.SECTION.value, name=s.title, name_en=titles_en.get(s.id),
                       program_id=s.program_id, code=s.code, kind=s.kind, ordinal=s.ordinal)
            parent = s.parent_id or p.id
            g.add_edge(parent, s.id, key=Rel.HAS_SECTION.value, type=Rel.HAS_SECTION.value)
        for d in doc.directions:
            en = titles_en.get(d.id)
            g.add_node(d.id, **{**direction_node(d), "name_en": en, "title_en": en})
            g.add_edge(p.id, d.id, key=Rel.HAS_DIRECTION.value, type=Rel.HAS_DIRECTION.value)
            if d.section:
                g.add_edge(d.id, d.section, key=Rel.IN_SECTION.value, type=Rel.IN_SECTION.value)
    return g


# -- per-document stage: parse and extract, from the cache or in parallel ---------------------------------------
@dataclass
class ExtractedCorpus:
    """The parsed documents, what each yields on its own, the corpus's keyword statistics, and what was left out."""

    docs: list[ParsedDocument]
    extracts: list[DocumentExtract]
    stats: KeywordStats
    #: Each document's keywords (:func:`graph.build.entities.document_keywords`).
    keywords: list[list[DirectionKeywords]]
    #: documents, cache hits, the programs parsed, workers used, keyword counting figures, stage timings.
    report: dict[str, Any] = field(default_factory=dict)
    #: The documents that could not be read or parsed (file, line, reason), in manifest order.
    left_out: list[LeftOut] = field(default_factory=list)
    #: The manifests read, in order.
    manifests: list[Path] = field(default_factory=list)


#: The vocabulary and entity registry of a worker process (inherited from the parent when the pool forks, else
#: loaded once from the vocabulary directory).
_WORKER_VOCAB: Vocabulary | None = None
_WORKER_REGISTRY: EntityRegistry | None = None
#: The build cache a worker writes its documents' entries to (None: no cache).
_WORKER_CACHE: DocumentCache | None = None

#: What one document gives: its records and extract with the CPU seconds of each part, or the error it raised.
Extracted: TypeAlias = "tuple[ParsedDocument, DocumentExtract, dict[str, float]] | FundgraphError"


def _init_worker(vocab_dir: Path, cache_dir: Path | None) -> None:
    global _WORKER_VOCAB, _WORKER_REGISTRY, _WORKER_CACHE
    if cache_dir is not None and _WORKER_CACHE is None:
        from fundgraph.graph.build.cache import DocumentCache

        _WORKER_CACHE = DocumentCache(cache_dir, vocab_dir)
    if _WORKER_VOCAB is None or _WORKER_REGISTRY is None:
        from fundgraph.loaders.vocab import load_vocabularies, vocabulary_registry

        _WORKER_REGISTRY = vocabulary_registry(vocab_dir)
        with using_registry(_WORKER_REGISTRY):
            _WORKER_VOCAB = load_vocabularies(vocab_dir)


def _parse_and_extract(document: CorpusDocument) -> Extracted:
    """One document parsed and extracted (in a worker or in the parent), with the CPU seconds of each part.

    A document that cannot be read or parsed returns its error rather than raising it, so one bad document
    does not break the pool; the caller leaves it out or (strict) raises it, in manifest order.
    """
    from fundgraph.graph.build.entities import extract_document

    assert _WORKER_VOCAB is not None and _WORKER_REGISTRY is not None
    with using_registry(_WORKER_REGISTRY):
        t = time.process_time()
        try:
            doc = document.load()
        except FundgraphError as e:
            return e
        cpu = {"parse_s": time.process_time() - t}
        return doc, extract_document(doc, _WORKER_VOCAB, cpu), cpu


def _parse_extract_and_cache(job: tuple[CorpusDocument, str | None]) -> tuple[bytes, dict[str, float]] | FundgraphError:
    """:func:`_parse_and_extract` in a worker, which also writes the document's cache entry (key given).

    The result goes back pickled once, as the cache entry's bytes: the parent unpickles them (as it would the
    pool's own pickle) and neither pickles nor writes anything (serially, after the pool, that was ~15 % of
    the parse stage's wall time at 20,000 directions).
    """
    from fundgraph.graph.build.cache import CachedDocument, dump

    document, key = job
    result = _parse_and_extract(document)
    if isinstance(result, FundgraphError):
        return result
    doc, extract, cpu = result
    blob = dump(CachedDocument(doc=doc, extract=extract))
    if key is not None and _WORKER_CACHE is not None:
        _WORKER_CACHE.put_bytes(key, blob)
    return blob, cpu


def _workers(settings: Settings, todo_bytes: int, todo_docs: int) -> int:
    """Processes to parse with: 1 below ``build_parallel_min_bytes`` (a pool does not pay), else the setting."""
    wanted = settings.build_workers or os.cpu_count() or 1
    if todo_docs < 2 or todo_bytes < settings.build_parallel_min_bytes:
        return 1
    return max(1, min(wanted, todo_docs))


def extract_corpus(settings: Settings, vocab: Vocabulary, *, manifests: list[Path] | None = None,
                   strict: bool = True, full: bool = False, progress: Progress | None = None,
                   parsed: Callable[[list[ParsedDocument], list[DocumentExtract]], None] | None = None,
                   ) -> ExtractedCorpus:
    """Parse every document of the manifests and extract what each yields on its own, in manifest order.

    Documents whose bytes, manifest entry, vocabularies and code are unchanged since a build that cached them
    are read from the cache (``settings.cache_dir``, default ``settings.home / "cache"``; none with
    ``settings.build_cache`` off); the others are parsed and extracted, in a process pool when there is
    enough to do, and cached. Keyword document frequencies are summed from cached per-document counts.

    Args:
        settings: manifest, vocabulary directory, cache and worker settings.
        vocab: the vocabularies of ``settings.vocab_dir``.
        manifests: the manifests to read, in order, each with its files in ``guidelines/`` beside it (the
            bundled corpus and the user's: :func:`fundgraph.service.corpus_manifests`); default the settings'.
        strict: the first bad document (in manifest order) raises; otherwise it is left out and listed in
            ``left_out`` (file, line, reason), as :func:`fundgraph.loaders.corpus.load_corpora` does.
        full: ignore the cache: parse and extract every document (and cache the results afresh).
        progress: called with a short message as each step starts.
        parsed: called with the documents and their extracts as soon as every document is parsed (before
            keyword statistics), so the caller can start work that needs nothing else.

    Raises:
        FundgraphError: a bad manifest (or two giving one program id); (``strict``) a missing file or a document
            that does not parse; no document of the corpus parses at all.
    """
    from fundgraph.graph.build.cache import DocumentCache, KeywordChoices, KeywordCounts
    from fundgraph.graph.build.entities import document_keywords, keyword_signature
    from fundgraph.loaders.corpus import LeftOut, plan_corpora
    from fundgraph.loaders.keywords import KeywordStats, prepare_tokenizer

    global _WORKER_VOCAB, _WORKER_REGISTRY, _WORKER_CACHE
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    manifests = [Path(m) for m in (manifests if manifests is not None else [settings.manifest])]
    plan = plan_corpora(manifests, strict=strict)  # strict: every file is checked before any is parsed
    cache = DocumentCache(settings.cache_dir or Path(settings.home) / "cache", settings.vocab_dir) \
        if settings.build_cache else None
    keys: list[str | None] = [None] * len(plan)
    found: list[Extracted | None] = [None] * len(plan)
    todo_bytes = 0
    for i, document in enumerate(plan):
        missing = document.missing()
        if missing is not None:
            found[i] = missing  # left out (not strict: plan_corpora raised it otherwise)
            continue
        if cache is None:
            todo_bytes += document.path.stat().st_size
            continue
        data = document.path.read_bytes()
        # The entry (program id, profile, metadata, file name) is in the key: two corpora's documents never meet.
        keys[i] = cache.key(document.entry, data)
        hit = None if full else cache.get(keys[i])
        if hit is not None:
            found[i] = (hit.doc, hit.extract, {})
        else:
            todo_bytes += len(data)
    todo = [i for i, f in enumerate(found) if f is None]
    hits = sum(isinstance(f, tuple) for f in found)
    workers = _workers(settings, todo_bytes, len(todo))
    cpu = {"parse_s": 0.0, "entities_s": 0.0, "keywords_s": 0.0}
    if todo:
        say(f"parsing {len(todo)} of {len(plan)} documents" + (f" ({workers} processes)" if workers > 1 else ""))
        _WORKER_VOCAB, _WORKER_REGISTRY, _WORKER_CACHE = vocab, ENTITY_REGISTRY.current(), cache
        prepare_tokenizer(vocab)  # built once here: forked workers inherit it (about 1-2 s each otherwise)
        with StepCount(say, "parsing documents", len(todo)) as bar:
            if workers > 1:
                from fundgraph.graph.build.cache import CachedDocument, load

                # Workers write their documents' cache entries themselves (both cores, not the parent after the
                # pool) and hand each result back as those bytes.
                with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                         initargs=(settings.vocab_dir, cache.directory if cache else None)) as pool:
                    jobs = [(plan[i], keys[i]) for i in todo]
                    for i, result in zip(todo, pool.map(_parse_extract_and_cache, jobs,
                                                        chunksize=max(1, min(8, len(todo) // (workers * 8)))),
                                         strict=True):
                        if isinstance(result, tuple):
                            entry = load(result[0], CachedDocument)
                            result = (entry.doc, entry.extract, result[1])
                        found[i] = result
                        bar.add()
            else:
                for i in todo:
                    found[i] = result = _parse_and_extract(plan[i])
                    if isinstance(result, tuple) and cache is not None:
                        cache.put(keys[i], result[0], result[1])
                    bar.add()
        _WORKER_VOCAB = _WORKER_REGISTRY = _WORKER_CACHE = None
        for i in todo:
            result = found[i]
            if isinstance(result, tuple):
                for k, v in result[2].items():
                    cpu[k] += v
    docs: list[ParsedDocument] = []
    extracts: list[DocumentExtract] = []
    doc_keys: list[str] = []
    left_out: list[LeftOut] = []
    for i, (document, result) in enumerate(zip(plan, found, strict=True)):
        assert result is not None
        if isinstance(result, tuple):
            docs.append(result[0])
            extracts.append(result[1])
            doc_keys.append(keys[i] or document.entry.id)
        elif strict or not isinstance(result, InputError):
            raise result
        else:
            left_out.append(LeftOut.from_error(document, result))
    if not docs:
        listed = "; ".join(str(lo) for lo in left_out)
        raise InputError(f"no document of the corpus could be parsed: {listed}",
                         detail={"left_out": [lo.as_dict() for lo in left_out]})
    t_docs = time.perf_counter() - t0
    if parsed is not None:
        parsed(docs, extracts)

    say("counting keyword document frequencies")
    t = time.perf_counter()
    counts = KeywordCounts() if cache is None or full else cache.keyword_counts()
    # Each document's candidate terms once: the union is counted, and each set is hashed into its signature below.
    doc_terms = [x.terms() for x in extracts]
    df = counts.frequencies([(k, x.texts) for k, x in zip(doc_keys, extracts, strict=True)], set().union(*doc_terms))
    if cache is not None:
        cache.save_keyword_counts(counts)
    stats = KeywordStats.from_counts(sum(len(x.texts) for x in extracts), df)
    t_counts = time.perf_counter() - t

    say("choosing keywords")
    t = time.perf_counter()
    choices = KeywordChoices() if cache is None or full else cache.keyword_choices()
    keywords: list[list[DirectionKeywords]] = []
    reused = 0
    for key, doc, x, terms in zip(doc_keys, docs, extracts, doc_terms, strict=True):
        signature = keyword_signature(x, stats, terms)
        previous = choices.docs.get(key)
        if previous is not None and previous[0] == signature:
            keywords.append(previous[1])
            reused += 1
        else:
            keywords.append(document_keywords(doc, x, stats))
            choices.docs[key] = (signature, keywords[-1])
    if cache is not None:
        current = set(doc_keys)  # once: made per entry it was quadratic in the documents (0.15 s at 3,600 of them)
        choices.docs = {k: v for k, v in choices.docs.items() if k in current}
        cache.save_keyword_choices(choices)
    report = {
        "documents": len(plan), "cache_hits": hits,
        "parsed": [plan[i].entry.id for i in todo if isinstance(found[i], tuple)], "workers": workers,
        "keyword_terms": len(df), "keyword_documents_counted": counts.counted,
        "keyword_choices_reused": reused, "documents_s": t_docs, "keyword_counts_s": t_counts,
        "keyword_choices_s": time.perf_counter() - t, "cpu": cpu,
    }
    return ExtractedCorpus(docs=docs, extracts=extracts, stats=stats, keywords=keywords, report=report,
                           left_out=left_out, manifests=manifests)


def build_graph(settings: Settings, *, encoder: Encoder | None = None, progress: Progress | None = None,
                manifests: list[Path] | None = None, strict: bool = True, full: bool = False) -> BuiltGraph:
    """Parse the corpus named by the manifests and build the whole graph (nothing is written but the cache).

    Args:
        settings: manifest, vocabulary directory, encoder choice, similarity parameters, cache and workers.
        encoder: an encoder to use instead of the one the settings name (tests pass a fake one).
        progress: called with a short message as each step starts.
        manifests: the manifests to build, in order (e.g. the bundled and the user's corpus); default the
            settings' manifest.
        strict: the first bad document raises; otherwise it is left out and listed in the meta's ``left_out``.
        full: parse and extract every document, ignoring the per-document cache (:func:`extract_corpus`).

    Raises:
        FundgraphError: on bad input (documents if ``strict``, manifests, vocabularies); nothing is written.
    """
    from fundgraph.loaders.vocab import vocabulary_registry

    # The build works under the entity types of its vocabulary directory, and records those beyond the
    # built-in ones in the graph's meta, so they travel with the graph (not in a process-wide registry).
    registry = vocabulary_registry(settings.vocab_dir)
    # Tens of millions of long-lived objects and almost no cycles: the collector's walks were pure cost.
    with using_registry(registry), collector_paused():
        built = _build(settings, encoder, progress, manifests=manifests, strict=strict, full=full)
    extra = [asdict(t) for t in registry.rows() if t not in BUILTIN_ENTITY_TYPES]
    if extra:  # absent for the built-in types alone: the exports of such a graph are as before
        built.meta["entity_types"] = extra
    return built


def _build(settings: Settings, encoder: Encoder | None, progress: Progress | None, *,
           manifests: list[Path] | None, strict: bool, full: bool) -> BuiltGraph:
    """:func:`build_graph`'s stages, under the registry of the vocabulary directory."""
    from fundgraph.graph.build.background import Background, can_fork
    from fundgraph.graph.build.entities import add_entity_layer, vocabulary_entity_graph
    from fundgraph.graph.build.similarity import (
        BACKGROUND_MIN_DIRECTIONS,
        EarlyEncoding,
        add_similarity_layer,
        early_inputs,
        encode_inputs,
    )
    from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles
    from fundgraph.loaders.vocab import load_vocabularies

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("parsing documents")
    vocab = load_vocabularies(settings.vocab_dir)
    early: list[Background[EarlyEncoding]] = []

    def start_encoding(docs: list[ParsedDocument], extracts: list[DocumentExtract]) -> None:
        # The lexical encoder needs only the documents and the vocabulary entities they cite: on a large corpus
        # it is fitted and encodes in another process while this one chooses keywords and builds the entity
        # layer (20 s of the one-core part at 100,000 directions). The similarity layer uses it only if its
        # lexicon is the entity layer's. A fresh process given the texts, not a fork (see EarlyInputs).
        if encoder is None and settings.encoder == "lexical" and can_fork(settings.build_workers) and \
                sum(len(d.directions) for d in docs) >= BACKGROUND_MIN_DIRECTIONS:
            inputs = early_inputs(docs, vocabulary_entity_graph(extracts, vocab), settings=settings)
            early.append(Background(partial(encode_inputs, inputs), parallel=True, fresh=True))

    corpus = extract_corpus(settings, vocab, manifests=manifests, strict=strict, full=full, progress=say,
                            parsed=start_encoding)
    docs = corpus.docs
    left_out = [lo.as_dict() for lo in corpus.left_out]
    timings["parse_s"] = time.perf_counter() - t0

    say("loading vocabularies")
    t = time.perf_counter()
    titles = load_title_translations(settings.vocab_dir / TITLES_FILE)
    title_match = match_titles(titles, [(x.id, x.title) for doc in docs for x in (*doc.sections, *doc.directions)])
    g = base_graph(docs, title_match.english)

    say("extracting entities")
    add_entity_layer(g, docs, vocab, extracts=corpus.extracts, stats=corpus.stats, keywords=corpus.keywords)
    documents_report = corpus.report
    del corpus  # extracts, candidates and texts are in the graph or the cache now: free them before the vectors
    timings["entities_s"] = time.perf_counter() - t

    say("encoding and linking similar directions")
    t = time.perf_counter()
    sim = add_similarity_layer(g, docs, vocab, settings=settings, encoder=encoder, progress=say,
                               early=early[0] if early else None)  # waited for there, as late as it can be
    timings["similarity_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    edge_count = g.number_of_edges()  # once: networkx walks every node's degrees (0.2 s per 400,000 edges)
    meta = {
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "encoder": sim.encoder_state.get("name"),
        "calibration": sim.encoder_state.get("calibration"),
        "programs": [d.program.id for d in docs],
        "direction_count": sum(len(d.directions) for d in docs),
        "node_count": g.number_of_nodes(),
        "edge_count": edge_count,
        "timings": timings,
        "title_translations": title_match.report(titles.path),
        "left_out": left_out,
        "documents": documents_report,
    }
    built = BuiltGraph(graph=g, direction_ids=sim.direction_ids, vectors=sim.vectors,
                       encoder_state=sim.encoder_state, meta=meta, words=sim.words,
                       pools=sim.pools)
    # The embedded store writes the ranking candidates: these (scored under this configuration), while the graph
    # keeps this many edges (not made from the graph again: 5 s at 100,000 directions).
    built.candidates = (sim.candidates, sim.encoder_state.get("scoring"),  # type: ignore[attr-defined]
                        edge_count)
    return built
