"""The application layer: the use cases the CLI and the API call (build, open/load, export, parse, evaluate).

Each function takes the settings (or the store) it works on and returns records or counts; it never prints.
The CLI (:mod:`fundgraph.cli`) parses arguments, calls one of these and prints the result; the API's routes call
the same functions. Heavy modules are imported inside the functions that need them, so ``fundgraph --help`` and
the API's start-up stay fast and the Neo4j driver is imported only when Neo4j is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundgraph.core.errors import FundgraphError, InvalidRequest
from fundgraph.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from fundgraph.evaluation.entities import TypeScore
    from fundgraph.evaluation.parsing import ParseReport
    from fundgraph.evaluation.relevance import RelevanceReport
    from fundgraph.evaluation.similarity import Gold, MethodScore
    from fundgraph.graph.formats import GraphFormat
    from fundgraph.graph.stores.base import BuiltGraph, GraphStore
    from fundgraph.loaders.corpus import LeftOut, ManifestEntry, ParsedFile
    from fundgraph.loaders.records import ParsedDocument

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


def settings_with(**overrides: object) -> Settings:
    """The process settings with the given fields replaced (``None`` values are ignored)."""
    base = get_settings()
    clean = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=clean) if clean else base


def store_location(settings: Settings) -> str:
    """Where the selected store keeps the graph: the embedded store's directory or the Neo4j URI."""
    return str(settings.home) if settings.store == "embedded" else settings.neo4j_uri


# -- the store -----------------------------------------------------------------------------------------------
def open_store(settings: Settings, **kwargs: Any) -> GraphStore:
    """Open the store the settings select (the caller closes it)."""
    from fundgraph.graph.stores.factory import open_store as open_selected

    return open_selected(settings, **kwargs)


def load_graph(settings: Settings) -> BuiltGraph:
    """The whole graph the selected store holds.

    Raises:
        GraphNotBuilt: the store holds no graph yet.
        BackendUnavailable: the store cannot be reached.
    """
    store = open_store(settings)
    try:
        return store.load()
    finally:
        store.close()


def store_problem(settings: Settings, *, prepare: bool = False) -> str | None:
    """Why the selected store cannot serve a graph now (not built, damaged, unreachable), or None.

    Cheap: the embedded store checks its files against their manifest without reading the graph. ``prepare``:
    when there is no problem, let the store start what this process's first read will need
    (:meth:`GraphStore.prepare`: the embedded store's checksums, hashed in a thread while the server starts).
    """
    store = open_store(settings)
    try:
        store.check()
        if prepare:
            store.prepare()
    except FundgraphError as e:
        return e.message
    finally:
        store.close()
    return None


# -- build ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildReport:
    """What :func:`build` did: the graph, where it went, how long it took, and the documents left out."""

    built: BuiltGraph
    store: str
    location: str
    seconds: float
    left_out: list[LeftOut] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)


def corpus_manifests(settings: Settings, *, bundled: bool = True) -> list[Path]:
    """The manifests a build reads: the bundled corpus (unless ``bundled`` is false), then the user's corpus.

    Raises:
        InvalidRequest: nothing to build (no bundled corpus asked for and no user corpus).
    """
    out = [Path(settings.manifest)] if bundled else []
    user = settings.user_corpus / "manifest.yaml"
    if user.is_file():
        out.append(user)
    if not out:
        raise InvalidRequest(f"nothing to build: no user corpus at {settings.user_corpus}; add documents with "
                             "`fundgraph add FILE` or build the bundled corpus too (drop --no-bundled)",
                             detail={"corpus_dir": str(settings.user_corpus)})
    return out


@contextmanager
def reading_manifests(settings: Settings) -> Iterator[None]:
    """Within this block, manifests are read under the settings' rules for the files they name.

    A manifest's files lie in ``guidelines/`` beside it; the user's manifest may name any file in the user's
    corpus directory (``settings.user_corpus``); ``allow_files_outside_corpus`` lifts the rule
    (``fundgraph.loaders.manifest_guard``).
    """
    from fundgraph.loaders.manifest_guard import corpus_directory, files_outside_corpus

    with files_outside_corpus(settings.allow_files_outside_corpus), corpus_directory(settings.user_corpus):
        yield


