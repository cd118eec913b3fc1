"""Evaluate entity extraction against the hand-annotated dev gold set (``fundgraph/data/eval/gold_entities.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fundgraph.core.errors import InputError
from fundgraph.core.paths import EVAL_DIR
from fundgraph.loaders.entities import entity_ids
from fundgraph.loaders.records import ParsedDocument
from fundgraph.loaders.vocab import Vocabulary

#: The bundled gold set.
GOLD_PATH = EVAL_DIR / "gold_entities.yaml"
#: Gold-set keys and the entity types they annotate.
GOLD_TYPES = {"diseases": "disease", "modalities": "modality"}


@dataclass
class TypeScore:
    """Micro-averaged counts and scores of one entity type."""

    entity_type: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)
    false_negatives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Tp / (tp + fn); 1.0 when the gold set holds nothing."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_gold(path: Path = GOLD_PATH) -> dict[str, dict[str, set[str]]]:
    """The gold set: direction id → {entity type → set of entity ids (``disease:alzheimer`` …)}."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"cannot read the gold set ({e})", path=path) from e
    out: dict[str, dict[str, set[str]]] = {}
    for did, ann in (raw.get("directions") or {}).items():
        out[str(did)] = {etype: {f"{etype}:{x}" for x in (ann or {}).get(key) or []}
                         for key, etype in GOLD_TYPES.items()}
    return out


def evaluate_entities(docs: list[ParsedDocument], vocab: Vocabulary,
                      gold: dict[str, dict[str, set[str]]] | None = None) -> dict[str, TypeScore]:
    """Per-type precision and recall of extraction over the gold directions.

    Raises:
        InputError: a gold direction id is not in the corpus, or a gold entity id is not in the vocabulary.
    """
    gold = gold if gold is not None else load_gold()
    directions = {d.id: d for doc in docs for d in doc.directions}
    scores = {etype: TypeScore(etype) for etype in GOLD_TYPES.values()}
    for did, by_type in gold.items():
        d = directions.get(did)
        if d is None:
            raise InputError(f"gold direction {did} is not in the corpus", path=GOLD_PATH)
        found = entity_ids(d, vocab)
        for etype, expected in by_type.items():
            unknown = [e for e in expected if e not in vocab.entities]
            if unknown:
                raise InputError(f"gold direction {did}: unknown entity id(s) {unknown}", path=GOLD_PATH)
            got = {e for e in found if e.startswith(etype + ":")}
            s = scores[etype]
            s.tp += len(got & expected)
            s.fp += len(got - expected)
            s.fn += len(expected - got)
            s.false_positives += [(did, e) for e in sorted(got - expected)]
            s.false_negatives += [(did, e) for e in sorted(expected - got)]
    return scores


def format_report(scores: dict[str, TypeScore], *, n_directions: int, show_errors: bool = False) -> str:
    """A plain-text table of per-type precision and recall (and, optionally, the errors)."""
    lines = [f"entity extraction vs the dev gold set ({n_directions} directions)",
             f"{'type':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8} {'f1':>6}"]
    for s in scores.values():
        lines.append(f"{s.entity_type:<10} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>10.3f} "
                     f"{s.recall:>8.3f} {s.f1:>6.3f}")
    if show_errors:
        for s in scores.values():
            lines += [f"  {s.entity_type} false positive: {d} {e}" for d, e in s.false_positives]
            lines += [f"  {s.entity_type} false negative: {d} {e}" for d, e in s.false_negatives]
    return "\n".join(lines)
