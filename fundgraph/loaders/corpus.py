"""Read the manifest and the guideline files, and parse each into Program → Section → Direction records.

Public entry points (the pipeline contract): :func:`load_corpus` and :func:`parse_text`; also
:func:`load_corpora` (several manifests, a bad document left out rather than fatal; :func:`plan_corpora` lists
their documents, :class:`CorpusDocument`), :func:`read_manifest`,
:func:`read_text`, :func:`load_document`, :func:`parse_file` and :func:`locate`.

Every guideline file is read through :func:`fundgraph.loaders.readers.read_document`, so a manifest may list
.txt/.md (any common encoding), .docx, .pdf with a text layer, .html and spreadsheet (.xlsx/.xls/.ods)
documents.

Field texts are normalised (lines joined, page numbers and markdown dropped; see :mod:`loaders.text`),
so an offset inside a field is not an offset in the file. :func:`locate` maps a range of a field back to
the exact range of the file it came from.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ConfigDict, Field, ValidationError

from fundgraph.core.errors import GuidelineParseError, InputError, ManifestError, ProgramNotFound
from fundgraph.core.schema import PROGRAM_FIELDS, record_model
from fundgraph.loaders.layout import HINTS, PARSERS, Layout, parse_with_layout
from fundgraph.loaders.manifest_guard import read_manifest_yaml
from fundgraph.loaders.metadata import ProgramMetadata, infer_metadata
from fundgraph.loaders.parsers import (
    ParseProblem,
    ProfileResult,
    normalise_category,
    split_lines,
    stated_direction_count,
)
from fundgraph.loaders.readers import DocumentText, read_document
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

class ManifestEntry(record_model(
    "ManifestFields", PROGRAM_FIELDS, rename={"source_file": "file"},
    overrides={
        "id": (str, Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")),
        "name": (str, Field(min_length=1)),
        "name_en": (str, Field(min_length=1)),
        "funder": (list[str], Field(default_factory=list, description="Empty where the document names none.")),
        "file": (str, Field(min_length=1)),
    },
)):
    """One document in ``data/manifest.yaml``: the Program's fields, with ``file`` (a path) for ``source_file``."""

    model_config = ConfigDict(extra="forbid")

    def program(self) -> Program:
        """The Program record this entry describes."""
        return Program(**self.model_dump(exclude={"file"}), source_file=Path(self.file).name)


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
    counts = Counter(e.id for e in entries)  # (list.count per id was quadratic: 0.1 s for 3,500 documents)
    dup = sorted(i for i, n in counts.items() if n > 1)
    if dup:
        raise ManifestError(f"duplicate document ids: {', '.join(dup)}", path=path)
    return entries


class ManifestIds:
    """The program ids of a manifest, for ``id in ids``: read (and validated) only when the answer needs it.

    ``fundgraph add`` asks whether one new id is taken by the bundled manifest, which may list thousands of
    documents (YAML of 3,500 entries: 0.7–1.6 s to read and validate). An id that does not occur in the
    manifest's text cannot be one of its ids, unless the YAML spells it with escapes (a backslash anywhere in the
    text sends every question to the full read).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._text: str | None = None
        self._ids: set[str] | None = None

    def __contains__(self, program_id: object) -> bool:
        if self._ids is None:
            if self._text is None:
                try:
                    self._text = self.path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    self._text = "\\"  # unreadable: the full read says why
            if isinstance(program_id, str) and program_id and program_id not in self._text and (
                    "\\" not in self._text):
                return False
            self._ids = {e.id for e in read_manifest(self.path)}
        return program_id in self._ids


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
    return parse_text_with_layout(text, file=file, program=program)[0]


def parse_text_with_layout(text: str, *, file: str, program: Program) -> tuple[ParsedDocument, Layout | None]:
    """:func:`parse_text`, plus what layout inference found (``None`` for a hand-written profile).

    Raises:
        GuidelineParseError: no direction is found, or the document is inconsistent.
    """
    if not text.strip():
        raise GuidelineParseError("empty file", path=file, line=1)
    hints = HINTS.get(program.profile)
    profile = PARSERS.get(program.profile)
    if hints is None and profile is None:
        raise GuidelineParseError(f"unknown parsing profile {program.profile!r}", path=file)
    lines = split_lines(text)
    layout: Layout | None = None
    try:
        if hints is not None:
            res, layout = parse_with_layout(text, lines, hints)
        else:
            res = profile(text, lines)
    except ParseProblem as e:
        raise GuidelineParseError(str(e), path=file, line=e.line) from e
    if not res.directions:
        # The line to look at: the heading that should open the list, else the end of what was read.
        if layout is not None and layout.heading and layout.heading_line:
            line = layout.heading_line
            how = f"no numbered list of directions follows the heading “{layout.heading}”"
        else:
            line = max((ln.no for ln in lines if ln.body.strip()), default=1)
            how = (
                f"none of its {line} lines opens a numbered list of directions under a heading such as "
                "研究方向 / 支持方向 / 选题 / 课题指南"
                if hints is not None
                else f"profile {program.profile}, read to line {line}"
            )
        raise GuidelineParseError(f"no research direction found ({how})", path=file, line=line)
    return _records(text, file, program, res), layout


def _records(text: str, file: str, program: Program, res: ProfileResult) -> ParsedDocument:
    """Turn a parser's drafts into records (ids, spans, checks)."""
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
    return ParsedDocument(program=program, sections=sections, directions=directions, warnings=res.warnings,
                          layout=res.layout)