def build(settings: Settings, *, progress: Progress | None = None, strict: bool = False,
          bundled: bool = True, full: bool = False) -> BuildReport:
    """Parse the corpus (bundled + user's), build the graph and replace the selected store's graph by it.

    Every document that parses is built; one that does not is left out and reported (``BuildReport.left_out``
    and the build meta's ``left_out``, which ``/api/health`` shows). With ``strict`` a bad document refuses
    the whole build instead and the store is left untouched. Documents unchanged since the last build come
    from the per-document cache (``graph/build/cache.py``); ``full`` re-parses them all. Whatever the flags,
    the store is checked writable and locked (one build per home) before any work.

    Raises:
        FundgraphError: on bad input (strict: any document; always: manifests, vocabularies) nothing is written.
        StoreNotWritable: the store directory cannot be written (found before any work).
        BuildInProgress: another build holds the home's lock.
    """
    from fundgraph.graph.build.pipeline import build_graph
    from fundgraph.loaders.corpus import LeftOut

    say = progress or _quiet
    t0 = time.perf_counter()
    manifests = corpus_manifests(settings, bundled=bundled)
    target = open_store(settings)
    try:
        # The store is checked writable and locked (one build per home) before the work, not after it.
        with target.writing(), reading_manifests(settings):
            built = build_graph(settings, progress=say, manifests=manifests, strict=strict, full=full)
            say(f"writing to the {settings.store} store")
            target.replace(built)
    finally:
        target.close()
    return BuildReport(built=built, store=settings.store, location=store_location(settings),
                       seconds=time.perf_counter() - t0,
                       left_out=[LeftOut(**lo) for lo in built.meta.get("left_out", [])], manifests=manifests)


@dataclass(frozen=True)
class Neo4jLoad:
    """What :func:`load_neo4j` loaded: node and relationship counts in Neo4j, and the time it took."""

    nodes: int
    relationships: int
    seconds: float
    #: Statements the warm-up after the load ran (:meth:`Neo4jStore.warm_up`), and its seconds (of ``seconds``).
    warm_statements: int = 0
    warm_seconds: float = 0.0
    #: Why the warm-up stopped early (the graph is loaded all the same), or None.
    warm_error: str | None = None


#: Seconds :func:`load_neo4j` and :func:`warm_neo4j` warm Neo4j for (:meth:`Neo4jStore.warm_up`).
WARM_UP_SECONDS = 45.0


def load_neo4j(settings: Settings, *, from_embedded: bool = False, batch_size: int = 5000,
               progress: Progress | None = None, warm_up: float = WARM_UP_SECONDS) -> Neo4jLoad:
    """Load the graph into Neo4j (settings ``neo4j_*``): the embedded store's graph, or a fresh build.

    Re-running it adds no duplicates (the store replaces its graph). Then ``warm_up`` seconds of the API's requests
    warm Neo4j (:meth:`Neo4jStore.warm_up`), so its first requests after a load are not several times slower.
    """
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    say = progress or _quiet
    t0 = time.perf_counter()
    if from_embedded:
        built = load_graph(settings.model_copy(update={"store": "embedded"}))
    else:
        from fundgraph.graph.build.pipeline import build_graph

        with reading_manifests(settings):
            built = build_graph(settings, progress=say, manifests=corpus_manifests(settings), strict=True)
    store = Neo4jStore.from_settings(settings, batch_size=batch_size)
    try:
        store.replace(built, progress=say)
        nodes, rels = store.counts()
        del built
        if warm_up > 0:
            say(f"warming Neo4j for {warm_up:g} s")
        t1 = time.perf_counter()
        warmed, warm_error = 0, None
        try:
            warmed = store.warm_up(warm_up)
        except FundgraphError as e:  # the graph is written and complete: only the warming stopped
            warm_error = e.message
        warm_s = time.perf_counter() - t1
    finally:
        store.close()
    return Neo4jLoad(nodes=nodes, relationships=rels, seconds=time.perf_counter() - t0, warm_statements=warmed,
                     warm_seconds=warm_s, warm_error=warm_error)


