"""The command line: thin commands over the same functions the API uses."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fundgraph import service
from fundgraph.core.errors import FundgraphError, InvalidRequest
from fundgraph.core.settings import get_settings
from fundgraph.graph.formats.registry import FORMATS, get_format

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="fundgraph: research-funding directions as a knowledge graph.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate extraction and similarity against the dev gold sets.")
app.add_typer(eval_app, name="eval")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

#: Set by :func:`main` (the console entry point), never by tests calling the app in-process: a finished build
#: then ends the process at once instead of freeing its graph object by object (5-10 s at 100,000 directions).
_EXIT_WHEN_DONE = False


def _exit_now(code: int = 0) -> None:
    """End the process with ``code`` without freeing its objects (only from the console entry point)."""
    if _EXIT_WHEN_DONE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


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
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse the whole build when one document cannot be parsed (the graph stays as it was).",
    )] = False,
    bundled: Annotated[bool, typer.Option(
        "--bundled/--no-bundled", help="Build the bundled corpus with the user's (--no-bundled: the user's alone).",
    )] = True,
    full: Annotated[bool, typer.Option("--full", help="Re-parse every document, ignoring the build cache.")] = False,
) -> None:
    """Parse the bundled corpus and the user's (fundgraph add) and write the graph to the store."""
    settings = service.settings_with(store=store.value if store else None, encoder=encoder)
    try:
        with err.status("building…") as status:
            report = service.build(settings, progress=lambda msg: status.update(msg + "…"), strict=strict,
                                   bundled=bundled, full=full)
    except FundgraphError as e:
        _fail(e)
    m = report.built.meta
    out.print(f"built {len(m['programs'])} programs, {m['direction_count']} directions, "
              f"{m['node_count']} nodes, {m['edge_count']} edges with the {m.get('encoder')} encoder "
              f"in {report.seconds:.2f}s → {report.store} store at {report.location}", highlight=False)
    if report.left_out:
        err.print(f"[yellow]warning:[/] {len(report.left_out)} document(s) left out (fix them and build again, or "
                  "use --strict to refuse such a build):", highlight=False)
        for lo in report.left_out:
            err.print(f"  {lo}", highlight=False, markup=False)
    stale = (m.get("title_translations") or {}).get("stale")
    if stale:
        err.print(f"warning: {len(stale)} stale English title(s) not attached (zh no longer matches the parsed "
                  f"title; update {m['title_translations'].get('file')}): {', '.join(stale)}", highlight=False)
    _exit_now(0)  # the store is written and closed, the result printed: nothing is left to free but memory


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(
        help="Guideline documents (.txt/.md, .docx, .pdf, .html, .xlsx/.xls/.ods).")],
    program_id: Annotated[str | None, typer.Option(
        "--program-id", help="Program id (one file; default: from the file name).")] = None,
    name: Annotated[str | None, typer.Option(help="Program name (one file; default: the title lines).")] = None,
    year: Annotated[int | None, typer.Option(help="Year (default: the title lines).")] = None,
    funder: Annotated[list[str] | None, typer.Option(help="Funder, repeatable (default: the title lines).")] = None,
    status: Annotated[str | None, typer.Option(help="征求意见稿 | 正式 (default: the title lines).")] = None,
    corpus: Annotated[Path | None, typer.Option(
        "--corpus", help="The user's corpus directory (default: FUNDGRAPH_CORPUS_DIR or FUNDGRAPH_HOME/corpus).",
    )] = None,
    series: Annotated[str | None, typer.Option(
        help="Program series (editions of one series are linked by CONTINUES).")] = None,
    update: Annotated[bool, typer.Option(
        "--update/--no-update", help="Update the built graph with the documents (default), or only copy them.",
    )] = True,
    full: Annotated[bool, typer.Option(
        "--full", help="Rebuild the whole graph after adding, instead of adding only what the documents change.",
    )] = False,
) -> None:
    """Add documents to your corpus (copied, with a manifest entry) and add them to the built graph.

    Only what the documents change is computed (their directions, similar lists, the lists they enter, their
    series' lineage, communities by the best-neighbour rule) with the vocabulary and IDF of the last full build;
    `fundgraph build --full` recomputes everything.
    """
    settings = service.settings_with()
    try:
        added = service.add_documents(settings, files, program_id=program_id, name=name, year=year,
                                      funder=funder, status=status, corpus_dir=corpus, series=series)
    except FundgraphError as e:
        _fail(e)
    for a in added:
        e, doc = a.entry, a.parsed.document
        for w in doc.warnings:
            err.print(f"[yellow]warning:[/] {w}", highlight=False)
        out.print(f"{'updated' if a.updated else 'added'} {e.id}: {e.name} · {e.year or 'year ?'} · "
                  f"{'、'.join(e.funder) or 'funder ?'} · {e.status} → {a.stored_as}", highlight=False, markup=False)
        out.print(f"  {len(doc.directions)} directions, {len(doc.sections)} sections ({_layout_line(a.parsed)}); "
                  "first titles:", highlight=False, markup=False)
        for d in doc.directions[:3]:
            out.print(f"  {d.code:>8}  {d.title}", highlight=False, markup=False)
    root = added[0].stored_as.parent.parent if added else corpus
    in_build = root is not None and Path(root).resolve() == Path(settings.user_corpus).resolve()
    if not (update and in_build):
        out.print(f"manifest: {root / 'manifest.yaml'}; run `fundgraph build` to build it", highlight=False)
        return
    try:
        with err.status("updating the graph…") as status:
            done = service.update_graph(settings, [a.entry.id for a in added], full=full,
                                        progress=lambda msg: status.update(msg + "…"))
    except FundgraphError as e:
        _fail(e)
    if done.mode == "none":
        out.print(f"manifest: {root / 'manifest.yaml'}; {done.reason}", highlight=False, markup=False)
        return
    if done.mode == "full":
        out.print(f"rebuilt the whole graph ({done.reason}) in {done.compute_s:.1f}s", highlight=False,
                  markup=False)
        return
    for r in done.reports:
        out.print(f"graph: +{len(r.directions)} directions of {r.program_id}, {r.similar_edges} similar links, "
                  f"{len(r.entered)} existing lists entered, CONTINUES +{r.continues_added}/-{r.continues_removed}, "
                  f"{sum(c is not None for c in r.communities.values())} joined communities", highlight=False,
                  markup=False)
    inc = done.incremental
    out.print(f"updated incrementally: read {done.load_s:.2f}s, computed {done.compute_s:.2f}s, "
              f"wrote {done.write_s:.2f}s; {inc.get('directions_added')} directions added since the last full "
              f"build ({100 * float(inc.get('added_share') or 0):.1f}%)", highlight=False, markup=False)
    if done.rebuild_suggested:
        err.print("[yellow]note:[/] the graph has drifted from its last full build (vocabulary and IDF are "
                  "frozen there): run `fundgraph build --full`", highlight=False)


