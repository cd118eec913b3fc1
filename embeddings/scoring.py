"""One scoring function for both stores: text cosine + rarity-weighted shared entities, with the reason.

A direction is represented by

- its **text vector**: the weighted sum of its field vectors (title > keywords > content > metrics, so the
  title weighs more than the metrics' papers/patents/seminars boilerplate), re-normalised;
- its **entity profile**: entity id → field weight, from the entity layer's MENTIONS edges, boilerplate
  entities excluded.

``score = text_weight · cos(text) + entity_weight · overlap(entities)`` where the overlap is the cosine of
idf-weighted profiles (idf over directions: a shared 阿尔茨海默病 says more than a shared 大模型).
:func:`rank` ranks candidates for a direction (similar) or for free text (search); the build, the
embedded store and the Neo4j store all call it, so they give identical scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.encoders import l2_normalise
from embeddings.similarity import rarity_weights, weighted_overlap

if TYPE_CHECKING:
    from embeddings.encoders import Encoder
    from embeddings.lexicon import Lexicon

#: Explanation groups, in the order the summary names them.
SHARED_GROUPS: dict[str, str] = {
    "disease": "diseases",
    "modality": "modalities",
    "technique": "techniques",
    "keyword": "keywords",
}

#: Direction fields encoded separately, and how much each counts.
FIELDS: tuple[str, ...] = ("title", "keywords", "content", "metrics")


@dataclass(frozen=True)
class ScoringConfig:
    """Weights of the combined score (stored with the build so queries are scored the same way)."""

    text_weight: float = 0.6
    entity_weight: float = 0.4
    # Each field is encoded on its own and normalised, so a short title's words already weigh far more
    # per word than the content's; metrics (papers, patents, seminars) weigh least.
    field_weights: dict[str, float] = field(
        default_factory=lambda: {"title": 0.5, "keywords": 0.5, "content": 1.0, "metrics": 0.3}
    )
    entity_types: tuple[str, ...] = tuple(SHARED_GROUPS)

    def state(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "text_weight": self.text_weight,
            "entity_weight": self.entity_weight,
            "field_weights": dict(self.field_weights),
            "entity_types": list(self.entity_types),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> ScoringConfig:
        """Rebuild from :meth:`state` (defaults where absent)."""
        if not state:
            return cls()
        d = cls()
        return cls(
            text_weight=float(state.get("text_weight", d.text_weight)),
            entity_weight=float(state.get("entity_weight", d.entity_weight)),
            field_weights=dict(state.get("field_weights", d.field_weights)),
            entity_types=tuple(state.get("entity_types", d.entity_types)),
        )


@dataclass(frozen=True)
class EntityInfo:
    """What the explanation needs to name an entity."""

    id: str
    type: str
    name: str
    name_en: str = ""


@dataclass
class Candidates:
    """Everything :func:`rank` needs about the candidate directions (each store supplies its own).

    Attributes:
        ids: direction ids, in row order of ``vectors``.
        programs: program id of each direction.
        vectors: text vectors (L2-normalised rows).
        entities: entity profile (entity id → weight) of each direction, boilerplate already excluded.
        info: entity id → :class:`EntityInfo`.
        idf: entity id → rarity weight over these directions (computed when not given).
    """

    ids: list[str]
    programs: list[str]
    vectors: np.ndarray
    entities: list[dict[str, float]]
    info: dict[str, EntityInfo]
    idf: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.programs) == len(self.entities) == self.vectors.shape[0]):
            raise ValueError("ids, programs, entities and vectors must have one row per direction")
        if not self.idf:
            self.idf = rarity_weights(self.entities)
        self.index = {d: i for i, d in enumerate(self.ids)}


@dataclass
class Scored:
    """One ranked candidate and why."""

    index: int
    id: str
    program_id: str
    score: float
    text_score: float
    entity_score: float
    shared: dict[str, list[str]]
    summary: str

    def explanation(self) -> dict[str, Any]:
        """The fields of ``graph.views.Explanation``."""
        return {
            "text_score": self.text_score,
            "entity_score": self.entity_score,
            "shared": {k: list(v) for k, v in self.shared.items()},
            "summary": self.summary,
        }

    def edge_props(self) -> dict[str, Any]:
        """Flat edge properties (Neo4j stores lists of primitives, not maps)."""
        props: dict[str, Any] = {
            "score": self.score,
            "text_score": self.text_score,
            "entity_score": self.entity_score,
            "summary": self.summary,
        }
        for group in SHARED_GROUPS.values():
            props[f"shared_{group}"] = list(self.shared.get(group, []))
        return props


def entity_profile(
    mentions: Sequence[tuple[str, str]],
    entity_types: Sequence[str],
    types: Mapping[str, str],
    field_weights: Mapping[str, float],
) -> dict[str, float]:
    """Entity id → weight of its strongest field, from (entity id, field) mentions of one direction."""
    out: dict[str, float] = {}
    for eid, fld in mentions:
        if types.get(eid) not in entity_types:
            continue
        w = field_weights.get(fld, min(field_weights.values()) if field_weights else 1.0)
        out[eid] = max(out.get(eid, 0.0), w)
    return out


def direction_vectors(
    encoder: Encoder,
    fields: Sequence[Mapping[str, str | None]],
    config: ScoringConfig,
    *,
    progress: bool = False,
) -> np.ndarray:
    """Text vectors of directions: weighted sum of their encoded fields, re-normalised.

    Args:
        encoder: a fitted encoder.
        fields: per direction, field name → text (missing or empty fields are skipped).
        config: field weights.
        progress: show the encoder's progress bar.
    """
    texts: list[str] = []
    where: list[tuple[int, float]] = []
    for i, f in enumerate(fields):
        for name in FIELDS:
            t = (f.get(name) or "").strip()
            w = config.field_weights.get(name, 0.0)
            if t and w > 0:
                texts.append(t)
                where.append((i, w))
    enc = encoder.encode(texts, progress=progress)
    dim = enc.shape[1] if enc.ndim == 2 and enc.shape[0] else 0
    out = np.zeros((len(fields), dim), dtype=np.float32)
    for (i, w), v in zip(where, enc, strict=True):
        out[i] += w * v
    return l2_normalise(out) if len(fields) else out


def query_entities(text: str, lexicon: Lexicon, cands: Candidates) -> dict[str, float]:
    """Entity profile of free text: vocabulary entities in any surface form, and known keywords in it."""
    found = {e: 1.0 for e in lexicon.find_entities(text) if e in cands.idf}
    low = text.lower()
    for eid, info in cands.info.items():
        if info.type == "keyword" and eid not in found and len(info.name) >= 3 and info.name.lower() in low:
            found[eid] = 1.0
    return found


def _summary(
    shared: dict[str, list[str]], info_by_name: dict[str, EntityInfo], text_score: float, entity_score: float
) -> str:
    parts = []
    for group, names in shared.items():
        if not names:
            continue
        shown = []
        for n in names[:4]:
            en = info_by_name.get(n)
            shown.append(f"{n} ({en.name_en})" if en and en.name_en and en.name_en != n else n)
        parts.append(f"{group}: {', '.join(shown)}")
    head = "Shares " + "; ".join(parts) if parts else "No shared entities"
    return f"{head}. Text similarity {text_score:.2f}, entity overlap {entity_score:.2f}."


def explain(
    query_entities_: Mapping[str, float],
    cand_entities: Mapping[str, float],
    cands: Candidates,
    text_score: float,
    config: ScoringConfig,
) -> tuple[float, float, dict[str, list[str]], str]:
    """Combined score, entity score, shared entity names by group (strongest first), and a summary."""
    e_score, contrib = weighted_overlap(query_entities_, cand_entities, cands.idf)
    shared: dict[str, list[str]] = {g: [] for g in SHARED_GROUPS.values()}
    info_by_name: dict[str, EntityInfo] = {}
    for eid in sorted(contrib, key=lambda e: (-contrib[e], e)):
        info = cands.info.get(eid)
        if info is None or info.type not in SHARED_GROUPS:
            continue
        if info.name not in shared[SHARED_GROUPS[info.type]]:
            shared[SHARED_GROUPS[info.type]].append(info.name)
            info_by_name[info.name] = info
    score = config.text_weight * text_score + config.entity_weight * e_score
    return float(score), float(e_score), shared, _summary(shared, info_by_name, text_score, e_score)


def rank(
    query_vector: np.ndarray,
    query_entities_: Mapping[str, float],
    cands: Candidates,
    *,
    config: ScoringConfig,
    k: int | None = None,
    exclude: int | None = None,
    exclude_program: str | None = None,
    programs: Sequence[str] | None = None,
) -> list[Scored]:
    """Candidates ranked against a query (a direction or free text), best first.

    Args:
        query_vector: the query's text vector (unit length).
        query_entities_: the query's entity profile.
        cands: candidate directions.
        config: weights.
        k: keep the best k (all when None).
        exclude: row of the query direction itself (never its own neighbour).
        exclude_program: skip candidates of this program (cross-program similarity).
        programs: only candidates of these programs.

    Ties are broken by direction id, so every store returns the same order.
    """
    q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    if cands.vectors.shape[0] == 0:
        return []
    text = (
        np.clip(cands.vectors @ q, -1.0, 1.0)
        if q.shape[0] == cands.vectors.shape[1]
        else np.zeros(cands.vectors.shape[0], dtype=np.float32)
    )
    allowed = set(programs) if programs is not None else None
    out: list[Scored] = []
    for i, did in enumerate(cands.ids):
        if i == exclude:
            continue
        p = cands.programs[i]
        if (exclude_program is not None and p == exclude_program) or (
            allowed is not None and p not in allowed
        ):
            continue
        t = round(float(text[i]), 6)
        score, e, shared, summary = explain(query_entities_, cands.entities[i], cands, t, config)
        out.append(Scored(i, did, p, round(score, 6), t, round(e, 6), shared, summary))
    out.sort(key=lambda s: (-s.score, s.id))
    return out if k is None else out[:k]


def score_matrix(cands: Candidates, config: ScoringConfig) -> np.ndarray:
    """Combined scores of every pair of candidates (the diagonal is each direction with itself)."""
    text = (
        np.clip(cands.vectors @ cands.vectors.T, -1.0, 1.0)
        if cands.vectors.size
        else np.zeros((len(cands.ids), len(cands.ids)), dtype=np.float32)
    )
    n = len(cands.ids)
    m = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(n):
            e, _ = weighted_overlap(cands.entities[i], cands.entities[j], cands.idf)
            m[i, j] = config.text_weight * round(float(text[i, j]), 6) + config.entity_weight * e
    return m