def _span(file: str, text: str, start: int, end: int) -> SourceSpan:
    return SourceSpan(file=file, start=start, end=end, line=line_number(text, start))


def _lines_covering(text: str, ranges: list[tuple[int, int]]) -> SourceText:
    """The whole lines of ``text`` that hold every range: all :func:`loaders.text.clean` reads of them."""
    first = line_start(text, min(a for a, _ in ranges))
    last = max(b for _, b in ranges)
    stop = line_end(text, last - 1) if last > first else first
    return SourceText(start=first, text=text[first:stop])


def read_guideline(path: Path) -> DocumentText:
    """Read a guideline file in any supported format (:func:`~fundgraph.loaders.readers.read_document`).

    Raises:
        GuidelineParseError: the file is missing, unreadable, empty or blank.
        UnsupportedDocument: a format fundgraph does not read (the message says what to do).
    """
    path = Path(path)
    if not path.is_file():
        raise GuidelineParseError("file not found", path=path)
    # A blank file is an empty guideline (as before), whatever its extension says it is.
    raw = path.read_bytes()
    if not raw.strip() or (len(raw) < 4096 and not raw.decode("utf-8", errors="ignore").strip()):
        raise GuidelineParseError("empty file", path=path, line=1)
    return read_document(path)


def load_document(entry: ManifestEntry, base_dir: Path) -> ParsedDocument:
    """Read and parse the file of one manifest entry (``base_dir`` / ``entry.file``), in any supported format."""
    path = Path(base_dir) / entry.file
    if not path.is_file():
        raise ManifestError(f"document {entry.id}: file {entry.file} does not exist", path=path)
    read = read_guideline(path)
    doc = parse_text(read.text, file=path.name, program=entry.program())
    doc.warnings[:0] = read.warnings
    return doc


def load_corpus(manifest_path: Path, base_dir: Path | None = None) -> list[ParsedDocument]:
    """Parse every document of a manifest, in manifest order; the first bad document raises.

    Args:
        manifest_path: The manifest (``data/manifest.yaml``).
        base_dir: Where the files are; default ``guidelines/`` beside the manifest.
    """
    manifest_path = Path(manifest_path)
    base = Path(base_dir) if base_dir is not None else manifest_path.parent / "guidelines"
    entries = read_manifest(manifest_path)
    for entry in entries:  # check every file first: a bad manifest fails before any parsing
        missing = _missing_file(manifest_path, base, entry)
        if missing is not None:
            raise missing
    return [load_document(e, base) for e in entries]


def _missing_file(manifest_path: Path, base: Path, entry: ManifestEntry) -> ManifestError | None:
    if (base / entry.file).is_file():
        return None
    text = manifest_path.read_text(encoding="utf-8")
    return ManifestError(
        f"document {entry.id}: file {entry.file} does not exist in {base}",
        path=manifest_path,
        line=_manifest_line(text, f"file: {entry.file}"),
    )