@app.command("load-neo4j")
def load_neo4j(
    from_embedded: Annotated[bool, typer.Option(
        "--from-embedded", help="Copy the embedded store's graph (FUNDGRAPH_HOME); default: build it.",
    )] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per UNWIND batch.")] = 5000,
    warm_up: Annotated[float, typer.Option(
        min=0, help="Seconds of detail, similar and neighbourhood requests once loaded, so Neo4j's first requests "
                    "are not slow (0: none).",
    )] = service.WARM_UP_SECONDS,
) -> None:
    """Load the graph into Neo4j (settings FUNDGRAPH_NEO4J_*); re-running it adds no duplicates."""
    settings = service.settings_with()
    try:
        with err.status("building…") as status:
            loaded = service.load_neo4j(settings, from_embedded=from_embedded, batch_size=batch_size,
                                        progress=lambda msg: status.update(msg + "…"), warm_up=warm_up)
    except FundgraphError as e:
        _fail(e)
    out.print(f"loaded {loaded.nodes} nodes and {loaded.relationships} relationships into Neo4j at "
              f"{settings.neo4j_uri} (database {settings.neo4j_database}) in {loaded.seconds:.2f}s", highlight=False)
    if loaded.warm_error:
        err.print(f"[yellow]warning:[/] the graph is loaded, but warming Neo4j stopped: {loaded.warm_error} "
                  "(run `fundgraph warm-neo4j` once it answers)", markup=True, highlight=False, soft_wrap=True)
    elif loaded.warm_statements:
        out.print(f"warmed Neo4j: {loaded.warm_statements} requests in {loaded.warm_seconds:.2f}s", highlight=False)


