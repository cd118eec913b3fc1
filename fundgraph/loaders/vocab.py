"""Load and validate the entity vocabularies (``data/vocab/*.csv``) and build the matcher over them.

Each vocabulary is a CSV file a reviewer can read and extend without touching code:

- ``diseases.csv``    — id, name_zh, name_en, synonyms, ICD-10 (category or range), ICD-11 / MeSH where
  certain, ``no_code_reason`` where there is no ICD-10 code, ``member_of`` (groups), ``is_group``.
- ``modalities.csv``  — id, names, synonyms, DICOM modality code or ``no_code_reason``, ``member_of``
  (a CT variant is a member of CT), ``category``.
- ``techniques.csv``  — id, names, synonyms, ``member_of``.
- ``disciplines.csv`` — NSFC application code, Chinese and English title, division.
- ``entity_types.csv`` (optional) — further entity types, one row each (``key,label,plural,name_zh,name_en,
  plural_en,color,vocab_file`` and optionally ``short_en,code_systems,required_code,score_weight,lexicon,
  matrix_menu,filter_hint,example``), each read from its own ``vocab_file`` like ``techniques.csv``: a user adds an
  entity type without editing code (the built-in types are rows of :mod:`fundgraph.core.schema`).
- ``keywords_en.csv`` (optional) — ``zh,en``: the English name of every keyword (explicit 关键词 and
  extracted ones) that is not itself a vocabulary name or synonym (those keep the entity's English name,
  so a glossary row repeating a vocabulary term is refused). Kept sorted by ``zh``.
- ``keyword_stopwords.csv`` (optional) — ``word,kind,note``: reviewed words for keyword extraction;
  ``stop`` words end a candidate phrase and never form part of one (研究, 基于, 不少于 …), ``generic``
  words may sit inside a phrase but are never a keyword alone (模态, 影像 …), ``modifier`` words may
  start or sit inside a phrase but never end one nor stand alone (精准, 动态, 驱动 …).

Matching columns shared by the entity files: ``synonyms`` (``|``-separated, always matched),
``context_synonyms`` (matched only when the ``context`` regex occurs within :data:`CONTEXT_WINDOW`
characters, e.g. ``AD`` near 阿尔茨/患者/认知), ``not_before`` / ``not_after`` (regexes that veto a match
when they occur immediately before / after it, e.g. 超声 followed by 刺激). Every surface form, once
normalised, belongs to exactly one entity across all files.

:func:`load_vocabularies` refuses a bad file with :class:`~fundgraph.core.errors.VocabularyError` naming the
file and the line: duplicate ids, one synonym mapped to two entities, malformed rows (wrong number of
fields, empty required values, bad regexes, unknown groups, a disease without ICD-10 code or reason, a
modality without DICOM code or reason).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from fundgraph.core.errors import VocabularyError
from fundgraph.core.schema import (
    BUILTIN_ENTITY_TYPES,
    ENTITY_REGISTRY,
    EntityRegistry,
    EntityType,
    using_registry,
)
from fundgraph.loaders.text import CharMap

#: Characters either side of a match searched for a row's ``context`` regex.
CONTEXT_WINDOW = 30

#: Optional file of the vocabulary directory that declares further entity types.
ENTITY_TYPES_FILE = "entity_types.csv"
KEYWORD_GLOSSARY = "keywords_en.csv"
KEYWORD_STOPWORDS = "keyword_stopwords.csv"
STOPWORD_KINDS = ("stop", "generic", "modifier")

_TYPE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_TYPE_REQUIRED = ("key", "label", "plural", "name_zh", "name_en", "plural_en", "color", "vocab_file")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}


def fold_char(c: str) -> str:
    """One character for one: full-width ASCII variants to ASCII, ASCII letters lower-cased."""
    o = ord(c)
    if 0xFF01 <= o <= 0xFF5E:
        c = chr(o - 0xFEE0)
    elif c == "\u3000":
        c = " "
    elif c in "－—–":
        c = "-"
    return c.lower() if c.isascii() else c


def _is_word(c: str) -> bool:
    return c.isascii() and c.isalnum()


#: :func:`fold_char`, then ASCII lower-cased, as one :class:`~fundgraph.loaders.text.CharMap` (every character it
#: changes; the others stay): full-width ASCII variants to lower-case ASCII, the ideographic space to a space,
#: dashes to ``-``, ASCII capitals to small letters.
fold_lower = CharMap({**{o: chr(o - 0xFEE0).lower() for o in range(0xFF01, 0xFF5F)}, 0x3000: " ",
                      ord("—"): "-", ord("–"): "-", **{o: chr(o + 32) for o in range(ord("A"), ord("Z") + 1)}})
_SPACE_RUN = re.compile(r"\s+")


def normalise(text: str) -> tuple[str, list[int]]:
    """Matching form of a text and, for each of its characters, the offset it came from in ``text``.

    Full-width forms fold to ASCII, ASCII is lower-cased, and whitespace is dropped except one space
    between two ASCII letters/digits (the loaders' rule, so ``DNA 存储`` and ``DNA存储`` match alike).
    Folded by :data:`fold_lower` and copied between whitespace runs (a per-character loop was 5 % of the parse pool's
    CPU).
    """
    folded = fold_lower(text)
    n = len(folded)
    out: list[str] = []
    idx: list[int] = []
    i = 0
    for m in _SPACE_RUN.finditer(folded):
        a, b = m.start(), m.end()
        if a > i:
            out.append(folded[i:a])
            idx.extend(range(i, a))
        if a > 0 and _is_word(folded[a - 1]) and b < n and _is_word(folded[b]):
            out.append(" ")
            idx.append(a)
        i = b
    if n > i:
        out.append(folded[i:])
        idx.extend(range(i, n))
    return "".join(out), idx


def norm_term(text: str) -> str:
    """Normalised form of a vocabulary term (the key synonyms are compared by)."""
    return normalise(text.strip())[0]


@dataclass
class VocabEntity:
    """One vocabulary row: an entity with its names, codes, synonyms and matching rules."""

    type: str
    key: str
    name: str
    name_en: str
    synonyms: list[str] = field(default_factory=list)
    context_synonyms: list[str] = field(default_factory=list)
    context: re.Pattern[str] | None = None
    not_before: re.Pattern[str] | None = None
    not_after: re.Pattern[str] | None = None
    codes: dict[str, str] = field(default_factory=dict)
    no_code_reason: str | None = None
    member_of: list[str] = field(default_factory=list)
    is_group: bool = False
    category: str | None = None
    note: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    source_file: str = ""
    line: int = 0

    @property
    def id(self) -> str:
        """Graph id, ``{type}:{key}`` (see :func:`graph.model.entity_id`)."""
        return f"{self.type}:{self.key}"

    @property
    def group_ids(self) -> list[str]:
        """Graph ids of the groups this entity is a member of."""
        return [f"{self.type}:{g}" for g in self.member_of]


@dataclass(frozen=True)
class Term:
    """A surface form that names an entity."""

    text: str  # normalised
    entity_id: str
    conditional: bool  # a context synonym: needs the entity's context regex nearby


@dataclass
class Vocabulary:
    """All vocabularies, indexed for lookup and matching."""

    entities: dict[str, VocabEntity]
    terms: dict[str, Term]
    keyword_glossary: dict[str, str] = field(default_factory=dict)
    #: Reviewed keyword-extraction words (normalised) → kind (``stop`` or ``generic``).
    keyword_stopwords: dict[str, str] = field(default_factory=dict)
    directory: Path | None = None
    #: The entity types read (the built-in ones and those of the directory's ``entity_types.csv``).
    entity_types: tuple[EntityType, ...] = BUILTIN_ENTITY_TYPES
    _automaton: object | None = field(default=None, repr=False)

    def of_type(self, entity_type: str) -> list[VocabEntity]:
        """Entities of one type, in file order."""
        return [e for e in self.entities.values() if e.type == entity_type]

    def lookup(self, text: str) -> VocabEntity | None:
        """The entity a surface form names (any synonym or name, normalised), or None."""
        t = self.terms.get(norm_term(text))
        return self.entities[t.entity_id] if t else None

    def discipline(self, code: str) -> VocabEntity | None:
        """The discipline with this NSFC code, or None."""
        return self.entities.get(f"discipline:{code.strip().upper()}")

    def automaton(self):  # -> ahocorasick.Automaton
        """One Aho–Corasick automaton over every term (value: the term's length), built once.

        Scanning a text reports every occurrence of every term, overlapping ones included
        (:func:`loaders.entities.find_mentions` keeps the longest term starting at each position).
        """
        if self._automaton is None:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for t in self.terms:
                automaton.add_word(t, len(t))
            automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def user_dictionary_words(self) -> list[str]:
        """Chinese surface forms (names and synonyms) for a jieba user dictionary."""
        words: set[str] = set()
        for e in self.entities.values():
            for w in [e.name, *e.synonyms]:
                w = w.strip()
                if len(w) >= 2 and not w.isascii() and " " not in w:
                    words.add(w)
        return sorted(words)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def _regex(value: str | None, where: tuple[Path, int], column: str) -> re.Pattern[str] | None:
    if not value or not value.strip():
        return None
    try:
        return re.compile(value.strip())
    except re.error as e:
        raise VocabularyError(f"column {column}: bad regular expression {value!r} ({e})",
                              path=where[0], line=where[1]) from e


def read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a UTF-8 CSV vocabulary file with their 1-based line numbers (blank rows skipped).

    Raises:
        VocabularyError: the file is missing, not UTF-8, lacks a ``required`` column or has a malformed row.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise VocabularyError("vocabulary file is missing", path=path) from e
    except UnicodeDecodeError as e:
        raise VocabularyError(f"not UTF-8 text ({e.reason})", path=path) from e
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration as e:
        raise VocabularyError("empty file (no header row)", path=path, line=1) from e
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise VocabularyError(f"header lacks column(s) {', '.join(missing)}", path=path, line=1)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise VocabularyError(
                    f"malformed row: {len(values)} fields where the header has {len(header)}",
                    path=path, line=line)
            rows.append((line, {h: v.strip() for h, v in zip(header, values, strict=True)}))
    except csv.Error as e:
        raise VocabularyError(f"malformed CSV ({e})", path=path, line=reader.line_num) from e
    return rows


def _entity(etype: EntityType, path: Path, line: int, row: dict[str, str]) -> VocabEntity:
    key_col = etype.key_column
    where = (path, line)
    key = row[key_col]
    if not key or not _ID_RE.match(key):
        raise VocabularyError(f"malformed row: {key_col} {key!r} is empty or has characters other than "
                              "letters, digits, '.' and '-'", path=path, line=line)
    for col in ("name_zh", "name_en"):
        if not row.get(col):
            raise VocabularyError(f"malformed row: {key_col} {key}: {col} is empty", path=path, line=line)
    is_group_raw = (row.get("is_group") or "").lower()
    if is_group_raw not in _TRUE | _FALSE:
        raise VocabularyError(f"malformed row: is_group must be true or false, not {row.get('is_group')!r}",
                              path=path, line=line)
    code_columns = [c for t in ENTITY_REGISTRY.rows() for c in t.code_systems]
    codes = {c: row[c] for c in dict.fromkeys(code_columns) if row.get(c)}
    if etype.key_column != "id":  # keyed by its code (disciplines: the NSFC code)
        key = key.upper()
        codes = {etype.code_systems[0]: key}
    known = {"id", "code", "name_zh", "name_en", "synonyms", "context_synonyms", "context", "not_before",
             "not_after", "no_code_reason", "member_of", "is_group", "category", "note", *code_columns}
    e = VocabEntity(
        type=etype.key,
        key=key,
        name=row["name_zh"],
        name_en=row["name_en"],
        synonyms=_split(row.get("synonyms")),
        context_synonyms=_split(row.get("context_synonyms")),
        context=_regex(row.get("context"), where, "context"),
        not_before=_regex(f"(?:{row['not_before']})$" if row.get("not_before") else None, where,
                          "not_before"),
        not_after=_regex((row.get("not_after") or "").lstrip("^"), where, "not_after"),
        codes=codes,
        no_code_reason=row.get("no_code_reason") or None,
        member_of=_split(row.get("member_of").replace(";", "|") if row.get("member_of") else None),
        is_group=is_group_raw in _TRUE,
        category=row.get("category") or None,
        note=row.get("note") or None,
        extra={k: v for k, v in row.items() if k not in known and v},
        source_file=str(path),
        line=line,
    )
    if e.context_synonyms and e.context is None:
        raise VocabularyError(f"malformed row: {key}: context_synonyms need a context regex",
                              path=path, line=line)
    required_code = etype.required_code
    if required_code and not e.codes.get(required_code) and not e.no_code_reason:
        raise VocabularyError(f"malformed row: {key}: neither a {required_code} code nor a no_code_reason",
                              path=path, line=line)
    return e


def _flag(value: str, path: Path, line: int, column: str, default: bool) -> bool:
    v = value.strip().lower()
    if not v:
        return default
    if v not in _TRUE | _FALSE:
        raise VocabularyError(f"malformed row: {column} must be true or false, not {value!r}", path=path, line=line)
    return v in _TRUE


def _entity_type(path: Path, line: int, row: dict[str, str]) -> EntityType:
    """One row of ``entity_types.csv`` as a registry row."""
    for col in _TYPE_REQUIRED:
        if not row.get(col):
            raise VocabularyError(f"malformed row: {col} is empty", path=path, line=line)
    if not _TYPE_KEY_RE.match(row["key"]):
        raise VocabularyError(f"malformed row: key {row['key']!r} must be lower-case letters, digits and '_'",
                              path=path, line=line)
    if not _LABEL_RE.match(row["label"]):
        raise VocabularyError(f"malformed row: label {row['label']!r} must be a CamelCase word", path=path, line=line)
    if not _COLOR_RE.match(row["color"]):
        raise VocabularyError(f"malformed row: color {row['color']!r} is not #rrggbb", path=path, line=line)
    try:
        weight = float(row["score_weight"]) if row.get("score_weight") else None
    except ValueError as e:
        raise VocabularyError(f"malformed row: score_weight {row['score_weight']!r} is not a number",
                              path=path, line=line) from e
    return EntityType(
        key=row["key"], label=row["label"], plural=row["plural"], name_zh=row["name_zh"], name_en=row["name_en"],
        plural_en=row["plural_en"], color=row["color"], short_en=row.get("short_en") or "",
        code_systems=tuple(_split(row.get("code_systems"))), required_code=row.get("required_code") or None,
        vocab_file=row["vocab_file"], score_weight=weight,
        lexicon=_flag(row.get("lexicon") or "", path, line, "lexicon", True),
        matrix_menu=_flag(row.get("matrix_menu") or "", path, line, "matrix_menu", True),
        filter_hint=row.get("filter_hint") or "", example=row.get("example") or "",
    )


def vocabulary_entity_types(vocab_dir: Path) -> tuple[EntityType, ...]:
    """The entity types of a vocabulary directory: the built-in rows, then those of its ``entity_types.csv``.

    Raises:
        VocabularyError: a malformed row, or a type whose key, label or plural is taken.
    """
    path = Path(vocab_dir) / ENTITY_TYPES_FILE
    types = list(BUILTIN_ENTITY_TYPES)
    if not path.exists():
        return tuple(types)
    for line, row in read_rows(path, _TYPE_REQUIRED):
        t = _entity_type(path, line, row)
        for other in types:
            for attr in ("key", "label", "plural", "vocab_file"):
                if getattr(other, attr) == getattr(t, attr):
                    raise VocabularyError(f"{attr} {getattr(t, attr)!r} is already entity type {other.key!r}'s",
                                          path=path, line=line)
        types.append(t)
    return tuple(types)


def vocabulary_registry(vocab_dir: Path) -> EntityRegistry:
    """A registry of the entity types of ``vocab_dir`` (built-in ones first) for a build or an app to work under.

    The build and the API make one from the vocabulary directory of their settings (and use it with
    :func:`~fundgraph.core.schema.using_registry`), so a type declared in ``entity_types.csv`` gets its graph
    label, route parameter value, scoring group and dashboard colour there, and nowhere else.

    Raises:
        VocabularyError: as :func:`vocabulary_entity_types`.
    """
    return EntityRegistry(vocabulary_entity_types(vocab_dir))


def load_vocabularies(vocab_dir: Path) -> Vocabulary:
    """Read and validate every vocabulary file of ``vocab_dir`` (its entity types' files too).

    Raises:
        VocabularyError: naming the file and the line of the first problem found.
    """
    vocab_dir = Path(vocab_dir)
    if not vocab_dir.is_dir():
        raise VocabularyError("vocabulary directory does not exist", path=vocab_dir)
    registry = vocabulary_registry(vocab_dir)
    with using_registry(registry):  # a declared type's code columns are read as codes
        return _load_vocabularies(vocab_dir, registry.rows())


def _load_vocabularies(vocab_dir: Path, types: tuple[EntityType, ...]) -> Vocabulary:
    entities: dict[str, VocabEntity] = {}
    terms: dict[str, Term] = {}
    for etype in types:
        if etype.vocab_file is None:
            continue
        path = vocab_dir / etype.vocab_file
        for line, row in read_rows(path, etype.columns):
            e = _entity(etype, path, line, row)
            if e.id in entities:
                first = entities[e.id]
                raise VocabularyError(f"duplicate id {e.key!r} (first defined on line {first.line})",
                                      path=path, line=line)
            entities[e.id] = e
            forms = [(e.name, False), *((s, False) for s in e.synonyms),
                     *((s, True) for s in e.context_synonyms)]
            if not etype.matched_in_text:
                forms = []  # disciplines come from the documents' 学科代码, never from free text
            seen_here: set[str] = set()
            for surface, conditional in forms:
                t = norm_term(surface)
                if not t or t in seen_here:
                    continue
                seen_here.add(t)
                other = terms.get(t)
                if other is not None and other.entity_id != e.id:
                    o = entities[other.entity_id]
                    raise VocabularyError(
                        f"synonym {surface!r} maps to two entities: {e.id} and {o.id} "
                        f"({Path(o.source_file).name} line {o.line})", path=path, line=line)
                terms[t] = Term(t, e.id, conditional)
    for e in entities.values():
        for g in e.group_ids:
            if g not in entities:
                raise VocabularyError(f"{e.key}: member_of names unknown id {g.split(':', 1)[1]!r}",
                                      path=e.source_file, line=e.line)
    glossary = _load_glossary(vocab_dir / KEYWORD_GLOSSARY, terms, entities)
    stopwords = _load_stopwords(vocab_dir / KEYWORD_STOPWORDS)
    return Vocabulary(entities=entities, terms=terms, keyword_glossary=glossary, keyword_stopwords=stopwords,
                      directory=vocab_dir, entity_types=types)


def _load_glossary(path: Path, terms: dict[str, Term], entities: dict[str, VocabEntity]) -> dict[str, str]:
    """Keyword → English name from ``keywords_en.csv`` (absent file: empty)."""
    glossary: dict[str, str] = {}
    first_line: dict[str, int] = {}
    if not path.exists():
        return glossary
    for line, row in read_rows(path, ("zh", "en")):
        if not row["zh"] or not row["en"]:
            raise VocabularyError("malformed row: zh and en are both required", path=path, line=line)
        k = norm_term(row["zh"])
        if k in glossary:
            raise VocabularyError(f"duplicate keyword {row['zh']!r} (first on line {first_line[k]})",
                                  path=path, line=line)
        t = terms.get(k)
        if t is not None:
            raise VocabularyError(
                f"keyword {row['zh']!r} is a vocabulary term of {t.entity_id} and takes its English name "
                f"({entities[t.entity_id].name_en!r}); drop this row", path=path, line=line)
        glossary[k] = row["en"]
        first_line[k] = line
    return glossary


def _load_stopwords(path: Path) -> dict[str, str]:
    """Normalised word → kind from ``keyword_stopwords.csv`` (absent file: empty)."""
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    if not path.exists():
        return out
    for line, row in read_rows(path, ("word", "kind")):
        w = norm_term(row["word"])
        if not w:
            raise VocabularyError("malformed row: word is empty", path=path, line=line)
        if row["kind"] not in STOPWORD_KINDS:
            raise VocabularyError(f"malformed row: kind must be one of {', '.join(STOPWORD_KINDS)}, "
                                  f"not {row['kind']!r}", path=path, line=line)
        if w in out:
            raise VocabularyError(f"duplicate word {row['word']!r} (first on line {first_line[w]})",
                                  path=path, line=line)
        out[w] = row["kind"]
        first_line[w] = line
    return out
