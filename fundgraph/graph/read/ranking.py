"""What both stores rank ``similar`` and ``search`` with, besides the candidates: one build's parameters.

The scoring configuration, the SIMILAR_TO threshold, the calibration (score → confidence) and the query encoder
are rebuilt from what the build recorded (its meta and encoder state), so a store ranks, and states confidence,
exactly as the build that it serves did.

The answer of ``similar`` (both stores, :meth:`RankingContext.similar`): a direction whose best candidate in
*other* programs stays below the SIMILAR_TO threshold has no related direction in other programs
(``no_related``, with :data:`NO_RELATED`). In scope ``cross-program`` its list is then empty rather than a list
of weak ones; in scope ``all`` (asked for the same program's neighbours too) the list stays, and
``no_related`` still says that nothing in another program reaches the threshold.

The order of ``similar`` and ``search``: the first pass (the combined score) picks and orders the candidates;
when the build kept word vectors (:mod:`fundgraph.embeddings.words`), its best ``word_pool`` are re-ordered by
the word mix (:meth:`RankingContext.mixed`). Scores, confidence, ``no_related`` and SIMILAR_TO edges stay the
first pass's: a mixed list can show a lower score above a higher one. A build stores each direction's first-pass
pool across programs and its mixed order, so ``similar`` (cross-program, k up to the pool) ranks no direction at
query time: both stores re-score the first k of the stored order (:meth:`RankingContext.ordered`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pydantic_core

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.calibration import Calibration, calibration_for
from fundgraph.embeddings.encoders import QueryEncoder
from fundgraph.embeddings.scoring import Candidates, Scored, ScoringConfig, rank, rescore, shared_groups
from fundgraph.embeddings.words import WordVectoriser, mix_order, word_cosines
from fundgraph.graph.read import models

#: What ``similar`` says of a direction with nothing related in other programs (Chinese first, English beside).
NO_RELATED = "其他项目中无相关方向 / No related direction in other programs"


def build_param(meta: dict[str, Any] | None, encoder_state: dict[str, Any] | None, name: str, default: Any) -> Any:
    """A similarity parameter recorded by the build: in its meta, meta.similarity, or the encoder state."""
    meta = meta or {}
    for where in (meta, meta.get("similarity") or {}, encoder_state or {}):
        if isinstance(where, dict) and where.get(name) is not None:
            return where[name]
    return default


class RankingContext:
    """One build's scoring configuration, SIMILAR_TO threshold and query encoder.

    Args:
        meta: the build's meta.
        encoder_state: the build's encoder state.
    """

    def __init__(self, meta: dict[str, Any] | None, encoder_state: dict[str, Any] | None) -> None:
        self.meta = meta or {}
        self.encoder_state = encoder_state or {}
        self.threshold = float(self.param("similar_threshold", self.param("threshold", 0.25)))
        self.config = ScoringConfig.from_state(self.param("scoring", None))
        # A build made before calibrated confidence recorded none: the bundled one, when it was fitted for the
        # build's encoder (the threshold stays the score threshold that build recorded).
        self.calibration: Calibration | None = Calibration.from_state(self.param("calibration", None)) or (
            calibration_for(str(self.encoder_state.get("name") or "lexical")) if self.encoder_state else None)
        self.query_encoder = QueryEncoder(self.encoder_state, lexicon_state=self.param("lexicon", {}) or {})
        #: The build's word vocabulary (None: a build that kept no word vectors ranks by the first pass alone).
        self.words = WordVectoriser.from_state(self.param("words", None))
        self._envelopes: dict[bool, bytes] = {}  # similar_envelope's, by relatedness

    def param(self, name: str, default: Any) -> Any:
        """A parameter the build recorded (see :func:`build_param`)."""
        return build_param(self.meta, self.encoder_state, name, default)

    def encoder(self) -> Any:
        """The build's encoder, rebuilt from its stored state (to encode search text)."""
        return self.query_encoder.encoder

    def lexicon(self) -> Any:
        """The encoder's lexicon (or the one stored with the build), to find entities in search text."""
        return self.query_encoder.lexicon

    def confidence(self, score: float) -> float | None:
        """The calibrated confidence of a score (``None`` when the build's encoder has no calibration)."""
        return None if self.calibration is None else self.calibration.confidence(score)

    def related(self, score: float) -> bool:
        """Whether a score reaches the SIMILAR_TO threshold (for a calibrated build: its confidence reaches it)."""
        return score >= self.threshold

    def item(self, scored: Any, brief: models.DirectionBrief) -> models.SimilarItem:
        """A ranked candidate (:class:`fundgraph.embeddings.scoring.Scored`) as the API shows it."""
        return models.SimilarItem(
            direction=brief,
            score=scored.score,
            confidence=self.confidence(scored.score),
            explanation=models.Explanation(**scored.explanation()),
            above_threshold=self.related(scored.score),
        )

    @property
    def mixing(self) -> bool:
        """Whether lists are re-ordered by the word mix (the build kept word vectors, and its mix weight is > 0)."""
        return self.words is not None and self.config.word_mix > 0

    def depth(self, k: int) -> int:
        """How many the first pass ranks for a list of ``k``: the mix's pool when it mixes."""
        return max(k, self.config.word_pool) if self.mixing else k

    def mixed(self, ranked: list[Scored], query_words: Any, cands: Candidates, k: int) -> list[Scored]:
        """The first ``k`` of ``ranked`` (a first pass, best first) once its best ``word_pool`` are re-ordered.

        ``query_words``: the query's word row (one-row CSR); ``cands.words`` the candidates' (rows by
        ``Scored.index``). Without either, or with no mix, the first pass's first ``k``.
        """
        if self.config.word_mix <= 0 or cands.words is None or query_words is None or len(ranked) < 2:
            return ranked[:k]
        head = ranked[: self.config.word_pool]
        w = word_cosines(cands.words, [s.index for s in head], query_words)
        order = mix_order([s.score for s in head], w, [s.id for s in head], self.config.word_mix,
                          self.config.word_pool)
        return ([head[i] for i in order] + ranked[len(head):])[:k]

    def text_words(self, text: str) -> Any:
        """A free text's word row, Chinese words only (one-row CSR), or None when the build kept no vocabulary.

        (:meth:`WordVectoriser.encode_chinese`: an English query's words reach directions through the lexicon.)
        """
        return None if self.words is None else self.words.encode_chinese(text)

    def similar(
        self, cands: Candidates, row: int, k: int, scope: str, program: str
    ) -> tuple[list[Scored], bool]:
        """The k best candidates for direction ``row`` of ``program``, and whether another program holds a related one.

        In scope ``cross-program`` with nothing related, the list is empty (see the module's docstring).
        """
        cross_only = scope == "cross-program"
        ranked = rank(cands.vectors[row], cands.entities[row], cands, config=self.config, k=self.depth(k),
                      exclude=row, exclude_program=program if cross_only else None)
        # Ranked best first: the first candidate of another program is the best of every other program.
        best = next((s for s in ranked if s.program_id != program), None)
        if best is None and not cross_only:
            best = next(iter(rank(cands.vectors[row], cands.entities[row], cands, config=self.config, k=1,
                                  exclude=row, exclude_program=program)), None)
        related = best is not None and self.related(best.score)
        if cross_only and not related:
            return [], related
        words = None if cands.words is None else cands.words[row]
        return self.mixed(ranked, words, cands, k), related

    def stored_similar(self, edges: Iterable[tuple[str, str, Mapping[str, Any]]], k: int
                       ) -> tuple[list[Scored], bool] | None:
        """The cross-program best ``k`` from a direction's stored SIMILAR_TO edges, when they hold the answer.

        ``edges``: (target id, target program, edge properties) of each stored SIMILAR_TO edge. The build linked
        each direction to its cross-program top ``similar_top_k`` at or above the threshold :meth:`similar` judges
        relatedness by, ranked as :meth:`similar` ranks (embeddings.topk): so for k ≤ ``similar_top_k`` the
        stored list is the live answer when it holds at least k edges, and no edge means nothing related. None
        (rank live) when the build recorded no top k or threshold, when k is larger, or when the list stops
        (threshold) before k; and, when lists are mixed (:attr:`mixing`), whenever there is an edge: the mixed
        order can put a candidate below the threshold above an edge.
        """
        top_k = self.param("similar_top_k", None)
        if top_k is None or k > int(top_k) or self.param("similar_threshold", None) is None:
            return None
        edges = list(edges)
        if not edges:
            return [], False
        if len(edges) < k or self.mixing:
            return None
        groups = shared_groups()
        ranked = sorted(
            (Scored(-1, target, program, float(e["score"]), float(e["text_score"]), float(e["entity_score"]),
                    {g: list(e.get(f"shared_{g}") or ()) for g in groups.values()}, str(e.get("summary", "")))
             for target, program, e in edges),
            key=lambda s: (-s.score, s.id))
        return ranked[:k], self.related(ranked[0].score)

    def ordered(self, cands: Candidates, row: int, chosen: Sequence[int], best: float | None, k: int
                ) -> tuple[list[Scored], bool] | None:
        """The cross-program answer of :meth:`similar` from the build's pool in its mixed order, or None.

        ``chosen``: the pool's rows in the mix's order (:func:`embeddings.words.pool_orders`; at least the first
        ``k``); ``best``: the first pass's best score (its pool's first; None for an empty pool). Only the k
        returned are re-scored and explained: the same answer as :meth:`similar` when the pool holds the first
        pass's best (a full build). None (rank live) when lists are not mixed or ``k`` is larger than the pool.
        """
        if not self.mixing or cands.words is None or k > self.config.word_pool:
            return None
        if best is None or not chosen or not self.related(float(best)):
            return [], False
        first = [int(r) for r in chosen[:k]]
        explained = {s.index: s for s in rescore(vx.dense_row(cands.vectors, row), cands.entities[row], first,
                                                  cands, self.config)}
        return [explained[r] for r in first], True

    def similar_envelope(self, related: bool) -> bytes:
        """The JSON of :meth:`similar_list`'s answer besides its items (``no_related``, ``message``, ...): ``{…}``."""
        made = self._envelopes.get(related)
        if made is None:
            made = self._envelopes[related] = pydantic_core.to_json(
                self.similar_list([], related).model_dump(exclude={"items"}))
        return made

    def stored_related(self, edges: Iterable[Mapping[str, Any]]) -> bool | None:
        """Whether a direction's stored SIMILAR_TO edges (their properties) say another program holds a related one.

        The build linked every direction to each candidate of another program at or above the threshold, so an
        edge reaching it means related and none means nothing related. None when the build recorded no top k or
        threshold (rank live).
        """
        if self.param("similar_top_k", None) is None or self.param("similar_threshold", None) is None:
            return None
        return any(self.related(float(e["score"])) for e in edges)

    def similar_list(self, items: list[models.SimilarItem], related: bool) -> models.SimilarList:
        """The ``similar`` answer: the items, and the no-related statement when nothing reaches the threshold."""
        cut = self.calibration.min_confidence if self.calibration is not None else None
        if related:
            return models.SimilarList(items=items, min_confidence=cut)
        reach = f"confidence {cut:.2f}" if cut is not None else f"score {self.threshold:.2f}"
        return models.SimilarList(
            items=items, no_related=True, min_confidence=cut,
            message=f"{NO_RELATED}: 其他项目的方向均未达到相关阈值 / no direction of another program reaches "
                    f"{reach}, the threshold of a SIMILAR_TO link.",
        )


def similar_json(ctx: RankingContext, ranked: Sequence[Scored], related: bool, brief: Callable[[str], bytes],
                 via: Callable[[Scored], dict[str, list[str]]]) -> bytes:
    """The JSON of ``ctx.similar_list`` of these ranked items, written without making the read models.

    ``brief``: a direction id → its :class:`models.DirectionBrief`'s JSON; ``via``: an item → its explanation's
    ``via_hierarchy`` (:meth:`records.HierarchyMarks.via`). The same bytes as ``pydantic_core.to_json`` of the
    models (the fields in the models' order, every value of its field's type, serialised by the same
    serialiser: tests/api/test_similar_json.py compares them for every direction of the bundled corpus).
    """
    parts = []
    for s in ranked:
        score = float(s.score)
        rest = pydantic_core.to_json({
            "score": score, "confidence": ctx.confidence(score),
            "explanation": {"text_score": float(s.text_score), "entity_score": float(s.entity_score),
                            "shared": s.shared, "via_hierarchy": via(s), "summary": s.summary},
            "above_threshold": ctx.related(score)})
        parts.append(b'{"direction":' + brief(s.id) + b"," + rest[1:])
    envelope = ctx.similar_envelope(related)
    return b'{"items":[' + b",".join(parts) + b"]," + envelope[1:]