@app.command()
def warm_neo4j(
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds of detail, similar and neighbourhood requests.")]
    = service.WARM_UP_SECONDS,
) -> None:
    """Warm Neo4j after a restart: its first requests cost it ~4× their CPU until it has compiled what they run."""
    settings = service.settings_with()
    try:
        with err.status("warming…"):
            statements, seconds = service.warm_neo4j(settings, seconds)
    except FundgraphError as e:
        _fail(e)
    out.print(f"warmed Neo4j at {settings.neo4j_uri}: {statements} requests in {seconds:.2f}s", highlight=False)


@app.command()
def export(
    # A plain str checked against the registry (an Enum option answers a typo with a validator's
    # "Value error, 'xml' is not one of …"): the error names every format and what it is for.
    format: Annotated[str, typer.Option("--format", "-f", metavar="|".join(FORMATS), help="Output format: " +
                                        "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()) + ".")] = "json",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: stdout); a directory for neo4j-csv.")] = None,
) -> None:
    """Export the built graph (programs, directions, entities, links)."""
    try:
        fmt = get_format(format).name
        settings = service.settings_with()
        if output is None:
            sys.stdout.write(service.export_text(settings, fmt))
            return
        written = service.export_to_path(settings, fmt, output)
    except FundgraphError as e:
        _fail(e)
    err.print(f"wrote {written}", highlight=False)


class ParseFormat(StrEnum):
    """Output of `fundgraph parse`."""

    text = "text"
    json = "json"


def _layout_line(parsed: service.ParsedFile) -> str:
    """One line saying what layout inference found (or which profile parsed the document)."""
    layout, doc = parsed.layout, parsed.document
    if layout is None:
        return f"profile {doc.program.profile}"
    levels = ", ".join(f"{lv.role} {lv.shown} ×{lv.count}" for lv in layout.levels)
    where = f" under “{layout.heading}” (line {layout.heading_line})" if layout.heading else ""
    return f"layout {levels}{where}"


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(
        help="A guideline document: .txt/.md (any encoding), .docx, .pdf, .html, .xlsx/.xls/.ods.")],
    like: Annotated[str | None, typer.Option(
        "--like", help="Program id whose parsing profile and metadata to use (default: infer the layout).")] = None,
    format: Annotated[str, typer.Option("--format", metavar="text|json", help="text | json")] = "text",
) -> None:
    """Parse one document and show what it yields (the layout is inferred unless --like names a program)."""
    settings = service.settings_with()
    try:
        if format not in ParseFormat.__members__:
            raise InvalidRequest(f"unknown output format {format!r}. The formats are: text (a summary), json "
                                 "(every direction and section)", detail={"format": format})
        parsed = service.parse_file(settings, file, like=like)
    except FundgraphError as e:
        _fail(e)
    doc = parsed.document
    for w in doc.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    if format == ParseFormat.json:
        sys.stdout.write(json.dumps(service.parsed_file_json(parsed), ensure_ascii=False, indent=1) + "\n")
        return
    read = parsed.read
    p = doc.program
    pages = f", {read.page_count} pages" if read.page_count else ""
    out.print(f"{file}: {len(doc.directions)} directions (read as {read.format.value}{pages})", highlight=False)
    origin = "inferred from the title lines" if parsed.metadata is not None else f"from program {like}"
    out.print(f"program ({origin}): {p.name} · year {p.year or '?'} · funder {'、'.join(p.funder) or '?'} · "
              f"status {p.status or '?'}", highlight=False, markup=False)
    out.print(_layout_line(parsed), highlight=False, markup=False)
    if parsed.layout is not None and parsed.layout.excluded_sections:
        out.print(f"not directions: {', '.join(parsed.layout.excluded_sections)}", highlight=False, markup=False)
    sections = {s.id: s for s in doc.sections}
    current = None
    for d in doc.directions:
        if d.section and d.section != current and d.section in sections:
            current = d.section
            out.print(f"  [{sections[current].code}] {sections[current].title}", highlight=False, markup=False)
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
        help="Run searches in a process of their own (one more copy of the graph in memory and its start-up; "
             "by default searches run in the server's thread pool).")] = False,
) -> None:
    """Serve the API (JSON under /api, OpenAPI at /docs, the dashboard at /) with uvicorn."""
    import os

    import uvicorn

    if store is not None:  # workers read the settings from the environment
        os.environ["FUNDGRAPH_STORE"] = store.value
    os.environ["FUNDGRAPH_SEARCH_PROCESSES"] = "1" if search_process else "0"
    get_settings.cache_clear()
    settings = service.settings_with()
    problem = service.store_problem(settings, prepare=workers == 1)  # one process serves: it reads the graph
    if problem is not None:  # one line; the server still starts, and answers 503 until a good graph appears
        err.print(f"[bold yellow]warning:[/] {problem}", markup=True, highlight=False, soft_wrap=True)
    err.print(f"serving the {settings.store} store at {service.store_location(settings)} on http://{host}:{port} "
              "(docs: /docs)", highlight=False, soft_wrap=True)
    from fundgraph.api.server import http_protocol

    protocol = http_protocol()

    if workers > 1:
        uvicorn.run("fundgraph.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=access_log, http=protocol)
    else:
        from fundgraph.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=access_log,
                    http=protocol)


