"""Every example a newcomer copies works on the bundled corpus (issue 13).

Extracted, not listed by hand: the OpenAPI document's parameter and request-body examples and the ids its
descriptions name, the dashboard's placeholders, and README.md's curl commands, ``fundgraph …`` commands and
inline ids. Each is called against the API over the corpus graph (``client``: both stores) and must answer 2xx,
with a non-empty list where the answer is a list. The README examples are one test each, named by the example,
so a failing run lists exactly which README examples are broken.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from fundgraph.core.paths import MANIFEST_PATH
from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.loaders.corpus import read_manifest
from tests import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
INDEX_HTML = PROJECT_ROOT / "fundgraph" / "api" / "static" / "index.html"


@dataclass
class Call:
    """One HTTP call an example stands for."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    origin: str = ""

    def __str__(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.method} {self.path}{'?' + q if q else ''}{' ' + repr(self.body) if self.body else ''}"


# -- what an answer must hold -----------------------------------------------------------------------------------
#: Keys of a JSON object whose value is the answer's list (a page's items, a neighbourhood's nodes …).
LIST_KEYS = ("items", "entities", "nodes", "shared", "directions_by_program", "programs", "directions")


def check_answer(client, call: Call) -> list[str]:
    """Problems with the answer to ``call`` ([] when it is 2xx and every list it holds is non-empty)."""
    r = client.request(call.method, call.path, params=call.params or None, json=call.body)
    if not 200 <= r.status_code < 300:
        return [f"{call} [{call.origin}] → {r.status_code} {r.text[:300]}"]
    if not r.headers.get("content-type", "").startswith("application/json"):
        return [] if r.content else [f"{call} [{call.origin}] → empty body"]
    body = r.json()
    if isinstance(body, list):
        return [] if body else [f"{call} [{call.origin}] → []"]
    problems = [f"{call} [{call.origin}] → empty {k}" for k in LIST_KEYS if k in body and not body[k]]
    if "total" in body and not body["total"]:
        problems.append(f"{call} [{call.origin}] → total 0")
    if "nodes" in body and len(body["nodes"]) < 2:
        problems.append(f"{call} [{call.origin}] → a neighbourhood of {len(body['nodes'])} node")
    return problems


# -- ids named in text ------------------------------------------------------------------------------------------
ID_RE = re.compile(r"(?<![\w/.-])([a-z][a-z0-9-]*[a-z0-9])(?::([A-Za-z0-9][\w.-]*[\w]|[A-Za-z0-9]))?(?![\w-])")


def id_calls(text: str, programs: set[str], entity_types: set[str], origin: str) -> list[Call]:
    """A lookup call for every graph id ``text`` names: a program, a direction or an entity id."""
    calls = []
    for m in ID_RE.finditer(text):
        head, tail = m.group(1), m.group(2)
        if head in programs:
            calls.append(Call("GET", f"/api/directions/{head}:{tail}", origin=origin) if tail else
                         Call("GET", "/api/directions", {"program": head}, origin=origin))
        elif head in entity_types and tail:
            calls.append(Call("GET", f"/api/entities/{head}/{head}:{tail}", origin=origin))
    return calls


# -- the OpenAPI document ---------------------------------------------------------------------------------------
def _param_examples(p: dict[str, Any]) -> dict[str, Any]:
    """A parameter's examples by name (openapi ``examples``, ``example``, or the schema's ``examples`` list)."""
    if p.get("examples"):
        return {name: ex["value"] for name, ex in p["examples"].items() if "value" in ex}
    if "example" in p:
        return {"example": p["example"]}
    schema = p.get("schema") or {}
    values = schema.get("examples") or [s for alt in schema.get("anyOf", ()) for s in alt.get("examples", ())]
    return {f"example{i}": v for i, v in enumerate(values)}


