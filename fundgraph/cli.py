"""The command line: thin commands over the same functions the API uses."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="fundgraph: research-funding directions as a knowledge graph.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate extraction and similarity against the dev gold sets.")
app.add_typer(eval_app, name="eval")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class StoreChoice(StrEnum):
    """Storage backends."""

    embedded = "embedded"
    neo4j = "neo4j"


class ExportFormat(StrEnum):
    """Export formats."""

    json = "json"
    graphml = "graphml"  # Gephi, yEd
    node_link = "node-link"  # JSON node-link (D3, networkx)
    neo4j_csv = "neo4j-csv"  # a directory of CSV files for `neo4j-admin database import full`


def _fail(e: FundgraphError) -> None:
    err.print(f"[bold red]error:[/] {e.message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2) from e


def _settings(**overrides: object) -> Settings:
    base = get_settings()
    clean = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=clean) if clean else base


@app.command()
def build(
    store: Annotated[StoreChoice | None, typer.Option(help="Where to write the graph (default: settings).")] = None,
    encoder: Annotated[str | None, typer.Option(help="lexical | sentence-transformers (default: settings).")] = None,
) -> None:
    """Parse the bundled corpus and write the graph to the store."""
    from fundgraph.graph.build.pipeline import build_graph
    from fundgraph.graph.stores.factory import open_store

    settings = _settings(store=store.value if store else None, encoder=encoder)
    t0 = time.perf_counter()
    try:
        with err.status("building…") as status:
            built = build_graph(settings, progress=lambda msg: status.update(msg + "…"))
            status.update(f"writing to the {settings.store} store…")
            target = open_store(settings)
            try:
                target.replace(built)
            finally:
                target.close()
    except FundgraphError as e:
        _fail(e)
    elapsed = time.perf_counter() - t0
    m = built.meta
    where = settings.home if settings.store == "embedded" else settings.neo4j_uri
    out.print(f"built {len(m['programs'])} programs, {m['direction_count']} directions, "
              f"{m['node_count']} nodes, {m['edge_count']} edges with the {m.get('encoder')} encoder "
              f"in {elapsed:.2f}s → {settings.store} store at {where}", highlight=False)
    stale = (m.get("title_translations") or {}).get("stale")
    if stale:
        err.print(f"warning: {len(stale)} stale English title(s) not attached (zh no longer matches the parsed "
                  f"title; update {m['title_translations'].get('file')}): {', '.join(stale)}", highlight=False)


@app.command("load-neo4j")
def load_neo4j(
    from_embedded: Annotated[bool, typer.Option(
        "--from-embedded", help="Copy the embedded store's graph (FUNDGRAPH_HOME); default: build it.",
    )] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per UNWIND batch.")] = 1000,
) -> None:
    """Load the graph into Neo4j (settings FUNDGRAPH_NEO4J_*); re-running it adds no duplicates."""
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    settings = _settings()
    t0 = time.perf_counter()
    try:
        with err.status("building…") as status:
            if from_embedded:
                from fundgraph.graph.stores.embedded.store import EmbeddedStore

                built = EmbeddedStore(settings.home).load()
            else:
                from fundgraph.graph.build.pipeline import build_graph

                built = build_graph(settings, progress=lambda msg: status.update(msg + "…"))
            store = Neo4jStore.from_settings(settings, batch_size=batch_size)
            try:
                store.replace(built, progress=lambda msg: status.update(msg + "…"))
                nodes, rels = store.counts()
            finally:
                store.close()
    except FundgraphError as e:
        _fail(e)
    out.print(f"loaded {nodes} nodes and {rels} relationships into Neo4j at {settings.neo4j_uri} "
              f"(database {settings.neo4j_database}) in {time.perf_counter() - t0:.2f}s", highlight=False)


@app.command()
def export(
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format.")] = ExportFormat.json,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: stdout); a directory for neo4j-csv.")] = None,
) -> None:
    """Export the built graph (programs, directions, entities, links)."""
    from fundgraph.graph.read.records import export_json
    from fundgraph.graph.stores.factory import open_store

    settings = _settings()
    try:
        store = open_store(settings)
        try:
            built = store.load()
        finally:
            store.close()
    except FundgraphError as e:
        _fail(e)
    if format is not ExportFormat.json:
        from fundgraph.graph.formats.exports import export_graph

        if output is None:
            err.print(f"[bold red]error:[/] --format {format.value} needs --output (a "
                      f"{'directory' if format is ExportFormat.neo4j_csv else 'file'})", highlight=False)
            raise typer.Exit(code=2)
        try:
            written = export_graph(built.graph, format.value, output)
        except FundgraphError as e:
            _fail(e)
        err.print(f"wrote {written}", highlight=False)
        return
    text = json.dumps(export_json(built), ensure_ascii=False, indent=1)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="A guideline document (UTF-8 text, or GBK).")],
    like: Annotated[str, typer.Option("--like", help="Program id whose parsing profile to use.")],
    format: Annotated[str, typer.Option("--format", help="text | json")] = "text",
) -> None:
    """Parse one document with an existing program's profile and show what it yields."""
    from fundgraph.graph.build.pipeline import direction_node
    from fundgraph.graph.read.records import direction_record
    from fundgraph.loaders.corpus import parse_file_like

    settings = _settings()
    try:
        doc = parse_file_like(file, like, settings.manifest)
    except FundgraphError as e:
        _fail(e)
    for w in doc.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    if format == "json":
        payload = {"program": doc.program.model_dump(mode="json"),
                   "directions": [direction_record(direction_node(d)) for d in doc.directions]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
        return
    out.print(f"{file}: {len(doc.directions)} directions (profile {doc.program.profile})", highlight=False)
    for d in doc.directions:
        cat = f" [{d.category_raw}]" if d.category_raw else ""
        out.print(f"  {d.code:>8}  {d.title}{cat}", highlight=False, markup=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    store: Annotated[StoreChoice | None, typer.Option(help="Store to serve (default: settings).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the API (JSON under /api, OpenAPI at /docs, the dashboard at /) with uvicorn."""
    import os

    import uvicorn

    if store is not None:  # workers read the settings from the environment
        os.environ["FUNDGRAPH_STORE"] = store.value
        get_settings.cache_clear()
    settings = _settings()
    where = settings.home if settings.store == "embedded" else settings.neo4j_uri
    err.print(f"serving the {settings.store} store at {where} on http://{host}:{port} (docs: /docs)",
              highlight=False, soft_wrap=True)
    from fundgraph.api.server import NoDelayH11Protocol

    if workers > 1:
        uvicorn.run("fundgraph.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=access_log, http=NoDelayH11Protocol)
    else:
        from fundgraph.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=access_log,
                    http=NoDelayH11Protocol)


@eval_app.command("similarity")
def eval_similarity(
    encoder: Annotated[str | None, typer.Option(
        help="Also evaluate sentence-transformers with this model name or local path ('settings': st_model).")] = None,
    k: Annotated[int, typer.Option(help="Recall@k cut-off.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Recall@k and MRR on the similarity gold set: shipped method vs plain TF-IDF (and sentence-transformers)."""
    from fundgraph.evaluation.similarity import evaluate, format_report, load_gold

    settings = _settings()
    model = settings.st_model if encoder == "settings" else encoder
    try:
        scores = evaluate(settings, st_model=model, k=k)
        gold = load_gold()
    except FundgraphError as e:
        _fail(e)
    if as_json:
        out.print_json(json.dumps([s.as_dict() for s in scores], ensure_ascii=False))
    else:
        out.print(format_report(scores, gold), highlight=False)
        out.print(f"thr = each encoder's calibrated SIMILAR_TO threshold, top k {settings.similar_top_k}; cv = 2-fold "
                  "cross-validated weights; 'unrelated' = 002 mining/quantum/deep-sea/polar directions with a "
                  "cross-program edge above thr",
                  highlight=False)


@eval_app.command("entities")
def eval_entities(
    errors: Annotated[bool, typer.Option("--errors", help="Also list false positives and negatives.")] = False,
    gold_file: Annotated[Path | None, typer.Option(
        "--gold", help="Gold set file (default: the bundled gold_entities.yaml; a blind second annotation "
                       "is gold_entities_blind.yaml beside it).")] = None,
) -> None:
    """Precision and recall per entity type (diseases, modalities) on the hand-annotated gold set."""
    from fundgraph.evaluation.entities import evaluate_entities, format_report, load_gold
    from fundgraph.loaders.corpus import load_corpus
    from fundgraph.loaders.vocab import load_vocabularies

    settings = _settings()
    try:
        gold = load_gold(gold_file) if gold_file else load_gold()
        docs = load_corpus(settings.manifest)
        scores = evaluate_entities(docs, load_vocabularies(settings.vocab_dir), gold)
    except FundgraphError as e:
        _fail(e)
    out.print(format_report(scores, n_directions=len(gold), show_errors=errors), highlight=False)


def main() -> None:  # pragma: no cover - console entry
    """Console entry point."""
    app()