@eval_app.command("similarity")
def eval_similarity(
    encoder: Annotated[str | None, typer.Option(
        help="Also evaluate sentence-transformers with this model name or local path ('settings': st_model).")] = None,
    k: Annotated[int, typer.Option(help="Recall@k cut-off.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ablation: Annotated[bool, typer.Option("--ablation", help="Also cross-validate each scoring change switched off.")
                        ] = False,
    write_calibration: Annotated[bool, typer.Option(
        "--write-calibration", help="Write the calibration fitted on the graded set (package data).")] = False,
) -> None:
    """Gold set (Recall@k, MRR) and graded set (nDCG@5, P@5, edge precision, calibration): shipped vs baselines."""
    from fundgraph.evaluation.relevance import format_relevance
    from fundgraph.evaluation.similarity import format_report

    settings = service.settings_with()
    model = settings.st_model if encoder == "settings" else encoder
    try:
        result = service.evaluate_similarity(settings, st_model=model, k=k, ablation=ablation,
                                             write_calibration=write_calibration)
    except FundgraphError as e:
        _fail(e)
    if as_json:
        payload = {"gold": [s.as_dict() for s in result.scores],
                   "graded": result.relevance.as_dict() if result.relevance else None}
        out.print_json(json.dumps(payload, ensure_ascii=False))
    else:
        if result.relevance is not None:
            out.print(format_relevance(result.relevance), highlight=False)
            out.print("")
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


@eval_app.command("parse")
def eval_parse(
    dev: Annotated[Path | None, typer.Option(
        "--dev", help="Dev set folder (docs/ + expected.yaml; default: the bundled one).")] = None,
    details: Annotated[bool, typer.Option("--details", help="Also list each imperfect document's misses.")] = False,
) -> None:
    """Exact-title recall, precision and documents fully right: shipped parser vs the naive baseline."""
    from fundgraph.evaluation.parsing import format_report

    try:
        report = service.evaluate_parsing(dev_dir=dev)
    except FundgraphError as e:
        _fail(e)
    out.print(format_report(report, details=details), highlight=False, markup=False)


def main() -> None:  # pragma: no cover - console entry
    """Console entry point."""
    global _EXIT_WHEN_DONE
    _EXIT_WHEN_DONE = True
    app()


if __name__ == "__main__":  # pragma: no cover - `python -m fundgraph.cli`
    main()
