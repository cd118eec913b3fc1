"""The command line: thin commands over the same functions the API uses."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fundgraph import service
from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import get_settings
from fundgraph.graph.formats.registry import FORMATS

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


#: Export formats, from the one format registry (the API's ``format`` parameter comes from the same one).
ExportFormat = StrEnum("ExportFormat", {name.replace("-", "_"): name for name in FORMATS})


def _fail(e: FundgraphError) -> None:
    err.print(f"[bold red]error:[/] {e.message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2) from e


@app.command()
def build(
    store: Annotated[StoreChoice | None, typer.Option(help="Where to write the graph (default: settings).")] = None,
    encoder: Annotated[str | None, typer.Option(help="lexical | sentence-transformers (default: settings).")] = None,
) -> None:
    """Parse the bundled corpus and write the graph to the store."""
    settings = service.settings_with(store=store.value if store else None, encoder=encoder)
    try:
        with err.status("building…") as status:
            report = service.build(settings, progress=lambda msg: status.update(msg + "…"))
    except FundgraphError as e:
        _fail(e)
    m = report.built.meta
    out.print(f"built {len(m['programs'])} programs, {m['direction_count']} directions, "
              f"{m['node_count']} nodes, {m['edge_count']} edges with the {m.get('encoder')} encoder "
              f"in {report.seconds:.2f}s → {report.store} store at {report.location}", highlight=False)
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
    settings = service.settings_with()
    try:
        with err.status("building…") as status:
            loaded = service.load_neo4j(settings, from_embedded=from_embedded, batch_size=batch_size,
                                        progress=lambda msg: status.update(msg + "…"))
    except FundgraphError as e:
        _fail(e)
    out.print(f"loaded {loaded.nodes} nodes and {loaded.relationships} relationships into Neo4j at "
              f"{settings.neo4j_uri} (database {settings.neo4j_database}) in {loaded.seconds:.2f}s", highlight=False)


@app.command()
def export(
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format: " + "; ".join(
        f"{f.name}: {f.help}" for f in FORMATS.values()) + ".")] = ExportFormat("json"),
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: stdout); a directory for neo4j-csv.")] = None,
) -> None:
    """Export the built graph (programs, directions, entities, links)."""
    settings = service.settings_with()
    try:
        if output is None:
            sys.stdout.write(service.export_text(settings, format.value))
            return
        written = service.export_to_path(settings, format.value, output)
    except FundgraphError as e:
        _fail(e)
    err.print(f"wrote {written}", highlight=False)


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="A guideline document (UTF-8 text, or GBK).")],
    like: Annotated[str, typer.Option("--like", help="Program id whose parsing profile to use.")],
    format: Annotated[str, typer.Option("--format", help="text | json")] = "text",
) -> None:
    """Parse one document with an existing program's profile and show what it yields."""
    settings = service.settings_with()
    try:
        doc = service.parse_document(settings, file, like)
    except FundgraphError as e:
        _fail(e)
    for w in doc.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    if format == "json":
        sys.stdout.write(json.dumps(service.parsed_document_json(doc), ensure_ascii=False, indent=1) + "\n")
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
    search_process: Annotated[bool, typer.Option(
        help="Run searches in a process of their own (one more copy of the graph in memory; details never wait "
             "behind a search).")] = True,
) -> None:
    """Serve the API (JSON under /api, OpenAPI at /docs, the dashboard at /) with uvicorn."""
    import os

    import uvicorn

    if store is not None:  # workers read the settings from the environment
        os.environ["FUNDGRAPH_STORE"] = store.value
    os.environ["FUNDGRAPH_SEARCH_PROCESSES"] = "1" if search_process else "0"
    get_settings.cache_clear()
    settings = service.settings_with()
    problem = service.store_problem(settings)
    if problem is not None:  # one line; the server still starts, and answers 503 until a good graph appears
        err.print(f"[bold yellow]warning:[/] {problem}", markup=True, highlight=False, soft_wrap=True)
    err.print(f"serving the {settings.store} store at {service.store_location(settings)} on http://{host}:{port} "
              "(docs: /docs)", highlight=False, soft_wrap=True)
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
    from fundgraph.evaluation.similarity import format_report

    settings = service.settings_with()
    model = settings.st_model if encoder == "settings" else encoder
    try:
        result = service.evaluate_similarity(settings, st_model=model, k=k)
    except FundgraphError as e:
        _fail(e)
    if as_json:
        out.print_json(json.dumps([s.as_dict() for s in result.scores], ensure_ascii=False))
    else:
        out.print(format_report(result.scores, result.gold), highlight=False)
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
    from fundgraph.evaluation.entities import format_report

    try:
        result = service.evaluate_entities(service.settings_with(), gold_file=gold_file)
    except FundgraphError as e:
        _fail(e)
    out.print(format_report(result.scores, n_directions=result.n_directions, show_errors=errors), highlight=False)


def main() -> None:  # pragma: no cover - console entry
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover - `python -m fundgraph.cli`
    main()