def openapi_calls(spec: dict[str, Any]) -> list[Call]:
    """Every call the OpenAPI document's examples describe.

    Path parameters: examples of the same name go together (``entity_type`` ``disease`` with ``entity_id``
    ``disease``); a parameter with one example joins every combination. Query parameters: each example alone,
    beside the path combination and the required parameters' first examples. Request bodies: each example.
    """
    calls: list[Call] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            in_path = [p for p in params if p["in"] == "path"]
            in_query = [p for p in params if p["in"] == "query"]
            origin = f"openapi {method.upper()} {path}"
            examples = {p["name"]: _param_examples(p) for p in params}
            missing = [p["name"] for p in params if p.get("required") and not examples[p["name"]]]
            assert not missing, f"{origin}: required parameters without an example: {missing}"
            combos: list[dict[str, Any]] = []
            names = {n for p in in_path for n in examples[p["name"]]} if in_path else set()
            shared = [n for n in sorted(names) if all(n in examples[p["name"]] or len(examples[p["name"]]) == 1
                                                      for p in in_path)]
            if in_path and shared:
                combos = [{p["name"]: examples[p["name"]].get(n, next(iter(examples[p["name"]].values())))
                           for p in in_path} for n in shared]
            elif in_path:
                combos = [dict(zip([p["name"] for p in in_path], values, strict=True))
                          for values in itertools.product(*(examples[p["name"]].values() for p in in_path))]
            else:
                combos = [{}]
            required = {p["name"]: next(iter(examples[p["name"]].values())) for p in in_query if p.get("required")}
            body_examples = [ex["value"] for ex in ((op.get("requestBody") or {}).get("content", {})
                                                    .get("application/json", {}).get("examples") or {}).values()]
            for combo in combos:
                url = path.format(**combo)
                if body_examples:
                    calls += [Call(method.upper(), url, dict(required), b, origin) for b in body_examples]
                    continue
                calls.append(Call(method.upper(), url, dict(required), origin=origin))
                for p in in_query:
                    for value in examples[p["name"]].values():
                        calls.append(Call(method.upper(), url, {**required, p["name"]: value}, origin=origin))
    return calls


def _texts(node: Any) -> list[str]:
    """Every description and summary in a JSON document."""
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k in ("description", "summary") and isinstance(v, str)]
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.fixture(scope="module")
def known(client) -> tuple[set[str], set[str]]:
    programs = {p["id"] for p in client.get("/api/programs").json()}
    types = {t["key"] for t in client.get("/api/schema").json()["entity_types"]}
    return programs, types


