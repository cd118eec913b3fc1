"""Fixtures for the graph tests (the corpus graph itself is built once per session in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def corpus_eval():
    """`fundgraph eval similarity` on the bundled corpus (lexical encoder): the shipped method and the baseline.

    Run once (~10-20 s) for the similarity and the lineage figures.
    """
    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.similarity import evaluate

    return evaluate(Settings(encoder="lexical"))
