"""The per-document build cache: parse and extraction results kept between builds.

A rebuild re-parses and re-extracts only the documents that changed; everything that depends on the whole
corpus (keyword document frequencies and IDF, boilerplate, similarity) is recomputed from what is cached.

Layout of the cache directory (``Settings.cache_dir``, default ``FUNDGRAPH_HOME/cache``):

- ``documents/<key>.pkl`` — one document's :class:`~fundgraph.loaders.records.ParsedDocument` and
  :class:`~fundgraph.graph.build.entities.DocumentExtract`. The key hashes the document's bytes, its manifest
  entry (program id, profile, metadata), the vocabulary directory's files and the code version (the sources of
  the loaders and of the entity stage, and the jieba and pyahocorasick versions), so any of them changing
  makes a miss, never a stale hit.
- ``keyword-counts-<version>.pkl`` — :class:`KeywordCounts`: for each document, how many of its directions
  contain each keyword term, so corpus document frequencies are sums of cached counts.
- ``keyword-choices-<version>.pkl`` — :class:`KeywordChoices`: each document's chosen keywords (with their
  file spans) and the signature of the statistics they were chosen with, reused while it is unchanged.

Entries are pickles written atomically (temporary file, then rename); an unreadable entry is a miss. The
cache is local to one user's FUNDGRAPH_HOME and read only by this code (pickle runs code on load: never point
``cache_dir`` at a directory others can write).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fundgraph.graph.build.entities import DocumentExtract
    from fundgraph.loaders.corpus import ManifestEntry
    from fundgraph.loaders.records import ParsedDocument

_PACKAGE = Path(__file__).resolve().parents[2]
#: Sources whose change changes what a document parses or extracts to (relative to the package).
CODE_SOURCES = ("loaders/*.py", "graph/build/entities.py", "graph/build/cache.py")
#: Distributions whose version changes tokenisation or matching.
CODE_DISTRIBUTIONS = ("jieba", "pyahocorasick")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the code a cached result depends on (see :data:`CODE_SOURCES`, :data:`CODE_DISTRIBUTIONS`)."""
    h = hashlib.sha256()
    for pattern in CODE_SOURCES:
        for path in sorted(_PACKAGE.glob(pattern)):
            h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in CODE_DISTRIBUTIONS:
        try:
            h.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=?\0".encode())
    return h.hexdigest()