def warm_neo4j(settings: Settings, seconds: float = WARM_UP_SECONDS) -> tuple[int, float]:
    """Warm the Neo4j the settings name (after a restart): :meth:`Neo4jStore.warm_up`; statements run, seconds."""
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    store = Neo4jStore.from_settings(settings)
    try:
        t0 = time.perf_counter()
        return store.warm_up(seconds), time.perf_counter() - t0
    finally:
        store.close()


# -- export --------------------------------------------------------------------------------------------------
def export_format(name: str) -> GraphFormat:
    """The export format called ``name`` (raises InvalidRequest for an unknown one)."""
    from fundgraph.graph.formats import get_format

    return get_format(name)


def export_to_path(settings: Settings, fmt: str, output: Path) -> Path:
    """Write the stored graph in format ``fmt`` to ``output`` (a file, or a directory for directory formats)."""
    chosen = export_format(fmt)
    return chosen.write(load_graph(settings), Path(output))


def export_text(settings: Settings, fmt: str) -> str:
    """The stored graph in format ``fmt`` as text (for stdout).

    Raises:
        InvalidRequest: the format is written to a path only.
    """
    chosen = export_format(fmt)
    if chosen.text is None:
        raise InvalidRequest(f"--format {fmt} needs --output (a {chosen.output})",
                             detail={"format": fmt, "output": chosen.output})
    return chosen.text(load_graph(settings))


@dataclass(frozen=True)
class ServedExport:
    """An export as the API sends it."""

    body: bytes
    media_type: str
    filename: str | None = None


def served_export(store: GraphStore, fmt: str) -> ServedExport:
    """The store's graph rendered in a format the API serves.

    Raises:
        InvalidRequest: the format is unknown or not served over HTTP.
    """
    chosen = export_format(fmt)
    if chosen.served is None:
        raise InvalidRequest(f"format {fmt!r} is not served over HTTP: use `fundgraph export --format {fmt}`",
                             detail={"format": fmt})
    body = chosen.served.render(store.load())
    return ServedExport(body=body, media_type=chosen.served.media_type, filename=chosen.served.filename)


# -- parse one document --------------------------------------------------------------------------------------
def parse_document(settings: Settings, path: Path, like: str) -> ParsedDocument:
    """Parse any guideline file with the profile and program metadata of the manifest's program ``like``.

    Raises:
        ProgramNotFound: the manifest has no program ``like``.
        GuidelineParseError: the file cannot be read or yields no direction.
    """
    return parse_file(settings, path, like=like).document


def parse_file(settings: Settings, path: Path, *, like: str | None = None) -> ParsedFile:
    """Read a guideline in any supported format and parse it.

    Without ``like`` the layout is inferred and the program's name, year, funder and status are read from the
    title lines (``ParsedFile.metadata``); with ``like`` the profile and metadata of that program of the bundled
    (or the user's) manifest are used.

    Raises:
        ProgramNotFound: no manifest has a program ``like``.
        UnsupportedDocument: a format fundgraph does not read (the message says what to do).
        GuidelineParseError: the file cannot be read or yields no direction (the message names file and line).
    """
    from fundgraph.core.errors import ProgramNotFound
    from fundgraph.loaders.corpus import parse_file as parse_any

    if like is None:
        return parse_any(path)
    manifests = [Path(settings.manifest)]
    user = settings.user_corpus / "manifest.yaml"
    if user.is_file():
        manifests.append(user)
    for k, manifest in enumerate(manifests):
        try:
            with reading_manifests(settings):
                return parse_any(path, like=like, manifest_path=manifest)
        except ProgramNotFound:
            if k == len(manifests) - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def parsed_document_json(doc: ParsedDocument) -> dict[str, Any]:
    """A parsed document in the export's shape: the program record and each direction as exported."""
    from fundgraph.graph.build.pipeline import direction_node
    from fundgraph.graph.read.records import direction_record

    return {"program": doc.program.model_dump(mode="json"),
            "directions": [direction_record(direction_node(d)) for d in doc.directions]}


