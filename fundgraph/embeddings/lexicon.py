"""Surface forms → canonical terms: vocabulary names, synonyms and English names, plus a small glossary.

The lexicon serves two purposes that must agree between documents and queries:

- **normalisation** before tokenising: every known surface form (阿尔兹海默病, AD, "Alzheimer's disease",
  MRI, 核磁共振 …) is replaced by its entity's canonical Chinese name, so that a document and an English
  query meet on the same token;
- **entity detection** in free text (a pasted abstract has no MENTIONS edges): :meth:`Lexicon.find_entities`.

It is plain data (JSON-able through :meth:`Lexicon.state`), built from the vocabularies by the graph layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fundgraph.embeddings.glossary import EN_GLOSSARY


@dataclass(frozen=True)
class Term:
    """One vocabulary entity as the lexicon knows it."""

    entity_id: str
    type: str
    name: str
    name_en: str = ""
    synonyms: tuple[str, ...] = ()


def _is_ascii_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9'’\-/ .+]*", text))


def _variants(surface: str) -> set[str]:
    """English spelling variants: Alzheimer's / Alzheimer’s / Alzheimer / Alzheimers."""
    out = {surface}
    if re.search(r"['’]s\b", surface):
        out.add(re.sub(r"['’]s\b", "", surface))
        out.add(re.sub(r"['’]s\b", "s", surface))
        out.add(surface.replace("'", "’"))
        out.add(surface.replace("’", "'"))
    if "-" in surface:
        out.add(surface.replace("-", " "))
    return {v.strip() for v in out if v.strip()}


@dataclass
class Lexicon:
    """Surface forms mapped to canonical text, and the entities behind them.

    Attributes:
        terms: entity id → :class:`Term`.
        surfaces: surface form → canonical text (an entity's Chinese name, or a glossary translation).
        surface_entity: surface form → entity id (glossary words have none).
    """

    terms: dict[str, Term] = field(default_factory=dict)
    surfaces: dict[str, str] = field(default_factory=dict)
    surface_entity: dict[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _lower: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    # -- construction --------------------------------------------------------------------------------------
    @classmethod
    def from_terms(
        cls, terms: Iterable[Term], *, glossary: dict[str, str] | None = None, min_ascii_len: int = 2
    ) -> Lexicon:
        """Build from vocabulary terms; the English glossary (generic research words) is added unless ``{}``.

        An ASCII surface shorter than ``min_ascii_len`` is ignored (one letter is never unambiguous).
        When two entities claim the same surface form, the first keeps it (the vocabularies' loader
        already refuses ambiguous synonyms, so this only guards against variants colliding).
        """
        lex = cls()
        for t in terms:
            lex.terms[t.entity_id] = t
            for s in (t.name, t.name_en, *t.synonyms):
                if not s or not s.strip():
                    continue
                for v in _variants(s.strip()):
                    if _is_ascii_word(v) and len(v) < min_ascii_len:
                        continue
                    if v in lex.surfaces:
                        continue
                    lex.surfaces[v] = t.name
                    lex.surface_entity[v] = t.entity_id
        for en, zh in (EN_GLOSSARY if glossary is None else glossary).items():
            lex.surfaces.setdefault(en, zh)
        return lex

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Lexicon:
        """Rebuild from :meth:`state`."""
        lex = cls()
        for row in state.get("terms", []):
            t = Term(
                row["entity_id"],
                row["type"],
                row["name"],
                row.get("name_en") or "",
                tuple(row.get("synonyms") or ()),
            )
            lex.terms[t.entity_id] = t
        lex.surfaces = dict(state.get("surfaces", {}))
        lex.surface_entity = dict(state.get("surface_entity", {}))
        return lex

    def state(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "terms": [
                {
                    "entity_id": t.entity_id,
                    "type": t.type,
                    "name": t.name,
                    "name_en": t.name_en,
                    "synonyms": list(t.synonyms),
                }
                for t in self.terms.values()
            ],
            "surfaces": dict(self.surfaces),
            "surface_entity": dict(self.surface_entity),
        }

    # -- use ------------------------------------------------------------------------------------------------
    @property
    def canonical_words(self) -> list[str]:
        """Every canonical text, for a tokeniser's user dictionary."""
        return sorted(set(self.surfaces.values()))

    def _regex(self) -> re.Pattern[str]:
        if self._pattern is None:
            parts: list[str] = []
            for s in sorted(self.surfaces, key=lambda x: (-len(x), x)):
                esc = re.escape(s)
                if _is_ascii_word(s):
                    # Short upper-case abbreviations (AD, MR, CT, PET) match case-sensitively; longer
                    # English words and phrases match in any case. Both only as whole words.
                    body = esc if (s.isupper() and len(s) <= 4) else f"(?i:{esc})"
                    parts.append(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])")
                else:
                    parts.append(esc)
            self._pattern = re.compile("|".join(parts)) if parts else re.compile(r"(?!x)x")
        return self._pattern

    def _lookup(self, matched: str) -> str | None:
        if matched in self.surfaces:
            return matched
        if self._lower is None:
            self._lower = {}
            for s in sorted(self.surfaces, key=len):
                self._lower.setdefault(s.lower(), s)
        return self._lower.get(matched.lower())

    def normalise(self, text: str) -> str:
        """Replace every known surface form by its canonical text, space-separated."""

        def repl(m: re.Match[str]) -> str:
            key = self._lookup(m.group(0))
            return f" {self.surfaces[key]} " if key is not None else m.group(0)

        return self._regex().sub(repl, text)

    def find_surfaces(self, text: str) -> dict[str, str]:
        """Entity ids named in ``text`` → the first surface form that names each, as written in the text."""
        found: dict[str, str] = {}
        for m in self._regex().finditer(text):
            key = self._lookup(m.group(0))
            eid = self.surface_entity.get(key) if key is not None else None
            if eid is not None:
                found.setdefault(eid, m.group(0))
        return found

    def find_entities(self, text: str) -> dict[str, int]:
        """Entity ids named in ``text`` (any surface form, Chinese or English), with their counts."""
        found: dict[str, int] = {}
        for m in self._regex().finditer(text):
            key = self._lookup(m.group(0))
            if key is None:
                continue
            eid = self.surface_entity.get(key)
            if eid is not None:
                found[eid] = found.get(eid, 0) + 1
        return found
