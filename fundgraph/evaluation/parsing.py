"""Evaluate direction parsing against the hand-written parse dev set (``fundgraph/data/eval/parse_dev``).

The dev set is a folder holding ``docs/`` (guideline documents in many layouts) and ``expected.yaml`` (for each
document, its directions in order: code as printed and title as a reader writes it). A parser under test is
any ``parse_fn(path) -> [(code, title), ...]``.

Scores (micro-averaged over directions, plus whole documents):

- **recall**: expected directions found with the exact title / all expected directions;
- **precision**: found directions whose title is an expected title / all found directions;
- **documents fully right**: every expected direction found with its exact title and nothing extra.

Titles are compared after :func:`normalise_title` only (whitespace removed, full-/half-width forms folded), so
a title with its number, a trailing 。 or a missing line-broken tail counts as wrong. Codes are reported (how
many matched directions also carry the expected code) but do not enter recall or precision; a code the parser
qualified by its section because the numbering restarts in each one (``2-1`` for the ``1`` printed under the
second section, :func:`fundgraph.loaders.layout._qualify_restarts`) carries the printed code.

The naive baseline of issue 10 (:func:`baseline_parse`: the most frequent line-start numbering pattern of the
document, title up to the first 。；： or line end) is evaluated in the same run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fundgraph.core.errors import FundgraphError, InputError
from fundgraph.loaders.text import chinese_numeral, fold

#: A parser under evaluation: document path → [(code, title), ...] in document order.
ParseFn = Callable[[Path], list[tuple[str, str]]]

# Half-width CJK punctuation (U+FF61–U+FF64) → the full-width forms; fold() covers U+FF01–U+FF5E and U+3000.
_HALF_CJK = str.maketrans({"｡": "。", "｢": "「", "｣": "」", "､": "、"})
_SPACE = re.compile(r"\s+")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def normalise_title(text: str) -> str:
    """The form titles are compared in: whitespace removed, full-width ASCII variants and half-width CJK folded.

    Nothing else changes: numbers, brackets kinds beyond width, trailing punctuation and wording all count.
    Whitespace is removed rather than collapsed because a PDF line break inside a Chinese title leaves a space
    or nothing depending on the extractor.
    """
    return _SPACE.sub("", fold(text).translate(_HALF_CJK))


def code_number(code: str) -> tuple[int, ...]:
    """The numbers a direction code carries: ``（三）`` → (3,), ``方向十二`` → (12,), ``2.3`` → (2, 3), ``⑦`` → (7,).

    Raises:
        ValueError: the code carries no number.
    """
    c = fold(code).strip()
    if len(c) == 1 and c in _CIRCLED:
        return (_CIRCLED.index(c) + 1,)
    parts = re.findall(r"\d+|[一二三四五六七八九十]+", c)
    if not parts:
        raise ValueError(f"no number in code {code!r}")
    return tuple(chinese_numeral(p) for p in parts)


@dataclass
class ExpectedDocument:
    """One document of the dev set and what a reader finds in it."""

    file: str
    directions: list[tuple[str, str]]
    features: list[str] = field(default_factory=list)
    truncated: bool = False
    truncated_line: int | None = None
    program: dict[str, object] = field(default_factory=dict)


def load_dev_set(dev_dir: Path) -> list[ExpectedDocument]:
    """Read ``dev_dir/expected.yaml``; raise :class:`InputError` when it is missing or malformed."""
    path = Path(dev_dir) / "expected.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        docs = [
            ExpectedDocument(
                file=d["file"],
                directions=[(str(x["code"]), str(x["title"])) for x in d["directions"]],
                features=list(d.get("features") or []),
                truncated=bool(d.get("truncated", False)),
                truncated_line=d.get("truncated_line"),
                program=dict(d.get("program") or {}),
            )
            for d in raw["documents"]
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise InputError(f"cannot read the parse dev set ({e})", path=path) from e
    for d in docs:
        if not (Path(dev_dir) / "docs" / d.file).is_file():
            raise InputError(f"dev-set document {d.file} does not exist", path=path)
    return docs


@dataclass
class DocumentResult:
    """How one parser did on one document."""

    file: str
    expected: int
    found: int
    matched: int
    codes_right: int
    missed: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def fully_right(self) -> bool:
        """Every expected direction found with its exact title, nothing extra, no error."""
        return self.error is None and not self.missed and not self.extra


@dataclass
class MethodScore:
    """One parser's results over the dev set."""

    name: str
    documents: list[DocumentResult]

    @property
    def expected(self) -> int:
        """Expected directions over the dev set."""
        return sum(d.expected for d in self.documents)

    @property
    def found(self) -> int:
        """Directions the parser returned."""
        return sum(d.found for d in self.documents)

    @property
    def matched(self) -> int:
        """Directions found with an exact expected title."""
        return sum(d.matched for d in self.documents)

    @property
    def recall(self) -> float:
        """Matched / expected."""
        return self.matched / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        """Matched / found; 1.0 when nothing was found."""
        return self.matched / self.found if self.found else 1.0

    @property
    def documents_right(self) -> int:
        """Documents parsed fully right."""
        return sum(d.fully_right for d in self.documents)

    @property
    def code_accuracy(self) -> float:
        """Of the matched directions, the share that also carry the expected code."""
        return sum(d.codes_right for d in self.documents) / self.matched if self.matched else 0.0