def parsed_file_json(parsed: ParsedFile) -> dict[str, Any]:
    """:func:`parsed_document_json` plus the sections, the inferred layout and how the file was read."""
    out = parsed_document_json(parsed.document)
    out["sections"] = [s.model_dump(mode="json") for s in parsed.document.sections]
    out["layout"] = parsed.layout.model_dump(mode="json") if parsed.layout is not None else None
    out["source"] = {"file": str(parsed.read.path), "format": parsed.read.format.value,
                     "encoding": parsed.read.encoding, "pages": parsed.read.page_count,
                     "title_lines": parsed.metadata.title_lines if parsed.metadata else []}
    out["warnings"] = list(parsed.document.warnings)
    return out


# -- the user's corpus ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AddedDocument:
    """One document :func:`add_documents` put in the user's corpus."""

    entry: ManifestEntry
    parsed: ParsedFile
    stored_as: Path
    updated: bool


def add_documents(settings: Settings, files: list[Path], *, program_id: str | None = None, name: str | None = None,
                  year: int | None = None, funder: list[str] | None = None, status: str | None = None,
                  corpus_dir: Path | None = None, series: str | None = None) -> list[AddedDocument]:
    """Copy guideline files into the user's corpus and write their manifest entries (``profile: auto``).

    Each file is read and parsed first (nothing is added unless every file parses). The program's name, year,
    funder and status come from the arguments, else from the document's title lines; a document with no
    draft marker (征求意见稿) is 正式. Adding a file again (same program id) updates its entry.

    Args:
        settings: The settings (``user_corpus`` is the default corpus directory; ``manifest`` the bundled one,
            whose ids a new program may not take).
        files: The guideline files.
        program_id: The program id (one file only); default from the file name.
        name: The program name (one file only).
        year: The year, for every file.
        funder: The funders, for every file.
        status: 征求意见稿 or 正式, for every file.
        corpus_dir: The corpus directory instead of ``settings.user_corpus``.
        series: The program series (its editions are linked by CONTINUES), for every file.

    Raises:
        InvalidRequest: ``program_id``/``name`` with several files, or an id the bundled corpus uses.
        GuidelineParseError: a file cannot be read or yields no direction (nothing is added).
        ManifestError: the user's manifest is malformed.
    """
    import shutil

    import yaml

    from fundgraph.loaders.corpus import (
        ManifestEntry,
        ManifestIds,
        parse_read,
        program_from_title,
        read_guideline,
        read_manifest,
    )
    from fundgraph.loaders.manifest_guard import corpus_directory
    from fundgraph.loaders.metadata import infer_metadata

    files = [Path(f) for f in files]
    if len(files) > 1 and (program_id or name):
        raise InvalidRequest("--program-id and --name name one program: add one file at a time with them",
                             detail={"files": [str(f) for f in files]})
    root = Path(corpus_dir) if corpus_dir is not None else settings.user_corpus
    manifest = root / "manifest.yaml"
    with reading_manifests(settings), corpus_directory(root):
        bundled_ids = ManifestIds(settings.manifest)  # read only if a new id may be one of its ids
        entries = read_manifest(manifest) if manifest.is_file() else []
    if program_id and program_id in bundled_ids:
        raise InvalidRequest(f"program id {program_id!r} is a bundled program: choose another --program-id",
                             detail={"program_id": program_id})
    planned: list[tuple[Path, ManifestEntry, ParsedFile]] = []
    for path in files:
        read = read_guideline(path)
        meta = infer_metadata(read.lines)
        meta.name = name or meta.name
        meta.year = year or meta.year
        meta.funder = list(funder) if funder else meta.funder
        meta.status = status or meta.status or "正式"
        pid = program_id or _free_id(program_from_title(path, meta).id, bundled_ids)
        program = program_from_title(path, meta, program_id=pid)
        parsed = parse_read(read, program, metadata=meta)
        entry = ManifestEntry(id=pid, name=program.name, name_en=program.name_en, funder=program.funder,
                              year=program.year, status=program.status, status_en=program.status_en,
                              file=_stored_name(root, path, pid, entries), profile="auto",
                              **({"series": series} if series else {}))
        planned.append((path, entry, parsed))
    (root / "guidelines").mkdir(parents=True, exist_ok=True)
    added: list[AddedDocument] = []
    by_id = {e.id: k for k, e in enumerate(entries)}
    for path, entry, parsed in planned:
        target = root / "guidelines" / entry.file
        if path.resolve() != target.resolve():
            shutil.copyfile(path, target)
        updated = entry.id in by_id
        if updated:
            entries[by_id[entry.id]] = entry
        else:
            by_id[entry.id] = len(entries)
            entries.append(entry)
        added.append(AddedDocument(entry=entry, parsed=parsed, stored_as=target, updated=updated))
    body = yaml.safe_dump({"documents": [e.model_dump(exclude_defaults=True) for e in entries]}, allow_unicode=True,
                          sort_keys=False, width=1000)
    manifest.write_text("# The user's corpus: written by `fundgraph add` (profile auto = layout inference).\n"
                        "# Edit names, years and funders freely; `fundgraph build` reads it with the bundled one.\n"
                        + body, encoding="utf-8")
    return added