@dataclass(frozen=True)
class LeftOut:
    """A document left out of a corpus: which program, which file and line, and why."""

    program_id: str
    file: str
    line: int | None
    reason: str
    code: str

    @classmethod
    def from_error(cls, document: CorpusDocument, e: InputError) -> LeftOut:
        """The record of ``document`` left out because of ``e`` (the error's file and line, else the document's)."""
        return cls(program_id=document.entry.id, file=e.path or str(document.path), line=e.line, reason=_reason(e),
                   code=e.code)

    def as_dict(self) -> dict[str, object]:
        """JSON form (build meta, health)."""
        return {"program_id": self.program_id, "file": self.file, "line": self.line, "reason": self.reason,
                "code": self.code}

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.reason} (program {self.program_id})"


@dataclass
class CorpusLoad:
    """The documents of one or more manifests that parsed, and the ones left out."""

    documents: list[ParsedDocument] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusDocument:
    """One document of a corpus to build: its manifest entry, the manifest it is in, and its files' directory."""

    manifest: Path
    base: Path
    entry: ManifestEntry

    @property
    def path(self) -> Path:
        """The document's file."""
        return self.base / self.entry.file

    def missing(self) -> ManifestError | None:
        """The error naming the manifest line of a file that does not exist, or None when it does."""
        return _missing_file(self.manifest, self.base, self.entry)

    def load(self) -> ParsedDocument:
        """Read and parse the document (:func:`load_document`); a missing file raises the manifest's error.

        Raises:
            InputError: the file is missing (ManifestError, with the manifest line), unreadable or does not parse.
        """
        missing = self.missing()
        if missing is not None:
            raise missing
        return load_document(self.entry, self.base)


def plan_corpora(manifests: list[Path], *, strict: bool = False) -> list[CorpusDocument]:
    """The documents of several manifests in order (each manifest's files in ``guidelines/`` beside it).

    Raises:
        ManifestError: a manifest is malformed, two manifests give one program id, or (``strict``) a file is
            missing (every file is checked before any is parsed).
    """
    seen: dict[str, Path] = {}
    plan: list[CorpusDocument] = []
    for manifest in (Path(m) for m in manifests):
        base = manifest.parent / "guidelines"
        for entry in read_manifest(manifest):
            if entry.id in seen:
                text = manifest.read_text(encoding="utf-8")
                raise ManifestError(
                    f"program id {entry.id} is already used by {seen[entry.id]}: give this document another id",
                    path=manifest,
                    line=_manifest_line(text, f"id: {entry.id}"),
                )
            seen[entry.id] = manifest
            plan.append(CorpusDocument(manifest=manifest, base=base, entry=entry))
    if strict:
        for document in plan:
            missing = document.missing()
            if missing is not None:
                raise missing
    return plan


def load_corpora(manifests: list[Path], *, strict: bool = False) -> CorpusLoad:
    """Parse the documents of several manifests in order (the bundled corpus, then the user's).

    A document that cannot be read or parsed is left out and reported (file, line, reason); the others are
    parsed. With ``strict`` the first bad document raises instead, as :func:`load_corpus` does.

    Raises:
        ManifestError: a manifest is malformed, two manifests give one program id, or (``strict``) a file is
            missing.
        GuidelineParseError: (``strict``) a document cannot be parsed.
    """
    out = CorpusLoad(manifests=[Path(m) for m in manifests])
    for document in plan_corpora(out.manifests, strict=strict):
        try:
            out.documents.append(document.load())
        except InputError as e:
            if strict:
                raise
            out.left_out.append(LeftOut.from_error(document, e))
    return out


def _reason(e: InputError) -> str:
    """The error message without the ``file:line:`` prefix InputError puts in front of it."""
    msg = e.message
    if e.path:
        prefix = e.path + (f":{e.line}" if e.line is not None else "") + ": "
        msg = msg.removeprefix(prefix)
    return msg


def parse_file_like(path: Path, like: str, manifest_path: Path) -> ParsedDocument:
    """Parse any file with the profile (and program metadata) of the manifest's program ``like``.

    Used to check a new document before adding it to the manifest.

    Raises:
        ProgramNotFound: no manifest entry has the id ``like``.
        GuidelineParseError: the file cannot be read or yields no direction.
    """
    return parse_file(path, like=like, manifest_path=manifest_path).document


