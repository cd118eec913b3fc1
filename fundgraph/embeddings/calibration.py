"""Calibrated confidence: a similarity score → the probability that a reader grades the pair related.

The map is fitted on the graded set (``fundgraph/data/eval/graded_similar.yaml``: pairs graded 0/1/2 by two
readers; "related" = grade ≥ 1) and shipped as package data, ``fundgraph/data/eval/calibration.json``::

    {"method": "isotonic" | "logistic",
     "points": [[score, confidence], ...],   # piecewise-linear, non-decreasing in score
     "fitted_on": "...",                     # what it was fitted on, in words
     "min_confidence": 0.5,                  # the SIMILAR_TO threshold, as a confidence
     "encoder": "lexical"}                   # optional: the encoder whose scores it maps (default lexical)

``fundgraph eval similarity --write-calibration`` writes it. Scores live on a different scale per encoder, so a
calibration serves only the encoder it was fitted for (:func:`calibration_for`). A build records the calibration it
used in its meta (:meth:`Calibration.state`), and the stores rebuild it from there (:meth:`Calibration.from_state`): a
query's confidence is the one its build's edges carry.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fundgraph.core.paths import EVAL_DIR

CALIBRATION_PATH = EVAL_DIR / "calibration.json"
#: Confidences are rounded to this many decimals (the same number wherever a pair is shown).
DECIMALS = 4


@dataclass(frozen=True)
class Calibration:
    """A non-decreasing piecewise-linear map from score to confidence, and the SIMILAR_TO threshold.

    Attributes:
        points: (score, confidence) knots, scores increasing; below the first knot the confidence is the
            first knot's, above the last the last's (clipped to [0, 1]).
        min_confidence: the confidence a SIMILAR_TO edge must reach.
        method: how it was fitted (``isotonic`` or ``logistic``).
        fitted_on: what it was fitted on, in words.
        encoder: the encoder whose scores it maps.
    """

    points: tuple[tuple[float, float], ...]
    min_confidence: float
    method: str = "isotonic"
    fitted_on: str = ""
    encoder: str = "lexical"

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a calibration needs at least one (score, confidence) point")
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        if any(b < a for a, b in itertools.pairwise(xs)):
            raise ValueError("calibration points must be sorted by score")
        if any(b < a - 1e-12 for a, b in itertools.pairwise(ys)):
            raise ValueError("calibration confidence must not decrease with the score")
        # The knots as arrays once: np.interp made them from the lists on every call (most of a confidence's
        # ~10 µs, one per item of every similar list served); the same float64 values, the same results.
        object.__setattr__(self, "_xs", np.asarray(xs, dtype=np.float64))
        object.__setattr__(self, "_ys", np.asarray(ys, dtype=np.float64))
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must lie in [0, 1]")

    def confidence(self, score: float) -> float:
        """The calibrated confidence of a score (linear between knots, flat outside them, within [0, 1])."""
        c = float(np.interp(float(score), self._xs, self._ys))  # type: ignore[attr-defined]
        return round(min(1.0, max(0.0, c)), DECIMALS)

    def confidence_list(self, scores: Sequence[float]) -> list[float]:
        """:meth:`confidence` of each score, to the bit (one ``np.interp`` over all: the same per-element arithmetic).

        For the build's edges (one confidence each: 0.28 s of CPU per 100,000 one at a time, 0.11 s so).
        """
        found = np.interp(np.asarray(scores, dtype=np.float64), self._xs, self._ys)  # type: ignore[attr-defined]
        return [round(min(1.0, max(0.0, c)), DECIMALS) for c in found.tolist()]

    def confidences(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """:meth:`confidence` of many scores at once."""
        xs = np.asarray([p[0] for p in self.points])
        ys = np.asarray([p[1] for p in self.points])
        return np.round(np.clip(np.interp(np.asarray(scores, dtype=np.float64), xs, ys), 0.0, 1.0), DECIMALS)

    def min_score(self, confidence: float | None = None) -> float:
        """The lowest score (on the 6-decimal grid scores are rounded to) whose confidence reaches ``confidence``.

        Default :attr:`min_confidence`. The SIMILAR_TO cut as a score, so the build keeps ranking on scores (blocked
        top-k with a score threshold) and still keeps exactly the pairs with ``confidence(score) ≥
        min_confidence``: the confidence is non-decreasing, so a binary search over the grid finds the boundary.
        ``-inf`` when every score reaches it, ``inf`` when none does.
        """
        target = self.min_confidence if confidence is None else float(confidence)
        lo_x, hi_x = self.points[0][0], self.points[-1][0]
        if self.confidence(lo_x) >= target:
            return float("-inf")
        if self.confidence(hi_x) < target:
            return float("inf")
        lo, hi = round(lo_x * 1e6), round(hi_x * 1e6)  # confidence(lo) < target ≤ confidence(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.confidence(mid / 1e6) >= target:
                hi = mid
            else:
                lo = mid
        return hi / 1e6

    def related(self, score: float) -> bool:
        """Whether a pair with this score is related enough for a SIMILAR_TO edge (its confidence reaches the cut)."""
        return self.confidence(score) >= self.min_confidence

    def state(self) -> dict[str, Any]:
        """JSON-able form (the calibration.json document; recorded in a build's meta)."""
        return {
            "method": self.method,
            "points": [[float(x), float(y)] for x, y in self.points],
            "fitted_on": self.fitted_on,
            "min_confidence": float(self.min_confidence),
            "encoder": self.encoder,
        }

    def with_min_confidence(self, min_confidence: float | None) -> Calibration:
        """A copy with another SIMILAR_TO threshold (``None``: this one)."""
        if min_confidence is None:
            return self
        return Calibration(self.points, float(min_confidence), self.method, self.fitted_on, self.encoder)

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> Calibration | None:
        """Rebuild from :meth:`state` (``None`` for no state)."""
        if not state:
            return None
        points = tuple((float(x), float(y)) for x, y in state["points"])
        return cls(
            points=points,
            min_confidence=float(state["min_confidence"]),
            method=str(state.get("method") or "isotonic"),
            fitted_on=str(state.get("fitted_on") or ""),
            encoder=str(state.get("encoder") or "lexical"),
        )

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> Calibration:
        """Read a calibration.json (UTF-8)."""
        cal = cls.from_state(json.loads(Path(path).read_text(encoding="utf-8")))
        if cal is None:
            raise ValueError(f"{path}: empty calibration")
        return cal


@lru_cache(maxsize=4)
def bundled(path: Path = CALIBRATION_PATH) -> Calibration:
    """The calibration shipped with the package (read once)."""
    return Calibration.load(path)


def calibration_for(encoder_name: str, path: Path = CALIBRATION_PATH) -> Calibration | None:
    """The bundled calibration when it was fitted on ``encoder_name``'s scores, else ``None``.

    Only the lexical encoder (the default) is calibrated; a sentence-transformers build has no confidence.
    """
    cal = bundled(path)
    return cal if cal.encoder == encoder_name else None
