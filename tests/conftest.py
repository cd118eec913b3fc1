"""Shared fixtures. Fixtures build real inputs: the bundled corpus, a real Neo4j, a real model."""

from __future__ import annotations

import os

import pytest

# With FUNDGRAPH_REQUIRE_ALL=1 (set by scripts/test.sh, hence CI), a skipped test is a failure:
# nothing that needs Neo4j, Chromium, a notebook kernel or the real model may be skipped silently.
REQUIRE_ALL = os.environ.get("FUNDGRAPH_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but FUNDGRAPH_REQUIRE_ALL=1 forbids skips: {reason}"
