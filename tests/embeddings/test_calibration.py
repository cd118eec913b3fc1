"""The score → confidence calibration: interpolation, the threshold as a score, the shipped file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fundgraph.core.settings import Settings
from fundgraph.embeddings.calibration import CALIBRATION_PATH, Calibration, bundled, calibration_for
from fundgraph.embeddings.encoders import LexicalEncoder, SentenceTransformerEncoder
from fundgraph.graph.build.similarity import similar_cut

STEPS = Calibration(((0.1, 0.0), (0.2, 0.3), (0.3, 0.3), (0.5, 0.9)), min_confidence=0.6)


def test_confidence_interpolates_between_knots_and_is_flat_outside():
    assert STEPS.confidence(0.0) == 0.0 and STEPS.confidence(0.1) == 0.0
    assert STEPS.confidence(0.15) == pytest.approx(0.15)
    assert STEPS.confidence(0.25) == 0.3
    assert STEPS.confidence(0.4) == pytest.approx(0.6)
    assert STEPS.confidence(0.9) == 0.9
    assert list(STEPS.confidences([0.0, 0.15, 0.4, 0.9])) == [STEPS.confidence(x) for x in (0.0, 0.15, 0.4, 0.9)]


def test_confidence_is_clipped_to_the_unit_interval():
    wild = Calibration(((0.0, -0.2), (1.0, 1.4)), min_confidence=0.5)
    assert wild.confidence(-1) == 0.0 and wild.confidence(2) == 1.0


def test_confidence_is_monotone_in_the_score():
    scores = np.linspace(-0.2, 1.2, 2001)
    for cal in (STEPS, bundled()):
        c = cal.confidences(scores)
        assert np.all(np.diff(c) >= 0)


def test_min_score_is_the_exact_boundary_on_the_score_grid():
    for cal in (STEPS, bundled(), STEPS.with_min_confidence(0.3), STEPS.with_min_confidence(0.9)):
        t = cal.min_score()
        assert cal.confidence(t) >= cal.min_confidence
        assert cal.confidence(round(t - 1e-6, 6)) < cal.min_confidence
    assert STEPS.with_min_confidence(0.0).min_score() == float("-inf")
    assert STEPS.with_min_confidence(0.95).min_score() == float("inf")


def test_points_must_rise_with_the_score():
    with pytest.raises(ValueError, match="must not decrease"):
        Calibration(((0.1, 0.5), (0.2, 0.4)), min_confidence=0.5)
    with pytest.raises(ValueError, match="sorted"):
        Calibration(((0.2, 0.1), (0.1, 0.4)), min_confidence=0.5)
    with pytest.raises(ValueError, match="min_confidence"):
        Calibration(((0.2, 0.1),), min_confidence=1.5)


def test_state_round_trips():
    assert Calibration.from_state(STEPS.state()) == STEPS
    assert Calibration.from_state(None) is None


def test_the_shipped_calibration_is_the_documented_format():
    doc = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert doc["method"] in {"isotonic", "logistic"} and doc["fitted_on"]
    assert 0 < doc["min_confidence"] <= 1
    xs, ys = zip(*doc["points"], strict=True)
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys) and 0 <= min(ys) and max(ys) <= 1
    cal = Calibration.load()
    assert cal.state()["points"] == [list(map(float, p)) for p in doc["points"]]


def test_the_threshold_is_a_confidence_and_an_explicit_score_still_wins():
    cal, cut = similar_cut(Settings(), LexicalEncoder())
    assert cal == bundled() and cut == cal.min_score()
    stricter, cut2 = similar_cut(Settings(similar_min_confidence=0.9), LexicalEncoder())
    assert stricter.min_confidence == 0.9 and cut2 >= cut
    _, explicit = similar_cut(Settings(similar_threshold=0.4), LexicalEncoder())
    assert explicit == 0.4
    # Only the lexical encoder's scores are calibrated: another encoder keeps its own score threshold.
    assert calibration_for("sentence-transformers") is None
    assert similar_cut(Settings(), SentenceTransformerEncoder("x")) == (None, 0.78)


def test_confidence_list_equals_each_confidence_to_the_bit():
    rng = np.random.default_rng(7)
    # scores on the 6-decimal grid the build rounds to, the knots themselves, and beyond both ends
    scores = [*np.round(rng.uniform(-0.3, 1.3, 3000), 6).tolist(), *(p[0] for p in bundled().points), -5.0, 5.0]
    wild = Calibration(((0.0, -0.2), (1.0, 1.4)), min_confidence=0.5)
    for cal in (STEPS, bundled(), wild):
        assert cal.confidence_list(scores) == [cal.confidence(s) for s in scores]
    assert STEPS.confidence_list([]) == []
