"""English titles of directions and sections: ``titles_en.csv`` (columns ``id``, ``zh``, ``en``).

Each row names a Direction or Section id, the Chinese title it translates exactly as parsed (``zh``), and
the English title (``en``). ``zh`` is what keeps a translation honest: when a document is edited and a
direction's parsed title changes, its row no longer matches and :func:`match_titles` reports it as stale
instead of attaching the old English to the new text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fundgraph.core.errors import VocabularyError
from fundgraph.loaders.vocab import read_rows

#: File name of the title translations in the vocabulary directory.
TITLES_FILE = "titles_en.csv"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")
#: CJK ideographs: an English title holding one has its columns swapped or is not translated.
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class TitleTranslation:
    """One row: the English title of the node ``id`` whose Chinese title is ``zh``."""

    id: str
    zh: str
    en: str
    line: int


@dataclass
class TitleTranslations:
    """All rows of a ``titles_en.csv``, by id."""

    rows: dict[str, TitleTranslation] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class TitleMatch:
    """What :func:`match_titles` attaches and what it leaves out."""

    #: Node id → English title, for rows whose ``zh`` equals the parsed title.
    english: dict[str, str] = field(default_factory=dict)
    #: Ids whose row translates a different Chinese title than the one parsed (not attached).
    stale: list[str] = field(default_factory=list)
    #: Parsed ids without a row.
    untranslated: list[str] = field(default_factory=list)

    def report(self, path: Path | None) -> dict[str, object]:
        """A JSON-able summary for the build's meta."""
        return {"file": path.name if path else None, "attached": len(self.english), "stale": list(self.stale),
                "untranslated": len(self.untranslated)}


def load_title_translations(path: Path) -> TitleTranslations:
    """Read and validate a ``titles_en.csv`` (an absent file has no rows).

    Raises:
        VocabularyError: naming the file and the line of a malformed row (an empty or malformed id, an
            empty ``zh`` or ``en``, Chinese in ``en``) or of a duplicate id.
    """
    path = Path(path)
    out = TitleTranslations(path=path)
    if not path.exists():
        return out
    for line, row in read_rows(path, ("id", "zh", "en")):
        tid, zh, en = row["id"], row["zh"], row["en"]
        if not tid or not _ID_RE.match(tid):
            raise VocabularyError(f"malformed row: id {tid!r} is empty or has characters other than letters, "
                                  "digits, '.', ':', '_' and '-'", path=path, line=line)
        if not zh or not en:
            raise VocabularyError(f"malformed row: {tid}: zh and en are both required", path=path, line=line)
        if _CJK_RE.search(en):
            raise VocabularyError(f"malformed row: {tid}: en {en!r} has Chinese characters", path=path,
                                  line=line)
        first = out.rows.get(tid)
        if first is not None:
            raise VocabularyError(f"duplicate id {tid!r} (first on line {first.line})", path=path, line=line)
        out.rows[tid] = TitleTranslation(id=tid, zh=zh, en=en, line=line)
    return out


def match_titles(titles: TitleTranslations, parsed: Iterable[tuple[str, str]]) -> TitleMatch:
    """English titles for parsed ``(id, Chinese title)`` pairs, attached only where ``zh`` matches exactly.

    Args:
        titles: the loaded translations.
        parsed: every direction's and section's id with its title as parsed.
    """
    match = TitleMatch()
    for node_id, zh in parsed:
        row = titles.rows.get(node_id)
        if row is None:
            match.untranslated.append(node_id)
        elif row.zh != zh.strip():
            match.stale.append(node_id)
        else:
            match.english[node_id] = row.en
    return match
