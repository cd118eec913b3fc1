"""Vocabulary files: the bundled ones load and are complete; bad ones are refused naming file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fundgraph.core.errors import VocabularyError
from fundgraph.core.paths import VOCAB_DIR
from fundgraph.loaders.vocab import load_vocabularies


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(VOCAB_DIR)


@pytest.fixture()
def vocab_copy(tmp_path: Path) -> Path:
    d = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, d)
    return d


def _append(path: Path, row: str) -> int:
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + row + "\n", encoding="utf-8")
    return text.count("\n") + 1  # 1-based line of the appended row


def test_bundled_vocabularies_load_with_expected_sizes(vocab):
    sizes = {t: len(vocab.of_type(t)) for t in ("disease", "modality", "technique", "discipline")}
    assert sizes == {"disease": 53, "modality": 27, "technique": 69, "discipline": 21}


def test_every_disease_has_icd10_or_a_reason(vocab):
    for e in vocab.of_type("disease"):
        assert e.codes.get("icd10") or (e.no_code_reason and len(e.no_code_reason) > 20), e.id


def test_every_modality_has_dicom_or_a_reason(vocab):
    for e in vocab.of_type("modality"):
        assert e.codes.get("dicom") or (e.no_code_reason and len(e.no_code_reason) > 20), e.id


def test_dicom_codes_of_key_modalities(vocab):
    dicom = {e.key: e.codes.get("dicom") for e in vocab.of_type("modality")}
    assert dicom["PET"] == "PT" and dicom["MR"] == "MR" and dicom["XA"] == "XA" and dicom["ES"] == "ES"
    assert dicom["spectral-ct"] == dicom["cbct"] == dicom["black-blood-ct"] == "CT"
    assert dicom["SM"] == "SM" and dicom["US"] == "US"


def test_synonyms_resolve(vocab):
    for s in ("阿尔茨海默病", "阿尔兹海默病", "阿尔茨海默症"):
        assert vocab.lookup(s).id == "disease:alzheimer"
    for s in ("磁共振", "MR", "MRI", "核磁共振", "ＭＲＩ"):
        assert vocab.lookup(s).id == "modality:MR"
    for s in ("PET", "正电子发射断层成像"):
        assert vocab.lookup(s).id == "modality:PET"
    assert vocab.lookup("DSA").id == "modality:XA"
    assert vocab.lookup("能谱 CT").id == "modality:spectral-ct"


def test_groups_link_members(vocab):
    ad = vocab.entities["disease:alzheimer"]
    assert "disease:neurodegenerative-disease" in ad.group_ids
    assert vocab.entities["disease:neurodegenerative-disease"].is_group
    assert "modality:CT" in vocab.entities["modality:cbct"].group_ids


def test_every_004_discipline_is_in_the_vocabulary(vocab, corpus):
    codes = {c for doc in corpus for d in doc.directions for c in d.disciplines}
    assert len(codes) == 21
    for c in codes:
        e = vocab.discipline(c)
        assert e is not None and e.name and e.name_en, c


def test_duplicate_id_is_refused(vocab_copy):
    path = vocab_copy / "diseases.csv"
    line = _append(path, "alzheimer,老年病,Old age disease,,,,,,G30,,,,,false,")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.path == str(path) and ei.value.line == line
    assert "duplicate id 'alzheimer'" in ei.value.message


def test_synonym_mapped_to_two_entities_is_refused(vocab_copy):
    path = vocab_copy / "techniques.csv"
    line = _append(path, "scanner,扫描仪,Scanner,磁共振,,,,,,")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.path == str(path) and ei.value.line == line
    assert "maps to two entities" in ei.value.message and "modality:MR" in ei.value.message


def test_malformed_row_is_refused(vocab_copy):
    path = vocab_copy / "modalities.csv"
    line = _append(path, "broken,坏行,Broken row")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.path == str(path) and ei.value.line == line
    assert "malformed row" in ei.value.message
    assert f"modalities.csv:{line}" in str(ei.value)


def test_disease_without_code_or_reason_is_refused(vocab_copy):
    path = vocab_copy / "diseases.csv"
    line = _append(path, "mystery,怪病,Mystery disease,,,,,,,,,,,false,")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.line == line and "no_code_reason" in ei.value.message


def test_unknown_group_and_bad_regex_are_refused(vocab_copy):
    path = vocab_copy / "techniques.csv"
    line = _append(path, "x-tech,某技术,Some technique,,,,,,no-such-group,")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.line == line and "no-such-group" in ei.value.message
    path.write_text(path.read_text(encoding="utf-8").replace(",no-such-group,", ",,"), encoding="utf-8")
    line = _append(path, "y-tech,另一技术,Other technique,,,,(unclosed,,,")
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.line == line and "regular expression" in ei.value.message


def test_missing_file_is_refused(vocab_copy):
    (vocab_copy / "modalities.csv").unlink()
    with pytest.raises(VocabularyError, match="missing"):
        load_vocabularies(vocab_copy)
