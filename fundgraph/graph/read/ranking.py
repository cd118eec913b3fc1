"""What both stores rank ``similar`` and ``search`` with, besides the candidates: one build's parameters.

The scoring configuration, the SIMILAR_TO threshold and the query encoder are rebuilt from what the build
recorded (its meta and encoder state), so a store ranks exactly as the build that it serves did.
"""

from __future__ import annotations

from typing import Any

from fundgraph.embeddings.encoders import QueryEncoder
from fundgraph.embeddings.scoring import ScoringConfig
from fundgraph.graph.read import models


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
        self.query_encoder = QueryEncoder(self.encoder_state, lexicon_state=self.param("lexicon", {}) or {})

    def param(self, name: str, default: Any) -> Any:
        """A parameter the build recorded (see :func:`build_param`)."""
        return build_param(self.meta, self.encoder_state, name, default)

    def encoder(self) -> Any:
        """The build's encoder, rebuilt from its stored state (to encode search text)."""
        return self.query_encoder.encoder

    def lexicon(self) -> Any:
        """The encoder's lexicon (or the one stored with the build), to find entities in search text."""
        return self.query_encoder.lexicon

    def item(self, scored: Any, brief: models.DirectionBrief) -> models.SimilarItem:
        """A ranked candidate (:class:`fundgraph.embeddings.scoring.Scored`) as the API shows it."""
        return models.SimilarItem(
            direction=brief,
            score=scored.score,
            explanation=models.Explanation(**scored.explanation()),
            above_threshold=bool(scored.score >= self.threshold),
        )