def _free_id(pid: str, taken: Container[str]) -> str:
    """``pid``, or ``pid-2``, ``pid-3``… when a bundled program has it."""
    k, out = 2, pid
    while out in taken:
        out, k = f"{pid}-{k}", k + 1
    return out


def _stored_name(root: Path, path: Path, pid: str, entries: list[ManifestEntry]) -> str:
    """The file name in ``guidelines/``: the file's own, prefixed by the program id if another program has it."""
    own = next((e.file for e in entries if e.id == pid), None)
    if own == path.name:
        return own
    taken = {e.file for e in entries if e.id != pid}
    if path.name in taken:
        return f"{pid}__{path.name}"
    return path.name


@dataclass(frozen=True)
class GraphUpdate:
    """How :func:`update_graph` brought the stored graph up to date with documents just added.

    ``mode`` is ``incremental`` (only what the documents change was computed: ``graph/build/incremental.py``),
    ``full`` (everything rebuilt: asked for, or a program already in the graph changed) or ``none`` (no graph
    to update yet, or a corpus directory the build does not read); ``reason`` says why when not incremental.
    The seconds are split into reading the stored graph, computing, and writing it.
    """

    mode: str
    reports: list[Any] = field(default_factory=list)
    reason: str | None = None
    rebuild_suggested: bool = False
    incremental: dict[str, Any] = field(default_factory=dict)
    load_s: float = 0.0
    compute_s: float = 0.0
    write_s: float = 0.0
    #: CPU seconds of the compute part (on a shared machine wall time says little).
    compute_cpu_s: float = 0.0


def update_graph(settings: Settings, program_ids: list[str], *, full: bool = False,
                 progress: Progress | None = None) -> GraphUpdate:
    """Bring the stored graph up to date with the user's corpus programs ``program_ids`` (just added).

    Incremental when it can be (:func:`fundgraph.graph.build.incremental.add_document`, one document after
    another, one atomic write at the end): the graph is read through the store, changed, and written back with
    ``replace`` under the build lock, so a kill at any point leaves the previous graph. A full build instead with
    ``full``, or when a program is already in the graph (an edited document). Nothing when the store holds no
    graph yet (the next ``fundgraph build`` builds everything).

    Raises:
        FundgraphError: the document cannot be read or parsed, the store cannot be written, or another build
            holds the lock.
    """
    from fundgraph.core.errors import GraphNotBuilt
    from fundgraph.core.schema import using_registry
    from fundgraph.graph.build import incremental
    from fundgraph.loaders.corpus import plan_corpora
    from fundgraph.loaders.tokenizer import mapped_dictionary
    from fundgraph.loaders.vocab import load_vocabularies, vocabulary_registry

    say = progress or _quiet
    if full:
        report = build(settings, progress=say, full=True)
        return GraphUpdate(mode="full", reason="asked for (--full)", compute_s=report.seconds)
    store = open_store(settings)
    reports: list[incremental.AddReport] = []
    try:
        with store.writing(), reading_manifests(settings):
            t0 = time.perf_counter()
            say("reading the stored graph")
            try:
                built = store.load_for_update()
            except GraphNotBuilt:
                return GraphUpdate(mode="none", reason="no graph built yet: run `fundgraph build`")
            t1, cpu = time.perf_counter(), time.process_time()
            registry = vocabulary_registry(settings.vocab_dir)
            # a few dozen directions cut: jieba's dictionary looked up memory-mapped, not read whole (~1 s)
            with using_registry(registry), mapped_dictionary():
                vocab = load_vocabularies(settings.vocab_dir)
                plan = {d.entry.id: d for d in plan_corpora([settings.user_corpus / "manifest.yaml"], strict=True)}
                for pid in program_ids:
                    say(f"parsing {pid}")
                    t = time.perf_counter()
                    new = incremental.prepare_document(settings, plan[pid], vocab,
                                                       directions_before=len(built.direction_ids))
                    parse_s = time.perf_counter() - t
                    reports.append(incremental.add_document(built, new, vocab, settings=settings, progress=say))
                    reports[-1].timings = {"parse_s": parse_s, **reports[-1].timings}
            t2, cpu = time.perf_counter(), time.process_time() - cpu
            say(f"writing to the {settings.store} store")
            store.replace(built)
            t3 = time.perf_counter()
    except incremental.NeedsFullBuild as e:
        report = build(settings, progress=say)
        return GraphUpdate(mode="full", reason=e.message, compute_s=report.seconds)
    finally:
        store.close()
    inc = dict(built.meta.get("incremental") or {})
    return GraphUpdate(mode="incremental", reports=reports, rebuild_suggested=incremental.rebuild_suggested(built),
                       incremental=inc, load_s=t1 - t0, compute_s=t2 - t1, write_s=t3 - t2, compute_cpu_s=cpu)