def test_every_openapi_example_works_on_the_corpus(client, known):
    spec = client.get("/openapi.json").json()
    calls = openapi_calls(spec)
    # The examples cover every route with a parameter or a body, and every entity filter of the directions list.
    covered = {c.origin for c in calls}
    assert covered == {f"openapi {m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    directions_params = {k for c in calls if c.path == "/api/directions" for k in c.params}
    assert known[1] <= directions_params, known[1] - directions_params
    search = [c.body["text"] for c in calls if c.path == "/api/search"]
    assert {"cancer", "tumor imaging"} <= set(search)
    problems = [p for c in calls for p in check_answer(client, c)]
    assert not problems, "\n".join(problems)
    assert len(calls) > 40


def test_every_id_an_openapi_description_names_exists(client, known):
    spec = client.get("/openapi.json").json()
    calls = [c for t in _texts(spec) for c in id_calls(t, *known, origin="openapi description")]
    problems = [p for c in calls for p in check_answer(client, c)]
    assert not problems, "\n".join(problems)


def test_the_limit_is_documented_with_its_number(client):
    from fundgraph.core.settings import Settings

    spec = client.get("/openapi.json").json()
    limits = [p for ops in spec["paths"].values() for op in ops.values() for p in op.get("parameters", [])
              if p["name"] == "limit"]
    assert len(limits) == 2
    for p in limits:
        assert str(Settings().max_limit) in p["description"] and "Settings." not in p["description"]
        assert p["schema"]["maximum"] == Settings().max_limit


# -- the dashboard's placeholders ---------------------------------------------------------------------------------
def placeholder_calls() -> list[Call]:
    html = INDEX_HTML.read_text(encoding="utf-8")
    found = dict(re.findall(r'<input id="([\w-]+)"[^>]*?placeholder="([^"]+)"', html, flags=re.S))
    calls = []
    for input_id, text in found.items():
        values = [v.strip() for v in text.split("e.g.", 1)[1].split(" / ")] if "e.g." in text else []
        assert values, f"placeholder of #{input_id} gives no example: {text!r}"
        for v in values:
            if input_id == "search-input":
                calls.append(Call("POST", "/api/search", body={"text": v}, origin=f"#{input_id}"))
            elif input_id == "graph-node":
                calls.append(Call("GET", "/api/graph/neighborhood", {"node": v}, origin=f"#{input_id}"))
            else:
                pytest.fail(f"a placeholder this test does not know how to call: #{input_id} {text!r}")
    return calls


def test_every_dashboard_placeholder_works_on_the_corpus(client):
    calls = placeholder_calls()
    assert {c.origin for c in calls} == {"#search-input", "#graph-node"}
    problems = [p for c in calls for p in check_answer(client, c)]
    assert not problems, "\n".join(problems)


# -- README.md ----------------------------------------------------------------------------------------------------
def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def _commands(block: str) -> list[str]:
    """The block's command lines (``$ `` prompts dropped, ``\\`` continuations joined, comments dropped)."""
    out, cur = [], ""
    for raw in block.splitlines():
        line = raw.rstrip()
        cur = f"{cur} {line.strip()}" if cur else line.strip()
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        cmd = cur.removeprefix("$ ")
        cur = ""
        if cmd and not cmd.startswith("#"):
            out.append(cmd)
    return out


def curl_call(cmd: str) -> Call:
    """The API call of a README curl command (method, path and query, JSON body)."""
    words = shlex.split(cmd, comments=True)
    method, body, url = "GET", None, None
    i = 1
    while i < len(words):
        w = words[i]
        if w.startswith("-X") and len(w) > 2:
            method = w[2:]
        elif w in ("-X", "--request"):
            i += 1
            method = words[i]
        elif w in ("-d", "--data", "--data-raw"):
            i += 1
            body = words[i]
            method = "POST" if method == "GET" else method
        elif w in ("-H", "--header", "-o", "--output"):
            i += 1
        elif not w.startswith("-"):
            url = w
        i += 1
    assert url is not None, cmd
    parts = urlsplit(url if "://" in url else "http://" + url)
    return Call(method.upper(), parts.path, dict(parse_qsl(parts.query)), json.loads(body) if body else None,
                origin="README curl")


def readme_examples() -> list[tuple[str, str, str]]:
    """(kind, text, id for the test name) of every README example: curl commands, fundgraph commands, ids."""
    if not README.is_file():
        return []
    text = README.read_text(encoding="utf-8")
    out: list[tuple[str, str]] = []
    for block in _code_blocks(text):
        for cmd in _commands(block):
            if cmd.startswith("curl ") or " curl " in cmd:
                out.append(("curl", cmd[cmd.index("curl "):]))
            elif cmd.startswith("fundgraph "):
                out.append(("fundgraph", cmd))
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if span.startswith("fundgraph "):
            out.append(("fundgraph", span))
        elif span.startswith("GET /api/"):
            # A concrete call (GET /api/health); a template (braces, alternatives, empty values) is not an example.
            if not re.search(r"[{|]|=(&|$)", span):
                out.append(("get", span))
        elif not span.startswith(("POST ", "pip ", "bash ", "python ", "pytest ", "cd ")):
            out.append(("inline", span))
    # Only what names something of the corpus (an id, a program to parse like) or is a call is an example.
    programs = {e.id for e in read_manifest(MANIFEST_PATH)}
    types = set(ENTITY_REGISTRY)
    seen: set[tuple[str, str]] = set()
    unique = [x for x in out if not (x in seen or seen.add(x)) and _readme_calls(*x, programs, types)]
    return [(kind, t, f"{kind}:{t[:60]}") for kind, t in unique]


def _readme_calls(kind: str, text: str, programs: set[str], types: set[str]) -> list[Call]:
    if kind == "curl":
        return [curl_call(text)]
    if kind == "get":
        parts = urlsplit(text.split(None, 1)[1])
        return [Call("GET", parts.path, dict(parse_qsl(parts.query)), origin="README")]
    calls = id_calls(text, programs, types, origin=f"README {kind}")
    if kind == "fundgraph":
        words = shlex.split(text, comments=True)
        for flag, value in itertools.pairwise(words):
            if flag == "--like" and value.isupper():  # a placeholder (PROGRAM_ID)
                continue
            if flag == "--like":
                calls.append(Call("GET", "/api/directions", {"program": value}, origin="README --like"))
    return calls


README_EXAMPLES = readme_examples()


def test_the_readme_has_examples():
    kinds = {k for k, _, _ in README_EXAMPLES}
    assert "curl" in kinds and "inline" in kinds, kinds


@pytest.mark.parametrize(("kind", "text"), [pytest.param(k, t, id=i) for k, t, i in README_EXAMPLES])
def test_readme_example_works_on_the_corpus(client, known, kind, text):
    calls = _readme_calls(kind, text, *known)
    if kind == "curl":
        assert calls and calls[0].path.startswith("/api/"), text
    if kind == "fundgraph" and " export " in f" {text} ":
        from fundgraph.graph.formats.registry import FORMATS

        words = shlex.split(text, comments=True)
        formats = [v for f, v in itertools.pairwise(words) if f in ("--format", "-f")]
        assert all(set(f.split("|")) <= set(FORMATS) for f in formats), (text, list(FORMATS))
    problems = [p for c in calls for p in check_answer(client, c)]
    assert not problems, f"README example {text!r} fails on the bundled corpus:\n" + "\n".join(problems)
