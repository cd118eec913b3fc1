"""Read the manifest and the guideline files, and parse each into Program → Section → Direction records.

Public entry points (the pipeline contract): :func:`load_corpus` and :func:`parse_text`; also
:func:`read_manifest`, :func:`read_text`, :func:`load_document` and :func:`locate`.

Field texts are normalised (lines joined, page numbers and markdown dropped; see :mod:`loaders.text`),
so an offset inside a field is not an offset in the file. :func:`locate` maps a range of a field back to
the exact range of the file it came from.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fundgraph.core.errors import GuidelineParseError, ManifestError, ProgramNotFound
from fundgraph.loaders.layout import PARSERS
from fundgraph.loaders.manifest_guard import read_manifest_yaml
from fundgraph.loaders.parsers import ParseProblem, normalise_category, split_lines, stated_direction_count
from fundgraph.loaders.records import Direction, ParsedDocument, Program, Section, SourceSpan, SourceText
from fundgraph.loaders.text import (
    Clean,
    clean,
    direction_id,
    line_end,
    line_number,
    line_start,
    section_id,
    split_list,
)

#: Fields of a direction that carry text (and a span in ``Direction.field_spans``).
TEXT_FIELDS = ("title", "content", "metrics", "keywords", "notes")

class ManifestEntry(BaseModel):
    """One document in ``data/manifest.yaml``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    funder: list[str] = Field(min_length=1)
    funder_en: list[str] = Field(default_factory=list)
    series: str | None = None
    series_en: str | None = None
    year: int | None = None
    status: str | None = None
    status_en: str | None = None
    file: str = Field(min_length=1)
    profile: str

    def program(self) -> Program:
        """The Program record this entry describes."""
        return Program(
            id=self.id,
            name=self.name,
            name_en=self.name_en,
            funder=self.funder,
            funder_en=self.funder_en,
            series=self.series,
            series_en=self.series_en,
            year=self.year,
            status=self.status,
            status_en=self.status_en,
            source_file=Path(self.file).name,
            profile=self.profile,
        )


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Read and validate a manifest (``documents:`` list); raise :class:`ManifestError` when malformed."""
    path = Path(path)
    try:
        raw = read_manifest_yaml(path)  # bounded size, depth and aliases; files inside the corpus directory
    except FileNotFoundError as e:
        raise ManifestError("manifest not found", path=path) from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        line = None
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        raise ManifestError(f"manifest is not valid YAML: {e}", path=path, line=line) from e
    if not isinstance(raw, dict) or not isinstance(raw.get("documents"), list) or not raw["documents"]:
        raise ManifestError("manifest must be a mapping with a non-empty 'documents' list", path=path)
    entries: list[ManifestEntry] = []
    text = path.read_text(encoding="utf-8")
    for k, item in enumerate(raw["documents"]):
        try:
            entry = ManifestEntry.model_validate(item)
        except ValidationError as e:
            ident = item.get("id") if isinstance(item, dict) else None
            raise ManifestError(
                f"document #{k + 1} ({ident or 'no id'}) is malformed: {e}",
                path=path,
                line=_manifest_line(text, f"id: {ident}") if ident else None,
            ) from e
        if entry.profile not in PARSERS:
            raise ManifestError(
                f"document {entry.id}: unknown profile {entry.profile!r} "
                f"(known: {', '.join(sorted(PARSERS))})",
                path=path,
                line=_manifest_line(text, f"profile: {entry.profile}"),
            )
        entries.append(entry)
    ids = [e.id for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ManifestError(f"duplicate document ids: {', '.join(dup)}", path=path)
    return entries


def _manifest_line(text: str, needle: str) -> int | None:
    pos = text.find(needle)
    return None if pos < 0 else line_number(text, pos)


def read_text(path: Path) -> tuple[str, list[str]]:
    """Read a guideline file as text: UTF-8, or GBK/GB18030 with a warning.

    Raises:
        GuidelineParseError: the file is missing, empty, binary or in no known encoding.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GuidelineParseError(f"cannot read file: {e.strerror or e}", path=path) from e
    if not data.strip():
        raise GuidelineParseError("empty file", path=path)
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise GuidelineParseError("binary file (NUL bytes), not a text guideline", path=path, line=line)
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise GuidelineParseError("not text: neither UTF-8 nor GBK", path=path, line=line) from e
        warnings.append(f"{path.name}: not UTF-8; decoded as GBK (GB18030)")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f\v")
    if controls > max(2, len(text) // 100):
        raise GuidelineParseError("binary file (control characters), not a text guideline", path=path)
    if not text.strip():
        raise GuidelineParseError("empty file", path=path)
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


def parse_text(text: str, *, file: str, program: Program) -> ParsedDocument:
    """Parse one guideline's text with its program's profile.

    Args:
        text: The decoded file text (offsets in the records refer to it).
        file: File name, for ``source`` spans and error messages.
        program: The program record (its ``profile`` picks the parser).

    Raises:
        GuidelineParseError: no direction is found, or the document is inconsistent.
    """
    if not text.strip():
        raise GuidelineParseError("empty file", path=file)
    profile = PARSERS.get(program.profile)
    if profile is None:
        raise GuidelineParseError(f"unknown parsing profile {program.profile!r}", path=file)
    lines = split_lines(text)
    try:
        res = profile(text, lines)
    except ParseProblem as e:
        raise GuidelineParseError(str(e), path=file, line=e.line) from e
    if not res.directions:
        raise GuidelineParseError(f"no research direction found (profile {program.profile})", path=file)

    stated = stated_direction_count(text)
    if stated is not None and stated != len(res.directions):
        res.warnings.append(
            f"the document states {stated} research directions but {len(res.directions)} were parsed"
        )
    sections: list[Section] = []
    for k, s in enumerate(res.sections):
        sections.append(
            Section(
                id=section_id(program.id, s.code, k + 1),
                program_id=program.id,
                code=s.code,
                title=s.title,
                kind=s.kind,
                ordinal=k + 1,
                parent_id=sections[s.parent].id if s.parent is not None else None,
            )
        )
    directions: list[Direction] = []
    seen: dict[str, int] = {}
    for k, d in enumerate(res.directions):
        did = direction_id(program.id, d.code)
        if did in seen:
            raise GuidelineParseError(
                f"direction code {d.code} appears twice (lines {seen[did]} and {d.line})",
                path=file,
                line=d.line,
            )
        seen[did] = d.line
        if not d.title.text:
            raise GuidelineParseError(f"direction {d.code} has an empty title", path=file, line=d.line)
        spans = {"title": _span(file, text, *d.title.span)}
        values: dict[str, str | None] = {}
        for name in ("content", "metrics", "keywords", "notes"):
            c = d.fields.get(name)
            if c is not None and c.text:
                spans[name] = _span(file, text, *c.span)
                values[name] = c.text
        keywords = [kw.text for kw in split_list(d.fields["keywords"])] if "keywords" in d.fields else []
        section = sections[d.section] if d.section is not None else None
        directions.append(
            Direction(
                id=did,
                program_id=program.id,
                code=d.code,
                ordinal=k + 1,
                title=d.title.text,
                category=normalise_category(d.category_raw),
                category_raw=d.category_raw,
                support_type=d.support_type,
                section=section.id if section else None,
                section_title=section.title if section else None,
                content=values.get("content"),
                metrics=values.get("metrics"),
                metrics_label=d.metrics_label if values.get("metrics") else None,
                keywords=keywords,
                notes=[n for n in d.notes if n],
                funding=d.funding,
                application_code=d.application_code,
                disciplines=d.disciplines,
                source=_span(file, text, d.start, d.end),
                field_spans=spans,
                source_text=_lines_covering(text, [(d.start, d.end), *((s.start, s.end) for s in spans.values())]),
            )
        )
    return ParsedDocument(program=program, sections=sections, directions=directions, warnings=res.warnings)


def _span(file: str, text: str, start: int, end: int) -> SourceSpan:
    return SourceSpan(file=file, start=start, end=end, line=line_number(text, start))


def _lines_covering(text: str, ranges: list[tuple[int, int]]) -> SourceText:
    """The whole lines of ``text`` that hold every range: all :func:`loaders.text.clean` reads of them."""
    first = line_start(text, min(a for a, _ in ranges))
    last = max(b for _, b in ranges)
    stop = line_end(text, last - 1) if last > first else first
    return SourceText(start=first, text=text[first:stop])


def load_document(entry: ManifestEntry, base_dir: Path) -> ParsedDocument:
    """Read and parse the file of one manifest entry (``base_dir`` / ``entry.file``)."""
    path = Path(base_dir) / entry.file
    if not path.is_file():
        raise ManifestError(f"document {entry.id}: file {entry.file} does not exist", path=path)
    text, warnings = read_text(path)
    doc = parse_text(text, file=path.name, program=entry.program())
    doc.warnings[:0] = warnings
    return doc


def load_corpus(manifest_path: Path, base_dir: Path | None = None) -> list[ParsedDocument]:
    """Parse every document of a manifest, in manifest order.

    Args:
        manifest_path: The manifest (``data/manifest.yaml``).
        base_dir: Where the files are; default ``guidelines/`` beside the manifest.
    """
    manifest_path = Path(manifest_path)
    base = Path(base_dir) if base_dir is not None else manifest_path.parent / "guidelines"
    entries = read_manifest(manifest_path)
    for entry in entries:  # check every file first: a bad manifest fails before any parsing
        if not (base / entry.file).is_file():
            text = manifest_path.read_text(encoding="utf-8")
            raise ManifestError(
                f"document {entry.id}: file {entry.file} does not exist in {base}",
                path=manifest_path,
                line=_manifest_line(text, f"file: {entry.file}"),
            )
    return [load_document(e, base) for e in entries]


def parse_file_like(path: Path, like: str, manifest_path: Path) -> ParsedDocument:
    """Parse any file with the profile (and program metadata) of the manifest's program ``like``.

    Used to check a new document before adding it to the manifest.

    Raises:
        ProgramNotFound: no manifest entry has the id ``like``.
        GuidelineParseError: the file cannot be read or yields no direction.
    """
    path = Path(path)
    entries = read_manifest(manifest_path)
    entry = next((e for e in entries if e.id == like), None)
    if entry is None:
        raise ProgramNotFound(
            f"no program {like!r} in {manifest_path} (known: {', '.join(e.id for e in entries)})"
        )
    if not path.is_file():
        raise GuidelineParseError("file not found", path=path)
    text, warnings = read_text(path)
    program = entry.program().model_copy(update={"source_file": path.name})
    doc = parse_text(text, file=path.name, program=program)
    doc.warnings[:0] = warnings
    return doc


def _field_clean(direction: Direction, field: str, text: str | None) -> Clean:
    """The cleaned field, with offsets in the decoded file, read from ``text`` or the direction's own lines."""
    span = direction.field_spans.get(field)
    if span is None:
        raise KeyError(f"direction {direction.id} has no span for field {field!r}")
    if text is not None:
        return clean(text, span.start, span.end)
    own = direction.source_text
    if own is None or not (own.start <= span.start and span.end <= own.end):
        raise KeyError(f"direction {direction.id} carries no source text for field {field!r}: pass text=")
    c = clean(own.text, span.start - own.start, span.end - own.start)
    return Clean(c.text, [o + own.start for o in c.offsets])


def locate(
    direction: Direction, field: str, start: int, end: int, *, text: str | None = None
) -> tuple[int, int]:
    """Map the range [start, end) of a direction's normalised field to the exact range in its file.

    Args:
        direction: A direction from :func:`parse_text` / :func:`load_corpus` (it carries its source lines).
        field: ``title``, ``content``, ``metrics``, ``keywords`` (the ``;``-joined source text of the
            keyword list, i.e. the field as cleaned before splitting) or ``notes``.
        start: Start offset inside the field text.
        end: End offset inside the field text.
        text: The decoded file text; default the lines the direction carries (``direction.source_text``).

    Returns:
        (file_start, file_end), offsets in the decoded file text.

    Raises:
        KeyError: the direction has no span for ``field``, or carries no source text and none is passed.
    """
    return _field_clean(direction, field, text).file_span(start, end)


def keyword_spans(direction: Direction, *, text: str | None = None) -> list[tuple[str, int, int]]:
    """Each keyword of a direction with its exact [start, end) in the file (same order as ``keywords``)."""
    if "keywords" not in direction.field_spans:
        return []
    return [(item.text, *item.span) for item in split_list(_field_clean(direction, "keywords", text))]


def field_source_text(direction: Direction, field: str, *, text: str | None = None) -> str:
    """The cleaned text of a field re-read from its file span (equals the field for title/content/metrics)."""
    return _field_clean(direction, field, text).text


def source_region(direction: Direction) -> str | None:
    """The exact file text of the direction's ``source`` span, or None when it carries no source text."""
    own = direction.source_text
    src = direction.source
    if own is None or not (own.start <= src.start and src.end <= own.end):
        return None
    return own.text[src.start - own.start:src.end - own.start]
