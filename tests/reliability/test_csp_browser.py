"""The pages satisfy their own Content-Security-Policy in a real Chromium: the dashboard and /docs run, and the
browser reports no violation (a violation is a SEVERE console entry)."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import base_url, browser, settled, severe_console_errors, wait_for  # noqa: F401

pytestmark = pytest.mark.browser


def test_dashboard_and_docs_run_under_their_csp(browser, base_url):  # noqa: F811
    browser.get(base_url)
    settled(browser)
    browser.get(base_url + "#/graph")
    wait_for(browser, "document.querySelector('canvas') !== null")
    assert not severe_console_errors(browser)
    browser.get(base_url + "docs")
    wait_for(browser, "document.querySelectorAll('.opblock').length > 10")
    assert not severe_console_errors(browser)
    policy = browser.execute_script(
        "return fetch('/docs').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy
