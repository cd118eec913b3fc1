"""One scoring function for both stores: text cosine + rarity-weighted shared entities, with the reason.

A direction is represented by

- its **text vector**: the weighted sum of its field vectors (title > keywords > content > metrics, so the
  title weighs more than the metrics' papers/patents/seminars boilerplate), re-normalised;
- its **entity profile**: entity id → weight, from the entity layer's MENTIONS edges: the field weight
  (title and keywords > content > metrics) × the type weight (disease > modality > technique > keyword);
  boilerplate entities and jieba-*extracted* keywords left out (they are mostly generic words that dilute
  the overlap), then expanded up the vocabularies' hierarchy (MEMBER_OF) with a decayed weight, so that a
  阿尔茨海默病 direction and a 帕金森病 direction share 神经退行性疾病.

``score = text_weight · cos(text) + entity_weight · overlap(entities) · gate(cos(text))`` where the overlap is
the cosine of idf-weighted profiles (idf over directions: a shared 阿尔茨海默病 says more than a shared 大模型)
and ``gate(t) = min(1, t / entity_gate)`` (1 when ``entity_gate`` is 0): shared entities lift a candidate the
text supports, but cannot carry one whose text is unrelated (issue 15: the entity signal overrode the text
for 天元 (三) 元数据治理 and BT-IT 2021 1.3). :func:`combine` is that formula, for scalars and arrays alike.
:func:`rank` ranks candidates for a direction (similar) or for free text (search); the build
(:mod:`fundgraph.embeddings.topk`, every direction at once), the embedded store and the Neo4j store all
score through :func:`rescore`, so they give identical scores.

Ranking never loops over every candidate in Python: one approximate product per query (text vectors, sparse or
dense, and the entity matrix) selects every candidate that may be in the best k (within a proven error margin,
:func:`candidate_margin`), and only those are scored exactly (:func:`rescore`) and explained.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.similarity import idf_profile, profile_overlap, rarity_weights, weighted_overlap
from fundgraph.embeddings.words import WORD_POOL

if TYPE_CHECKING:
    from fundgraph.embeddings.encoders import Encoder
    from fundgraph.embeddings.lexicon import Lexicon

def shared_groups() -> dict[str, str]:
    """Explanation groups: the schema registry's scoring groups (type → plural), in the order the summary names them.

    For the built-in types ``{"disease": "diseases", "modality": "modalities", "technique": "techniques",
    "keyword": "keywords"}``.
    """
    return {t.key: t.plural for t in ENTITY_REGISTRY.scored()}


def type_weights() -> dict[str, float]:
    """Weight of a shared entity by type, from the schema registry (disease > modality > technique > keyword)."""
    return {t.key: float(t.score_weight) for t in ENTITY_REGISTRY.scored() if t.score_weight is not None}



#: Direction fields encoded separately, and how much each counts; ``text`` is the whole direction (every other
#: field joined), encoded as one text.
FIELDS: tuple[str, ...] = ("text", "title", "keywords", "content", "metrics")
#: The fields :data:`FIELDS`' ``text`` joins.
TEXT_PARTS: tuple[str, ...] = ("title", "keywords", "content", "metrics")


@dataclass(frozen=True)
class ScoringConfig:
    """Weights of the combined score (stored with the build so queries are scored the same way)."""

    # text_weight and entity_gate chosen with the learned term weights by 5-fold CV on the graded set (recorded in
    # data/eval/term_weights.json, which a test keeps equal to these; `fundgraph eval similarity` reports the
    # nested-CV figure): shared entities lift a candidate the text supports, the gate keeps them from carrying one
    # it does not (before issue 15: 0.5 / 0.5, no gate).
    text_weight: float = 0.9
    entity_weight: float = 0.1
    # Each field is encoded on its own and normalised, so a short title's words already weigh far more
    # per word than the content's (the title at half the content's weight); metrics weigh least.
    # The whole direction as one text (fields joined): with the learned term weights, better than fields apart
    # (out-of-fold nDCG@5 0.74 against 0.71 for title 0.5, keywords 0.5, content 1, metrics 0.2).
    field_weights: dict[str, float] = field(default_factory=lambda: {"text": 1.0})
    entity_types: tuple[str, ...] = field(default_factory=lambda: tuple(shared_groups()))
    #: Field weights of entity mentions (an entity in the title or keywords is what the direction is about).
    entity_field_weights: dict[str, float] = field(
        default_factory=lambda: {"title": 1.0, "keywords": 1.0, "content": 0.7, "metrics": 0.3}
    )
    #: A shared disease says more than a shared modality, which says more than a shared keyword.
    type_weights: dict[str, float] = field(default_factory=type_weights)
    #: Weight of keywords the entity layer extracted with jieba (not the direction's 关键词); 0 drops them.
    extracted_keyword_weight: float = 0.0
    #: Each step up the MEMBER_OF hierarchy multiplies the weight by this (0: no expansion).
    hierarchy_decay: float = 0.7
    hierarchy_depth: int = 3
    #: Text cosine at which shared entities count in full; below it their weight falls linearly to 0 (0: off).
    entity_gate: float = 0.3
    #: Weight of the word TF-IDF cosine in the mix that re-orders the first pass's best ``word_pool``
    #: (:mod:`fundgraph.embeddings.words`; 0: no mix). Chosen with the gate and the term weights' α on the mixed
    #: lists (term_weights.json), the pool not tuned.
    word_mix: float = 0.4
    word_pool: int = WORD_POOL

    def state(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "text_weight": self.text_weight,
            "entity_weight": self.entity_weight,
            "field_weights": dict(self.field_weights),
            "entity_types": list(self.entity_types),
            "entity_field_weights": dict(self.entity_field_weights),
            "type_weights": dict(self.type_weights),
            "extracted_keyword_weight": self.extracted_keyword_weight,
            "hierarchy_decay": self.hierarchy_decay,
            "hierarchy_depth": self.hierarchy_depth,
            "entity_gate": self.entity_gate,
            "word_mix": self.word_mix,
            "word_pool": self.word_pool,
        }

    def with_(self, **changes: Any) -> ScoringConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

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
            entity_field_weights=dict(state.get("entity_field_weights", d.entity_field_weights)),
            type_weights=dict(state.get("type_weights", d.type_weights)),
            extracted_keyword_weight=float(state.get("extracted_keyword_weight", d.extracted_keyword_weight)),
            hierarchy_decay=float(state.get("hierarchy_decay", d.hierarchy_decay)),
            hierarchy_depth=int(state.get("hierarchy_depth", d.hierarchy_depth)),
            entity_gate=float(state.get("entity_gate", d.entity_gate)),
            word_mix=float(state.get("word_mix", d.word_mix)),
            word_pool=int(state.get("word_pool", d.word_pool)),
        )

    @property
    def lipschitz(self) -> float:
        """How much the combined score can move per unit of error in the text cosine (for selection margins)."""
        return self.text_weight + (self.entity_weight / self.entity_gate if self.entity_gate > 0 else 0.0)


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
        vectors: text vectors (L2-normalised rows; dense, or CSR).
        entities: entity profile (entity id → weight) of each direction, boilerplate already excluded.
        info: entity id → :class:`EntityInfo`.
        idf: entity id → rarity weight over these directions (computed when not given).
        parents: entity id → its broader entities (MEMBER_OF), to expand a free-text query's entities.
        hierarchy_decay: weight factor per step up ``parents`` (the build's :class:`ScoringConfig` value).
        type_weights: entity type → weight, for a free-text query's entities (as in the directions' profiles).
        cited: entity id → how many directions cite it (search suggestions); None: counted over these rows.
        idf_given: ``idf`` and ``cited`` are a whole graph's, of which these rows are some directions (the Neo4j
            store reads them per request): ``idf`` is used as given, even empty, not counted over the rows.
        words: each row's word TF-IDF (:class:`fundgraph.embeddings.words.WordVectoriser`, unit CSR rows) when the
            build kept them: the word mix re-orders a ranking's best by them (None: no mix).
    """

    ids: list[str]
    programs: list[str]
    vectors: vx.TextMatrix
    entities: list[dict[str, float]]
    info: dict[str, EntityInfo]
    idf: dict[str, float] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    hierarchy_decay: float = 0.0
    type_weights: dict[str, float] = field(default_factory=dict)
    cited: dict[str, int] | None = None
    words: sp.csr_matrix | None = None
    idf_given: InitVar[bool] = False

    def __post_init__(self, idf_given: bool) -> None:
        if not (len(self.ids) == len(self.programs) == len(self.entities) == self.vectors.shape[0]):
            raise ValueError("ids, programs, entities and vectors must have one row per direction")
        if self.words is not None and self.words.shape[0] != len(self.ids):
            raise ValueError("words must have one row per direction")
        if not self.idf and not idf_given:
            self.idf = rarity_weights(self.entities)
        self.index = {d: i for i, d in enumerate(self.ids)}
        self.vectors = vx.as_rows(self.vectors) if self.vectors.shape[0] else self.vectors
        self._lock = threading.Lock()
        self._entity_matrix: tuple[sp.csr_matrix, dict[str, int]] | None = None
        self._program_codes: tuple[np.ndarray, dict[str, int]] | None = None
        #: The text vectors and the entity matrix transposed (features × directions, CSR), when a store keeps
        #: them: :meth:`products` then reads only the columns a query has (see there).
        self.transposed: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
        self._keywords: Any = None
        self._text_error: float | None = None
        self._maxima: Any = None

    def with_vectors(self, vectors: vx.TextMatrix) -> Candidates:
        """These candidates with other text vectors (one row per direction), keeping what was made of the profiles.

        The build makes the profiles, their rarity and their entity matrix while the text vectors are still being
        encoded in another process (:func:`graph.build.similarity.add_similarity_layer`).
        """
        out = replace(self, vectors=vectors, idf_given=True)
        out._entity_matrix, out._program_codes = self._entity_matrix, self._program_codes
        return out

    @property
    def entity_matrix(self) -> tuple[sp.csr_matrix, dict[str, int]]:
        """:func:`vectors.entity_matrix` of the profiles (built on first use), and each entity's column."""
        if self._entity_matrix is None:
            with self._lock:
                if self._entity_matrix is None:
                    self._entity_matrix = vx.entity_matrix(self.entities, self.idf)
        return self._entity_matrix

    @property
    def text_error(self) -> float:
        """:func:`vectors.product_error` of :attr:`vectors`, computed once (a pass over every row's length)."""
        if self._text_error is None:
            self._text_error = vx.product_error(self.vectors)
        return self._text_error

    @property
    def program_codes(self) -> tuple[np.ndarray, dict[str, int]]:
        """Each row's program as a number, and the numbers of the programs."""
        if self._program_codes is None:
            names = {p: i for i, p in enumerate(sorted(set(self.programs)))}
            self._program_codes = (np.asarray([names[p] for p in self.programs], dtype=np.int64), names)
        return self._program_codes

    def products(self, query_vector: np.ndarray, query_entities_: Mapping[str, float],
                 features: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
        """Approximate text cosines (float64, clipped to [-1, 1]) and entity overlaps of a query with every row.

        With :attr:`transposed`, each is the query's sparse row times the transposed matrix: only the features
        the query has are read (at 20,000 directions 1.0 ms instead of 1.7 ms for a direction's text vector,
        less for search text); else one product over every row. Both are within :func:`candidate_margin`.
        ``features``: the query's features to read, in increasing order, when the caller has found them (a
        subset of its non-zero ones, the others read as 0), so the dense query is not scanned again.
        """
        n = len(self.ids)
        q = vx.as_query(query_vector)
        ents, _cols = self.entity_matrix
        e = self.entity_query(query_entities_) if ents.shape[1] else None
        if self.transposed is not None and q.shape[0] == self.transposed[0].shape[0]:
            text_t, ents_t = self.transposed
            text = _sparse_row_times(q, text_t, n, features).astype(np.float64)
            ent: Any = 0.0
            if e is not None:
                ent = _sparse_row_times(e, ents_t, n)
                np.minimum(ent, 1.0, out=ent)
        else:
            if features is not None:  # the features not read count as 0
                q = np.zeros_like(q)
                q[features] = vx.as_query(query_vector)[features]
            text = vx.query_products(self.vectors, q).astype(np.float64)
            ent = np.minimum(np.asarray(ents @ e).ravel(), 1.0) if e is not None else 0.0
        return np.clip(text, -1.0, 1.0, out=text), ent

    def pruned_products(
        self, query_vector: np.ndarray, query_entities_: Mapping[str, float], slack: float
    ) -> tuple[np.ndarray, float, Any]:
        """:meth:`products` without the query's lightest text features: (text, spread, entity overlaps).

        The features left out are the lightest whose weight times their largest value in any row sum to at most
        ``slack`` (with :attr:`transposed` and no negative value in the query or the rows; else none): every
        row's cosine is then between ``text`` and ``text + spread`` (each within :attr:`text_error`), and their
        postings, the longest (common features weigh least), are not read.
        """
        q = vx.as_query(query_vector)
        maxima = self._posting_maxima() if slack > 0 else None
        if maxima is not None and q.shape[0] == maxima.shape[0]:
            cols = np.flatnonzero(q)
            weights = q[cols].astype(np.float64)
            if cols.size and weights.min() >= 0:
                bound = weights * maxima[cols]
                order = np.argsort(bound, kind="stable")
                light = order[np.cumsum(bound[order]) <= slack]
                if light.size:
                    # the heavy features, in column order: the postings a copy of q with the light ones zeroed
                    # would read, in the same order (the same sums), without the copy and a second scan of q
                    heavy = np.ones(cols.size, dtype=bool)
                    heavy[light] = False
                    text, ent = self.products(q, query_entities_, cols[heavy])
                    return text, float(bound[light].sum()) * (1 + 1e-9), ent
        text, ent = self.products(query_vector, query_entities_)
        return text, 0.0, ent

    def _posting_maxima(self) -> np.ndarray | None:
        """Each text feature's largest value in any row (float64), when every value is >= 0 (else None); made once."""
        if self._maxima is None:
            with self._lock:
                if self._maxima is None:
                    maxima: Any = False
                    if self.transposed is not None:
                        text_t = self.transposed[0]
                        data, indptr = np.asarray(text_t.data), np.asarray(text_t.indptr)
                        if data.size and float(data.min()) >= 0:
                            maxima = np.zeros(text_t.shape[0], dtype=np.float64)
                            filled = indptr[1:] > indptr[:-1]
                            maxima[filled] = np.maximum.reduceat(data, indptr[:-1][filled])
                    self._maxima = maxima
        return self._maxima if self._maxima is not False else None

    def keywords_in(self, text: str) -> list[str]:
        """The keyword entities (names of 3 characters or more) whose name is in ``text``, case-insensitively.

        In :attr:`info` order; one Aho–Corasick pass over the text (the automaton is made once), not one
        substring test per keyword.
        """
        if self._keywords is None:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for order, (eid, info) in enumerate(self.info.items()):
                if info.type == "keyword" and len(info.name) >= 3:
                    name = info.name.lower()
                    found = automaton.get(name, None)
                    automaton.add_word(name, (*found, (order, eid)) if found else ((order, eid),))
            if len(automaton):
                automaton.make_automaton()
            self._keywords = automaton
        automaton = self._keywords
        if not len(automaton):
            return []
        hits = {hit for _end, hits in automaton.iter(text.lower()) for hit in hits}
        return [eid for _order, eid in sorted(hits)]

    def entity_query(self, profile: Mapping[str, float]) -> np.ndarray:
        """A query's entity profile as a dense row over :attr:`entity_matrix`'s columns (unit length, idf-weighted)."""
        m, columns = self.entity_matrix
        out = np.zeros(m.shape[1], dtype=np.float64)
        for c, x in vx.entity_row(profile, self.idf, columns).items():
            out[c] = x
        return out


def _sparse_row_times(row: np.ndarray, transposed: sp.csr_matrix, n: int,
                      cols: np.ndarray | None = None) -> np.ndarray:
    """``row @ transposed`` as a dense 1-d array: the rows of ``transposed`` the query has, summed into one array.

    Each of those rows (a feature's postings) is added in place, straight from the matrix's own arrays, by scipy's
    compiled column-times-scalar kernel: no copy of the rows, no scipy matrix made per query. The same additions
    in the same order as ``transposed[cols].T @ row[cols]`` (bit-identical), at 100,000 directions 1.0 ms
    instead of 1.9 ms for a search text's ~40 features (~1 M postings); a sparse × sparse product took 3.3 ms,
    ``np.bincount`` over the concatenated postings 6.0 ms, and the product with every row 7.3 ms.
    ``cols``: the features of ``row`` to read (increasing; default its non-zero ones), the others taken as 0.
    """
    cols = np.flatnonzero(row) if cols is None else cols
    out = np.zeros(n, dtype=transposed.dtype)
    if cols.size == 0:
        return out
    indptr, indices, data = transposed.indptr, transposed.indices, transposed.data
    x = row.astype(transposed.dtype, copy=False)
    if (vx.SPARSETOOLS is None or indptr.dtype != indices.dtype
            or not (data.flags.c_contiguous and indices.flags.c_contiguous)):
        return np.asarray(transposed[cols].T @ x[cols], dtype=transposed.dtype).ravel()
    for c in cols.tolist():
        # y[indices[p]] += data[p] * x[c] over the postings p of feature c (one CSC column of one).
        vx.SPARSETOOLS.csc_matvec(n, 1, indptr[c:c + 2], indices, data, x[c:c + 1], out)
    return out


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

    def edge_props(self, groups: Iterable[str] | None = None) -> dict[str, Any]:
        """Flat edge properties (Neo4j stores lists of primitives, not maps).

        ``groups``: ``shared_groups().values()`` when the caller makes many (the build: one per edge).
        """
        props: dict[str, Any] = {
            "score": self.score,
            "text_score": self.text_score,
            "entity_score": self.entity_score,
            "summary": self.summary,
        }
        for group in shared_groups().values() if groups is None else groups:
            props[f"shared_{group}"] = list(self.shared.get(group, []))
        return props


class Neighbour(NamedTuple):
    """A ranked candidate whose explanation was not asked for: a list that only weighs its neighbours.

    The communities' similarity graph reads a direction's neighbours and their scores, nothing of why; an explained
    :class:`Scored` (shared entities by group, a summary) is ~930 bytes, and those lists keep ~1,000,000 pairs at
    100,000 directions, many in no SIMILAR_TO list. ``score`` is the one :class:`Scored` of the same pair has.
    """

    index: int
    id: str
    program_id: str
    score: float


def entity_profile(
    mentions: Sequence[tuple[str, str] | tuple[str, str, bool]],
    entity_types: Sequence[str],
    types: Mapping[str, str],
    field_weights: Mapping[str, float],
    *,
    type_weights: Mapping[str, float] | None = None,
    extracted_weight: float = 1.0,
) -> dict[str, float]:
    """Entity id → weight of its strongest mention, from (entity id, field[, extracted]) mentions.

    A mention weighs its field's weight × its type's weight (× ``extracted_weight`` for a keyword the entity
    layer extracted itself rather than read from the direction's 关键词).
    """
    out: dict[str, float] = {}
    default_fw = min(field_weights.values()) if field_weights else 1.0
    for m in mentions:
        eid, fld = m[0], m[1]
        extracted = bool(m[2]) if len(m) > 2 else False
        t = types.get(eid)
        if t not in entity_types:
            continue
        w = field_weights.get(fld, default_fw) * (type_weights or {}).get(t or "", 1.0)
        if extracted:
            w *= extracted_weight
        if w > 0:
            out[eid] = max(out.get(eid, 0.0), w)
    return out


def expand_hierarchy(
    profile: Mapping[str, float], parents: Mapping[str, Sequence[str]], *, decay: float, depth: int = 3
) -> dict[str, float]:
    """The profile plus each entity's broader entities (MEMBER_OF), at ``decay`` per step up.

    阿尔茨海默病 (1.0) adds 神经退行性疾病 (0.7) and 神经系统疾病 (0.49): a Parkinson's direction then
    shares the group with an Alzheimer's one, at less than the disease itself would weigh. An entity
    already in the profile keeps the larger of its own and its inherited weight.
    """
    out = dict(profile)
    if decay <= 0 or not parents:
        return out
    frontier = list(profile.items())
    for _ in range(depth):
        nxt = []
        for eid, w in frontier:
            for parent in parents.get(eid, ()):
                nw = w * decay
                if nw > out.get(parent, 0.0):
                    out[parent] = nw
                    nxt.append((parent, nw))
        frontier = nxt
    return out


#: Directions encoded at a time by :func:`direction_vectors` with a row-wise encoder: the texts, their feature ids
#: and the encoded fields of every direction at once were most of the early encoding's 3.1 GB at 100,000 directions.
DIRECTION_BLOCK = 4096


def direction_vectors(
    encoder: Encoder,
    fields: Sequence[Mapping[str, str | None]],
    config: ScoringConfig,
    *,
    progress: bool = False,
    block: int = DIRECTION_BLOCK,
) -> vx.TextMatrix:
    """Text vectors of directions: weighted sum of their encoded fields, re-normalised (sparse stays sparse).

    Args:
        encoder: a fitted encoder.
        fields: per direction, field name → text (missing or empty fields are skipped).
        config: field weights.
        progress: show the encoder's progress bar.
        block: directions encoded at a time when the encoder is :attr:`~Encoder.row_wise` (each row is then made
            from its own direction alone, so the blocks stacked are the matrix of all of them at once, bit for bit);
            any other encoder is given every text at once.
    """
    if getattr(encoder, "reads_fields", False):  # the composite encoder weighs the fields itself
        if not fields:
            return vx.empty(0, 0)
        return vx.l2_normalise(vx.as_rows(encoder.encode(list(fields), progress=progress)))  # type: ignore[arg-type]
    step = max(block, 1) if encoder.row_wise else max(len(fields), 1)
    spans: list[tuple[int, int, list[int], list[float]]] = []  # each block sent: its directions, owners, weights

    def texts_by_block() -> Iterator[list[str]]:
        for lo in range(0, len(fields), step):
            chunk = fields[lo : lo + step]
            texts, owners, weights = _field_texts(chunk, config)
            if texts:  # a block without any text is not encoded (its rows stay zero)
                spans.append((lo, lo + len(chunk), owners, weights))
                yield texts

    parts: list[tuple[int, int, vx.TextMatrix]] = []
    dim = 0
    for enc in encoder.encode_blocks(texts_by_block(), progress=progress):
        lo, hi, owners, weights = spans.pop(0)
        enc = vx.as_rows(enc)
        dim = vx.dimension(enc)
        if enc.shape[0]:
            parts.append((lo, hi, vx.l2_normalise(vx.weighted_row_sums(enc, owners, weights, hi - lo))))
        del enc
    return vx.stack_rows(parts, len(fields), dim)


def _field_texts(fields: Sequence[Mapping[str, str | None]], config: ScoringConfig
                 ) -> tuple[list[str], list[int], list[float]]:
    """The texts of ``fields`` that are encoded, each with its direction (an index into ``fields``) and weight."""
    texts: list[str] = []
    owners: list[int] = []
    weights: list[float] = []
    for i, f in enumerate(fields):
        for name in FIELDS:
            t = (f.get(name) or "" if name != "text" else " ".join(f.get(p) or "" for p in TEXT_PARTS)).strip()
            w = config.field_weights.get(name, 0.0)
            if t and w > 0:
                texts.append(t)
                owners.append(i)
                weights.append(w)
    return texts, owners, weights


_ENGLISH: dict[int, tuple[Any, Any, Any]] = {}


def english_index(lexicon: Lexicon, cands: Candidates) -> Any:
    """The :class:`~fundgraph.embeddings.english.EnglishIndex` of the lexicon's terms and the candidates' keywords.

    Built once per (lexicon, candidates) pair (both live as long as the graph a store serves).
    """
    from fundgraph.embeddings.english import EnglishIndex, EnglishName

    hit = _ENGLISH.get(id(lexicon))
    if hit is not None and hit[0] is lexicon and hit[1] is cands.info:
        return hit[2]
    names = [EnglishName(t.entity_id, t.type, (t.name_en, *t.synonyms)) for t in lexicon.terms.values()]
    names += [EnglishName(eid, info.type, (info.name_en,), heads=False) for eid, info in cands.info.items()
              if info.type == "keyword" and info.name_en]
    index = EnglishIndex.build(names)
    if len(_ENGLISH) > 8:
        _ENGLISH.clear()
    _ENGLISH[id(lexicon)] = (lexicon, cands.info, index)
    return index


@dataclass
class QueryTerms:
    """What free text is matched against besides the lexicon, made once per candidate set (:func:`query_terms`).

    Attributes:
        known: entities with a rarity weight or broader entities (the ones a query may name).
        keywords: the candidates' keywords of 3 characters or more, in the order of ``cands.info``, as
            (id, name); ``automaton`` finds their lower-cased names in a text (values: positions in ``keywords``).
    """

    known: frozenset[str]
    keywords: list[tuple[str, str]]
    automaton: Any

    def keywords_in(self, text: str) -> list[tuple[str, str]]:
        """The keywords whose name occurs in ``text`` (case-insensitively), in :attr:`keywords` order."""
        if not self.keywords:
            return []
        rows: set[int] = set()
        for _end, found in self.automaton.iter(text.lower()):
            rows.update(found)
        return [self.keywords[r] for r in sorted(rows)]


_QUERY_TERMS: dict[int, tuple[Any, Any, QueryTerms]] = {}


def query_terms(cands: Candidates) -> QueryTerms:
    """The :class:`QueryTerms` of ``cands``, built once per candidate set.

    One automaton instead of a substring test per keyword (17 ms per query at 20,000 directions).
    """
    hit = _QUERY_TERMS.get(id(cands))
    if hit is not None and hit[0] is cands.info and hit[1] is cands.idf:
        return hit[2]
    import ahocorasick

    keywords = [(eid, info.name) for eid, info in cands.info.items()
                if info.type == "keyword" and len(info.name) >= 3]
    automaton = ahocorasick.Automaton()
    by_name: dict[str, list[int]] = {}
    for row, (_eid, name) in enumerate(keywords):
        by_name.setdefault(name.lower(), []).append(row)
    for name, rows in by_name.items():
        automaton.add_word(name, rows)
    if by_name:
        automaton.make_automaton()
    terms = QueryTerms(frozenset(cands.idf.keys() | cands.parents.keys()), keywords, automaton)
    if len(_QUERY_TERMS) > 8:
        _QUERY_TERMS.clear()
    _QUERY_TERMS[id(cands)] = (cands.info, cands.idf, terms)
    return terms


def query_matches(text: str, lexicon: Lexicon, cands: Candidates) -> dict[str, str]:
    """Entities free text names → the words that name them.

    Vocabulary entities in any surface form (the lexicon), known keywords written in it, and English words
    matched by word and stem against the English names and synonyms (:mod:`fundgraph.embeddings.english`).
    """
    known = cands.idf.keys() | cands.parents.keys()
    found = {e: s for e, s in lexicon.find_surfaces(text).items() if e in known}
    for eid in cands.keywords_in(text):
        found.setdefault(eid, cands.info[eid].name)
    for eid, s in english_index(lexicon, cands).match(text, cands.parents).items():
        if eid in known:
            found.setdefault(eid, s)
    return found


def query_entities(
    text: str, lexicon: Lexicon, cands: Candidates, matches: Mapping[str, str] | None = None
) -> dict[str, float]:
    """Entity profile of free text: the entities it names (:func:`query_matches`, or ``matches``), up the hierarchy."""

    def weight(eid: str) -> float:
        info = cands.info.get(eid) or lexicon.terms.get(eid)
        return cands.type_weights.get(info.type, 1.0) if info is not None else 1.0

    found = {e: weight(e) for e in (query_matches(text, lexicon, cands) if matches is None else matches)}
    expanded = expand_hierarchy(found, cands.parents, decay=cands.hierarchy_decay)
    return {e: w for e, w in expanded.items() if e in cands.idf}


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
    return _explained(e_score, contrib, cands, text_score, config)


def _explained(
    e_score: float, contrib: Mapping[str, float], cands: Candidates, text_score: float, config: ScoringConfig,
    groups: Mapping[str, str] | None = None,
) -> tuple[float, float, dict[str, list[str]], str]:
    """:func:`explain` from the entity overlap and its shares already computed (:func:`similarity.weighted_overlap`).

    ``groups``: :func:`shared_groups`, when the caller explains many pairs.
    """
    groups = shared_groups() if groups is None else groups
    shared: dict[str, list[str]] = {g: [] for g in groups.values()}
    info_by_name: dict[str, EntityInfo] = {}
    for eid in sorted(contrib, key=lambda e: (-contrib[e], e)):
        info = cands.info.get(eid)
        if info is None or info.type not in groups:
            continue
        if info.name not in shared[groups[info.type]]:
            shared[groups[info.type]].append(info.name)
            info_by_name[info.name] = info
    score = combine(text_score, e_score, config)
    return float(score), float(e_score), shared, _summary(shared, info_by_name, text_score, e_score)


def combine(text: Any, entity: Any, config: ScoringConfig) -> Any:
    """The combined score of text cosines and entity overlaps (floats or numpy arrays of the same shape).

    ``text_weight · text + entity_weight · entity · gate(text)``, ``gate(t) = clip(t / entity_gate, 0, 1)``
    (1 when ``entity_gate`` is 0). The one formula: :func:`rank`, :func:`rescore` and the blocked top k
    (:mod:`fundgraph.embeddings.topk`) all call it.
    """
    if isinstance(text, float) and isinstance(entity, float):
        # one pair (rescore's loop): plain float arithmetic, the same IEEE operations as numpy's, without
        # numpy's per-call overhead on scalars (a third of the re-scoring's time at 20,000 directions)
        if config.entity_gate > 0:
            entity = entity * min(max(text / config.entity_gate, 0.0), 1.0)
        return config.text_weight * text + config.entity_weight * entity
    if config.entity_gate > 0:
        entity = entity * np.clip(np.asarray(text, dtype=np.float64) / config.entity_gate, 0.0, 1.0)
    out = config.text_weight * text + config.entity_weight * entity
    return float(out) if np.ndim(out) == 0 else out


def candidate_margin(vectors: vx.TextMatrix, config: ScoringConfig, *, error: float | None = None) -> float:
    """How far below the k-th best approximate score a candidate may be and still belong in the best k.

    The approximate combined score of a pair is within ``δ = L · product_error + 1e-6`` of its exact, rounded
    score (float32 text products, float64 entity products, two roundings to 6 decimals), where ``L`` is
    :attr:`ScoringConfig.lipschitz` (``text_weight``, plus ``entity_weight / entity_gate`` with the gate on);
    a candidate in the exact best k is within 2δ of the approximate k-th best. 1e-5 is added for safety.
    ``error``: ``product_error(vectors)`` when already known (:attr:`Candidates.text_error`).
    """
    error = vx.product_error(vectors) if error is None else error
    return 2 * (config.lipschitz * error + 1e-6) + 1e-5


def rescore(
    query_vector: np.ndarray | None,
    query_entities_: Mapping[str, float],
    cols: Sequence[int] | np.ndarray,
    cands: Candidates,
    config: ScoringConfig,
    *,
    k: int | None = None,
    threshold: float | None = None,
    text: Sequence[float] | np.ndarray | None = None,
) -> list[Scored]:
    """Exact scores, order and explanations of the candidates ``cols`` (the few an approximate pass kept).

    The text score is :func:`vectors.cosines` rounded to 6 decimals, the entity score
    :func:`similarity.weighted_overlap`; ties are broken by direction id, so every store returns the same
    order. With a ``threshold``, the list stops where a score drops below it. ``text``: those cosines when a
    batch already computed them with the same arithmetic (:func:`embeddings.topk.pair_cosines`).
    """
    cols = np.asarray(cols, dtype=np.int64)
    text = vx.cosines(cands.vectors, cols, query_vector) if text is None else np.asarray(text)
    (out,) = rescore_selections(query_entities_, cols, text, cands, config, [(None, k, threshold)])
    return out


def rescore_selections(
    query_entities_: Mapping[str, float],
    cols: np.ndarray,
    text: Sequence[float] | np.ndarray,
    cands: Candidates,
    config: ScoringConfig,
    picks: Sequence[tuple[np.ndarray | None, int | None, float | None]],
    profiles: Sequence[tuple[dict[str, float], float]] | None = None,
    explained: Sequence[bool] | None = None,
) -> list[list[Scored | Neighbour]]:
    """:func:`rescore` of several selections of one query's candidates, each pair scored and explained once.

    ``cols``: the union of the selections' candidates, ``text`` their exact cosines. ``picks``: per selection,
    (its candidates, a subset of ``cols``, or None for all; ``k``; ``threshold``). Every pair is scored once, and
    explained once however many lists keep it: a selection's list is the same sorted list filtered to its
    candidates, so each equals :func:`rescore` of that selection alone. ``profiles``: every candidate's
    :func:`similarity.idf_profile` when already computed (the build ranks every row: once each, not per pair).
    ``explained``: per selection, whether its items are explained (:class:`Scored`, the default) or only
    scored (:class:`Neighbour`, the same score).
    """
    va, na = idf_profile(query_entities_, cands.idf)
    idf = cands.idf
    scored: list[tuple[float, str, int, float, float, dict[str, float]]] = []
    # A profile object given for several rows (identical profiles) is overlapped with the query once.
    overlaps: dict[int, tuple[Any, tuple[float, dict[str, float]]]] = {}
    # Rows that make their rarity-weighted profile themselves (the embedded store's, from its matrix) are asked to.
    row_profile = getattr(cands.entities, "idf_profile", None)
    for j, tj in zip(cols.tolist(), np.asarray(text).tolist(), strict=True):
        t = round(tj, 6)
        if profiles is None:
            e_score, contrib = profile_overlap(
                va, na, *(row_profile(j, idf) if row_profile is not None else idf_profile(cands.entities[j], idf)))
        else:
            profile = profiles[j]
            seen = overlaps.get(id(profile))
            if seen is None or seen[0] is not profile:
                seen = overlaps[id(profile)] = (profile, profile_overlap(va, na, *profile))
            e_score, contrib = seen[1]
        scored.append((round(combine(t, e_score, config), 6), cands.ids[j], j, t, e_score, contrib))
    scored.sort(key=lambda s: (-s[0], s[1]))
    made: dict[int, Scored] = {}
    lists: list[list[Any]] = []
    groups = shared_groups()
    for p_no, (subset, k, threshold) in enumerate(picks):
        allowed = None if subset is None or subset.size == cols.size else set(np.asarray(subset).tolist())
        out: list[Any] = []
        if explained is not None and not explained[p_no]:
            # The sort key is the score an explained item gets: round(combine(t, e), 6) either way.
            for score, did, j, _t, _e, _contrib in scored:
                if (k is not None and len(out) >= k) or (threshold is not None and score < threshold):
                    break
                if allowed is None or j in allowed:
                    out.append(Neighbour(j, did, cands.programs[j], score))
            lists.append(out)
            continue
        for _score, did, j, t, e_score, contrib in scored:
            if k is not None and len(out) >= k:
                break
            if allowed is not None and j not in allowed:
                continue
            s = made.get(j)
            if s is None:
                full, e, shared, summary = _explained(e_score, contrib, cands, t, config, groups)
                s = made[j] = Scored(j, did, cands.programs[j], round(full, 6), t, round(e, 6), shared, summary)
            if threshold is not None and s.score < threshold:
                break
            out.append(s)
        lists.append(out)
    return lists


def rank(
    query_vector: np.ndarray | vx.TextMatrix,
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

    One approximate product of the query with every candidate (text and entities) selects those that may be in
    the best ``k``; only they are scored exactly and explained (:func:`rescore`).

    Args:
        query_vector: the query's text vector (unit length; dense, or a one-row sparse matrix).
        query_entities_: the query's entity profile.
        cands: candidate directions.
        config: weights.
        k: keep the best k (all when None).
        exclude: row of the query direction itself (never its own neighbour).
        exclude_program: skip candidates of this program (cross-program similarity).
        programs: only candidates of these programs.

    Ties are broken by direction id, so every store returns the same order.
    """
    n = len(cands.ids)
    if n == 0:
        return []
    q = vx.as_query(query_vector)
    text, ent = cands.products(q, query_entities_)
    scores = combine(text, ent, config)
    codes, names = cands.program_codes
    if exclude is not None and 0 <= exclude < n:
        scores[exclude] = -np.inf
    if exclude_program is not None and exclude_program in names:
        scores[codes == names[exclude_program]] = -np.inf
    if programs is not None:
        allowed = np.isin(codes, [names[p] for p in programs if p in names])
        scores[~allowed] = -np.inf
    keep = vx.selection_mask(scores, k, margin=candidate_margin(cands.vectors, config, error=cands.text_error))[0]
    return rescore(q, query_entities_, np.flatnonzero(keep), cands, config, k=k)


def score_matrix(cands: Candidates, config: ScoringConfig) -> np.ndarray:
    """Combined scores of every pair of candidates (the diagonal is each direction with itself); small inputs only."""
    n = len(cands.ids)
    m = np.zeros((n, n), dtype=np.float64)
    every = np.arange(n)
    for i in range(n):
        text = vx.cosines(cands.vectors, every, vx.dense_row(cands.vectors, i))
        for j in range(n):
            e, _ = weighted_overlap(cands.entities[i], cands.entities[j], cands.idf)
            m[i, j] = combine(round(float(text[j]), 6), e, config)
    return m
