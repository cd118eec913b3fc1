"""The application layer: the use cases the CLI and the API call (build, open/load, export, parse, evaluate).

Each function takes the settings (or the store) it works on and returns records or counts; it never prints.
The CLI (:mod:`fundgraph.cli`) parses arguments, calls one of these and prints the result; the API's routes call
the same functions. Heavy modules are imported inside the functions that need them, so ``fundgraph --help`` and
the API's start-up stay fast and the Neo4j driver is imported only when Neo4j is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundgraph.core.errors import InvalidRequest
from fundgraph.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from fundgraph.evaluation.entities import TypeScore
    from fundgraph.evaluation.similarity import Gold, MethodScore
    from fundgraph.graph.formats import GraphFormat
    from fundgraph.graph.stores.base import BuiltGraph, GraphStore
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


def store_problem(settings: Settings) -> str | None:
    """Why the selected store cannot serve a graph now (not built, damaged, unreachable), or None.

    Cheap: the embedded store checks its files against their manifest without reading the graph.
    """
    from fundgraph.core.errors import FundgraphError

    store = open_store(settings)
    try:
        store.check()
    except FundgraphError as e:
        return e.message
    finally:
        store.close()
    return None


# -- build ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildReport:
    """What :func:`build` did: the graph, where it went, and how long parsing, building and writing took."""

    built: BuiltGraph
    store: str
    location: str
    seconds: float


def build(settings: Settings, *, progress: Progress | None = None) -> BuildReport:
    """Parse the corpus, build the graph and replace the selected store's graph by it.

    Raises:
        FundgraphError: on bad input (documents, manifest, vocabularies) nothing is written.
        StoreNotWritable: the store directory cannot be written (found before any work).
        BuildInProgress: another build holds the home's lock.
    """
    from fundgraph.graph.build.pipeline import build_graph
    from fundgraph.loaders.manifest_guard import files_outside_corpus

    say = progress or _quiet
    t0 = time.perf_counter()
    target = open_store(settings)
    try:
        # The store is checked writable and locked (one build per home) before the work, not after it.
        with target.writing(), files_outside_corpus(settings.allow_files_outside_corpus):
            built = build_graph(settings, progress=say)
            say(f"writing to the {settings.store} store")
            target.replace(built)
    finally:
        target.close()
    return BuildReport(built=built, store=settings.store, location=store_location(settings),
                       seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class Neo4jLoad:
    """What :func:`load_neo4j` loaded: node and relationship counts in Neo4j, and the time it took."""

    nodes: int
    relationships: int
    seconds: float


def load_neo4j(settings: Settings, *, from_embedded: bool = False, batch_size: int = 1000,
               progress: Progress | None = None) -> Neo4jLoad:
    """Load the graph into Neo4j (settings ``neo4j_*``): the embedded store's graph, or a fresh build.

    Re-running it adds no duplicates (the store replaces its graph).
    """
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    say = progress or _quiet
    t0 = time.perf_counter()
    if from_embedded:
        built = load_graph(settings.model_copy(update={"store": "embedded"}))
    else:
        from fundgraph.graph.build.pipeline import build_graph

        built = build_graph(settings, progress=say)
    store = Neo4jStore.from_settings(settings, batch_size=batch_size)
    try:
        store.replace(built, progress=say)
        nodes, rels = store.counts()
    finally:
        store.close()
    return Neo4jLoad(nodes=nodes, relationships=rels, seconds=time.perf_counter() - t0)


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
    from fundgraph.loaders.corpus import parse_file_like

    return parse_file_like(path, like, settings.manifest)


def parsed_document_json(doc: ParsedDocument) -> dict[str, Any]:
    """A parsed document in the export's shape: the program record and each direction as exported."""
    from fundgraph.graph.build.pipeline import direction_node
    from fundgraph.graph.read.records import direction_record

    return {"program": doc.program.model_dump(mode="json"),
            "directions": [direction_record(direction_node(d)) for d in doc.directions]}


# -- evaluate ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimilarityEvaluation:
    """Scores of each method on the similarity gold set (and lineage), with the gold set itself."""

    scores: list[MethodScore]
    gold: Gold


def evaluate_similarity(settings: Settings, *, st_model: str | None = None, k: int = 5) -> SimilarityEvaluation:
    """Recall@k and MRR of the shipped method vs plain TF-IDF (and sentence-transformers) on the bundled gold set."""
    from fundgraph.evaluation.similarity import evaluate, load_gold

    return SimilarityEvaluation(scores=evaluate(settings, st_model=st_model, k=k), gold=load_gold())


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