@dataclass
class ParsedFile:
    """One file parsed on its own: the records, what layout inference found, and how the file was read."""

    document: ParsedDocument
    layout: Layout | None
    read: DocumentText
    metadata: ProgramMetadata | None = None


def parse_file(path: Path, *, program: Program | None = None, like: str | None = None,
               manifest_path: Path | None = None) -> ParsedFile:
    """Read any supported file and parse it: with inference (``profile: auto``) or like a manifest program.

    Args:
        path: The guideline file (.txt/.md, .docx, .pdf, .html, .xlsx/.xls/.ods).
        program: The program record to parse it as (its ``profile`` picks the parser); default the program its
            title lines describe (:func:`program_from_title`), ``profile: auto``.
        like: Instead of ``program``: the id of a program of ``manifest_path`` whose profile and metadata to use.
        manifest_path: The manifest ``like`` refers to.

    Raises:
        ProgramNotFound: no manifest entry has the id ``like``.
        GuidelineParseError: the file cannot be read or yields no direction (UnsupportedDocument for a format
            fundgraph does not read).
    """
    path = Path(path)
    if like is not None:
        if manifest_path is None:
            raise ValueError("like= needs manifest_path=")
        entries = read_manifest(manifest_path)
        entry = next((e for e in entries if e.id == like), None)
        if entry is None:
            raise ProgramNotFound(
                f"no program {like!r} in {manifest_path} (known: {', '.join(e.id for e in entries)})"
            )
        program = entry.program()
    read = read_guideline(path)
    metadata = None
    if program is None:
        metadata = infer_metadata(read.lines)
        program = program_from_title(path, metadata)
    return parse_read(read, program, metadata=metadata)


def parse_read(read: DocumentText, program: Program, *, metadata: ProgramMetadata | None = None) -> ParsedFile:
    """Parse a document already read (:func:`read_guideline`) as ``program``."""
    program = program.model_copy(update={"source_file": read.path.name})
    doc, layout = parse_text_with_layout(read.text, file=read.path.name, program=program)
    doc.warnings[:0] = read.warnings
    return ParsedFile(document=doc, layout=layout, read=read, metadata=metadata)


def program_from_title(path: Path, metadata: ProgramMetadata, *, program_id: str | None = None,
                       profile: str = "auto") -> Program:
    """A Program record for a file outside any manifest, from what its title lines say.

    The id is ``program_id`` or :func:`suggest_program_id`; the name falls back to the file name.
    """
    path = Path(path)
    name = metadata.name or path.stem
    return Program(
        id=program_id or suggest_program_id(path, metadata.year),
        name=name,
        name_en=name,
        funder=metadata.funder,
        year=metadata.year,
        status=metadata.status,
        status_en=metadata.status_en,
        source_file=path.name,
        profile=profile,
    )


def suggest_program_id(path: Path, year: int | None) -> str:
    """A manifest id for a file: its name as a slug (``cardio-imaging-2026``), or ``doc-<year>-<hash>``.

    The same file name always gives the same id, so adding a file again updates its entry.
    """
    stem = Path(path).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    if len(re.sub(r"[^a-z]", "", slug)) >= 3:
        return slug[:60].strip("-")
    digest = hashlib.sha1(Path(path).name.encode("utf-8")).hexdigest()[:8]
    return f"doc-{year}-{digest}" if year else f"doc-{digest}"


@lru_cache(maxsize=64)
def _clean_lines(lines: str, base: int, start: int, end: int) -> Clean:
    """:func:`clean` of the file range [start, end) of ``lines`` (which start at file offset ``base``), in file offsets.

    A pure function, memoised: extraction locates every mention, keyword and candidate of a field (and reads the
    keywords field three times), and cleaning the field again for each was a third of entity extraction's CPU.
    The result is shared: never change it.
    """
    return clean(lines, start - base, end - base, base=base)


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
    return _clean_lines(own.text, own.start, span.start, span.end)


def field_clean(direction: Direction, field: str) -> Clean:
    """A field cleaned again from the lines the direction carries, with the file offset of each character.

    Shared (memoised): never change it. Raises ``KeyError`` as :func:`locate` does.
    """
    return _field_clean(direction, field, None)


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