@dataclass
class ParseReport:
    """Scores of every method evaluated in one run (the shipped parser first, then the baseline)."""

    methods: list[MethodScore]
    documents: int
    directions: int


def compare(file: str, expected: list[tuple[str, str]], found: list[tuple[str, str]]) -> DocumentResult:
    """Match found directions to expected ones by normalised title (as multisets; order does not count)."""
    want = Counter(normalise_title(t) for _, t in expected)
    got = Counter(normalise_title(t) for _, t in found)
    matched = sum((want & got).values())
    # codes: pair the k-th occurrence of a title on both sides
    exp_codes: dict[str, list[str]] = {}
    for c, t in expected:
        exp_codes.setdefault(normalise_title(t), []).append(normalise_title(c))
    codes_right = 0
    seen: Counter[str] = Counter()
    for c, t in found:
        key = normalise_title(t)
        k = seen[key]
        seen[key] += 1
        if k < len(exp_codes.get(key, [])) and code_matches(exp_codes[key][k], normalise_title(c)):
            codes_right += 1
    left = want - got
    missed = [(c, t) for c, t in expected if _take(left, normalise_title(t))]
    over = got - want
    extra = [(c, t) for c, t in found if _take(over, normalise_title(t))]
    return DocumentResult(file, len(expected), len(found), matched, codes_right, missed, extra)


def code_matches(expected: str, found: str) -> bool:
    """Whether ``found`` is the printed code ``expected``, or that code qualified by its section (``2-1`` for ``1``)."""
    return found == expected or (found.endswith("-" + expected) and len(found) > len(expected) + 1)


def _take(counter: Counter[str], key: str) -> bool:
    if counter[key] > 0:
        counter[key] -= 1
        return True
    return False


def score_method(name: str, parse_fn: ParseFn, dev_dir: Path, docs: list[ExpectedDocument]) -> MethodScore:
    """Run ``parse_fn`` on every dev document and compare; a document the parser fails on finds nothing."""
    results: list[DocumentResult] = []
    for d in docs:
        try:
            found = list(parse_fn(Path(dev_dir) / "docs" / d.file))
        except (FundgraphError, ValueError, KeyError, IndexError) as e:
            # a parser failing on one document scores zero there and the run goes on
            res = compare(d.file, d.directions, [])
            res.error = f"{type(e).__name__}: {e}"
            results.append(res)
            continue
        results.append(compare(d.file, d.directions, found))
    return MethodScore(name, results)


def evaluate_parsing(
    parse_fn: ParseFn,
    dev_dir: Path,
    *,
    name: str = "shipped",
    others: dict[str, ParseFn] | None = None,
) -> ParseReport:
    """Score ``parse_fn`` and the naive baseline (plus any ``others``) over the dev set in ``dev_dir``.

    Args:
        parse_fn: The parser under evaluation.
        dev_dir: Folder with ``docs/`` and ``expected.yaml``.
        name: Row name of ``parse_fn`` in the report.
        others: More methods to score in the same run, by row name.
    """
    docs = load_dev_set(dev_dir)
    methods = [score_method(name, parse_fn, dev_dir, docs), score_method("baseline", baseline_parse, dev_dir, docs)]
    methods += [score_method(n, fn, dev_dir, docs) for n, fn in (others or {}).items()]
    return ParseReport(methods, len(docs), sum(len(d.directions) for d in docs))


def best_per_document(name: str, scores: Iterable[MethodScore]) -> MethodScore:
    """An oracle row: for each document, the result of whichever method matched most (then found fewest extra)."""
    scores = list(scores)
    best = [
        max(results, key=lambda r: (r.matched, -len(r.extra)))
        for results in zip(*(s.documents for s in scores), strict=True)
    ]
    return MethodScore(name, best)


