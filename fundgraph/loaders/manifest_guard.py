"""A manifest read with bounded cost, naming only files inside the corpus directory.

A manifest is input from whoever wrote it, so reading it is bounded before anything is built from it:

- its size (:data:`MAX_MANIFEST_BYTES`) is checked before it is read;
- its YAML events are scanned once, without building anything, to bound nesting depth (:data:`MAX_DEPTH`; the
  C composer of PyYAML crashes the process on deep nesting) and the size of the document once aliases are
  expanded (:data:`MAX_NODES`): an alias bomb (ten levels of ten aliases, 10^10 nodes in a kilobyte) is refused
  in milliseconds instead of being expanded by the validation that follows;
- ``file:`` entries must stay in the corpus directory: ``guidelines/`` beside the manifest, or, for the user's
  manifest (``FUNDGRAPH_HOME/corpus/manifest.yaml``, named by :func:`corpus_directory`), anywhere in the user's
  corpus directory; the paths are compared once normalised (``..`` resolved), so ``/etc/passwd``, ``../..`` and
  ``~`` are refused. The user may allow other files (``FUNDGRAPH_ALLOW_FILES_OUTSIDE_CORPUS=1``, through
  :func:`files_outside_corpus`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml

from fundgraph.core.errors import ManifestError

#: Largest manifest read (a manifest of a thousand documents is about 600 kB).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: Most nodes (scalars and collections) of the document with every alias expanded.
MAX_NODES = 200_000
#: Deepest nesting of collections.
MAX_DEPTH = 64

_outside_allowed: ContextVar[bool] = ContextVar("files_outside_corpus", default=False)
_corpus_directories: ContextVar[tuple[str, ...]] = ContextVar("corpus_directories", default=())


@contextlib.contextmanager
def files_outside_corpus(allowed: bool) -> Iterator[None]:
    """Within this block, manifests may (``allowed``) or may not name files outside the corpus directory."""
    token = _outside_allowed.set(allowed)
    try:
        yield
    finally:
        _outside_allowed.reset(token)


@contextlib.contextmanager
def corpus_directory(directory: Path) -> Iterator[None]:
    """Within this block, the manifest of ``directory`` (the user's corpus) may name any file inside it."""
    token = _corpus_directories.set((*_corpus_directories.get(), _normal(directory)))
    try:
        yield
    finally:
        _corpus_directories.reset(token)


def _normal(path: Path | str) -> str:
    """``path`` absolute, with ``.`` and ``..`` resolved (lexically: the files need not exist yet)."""
    return os.path.normpath(os.path.abspath(path))


def _inside(path: str, directory: str) -> bool:
    return os.path.commonpath([path, directory]) == directory


def _expanded_size(text: str, path: Path) -> int:
    """Nodes of the document with aliases expanded, from one pass over its events (nothing is constructed)."""
    anchors: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, nodes so far] of each open collection
    total = 0

    def close(anchor: str | None, size: int) -> None:
        nonlocal total
        if anchor is not None:
            anchors[anchor] = size
        if stack:
            stack[-1][1] += size
        else:
            total += size
        if (stack[-1][1] if stack else total) > MAX_NODES:  # a part is never larger than the whole
            raise ManifestError(f"refused: the YAML expands to more than {MAX_NODES} nodes "
                                "(aliases of aliases: an alias bomb?)", path=path)

    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                raise ManifestError(f"refused: YAML nested deeper than {MAX_DEPTH} levels", path=path,
                                    line=event.start_mark.line + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            close(anchor, size)
        elif isinstance(event, yaml.ScalarEvent):
            close(event.anchor, 1)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:  # an alias of a collection still open: a recursive structure
                raise ManifestError(f"refused: recursive YAML alias *{event.anchor}", path=path,
                                    line=event.start_mark.line + 1)
            close(None, anchors[event.anchor])
    return total


def _check_files(raw: Any, path: Path) -> None:
    if _outside_allowed.get() or not isinstance(raw, dict) or not isinstance(raw.get("documents"), list):
        return
    here = _normal(path.parent)
    base = os.path.join(here, "guidelines")  # where the manifest's files are read from
    root = here if here in _corpus_directories.get() else base
    for item in raw["documents"]:
        file = item.get("file") if isinstance(item, dict) else None
        if not isinstance(file, str):
            continue
        if file.startswith("~") or not _inside(_normal(os.path.join(base, file)), root):
            raise ManifestError(
                f"document {item.get('id', '?')}: file {file!r} is outside the corpus directory ({root}); "
                "manifest files are paths inside it (set FUNDGRAPH_ALLOW_FILES_OUTSIDE_CORPUS=1 to allow others)",
                path=path)


def read_manifest_yaml(path: Path) -> Any:
    """The manifest's YAML, read with bounded size, depth and alias expansion, its files checked to be inside.

    Raises:
        ManifestError: too large, too deep, an alias bomb, or a file outside the corpus directory.
        FileNotFoundError, UnicodeDecodeError, yaml.YAMLError: as reading it plainly would.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"refused: the manifest is {size} bytes, more than {MAX_MANIFEST_BYTES}", path=path)
    text = path.read_bytes().decode("utf-8")
    _expanded_size(text, path)
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    _check_files(raw, path)
    return raw