# -- evaluate ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimilarityEvaluation:
    """Scores of each method on the similarity gold set (and lineage), with the gold set itself."""

    scores: list[MethodScore]
    gold: Gold
    relevance: RelevanceReport | None = None


def evaluate_similarity(
    settings: Settings, *, st_model: str | None = None, k: int = 5, graded: bool = True, ablation: bool = False,
    write_calibration: bool = False,
) -> SimilarityEvaluation:
    """Recall@k and MRR on the gold set, and nDCG@5, P@5, edge precision on the graded set, against the baselines.

    Args:
        settings: corpus and encoder.
        st_model: also evaluate sentence-transformers with this model (gold set only).
        k: Recall@k cut-off (gold set).
        graded: also score the graded set (issue 15).
        ablation: also cross-validate with each scoring change switched off.
        write_calibration: write the calibration fitted on the whole graded set to the package data.
    """
    from fundgraph.evaluation import relevance
    from fundgraph.evaluation.similarity import evaluate, load_gold

    report = relevance.evaluate_relevance(settings, ablation=ablation) if graded else None
    if report is not None and write_calibration:
        relevance.write_calibration(report)
    return SimilarityEvaluation(scores=evaluate(settings, st_model=st_model, k=k), gold=load_gold(),
                                relevance=report)


@dataclass(frozen=True)
class EntityEvaluation:
    """Per-type precision and recall of entity extraction, over ``n_directions`` gold directions."""

    scores: dict[str, TypeScore]
    n_directions: int


def evaluate_entities(settings: Settings, *, gold_file: Path | None = None) -> EntityEvaluation:
    """Entity extraction against the bundled gold set (or ``gold_file``), on the settings' corpus and vocabularies."""
    from fundgraph.evaluation.entities import evaluate_entities as score
    from fundgraph.evaluation.entities import load_gold
    from fundgraph.loaders.corpus import load_corpus
    from fundgraph.loaders.vocab import load_vocabularies

    gold = load_gold(gold_file) if gold_file else load_gold()
    docs = load_corpus(settings.manifest)
    return EntityEvaluation(scores=score(docs, load_vocabularies(settings.vocab_dir), gold),
                            n_directions=len(gold))


def evaluate_parsing(*, dev_dir: Path | None = None) -> ParseReport:
    """Exact-title recall, precision and documents fully right: shipped parser vs naive baseline, one run.

    The shipped parser is ``fundgraph parse FILE``'s: any format read, the layout inferred. The dev set is the
    bundled one (package data) unless ``dev_dir`` is given.

    Raises:
        InputError: the dev set is missing or malformed.
    """
    from fundgraph.core.paths import PARSE_DEV_DIR
    from fundgraph.evaluation.parsing import evaluate_parsing as score
    from fundgraph.evaluation.parsing import shipped_parse

    return score(shipped_parse, Path(dev_dir) if dev_dir is not None else PARSE_DEV_DIR)