def format_report(report: ParseReport, *, details: bool = False) -> str:
    """A table with one row per method; with ``details``, each imperfect document's misses and extras."""
    head = f"parse dev set: {report.documents} documents, {report.directions} directions"
    cols = f"{'method':<22} {'recall':>7} {'precision':>9} {'docs right':>11} {'found':>6} {'codes':>6}"
    rows = [head, cols, "-" * len(cols)]
    for m in report.methods:
        rows.append(
            f"{m.name:<22} {m.recall:>7.3f} {m.precision:>9.3f} "
            f"{f'{m.documents_right}/{len(m.documents)}':>11} {m.found:>6} {m.code_accuracy:>6.2f}"
        )
    rows.append("recall/precision: exact titles (whitespace and character width normalised); "
                "codes: matched directions that also have the expected code")
    if details:
        for m in report.methods:
            rows.append(f"\n[{m.name}]")
            for d in m.documents:
                if d.fully_right:
                    continue
                rows.append(f"  {d.file}: {d.matched}/{d.expected} found, {len(d.extra)} extra"
                            + (f" ({d.error})" if d.error else ""))
                rows += [f"    - {c} {t}" for c, t in d.missed[:5]]
                rows += [f"    + {c} {t}" for c, t in d.extra[:5]]
    return "\n".join(rows)


# --- the naive baseline ------------------------------------------------------------------------------------

_CN = "一二三四五六七八九十"
#: Line-start numbering patterns the baseline knows, most specific first; group ``code`` is the printed number.
BASELINE_PATTERNS: dict[str, re.Pattern[str]] = {
    "1.1": re.compile(r"^(?P<code>\d+[.．]\d+)[、.．:：]?"),
    "（一）": re.compile(rf"^(?P<code>[（(][{_CN}]+[)）])[、.．:：]?"),
    "（1）": re.compile(r"^(?P<code>[（(]\d+[)）])[、.．:：]?"),
    "一、": re.compile(rf"^(?P<code>[{_CN}]+)[、.．:：]"),
    "1.": re.compile(r"^(?P<code>\d+)(?:[.．](?!\d)|[、:：])"),
    "①": re.compile(rf"^(?P<code>[{_CIRCLED}])"),
    **{
        f"{w}N": re.compile(rf"^(?P<code>{w}[{_CN}\d]+)[、.．:：]?")
        for w in ("方向", "项目", "课题", "专题", "任务", "榜单")
    },
}
_LINE_MARKUP = re.compile(r"^[\s#>*\-|]+")
_TITLE_END = re.compile(r"[。；;：:]")


def baseline_parse(path: Path) -> list[tuple[str, str]]:
    """Issue 10's naive baseline: the most frequent line-start numbering pattern; title up to 。；： or line end."""
    from fundgraph.loaders.readers import read_document  # the reader a build uses: any format, any encoding

    text = read_document(Path(path)).text
    hits: dict[str, list[tuple[str, str]]] = {}
    for raw in text.split("\n"):
        line = _LINE_MARKUP.sub("", raw).strip()
        for pname, pattern in BASELINE_PATTERNS.items():
            m = pattern.match(line)
            if m:
                title = _TITLE_END.split(line[m.end():], maxsplit=1)[0].strip().rstrip("*").strip()
                hits.setdefault(pname, []).append((m.group("code"), title))
                break
    if not hits:
        return []
    best = max(hits, key=lambda p: len(hits[p]))  # ties: the earlier (more specific) pattern
    return [(c, t) for c, t in hits[best] if t]


# --- the shipped parser ------------------------------------------------------------------------------------


def shipped_parse(path: Path) -> list[tuple[str, str]]:
    """What ``fundgraph parse FILE`` finds: any supported format read, the layout inferred (``profile: auto``)."""
    from fundgraph.loaders.corpus import parse_file

    return [(d.code, d.title) for d in parse_file(path).document.directions]


# --- today's profile parsers -------------------------------------------------------------------------------


def profile_parse_fn(profile: str) -> ParseFn:
    """A ParseFn: the inference engine under one hint set (a name in :data:`fundgraph.loaders.layout.HINTS`)."""
    from fundgraph.loaders.corpus import parse_text
    from fundgraph.loaders.readers import read_document
    from fundgraph.loaders.records import Program

    def parse(path: Path) -> list[tuple[str, str]]:
        text = read_document(path).text
        program = Program(id="dev", name="dev", name_en="dev", funder=["dev"], source_file=path.name,
                          profile=profile)
        return [(d.code, d.title) for d in parse_text(text, file=path.name, program=program).directions]

    return parse
