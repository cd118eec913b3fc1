"""English words → vocabulary entities by word and stem (fundgraph.embeddings.english), on hand-made names."""

from __future__ import annotations

import pytest

from fundgraph.embeddings.english import EnglishIndex, EnglishName, common_ancestor, forms, stem, words


@pytest.mark.parametrize(("variants", "expected"), [
    (["tumour", "tumours", "tumor", "tumors", "Tumour"], "tumor"),
    (["imaging", "image", "images", "imaged"], "imag"),
    (["cancer", "cancers"], "cancer"),
    (["Alzheimer's", "Alzheimer’s", "alzheimer"], "alzheimer"),
    (["paediatric", "pediatric"], "pediatric"),
    (["oesophageal", "esophageal"], "esophageal"),
    (["characterisation", "characterization"], "characterization"),
    (["interfaces", "interface"], "interfac"),
])
def test_spelling_variants_share_a_stem(variants, expected):
    assert {stem(v) for v in variants} == {expected}


def test_words_split_dashes_and_drop_stop_words():
    assert [w for _, w in words("Brain–computer interface for the elderly")] == [
        "brain", "computer", "interface", "elderly"]
    assert words("阿尔茨海默病") == []


def test_forms_of_a_name():
    assert forms("Alzheimer's disease") == [("alzheimer", "diseas"), ("alzheimer",)]
    assert forms("Foundation models (large models)") == [("foundation", "model"), ("larg", "model")]
    # A one-word qualifier in brackets is not a name of its own; abbreviations and mixed Chinese are left out.
    assert forms("Ultrasound stimulation (therapy)") == [("ultrasound", "stimulation")]
    assert forms("PET") == [] and forms("PET重建") == []


NAMES = [
    EnglishName("d:neoplasm", "disease", ("Neoplasms",)),
    EnglishName("d:malignant", "disease", ("Malignant neoplasms",)),
    EnglishName("d:lung", "disease", ("Lung cancer",)),
    EnglishName("d:gastric", "disease", ("Gastric cancer", "Stomach cancer")),
    EnglishName("d:brain-tumour", "disease", ("Intracranial tumours",)),
    EnglishName("d:rare-tumour", "disease", ("Rare tumours",)),
    EnglishName("d:ad", "disease", ("Alzheimer's disease",)),
    EnglishName("x:lung-tumours", "discipline", ("Lung tumours",)),
    EnglishName("m:mr", "modality", ("Magnetic resonance imaging", "MRI")),
    EnglishName("m:us", "modality", ("Ultrasound imaging",)),
    EnglishName("t:bci", "technique", ("Brain–computer interfaces",)),
    EnglishName("k:bci", "keyword", ("Brain-computer interface",), heads=False),
]
PARENTS = {"d:malignant": ["d:neoplasm"], "d:lung": ["d:malignant"], "d:gastric": ["d:malignant"],
           "d:brain-tumour": ["d:neoplasm"], "d:rare-tumour": ["d:neoplasm"]}


@pytest.fixture(scope="module")
def index() -> EnglishIndex:
    return EnglishIndex.build(NAMES)


@pytest.mark.parametrize(("text", "expected"), [
    ("cancer", {"d:malignant": "cancer"}),                 # the head of lung/gastric cancer → their group
    ("tumor imaging", {"d:neoplasm": "tumor"}),            # tumours of several kinds → 肿瘤; imaging names none
    ("TUMOURS", {"d:neoplasm": "tumours"}),
    ("stomach cancers", {"d:gastric": "stomach cancers"}),  # a synonym, plural
    ("alzheimer", {"d:ad": "alzheimer"}),                  # without the generic head word
    ("ultrasound", {"m:us": "ultrasound"}),
    ("magnetic resonance images", {"m:mr": "magnetic resonance images"}),
    ("brain computer interfaces", {"t:bci": "brain computer interfaces", "k:bci": "brain computer interfaces"}),
    ("neoplasm", {"d:neoplasm": "neoplasm"}),
    ("imaging", {}),                                       # MR and ultrasound share no group
    ("mri", {}),                                           # abbreviations are the lexicon's (case-sensitive)
    ("quantum computing", {}),
])
def test_match(index, text, expected):
    assert index.match(text, PARENTS) == expected


def test_a_longer_phrase_uses_its_words_once(index):
    # "lung cancer" is one entity: its head word is not used again for the group.
    assert index.match("lung cancer screening", PARENTS) == {"d:lung": "lung cancer"}


def test_common_ancestor():
    assert common_ancestor(["d:lung", "d:gastric"], PARENTS) == "d:malignant"
    assert common_ancestor(["d:lung", "d:rare-tumour"], PARENTS) == "d:neoplasm"
    assert common_ancestor(["d:lung", "m:us"], PARENTS) is None
