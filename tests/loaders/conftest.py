"""Fixtures for the loader tests: the bundled corpus, parsed once per session."""

from __future__ import annotations

import pytest

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.loaders.corpus import ManifestEntry, load_corpus, read_manifest
from fundgraph.loaders.records import Direction, ParsedDocument


@pytest.fixture(scope="session")
def corpus() -> list[ParsedDocument]:
    return load_corpus(MANIFEST_PATH)


@pytest.fixture(scope="session")
def entries() -> list[ManifestEntry]:
    return read_manifest(MANIFEST_PATH)


@pytest.fixture(scope="session")
def by_program(corpus) -> dict[str, ParsedDocument]:
    return {d.program.id: d for d in corpus}


@pytest.fixture(scope="session")
def direction(by_program):
    """Look a direction up by program id and code key: ``direction("most-stic-joint", "4.8")``."""

    def get(program_id: str, key: str) -> Direction:
        wanted = f"{program_id}:{key}"
        for d in by_program[program_id].directions:
            if d.id == wanted:
                return d
        raise KeyError(wanted)

    return get


@pytest.fixture(scope="session")
def texts(entries) -> dict[str, str]:
    """The bundled files' texts by program id."""
    return {e.id: (GUIDELINES_DIR / e.file).read_text(encoding="utf-8") for e in entries}
