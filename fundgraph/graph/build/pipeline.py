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
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from fundgraph.graph.model import Label, Rel
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.loaders.records import Direction, ParsedDocument, Program

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.embeddings.encoders import Encoder
    from fundgraph.graph.build.entities import DirectionKeywords, DocumentExtract
    from fundgraph.loaders.corpus import ManifestEntry
    from fundgraph.loaders.keywords import KeywordStats
    from fundgraph.loaders.vocab import Vocabulary

Progress = Callable[[str], None]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def program_node(p: Program) -> dict[str, Any]:
    """Flat properties of a Program node."""
    return {
        "id": p.id,
        "label": Label.PROGRAM.value,
        "name": p.name,
        "name_en": p.name_en,
        "funder": list(p.funder),
        "funder_en": list(p.funder_en),
        "series": p.series,
        "series_en": p.series_en,
        "year": p.year,
        "status": p.status,
        "status_en": p.status_en,
        "source_file": p.source_file,
        "profile": p.profile,
    }


def direction_node(d: Direction) -> dict[str, Any]:
    """Flat properties of a Direction node (lists of primitives only, so Neo4j stores them unchanged)."""
    f = d.funding
    return {
        "id": d.id,
        "label": Label.DIRECTION.value,
        "name": d.title,
        "name_en": None,
        "program_id": d.program_id,
        "code": d.code,
        "ordinal": d.ordinal,
        "title": d.title,
        "title_en": None,
        "category": d.category.value if d.category else None,
        "category_raw": d.category_raw,
        "support_type": d.support_type,
        "section": d.section,
        "section_title": d.section_title,
        "content": d.content,
        "metrics": d.metrics,
        "metrics_label": d.metrics_label,
        "keywords": list(d.keywords),
        "notes": list(d.notes),
        "funding_amount": f.amount if f else None,
        "funding_unit": f.unit if f else None,
        "funding_scope": f.scope if f else None,
        "funding_text": f.text if f else None,
        "application_code": d.application_code,
        "disciplines": list(d.disciplines),
        "source_file": d.source.file,
        "source_start": d.source.start,
        "source_end": d.source.end,
        "source_line": d.source.line,
    }


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
    """The parsed documents, what each yields on its own, and the corpus's keyword statistics."""

    docs: list[ParsedDocument]
    extracts: list[DocumentExtract]
    stats: KeywordStats
    #: Each document's keywords (:func:`graph.build.entities.document_keywords`).
    keywords: list[list[DirectionKeywords]]
    #: documents, cache hits, the programs parsed, workers used, keyword counting figures, stage timings.
    report: dict[str, Any] = field(default_factory=dict)


#: The vocabulary of a worker process (inherited from the parent when the pool forks, else loaded once).
_WORKER_VOCAB: Vocabulary | None = None


def _init_worker(vocab_dir: Path) -> None:
    global _WORKER_VOCAB
    if _WORKER_VOCAB is None:
        from fundgraph.loaders.vocab import load_vocabularies

        _WORKER_VOCAB = load_vocabularies(vocab_dir)


def _parse_and_extract(entry: ManifestEntry, base: Path) -> tuple[ParsedDocument, DocumentExtract, dict[str, float]]:
    """One document parsed and extracted (in a worker or in the parent), with the CPU seconds of each part."""
    from fundgraph.graph.build.entities import extract_document
    from fundgraph.loaders.corpus import load_document

    assert _WORKER_VOCAB is not None
    t = time.process_time()
    doc = load_document(entry, base)
    cpu = {"parse_s": time.process_time() - t}
    return doc, extract_document(doc, _WORKER_VOCAB, cpu), cpu


def _workers(settings: Settings, todo_bytes: int, todo_docs: int) -> int:
    """Processes to parse with: 1 below ``build_parallel_min_bytes`` (a pool does not pay), else the setting."""
    wanted = settings.build_workers or os.cpu_count() or 1
    if todo_docs < 2 or todo_bytes < settings.build_parallel_min_bytes:
        return 1
    return max(1, min(wanted, todo_docs))


