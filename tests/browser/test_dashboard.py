"""The dashboard in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by selenium).

The API runs under uvicorn on a free localhost port over the real graph built from the bundled corpus.
Screenshots go to ``test-output/`` (``dashboard.png`` is the overview).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.request

import pytest

from tests import PROJECT_ROOT

pytestmark = pytest.mark.browser

OUTPUT = PROJECT_ROOT / "test-output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AD_QUERY = "阿尔茨海默病 Alzheimer's disease"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, corpus_built):
    """uvicorn serving create_app over the corpus graph (built once per session); yields http://127.0.0.1:<port>/."""
    import uvicorn

    from fundgraph.api.app import create_app
    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    settings = Settings(home=tmp_path_factory.mktemp("home"), encoder="lexical")
    store = EmbeddedStore(settings.home)
    store.replace(corpus_built)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through chromedriver, with a fresh profile and no background traffic."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1440,1000", "--lang=zh-CN",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    OUTPUT.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver, script: str, timeout: float = 20.0):
    """Poll a JS expression until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        if time.monotonic() > deadline:
            status = driver.execute_script("return document.getElementById('status').textContent;")
            raise AssertionError(f"timed out waiting for {script!r} (page status: {status!r})")
        time.sleep(0.1)


def settled(driver) -> None:
    wait_for(driver, "document.body.dataset.ready === '1' && document.body.dataset.loading === '0'")


def full_page_screenshot(driver, name: str) -> None:
    """Screenshot of the whole page, not just the viewport (through the DevTools protocol)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
    metrics = {"width": 1440, "height": min(height, 6000), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        time.sleep(0.3)
        driver.save_screenshot(str(OUTPUT / name))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def severe_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_overview_shows_programs_and_heatmap(browser, base_url):
    import httpx

    browser.get(base_url)
    settled(browser)
    wait_for(browser, "document.querySelector('#heatmap svg .cell.hit')")
    programs = httpx.get(base_url + "api/programs").json()
    cards = browser.execute_script(
        "return [...document.querySelectorAll('#programs .card')].map(c => "
        "[c.dataset.program, c.querySelector('.count').textContent]);")
    assert cards == [[p["id"], str(p["direction_count"])] for p in programs]
    assert len(cards) == 5
    # Bilingual labels: the Chinese and the English program names are both on the page.
    text = browser.find_element("css selector", "#programs").text
    assert programs[0]["name"][:10] in text and programs[0]["name_en"][:20] in text
    # The heatmap has one row per program and a cell per (program, entity) shown.
    rows = browser.execute_script("return document.querySelectorAll('#heatmap .row-label').length;")
    cols = int(browser.execute_script("return document.getElementById('heatmap').dataset.columns;"))
    cells = browser.execute_script("return document.querySelectorAll('#heatmap .cell').length;")
    assert rows == 5 and cols > 0 and cells == rows * cols
    # Clicking a filled cell lists the directions of that program citing that entity.
    browser.execute_script(
        "document.querySelector('#heatmap .cell.hit')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}));")
    wait_for(browser, "document.querySelectorAll('#cell-directions .dir-list li').length > 0")
    browser.execute_script("window.scrollTo(0, 0);")
    browser.save_screenshot(str(OUTPUT / "dashboard.png"))
    full_page_screenshot(browser, "dashboard-overview-full.png")
    assert not severe_console_errors(browser)


def test_search_finds_the_alzheimer_direction(browser, base_url):
    from selenium.webdriver.common.keys import Keys

    browser.get(base_url)
    settled(browser)
    box = browser.find_element("id", "search-input")
    box.clear()
    box.send_keys(AD_QUERY, Keys.ENTER)
    wait_for(browser, "document.body.dataset.view === 'search' && "
                      "document.getElementById('search-results').dataset.count > 0")
    settled(browser)
    results = browser.execute_script(
        "return [...document.querySelectorAll('#search-results .result')].map(li => "
        "[li.dataset.id, li.querySelector('.dir-link').textContent,"
        " li.querySelector('.score span').textContent,"
        " li.querySelector('.explanation') ? li.querySelector('.explanation').textContent : '']);")
    assert results
    _top_id, top_title, top_score, top_expl = results[0]
    assert "阿尔茨海默" in top_title, results[:3]
    # The English title sits under the Chinese one in every result.
    english = browser.execute_script(
        "return [...document.querySelectorAll('#search-results .result')].map(li => "
        "li.querySelector('.title-en') ? li.querySelector('.title-en').textContent : '');")
    assert all(english), english
    assert "Alzheimer" in english[0], english[:3]
    assert float(top_score) > 0
    assert "文本 text" in top_expl and "实体 entities" in top_expl
    # Alzheimer's directions of more than one program are found, and say why (the shared disease).
    ad_programs = {rid.split(":")[0] for rid, _title, _score, expl in results if "阿尔茨海默病" in expl}
    assert len(ad_programs) >= 2, results
    # In the API's order (the score's best re-ordered by the word mix), not re-sorted by the page.
    request = urllib.request.Request(f"{base_url}api/search", data=json.dumps({"text": AD_QUERY, "k": 15}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        api = json.loads(response.read())
    assert [r[0] for r in results] == [i["direction"]["id"] for i in api["items"]]
    browser.save_screenshot(str(OUTPUT / "dashboard-search.png"))


def test_direction_page_shows_entities_and_evidence(browser, base_url):
    import httpx

    # Continue from the search results: open the top hit.
    if browser.execute_script("return document.body.dataset.view;") != "search":
        browser.get(base_url + "#/search?q=" + AD_QUERY)
        settled(browser)
    link = browser.find_element("css selector", "#search-results .result .dir-link")
    direction_id = link.get_attribute("data-id")
    link.click()
    wait_for(browser, f"document.getElementById('direction').dataset.id === {direction_id!r}")
    wait_for(browser, "!document.querySelector('#similar li') || "
                      "document.querySelector('#similar li').textContent !== '…'")
    settled(browser)
    title = browser.find_element("id", "direction-title").text
    assert "阿尔茨海默" in title
    title_en = browser.find_element("id", "direction-title-en")
    assert "Alzheimer" in title_en.text and title_en.get_attribute("lang") == "en"
    assert title_en.text == httpx.get(f"{base_url}api/directions/{direction_id}").json()["title_en"]
    diseases = browser.execute_script(
        "return [...document.querySelectorAll('[data-group=diseases] .entity')].map(e => e.dataset.entity);")
    assert "disease:alzheimer" in diseases or any("alzheimer" in d for d in diseases), diseases
    ad = browser.find_element("css selector", "[data-group=diseases] .entity[data-entity*=alzheimer]")
    assert "阿尔茨海默" in ad.text and "Alzheimer" in ad.text
    evidence = ad.find_elements("css selector", ".evidence li")
    assert evidence and "阿尔茨海默" in evidence[0].find_element("css selector", "mark").text
    fields = browser.execute_script(
        "return [...document.querySelectorAll('#direction .field-row')].map(r => r.dataset.field);")
    detail = httpx.get(f"{base_url}api/directions/{direction_id}").json()
    assert "source" in fields and "application_code" in fields
    assert ("content" in fields) == bool(detail["content"])
    assert browser.find_elements("css selector", "#similar .result")
    browser.save_screenshot(str(OUTPUT / "dashboard-direction.png"))
    full_page_screenshot(browser, "dashboard-direction-full.png")
    assert not severe_console_errors(browser)


def test_graph_view_draws_the_neighbourhood(browser, base_url):
    import httpx

    if browser.execute_script("return document.body.dataset.view;") != "direction":
        # Run alone: start from the top Alzheimer's hit, as the direction test leaves it.
        top = httpx.post(base_url + "api/search", json={"text": AD_QUERY, "k": 1}).json()["items"][0]
        browser.get(base_url + "#/direction/" + top["direction"]["id"])
        settled(browser)
        wait_for(browser, "document.getElementById('open-graph')")
    direction_id = browser.execute_script("return document.getElementById('direction').dataset.id;")
    browser.find_element("id", "open-graph").click()
    wait_for(browser, "window.fundgraph.cy && window.fundgraph.cy.nodes().length > 0")
    settled(browser)
    n_nodes = browser.execute_script("return window.fundgraph.cy.nodes().length;")
    n_edges = browser.execute_script("return window.fundgraph.cy.edges().length;")
    center = browser.execute_script("return window.fundgraph.cy.nodes('[center = 1]').map(n => n.id());")
    assert center == [direction_id]
    assert n_nodes > 5 and n_edges > 0
    assert browser.execute_script("return document.getElementById('cy').dataset.nodes;") == str(n_nodes)
    # cytoscape.js really drew: its canvases exist and have a size.
    canvases = browser.execute_script(
        "return [...document.querySelectorAll('#cy canvas')].map(c => [c.width, c.height]);")
    assert canvases and all(w > 100 and h > 100 for w, h in canvases)
    # The nodes are laid out inside the viewport (not all stacked on one point).
    xs = browser.execute_script("return window.fundgraph.cy.nodes().map(n => n.renderedPosition('x'));")
    assert max(xs) - min(xs) > 100
    labels = browser.execute_script(
        "return [...new Set(window.fundgraph.cy.nodes().map(n => n.data('label')))];")
    assert "Direction" in labels and "Disease" in labels
    legend = browser.find_element("id", "legend").text
    assert "疾病 Disease" in legend
    browser.save_screenshot(str(OUTPUT / "dashboard-graph.png"))
    assert not severe_console_errors(browser)


def test_unknown_direction_shows_the_api_error(browser, base_url):
    browser.get(base_url + "#/direction/no-such-program:99")
    settled(browser)
    status = wait_for(browser, "document.getElementById('status').textContent")
    assert status.startswith("404")


def _cells(browser) -> list[list[str]]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#heatmap .cell.hit')].map(g => "
        "[g.dataset.program, g.dataset.entity, g.querySelector('.cell-text').textContent]);")


@pytest.mark.parametrize("by", ["disease", "modality", "technique"])
def test_a_heatmap_cell_equals_the_list_it_opens(browser, base_url, by):
    """Issue 13: the number in a cell is the number of directions its click lists (children included)."""
    import httpx

    severe_console_errors(browser)  # drain what earlier tests logged (the 404 test logs one on purpose)
    browser.get(base_url)
    settled(browser)
    wait_for(browser, "document.querySelector('#heatmap svg .cell.hit')")
    browser.execute_script(
        "const s = document.getElementById('matrix-by'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change'));", by)
    wait_for(browser, f"document.getElementById('heatmap').dataset.by === {by!r} && "
                      "document.querySelector('#heatmap svg .cell.hit')")
    legend = browser.find_element("id", "matrix-rule")
    assert "下位" in legend.text and "MEMBER_OF" in legend.get_attribute("title")
    cells = _cells(browser)
    # The busiest cells and a spread of the rest; for diseases, gd-imaging-2026 × 肿瘤 (the 2-vs-5 cell).
    chosen = sorted(cells, key=lambda c: -int(c[2]))[:4] + cells[:: max(1, len(cells) // 4)][:4]
    if by == "disease":
        chosen.append(next(c for c in cells if c[:2] == ["gd-imaging-2026", "disease:neoplasm"]))
    checked = 0
    for program, entity, shown in chosen:
        browser.execute_script(
            "[...document.querySelectorAll('#heatmap .cell.hit')]"
            ".find(g => g.dataset.program === arguments[0] && g.dataset.entity === arguments[1])"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}));", program, entity)
        wait_for(browser, "(() => { const h = document.querySelector('#cell-directions h3');"
                          f" return h && h.textContent.includes({program!r}) && "
                          "document.querySelectorAll('#cell-directions .dir-list li').length > 0; })()")
        listed = browser.execute_script(
            "return [...document.querySelectorAll('#cell-directions .dir-list li .dir-link')].map(a => a.dataset.id);")
        heading = browser.find_element("css selector", "#cell-directions h3").text
        assert len(listed) == int(shown), (program, entity, shown, listed)
        assert f"({shown} 研究方向" in heading, heading
        assert all(d.startswith(program + ":") for d in listed)
        api = httpx.get(base_url + "api/directions", params={"program": program, by: entity, "limit": 500}).json()
        assert [d["id"] for d in api["items"]] == listed
        checked += 1
    assert checked >= 5
    if by == "disease":
        assert int(chosen[-1][2]) == 5  # gd-imaging-2026 × 肿瘤: 2 cite 肿瘤 itself, 3 a tumour under it
    assert not severe_console_errors(browser)


def test_search_says_what_the_text_named_and_why_nothing_came(browser, base_url):
    browser.get(base_url + "#/search?q=tumor%20imaging")
    settled(browser)
    wait_for(browser, "document.getElementById('search-results').dataset.count > 0")
    named = browser.find_element("id", "search-named").text
    assert "肿瘤" in named and "tumor" in named
    first = browser.find_element("css selector", "#search-results .result .explanation").text
    assert "肿瘤" in first
    browser.get(base_url + "#/search?q=xyzzy%20plugh")
    settled(browser)
    wait_for(browser, "document.getElementById('search-empty')")
    empty = browser.find_element("id", "search-empty").text
    assert "names no vocabulary entity" in empty
    assert browser.find_elements("css selector", "#search-empty .suggestions a")


def test_similar_shows_confidence_and_says_when_nothing_is_related(browser, base_url):
    import httpx

    # DNA data storage (BT-IT 2024 1) has related directions in other programs: each shows its confidence.
    browser.get(base_url + "#/direction/most-btit-2024:1")
    settled(browser)
    wait_for(browser, "document.querySelectorAll('#similar .result').length > 0")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#similar .result')].map(li => "
        "[li.dataset.id, li.querySelector('.confidence').dataset.confidence,"
        " li.querySelector('.confidence').textContent]);")
    api = httpx.get(base_url + "api/directions/most-btit-2024:1/similar",
                    params={"k": 8, "scope": "cross-program"}).json()
    assert api["no_related"] is False and not browser.find_elements("id", "no-related")
    expected = {i["direction"]["id"]: i["confidence"] for i in api["items"]}
    assert shown and all(float(c) == expected[d] and text.startswith("置信度 conf.") and text.endswith("%")
                         for d, c, text in shown), (shown, expected)
    # An underground-mining direction of the STIC joint programme has no counterpart (graded set: every candidate
    # graded unrelated): the list says so, in Chinese and English, instead of ranking weak neighbours.
    browser.get(base_url + "#/direction/most-stic-joint:3.2")
    settled(browser)
    wait_for(browser, "document.getElementById('no-related')")
    text = browser.find_element("id", "no-related").text
    assert "其他项目中无相关方向" in text and "No related direction in other programs" in text
    assert not browser.find_elements("css selector", "#similar .result")
    browser.save_screenshot(str(OUTPUT / "dashboard-no-related.png"))
    # Search hits show their confidence too.
    browser.get(base_url + "#/search?q=" + AD_QUERY)
    settled(browser)
    wait_for(browser, "document.getElementById('search-results').dataset.count > 0")
    confs = browser.execute_script(
        "return [...document.querySelectorAll('#search-results .result .confidence')]"
        ".map(e => Number(e.dataset.confidence));")
    hits = httpx.post(base_url + "api/search", json={"text": AD_QUERY, "k": 15}).json()["items"]
    assert confs and confs == [h["confidence"] for h in hits]
    assert not severe_console_errors(browser)
