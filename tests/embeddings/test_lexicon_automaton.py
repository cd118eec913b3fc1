"""The lexicon's one-automaton matcher finds exactly what the alternation of every surface form finds."""

import random

import pytest

from fundgraph.embeddings.encoders import encoder_from_state
from fundgraph.embeddings.lexicon import Lexicon, Term


def _reference_normalise(lex: Lexicon, text: str) -> str:
    def repl(m):
        key = lex._lookup(m.group(0))
        return f" {lex.surfaces[key]} " if key is not None else m.group(0)

    return lex._regex().sub(repl, text)


def _mixes(lex: Lexicon, n: int, seed: int) -> list[str]:
    """Surfaces in random case glued to letters, digits, quotes, the four non-ASCII letters re folds, CJK."""
    rng = random.Random(seed)
    surfaces = sorted(lex.surfaces)
    filler = "aAkKsSiI\u0130\u0131\u017f\u212a'’- .07病影像（）"
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.5:
                s = rng.choice(surfaces)
                if rng.random() < 0.5:
                    s = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)
                parts.append(s)
            else:
                parts.append("".join(rng.choice(filler) for _ in range(rng.randint(0, 4))))
        out.append("".join(parts))
    return out


@pytest.fixture(scope="module")
def corpus_lexicon(corpus_built) -> Lexicon:
    return encoder_from_state(corpus_built.encoder_state).lexicon


def test_matches_equal_the_alternation_on_the_corpus_and_random_mixes(corpus_lexicon, corpus_docs):
    lex = corpus_lexicon
    texts = [f"{d.title}\n{d.content or ''}\n{d.metrics or ''}" for doc in corpus_docs for d in doc.directions]
    texts += _mixes(lex, 2000, seed=1)
    matched = 0
    for t in texts:
        expected = [m.span() for m in lex._regex().finditer(t)]
        assert list(lex._matches(t)) == expected, t
        assert lex.normalise(t) == _reference_normalise(lex, t), t
        expected_entities: dict[str, int] = {}
        for m in lex._regex().finditer(t):
            key = lex._lookup(m.group(0))
            if key is not None and key in lex.surface_entity:
                expected_entities[lex.surface_entity[key]] = expected_entities.get(lex.surface_entity[key], 0) + 1
        assert lex.find_entities(t) == expected_entities, t
        matched += len(expected)
    assert matched > 1000  # the comparison saw real matches, not empty texts


def test_case_rules_and_word_boundaries_hold():
    lex = Lexicon.from_terms([Term("modality:MR", "modality", "磁共振成像", "Magnetic resonance imaging",
                                   ("MRI", "MR", "核磁共振"))], glossary={})
    # Short abbreviations as written and as whole words; longer English in any case.
    assert list(lex._matches("mri MRI MRIs xMR MR")) == [(4, 7), (17, 19)]
    # re folds U+0130 to i, so the second phrase matches; str.lower() does not, so (as before) it names nothing.
    text = "MAGNETIC Resonance imaging, magnetic resonance \u0130maging"
    assert list(lex._matches(text)) == [(0, 26), (28, 54)]
    assert lex.find_entities(text) == {"modality:MR": 1}
    assert lex.normalise("核磁共振MR") == " 磁共振成像  磁共振成像 "
    assert lex.normalise("no surface here") == "no surface here"
