"""English words of a search text → vocabulary entities, by word and by stem (the query side only).

The lexicon (:mod:`fundgraph.embeddings.lexicon`) finds an English name or synonym written out in full
("Alzheimer's disease", "MRI"). A researcher types less, and spells differently: "alzheimer", "tumor imaging",
"cancer", "brain-computer interface", "ultrasound". This module matches such text against the English names
and synonyms of the vocabularies (and the keywords' English names) word by word, after stemming both sides
the same way:

- **phrases**: every English form of an entity is reduced to its stems (British and American spellings
  folded, plurals and -ing/-ed removed, stop words dropped); a run of the query's stems equal to a form names
  the entity (longest first, each query word used once). A form also matches without its generic head word
  (disease, disorder, syndrome, imaging): "alzheimer" → Alzheimer's disease, "ultrasound" → Ultrasound imaging.
- **head words**: a word left over that is the head of several names of one entity type (cancer: gastric
  cancer, lung cancer …; tumour: intracranial tumours, rare tumours …) names their nearest common broader
  entity in the vocabulary hierarchy (恶性肿瘤 Malignant neoplasms, 肿瘤 Neoplasms); none when they share
  none (imaging: MR, ultrasound … have no common group).

Short all-capital abbreviations (PET, MRI, AD) are left to the lexicon, which matches them case-sensitively.
Pure and deterministic: no model, no graph.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Words that carry no meaning of their own in a name or a query.
STOP_WORDS = frozenset(
    "a an and are as at based by for from in into is its of on or the their to using via with".split()
)
#: A phrase of one stem shorter than this is too ambiguous to match on its own.
MIN_STEM = 3

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_PAREN = re.compile(r"\(([^()]*)\)")


def stem(word: str) -> str:
    """A crude, consistent English stem: spelling folded (tumour → tumor, paediatric → pediatric), suffixes cut.

    Both the vocabulary's names and the query go through it, so it only has to map variants together, not to
    produce dictionary words: tumours, tumour, tumor → ``tumor``; imaging, image, images → ``imag``.
    """
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s$", "", w).replace("'", "")
    if len(w) > 4:
        w = re.sub(r"our(s?)$", r"or\1", w)  # tumour(s), behaviour
        w = re.sub(r"(?<=.)ae", "e", w)  # paediatric, haemorrhage, anaemia (not aerosol)
        w = re.sub(r"^oe|(?<=[fh])oe", "e", w)  # oesophageal, oedema, foetal, diarrhoea (not microenvironment)
        w = re.sub(r"is(e|ed|es|ing|ation|ations)$", r"iz\1", w)  # characterisation, analyse
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


#: Head words a name may be given without (as stems): "alzheimer" names Alzheimer's disease.
GENERIC_HEADS = frozenset(stem(w) for w in ("disease", "disorder", "syndrome", "imaging"))


def words(text: str) -> list[tuple[str, str]]:
    """The English words of ``text`` as (stem, word), in order; stop words and non-Latin text left out."""
    t = unicodedata.normalize("NFKC", text).replace("’", "'")
    t = re.sub(r"[-‐-―/_]", " ", t.lower())
    return [(stem(w), w) for w in _WORD.findall(t) if w not in STOP_WORDS]


def forms(name: str) -> list[tuple[str, ...]]:
    """The stem sequences an English name or synonym is matched by.

    The name without its parenthesis, the parenthesis itself when it is an alternative name of two words or more
    ("Foundation models (large models)"), and each of these without a generic head word.
    """
    if not name or not re.search(r"[A-Za-z]", name) or re.search(r"[\u3000-\u9fff\uff00-\uffef]", name):
        return []  # no Latin letters, or Chinese beside them (PET重建 is the lexicon's, not an English name)
    if re.fullmatch(r"[A-Z0-9]{1,4}", name.strip()):
        return []  # PET, MRI, AD: the lexicon matches abbreviations case-sensitively
    texts = [_PAREN.sub(" ", name)]
    texts += [m for m in _PAREN.findall(name) if len(words(m)) >= 2]
    out: list[tuple[str, ...]] = []
    for t in texts:
        seq = tuple(s for s, _ in words(t))
        bare = tuple(s for s in seq if s not in GENERIC_HEADS)
        for f in (seq, bare):
            if f and (len(f) > 1 or len(f[0]) >= MIN_STEM) and f not in out:
                out.append(f)
    return out


@dataclass(frozen=True)
class EnglishName:
    """An entity's English names as the matcher needs them."""

    entity_id: str
    type: str
    names: tuple[str, ...]
    #: Whether its names' head words name a broader entity (vocabulary entities with a hierarchy, not keywords).
    heads: bool = True


@dataclass
class EnglishIndex:
    """Stem sequences → entities, and head stems → entities, built once from the English names."""

    phrases: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    #: head stem → entity type → the entities of that type whose names end in it
    heads: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def build(cls, names: Iterable[EnglishName]) -> EnglishIndex:
        """The index of ``names``."""
        idx = cls()
        for n in names:
            for name in n.names:
                for f in forms(name):
                    idx.phrases.setdefault(f, set()).add(n.entity_id)
                    idx.longest = max(idx.longest, len(f))
                    if n.heads and len(f) > 1:
                        idx.heads.setdefault(f[-1], {}).setdefault(n.type, set()).add(n.entity_id)
        return idx

    def match(self, text: str, parents: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """Entities the English words of ``text`` name → the words that name them (see the module docstring).

        Args:
            text: the search text.
            parents: entity id → its broader entities (MEMBER_OF), for head words.
        """
        ws = words(text)
        stems = [s for s, _ in ws]
        used = [False] * len(ws)
        found: dict[str, str] = {}
        for n in range(min(self.longest, len(ws)), 0, -1):
            for i in range(len(ws) - n + 1):
                if any(used[i : i + n]):
                    continue
                hit = self.phrases.get(tuple(stems[i : i + n]))
                if hit:
                    for eid in sorted(hit):
                        found.setdefault(eid, " ".join(w for _, w in ws[i : i + n]))
                    used[i : i + n] = [True] * n
        for i, (s, w) in enumerate(ws):
            if used[i] or len(s) < MIN_STEM:
                continue
            for _type, named in sorted(self.heads.get(s, {}).items()):
                broader = common_ancestor(sorted(named), parents) if len(named) >= 2 else None
                if broader is not None:
                    found.setdefault(broader, w)
        return found


def common_ancestor(entities: Sequence[str], parents: Mapping[str, Sequence[str]]) -> str | None:
    """The nearest entity every one of ``entities`` is (or is under, through ``parents``); None when none is."""

    def up(e: str) -> dict[str, int]:
        dist, todo = {e: 0}, [e]
        while todo:
            x = todo.pop(0)
            for p in parents.get(x, ()):
                if p not in dist:
                    dist[p] = dist[x] + 1
                    todo.append(p)
        return dist

    ups = [up(e) for e in entities]
    common = set(ups[0]).intersection(*ups[1:]) if ups else set()
    if not common:
        return None
    return min(common, key=lambda c: (max(u[c] for u in ups), c))