def extract_corpus(settings: Settings, vocab: Vocabulary, *, full: bool = False,
                   progress: Progress | None = None) -> ExtractedCorpus:
    """Parse every document of the manifest and extract what each yields on its own, in manifest order.

    Documents whose bytes, manifest entry, vocabularies and code are unchanged since a build that cached them
    are read from the cache (``settings.cache_dir``, default ``settings.home / "cache"``; none with
    ``settings.build_cache`` off); the others are parsed and extracted, in a process pool when there is
    enough to do, and cached. Keyword document frequencies are summed from cached per-document counts.

    Args:
        settings: manifest, vocabulary directory, cache and worker settings.
        vocab: the vocabularies of ``settings.vocab_dir``.
        full: ignore the cache: parse and extract every document (and cache the results afresh).
        progress: called with a short message as each step starts.

    Raises:
        FundgraphError: a missing file, a bad manifest, a document that does not parse.
    """
    from fundgraph.graph.build.cache import DocumentCache, KeywordChoices, KeywordCounts
    from fundgraph.graph.build.entities import document_keywords, keyword_signature
    from fundgraph.loaders.corpus import load_corpus, read_manifest
    from fundgraph.loaders.keywords import KeywordStats, prepare_tokenizer

    global _WORKER_VOCAB
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    manifest = Path(settings.manifest)
    base = manifest.parent / "guidelines"
    entries = read_manifest(manifest)
    if any(not (base / e.file).is_file() for e in entries):
        load_corpus(manifest)  # raises the loaders' error naming the missing file and its manifest line
    cache = DocumentCache(settings.cache_dir or settings.home / "cache", settings.vocab_dir) \
        if settings.build_cache else None
    keys: list[str | None] = [None] * len(entries)
    found: list[tuple[ParsedDocument, DocumentExtract] | None] = [None] * len(entries)
    todo_bytes = 0
    for i, entry in enumerate(entries):
        if cache is None:
            todo_bytes += (base / entry.file).stat().st_size
            continue
        data = (base / entry.file).read_bytes()
        keys[i] = cache.key(entry, data)
        hit = None if full else cache.get(keys[i])
        if hit is not None:
            found[i] = (hit.doc, hit.extract)
        else:
            todo_bytes += len(data)
    todo = [i for i, f in enumerate(found) if f is None]
    workers = _workers(settings, todo_bytes, len(todo))
    cpu = {"parse_s": 0.0, "entities_s": 0.0, "keywords_s": 0.0}
    if todo:
        say(f"parsing {len(todo)} of {len(entries)} documents" + (f" ({workers} processes)" if workers > 1 else ""))
        _WORKER_VOCAB = vocab
        prepare_tokenizer(vocab)  # built once here: forked workers inherit it (about 1-2 s each otherwise)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                     initargs=(settings.vocab_dir,)) as pool:
                results = list(pool.map(_parse_and_extract, [entries[i] for i in todo], [base] * len(todo),
                                        chunksize=max(1, min(8, len(todo) // (workers * 8)))))
        else:
            results = [_parse_and_extract(entries[i], base) for i in todo]
        for i, (doc, extract, seconds) in zip(todo, results, strict=True):
            found[i] = (doc, extract)
            for k, v in seconds.items():
                cpu[k] += v
            if cache is not None:
                cache.put(keys[i], doc, extract)
    docs = [f[0] for f in found if f is not None]
    extracts = [f[1] for f in found if f is not None]
    t_docs = time.perf_counter() - t0

    say("counting keyword document frequencies")
    t = time.perf_counter()
    counts = KeywordCounts() if cache is None or full else cache.keyword_counts()
    doc_keys = [k or entries[i].id for i, k in enumerate(keys)]
    df = counts.frequencies([(k, x.texts) for k, x in zip(doc_keys, extracts, strict=True)],
                            set().union(*(x.terms() for x in extracts)))
    if cache is not None:
        cache.save_keyword_counts(counts)
    stats = KeywordStats.from_counts(sum(len(x.texts) for x in extracts), df)
    t_counts = time.perf_counter() - t

    say("choosing keywords")
    t = time.perf_counter()
    choices = KeywordChoices() if cache is None or full else cache.keyword_choices()
    keywords: list[list[DirectionKeywords]] = []
    reused = 0
    for key, doc, x in zip(doc_keys, docs, extracts, strict=True):
        signature = keyword_signature(x, stats)
        previous = choices.docs.get(key)
        if previous is not None and previous[0] == signature:
            keywords.append(previous[1])
            reused += 1
        else:
            keywords.append(document_keywords(doc, x, stats))
            choices.docs[key] = (signature, keywords[-1])
    if cache is not None:
        choices.docs = {k: v for k, v in choices.docs.items() if k in set(doc_keys)}
        cache.save_keyword_choices(choices)
    report = {
        "documents": len(entries), "cache_hits": len(entries) - len(todo),
        "parsed": [entries[i].id for i in todo], "workers": workers,
        "keyword_terms": len(df), "keyword_documents_counted": counts.counted,
        "keyword_choices_reused": reused, "documents_s": t_docs, "keyword_counts_s": t_counts,
        "keyword_choices_s": time.perf_counter() - t, "cpu": cpu,
    }
    return ExtractedCorpus(docs=docs, extracts=extracts, stats=stats, keywords=keywords, report=report)


def build_graph(settings: Settings, *, encoder: Encoder | None = None, progress: Progress | None = None,
                full: bool = False) -> BuiltGraph:
    """Parse the corpus named by the manifest and build the whole graph (nothing is written but the cache).

    Args:
        settings: manifest, vocabulary directory, encoder choice, similarity parameters, cache and workers.
        encoder: an encoder to use instead of the one the settings name (tests pass a fake one).
        progress: called with a short message as each step starts.
        full: parse and extract every document, ignoring the per-document cache (:func:`extract_corpus`).

    Raises:
        FundgraphError: on bad input (documents, manifest, vocabularies); nothing is written.
    """
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.similarity import add_similarity_layer
    from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles
    from fundgraph.loaders.vocab import load_vocabularies

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("parsing documents")
    vocab = load_vocabularies(settings.vocab_dir)
    corpus = extract_corpus(settings, vocab, full=full, progress=say)
    docs = corpus.docs
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
    sim = add_similarity_layer(g, docs, vocab, settings=settings, encoder=encoder, progress=say)
    timings["similarity_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    meta = {
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "encoder": sim.encoder_state.get("name"),
        "programs": [d.program.id for d in docs],
        "direction_count": sum(len(d.directions) for d in docs),
        "node_count": g.number_of_nodes(),
        "edge_count": g.number_of_edges(),
        "timings": timings,
        "title_translations": title_match.report(titles.path),
        "documents": documents_report,
    }
    return BuiltGraph(graph=g, direction_ids=sim.direction_ids, vectors=sim.vectors,
                      encoder_state=sim.encoder_state, meta=meta)