def vocabulary_version(vocab_dir: Path) -> str:
    """Hash of every file of a vocabulary directory (names and bytes)."""
    h = hashlib.sha256()
    root = Path(vocab_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass
class CachedDocument:
    """What the cache holds for one document."""

    doc: ParsedDocument
    extract: DocumentExtract


@dataclass
class KeywordCounts:
    """Per-document keyword document frequencies, summed into the corpus's.

    ``terms`` is an append-only register of every keyword term counted so far; a document's entry is
    ``(n, ids, counts)``: it was counted against ``terms[:n]``, and ``counts[i]`` of its directions contain
    ``terms[ids[i]]`` (int32 arrays: a few bytes per pair, summed with one ``bincount``). A new term (from a
    new or changed document) is counted in the other documents' cached texts by one automaton over the new
    terms only; nothing is re-parsed.
    """

    terms: list[str] = field(default_factory=list)
    docs: dict[str, tuple[int, np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: Documents counted (partly or wholly) by the last :meth:`frequencies`.
    counted: int = 0

    def frequencies(self, docs: Sequence[tuple[str, Sequence[str]]], needed: Iterable[str]) -> dict[str, int]:
        """Document frequency of each ``needed`` term over the texts of ``docs`` (key, direction texts).

        Counts what is not counted yet (new documents: every term; the others: terms new to the register),
        then forgets documents not in ``docs``.
        """
        import ahocorasick

        wanted = set(needed)
        index = {t: i for i, t in enumerate(self.terms)}
        for t in sorted(wanted - index.keys()):
            index[t] = len(self.terms)
            self.terms.append(t)
        total = len(self.terms)
        todo: dict[int, list[tuple[str, Sequence[str]]]] = {}
        for key, texts in docs:
            done = self.docs[key][0] if key in self.docs else 0
            if done < total:
                todo.setdefault(done, []).append((key, texts))
        self.counted = 0
        for done, group in todo.items():
            automaton = ahocorasick.Automaton()
            for i in range(done, total):
                automaton.add_word(self.terms[i], i)
            automaton.make_automaton()
            for key, texts in group:
                found: Counter[int] = Counter()
                for text in texts:
                    found.update({i for _end, i in automaton.iter(text)})
                ids = np.fromiter(found.keys(), dtype=np.int32, count=len(found))
                counts = np.fromiter(found.values(), dtype=np.int32, count=len(found))
                if done:
                    _n, old_ids, old_counts = self.docs[key]
                    ids, counts = np.concatenate([old_ids, ids]), np.concatenate([old_counts, counts])
                self.docs[key] = (total, ids, counts)
                self.counted += 1
        current = {key for key, _ in docs}
        self.docs = {k: v for k, v in self.docs.items() if k in current}
        if not self.docs:
            return dict.fromkeys(wanted, 0)
        df = np.bincount(np.concatenate([v[1] for v in self.docs.values()]),
                         weights=np.concatenate([v[2] for v in self.docs.values()]), minlength=total)
        return {t: int(df[index[t]]) for t in wanted}


@dataclass
class KeywordChoices:
    """Each document's chosen keywords by cache key, with the signature they were chosen under.

    Values: (:func:`graph.build.entities.keyword_signature`, :func:`graph.build.entities.document_keywords`).
    """

    docs: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)


class DocumentCache:
    """Parse and extraction results of documents, keyed by content, vocabulary and code version."""

    def __init__(self, directory: Path, vocab_dir: Path):
        self.directory = Path(directory)
        self.version = hashlib.sha256(f"{code_version()}:{vocabulary_version(vocab_dir)}".encode()).hexdigest()

    def key(self, entry: ManifestEntry, data: bytes) -> str:
        """The cache key of a document: its bytes, its manifest entry and the cache's version."""
        h = hashlib.sha256(self.version.encode())
        h.update(entry.model_dump_json().encode())
        h.update(b"\0")
        h.update(data)
        return h.hexdigest()

    def _document_path(self, key: str) -> Path:
        return self.directory / "documents" / f"{key}.pkl"

    def _counts_path(self) -> Path:
        return self.directory / f"keyword-counts-{self.version[:16]}.pkl"

    def get(self, key: str) -> CachedDocument | None:
        """The cached results of a document, or None (absent or unreadable)."""
        return _read(self._document_path(key), CachedDocument)

    def put(self, key: str, doc: ParsedDocument, extract: DocumentExtract) -> None:
        """Keep a document's results."""
        _write(self._document_path(key), CachedDocument(doc=doc, extract=extract))

    def put_bytes(self, key: str, blob: bytes) -> None:
        """Keep a document's results already pickled (:func:`dump` of a :class:`CachedDocument`)."""
        _write_bytes(self._document_path(key), blob)

    def keyword_counts(self) -> KeywordCounts:
        """The keyword counts kept by the last build with this version (empty when none)."""
        return _read(self._counts_path(), KeywordCounts) or KeywordCounts()

    def save_keyword_counts(self, counts: KeywordCounts) -> None:
        """Keep the keyword counts for the next build."""
        _write(self._counts_path(), counts)

    def keyword_choices(self) -> KeywordChoices:
        """The keywords the last build with this version chose (empty when none)."""
        return _read(self.directory / f"keyword-choices-{self.version[:16]}.pkl", KeywordChoices) or KeywordChoices()

    def save_keyword_choices(self, choices: KeywordChoices) -> None:
        """Keep the chosen keywords for the next build."""
        _write(self.directory / f"keyword-choices-{self.version[:16]}.pkl", choices)


def dump(value: object) -> bytes:
    """``value`` pickled as the cache stores it."""
    return pickle.dumps(value, protocol=_PROTOCOL)


def load(blob: bytes, kind: type) -> Any:
    """:func:`dump`'s bytes back as a ``kind`` (a ``TypeError`` when they hold something else)."""
    value = pickle.loads(blob)
    if not isinstance(value, kind):
        raise TypeError(f"expected a pickled {kind.__name__}, not {type(value).__name__}")
    return value


def _read(path: Path, kind: type) -> Any:
    try:
        with path.open("rb") as fh:
            value = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return value if isinstance(value, kind) else None


def _write(path: Path, value: object) -> None:
    _write_bytes(path, dump(value))


def _write_bytes(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
