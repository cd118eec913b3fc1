"""Layering rules read from the source: core imports nothing of the project, no private names cross modules,
the CLI is a thin shell over the service."""

from __future__ import annotations

import ast
from pathlib import Path

import fundgraph

PACKAGE = Path(fundgraph.__file__).resolve().parent


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[str, list[str]]]:
    """(module, imported names) of each ``import``/``from … import`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def test_core_imports_nothing_of_the_project_outside_core():
    files = sorted((PACKAGE / "core").glob("*.py"))
    assert {f.name for f in files} >= {"errors.py", "settings.py", "paths.py"}
    for f in files:
        for module, _ in _imports(f):
            assert not module.startswith("fundgraph") or module.startswith("fundgraph.core"), (f.name, module)


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for f in sorted(PACKAGE.rglob("*.py")):
        for module, names in _imports(f):
            if module.startswith("fundgraph"):
                offenders += [f"{f.relative_to(PACKAGE)}: from {module} import {n}" for n in names
                              if n.startswith("_") and not n.startswith("__")]
    assert offenders == []


def test_the_cli_reaches_the_project_only_through_the_service_core_and_the_format_registry():
    allowed = {"fundgraph", "fundgraph.service", "fundgraph.core.errors", "fundgraph.core.settings",
               "fundgraph.graph.formats.registry"}
    top = {m for m, _ in _imports(PACKAGE / "cli.py", top_level_only=True) if m.startswith("fundgraph")}
    assert top <= allowed, top - allowed
    # inside commands: only the report formatters of evaluation and the API app for `serve`
    inner = {m for m, _ in _imports(PACKAGE / "cli.py") if m.startswith("fundgraph")} - allowed
    assert inner <= {"fundgraph.evaluation.similarity", "fundgraph.evaluation.entities", "fundgraph.evaluation.parsing",
                     "fundgraph.evaluation.relevance", "fundgraph.api.server",
                     "fundgraph.api.app"}, inner
