"""Hostile manifests: the YAML alias bomb, deep nesting, a huge file, files outside the corpus directory."""

from __future__ import annotations

import shutil
import time
import tracemalloc

import pytest
import yaml

from fundgraph.core.errors import ManifestError
from fundgraph.loaders.corpus import load_corpus, read_manifest
from fundgraph.loaders.manifest_guard import MAX_MANIFEST_BYTES, files_outside_corpus
from tests.reliability.conftest import SMALL_FILES, cli, cli_env, graph_files, no_traceback

#: Ten levels of ten aliases: 10^10 strings once expanded, 700 bytes on disk.
BOMB = "".join(
    f"{a}: &{a} [{', '.join([f'*{p}'] * 10) if p else ', '.join(['lol'] * 10)}]\n"
    for p, a in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
) + "documents: [" + ", ".join(["*i"] * 10) + "]\n"


def test_the_yaml_bomb_is_refused_in_under_a_second_and_100_mb(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(BOMB, encoding="utf-8")
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ManifestError, match="alias bomb"):
        read_manifest(path)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"bomb refused in {seconds * 1000:.2f} ms, peak {peak / 1e6:.3f} MB")
    assert seconds < 1.0 and peak < 100e6


def test_the_yaml_bomb_through_the_cli(tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(BOMB, encoding="utf-8")
    t0 = time.monotonic()
    out = cli(["build"], cli_env(tmp_path / "home", manifest))
    assert out.returncode == 2 and "alias bomb" in out.stderr and out.stderr.count("\n") == 1, out.stderr
    no_traceback(out.stdout, out.stderr)
    assert time.monotonic() - t0 < 60  # interpreter start-up and imports; the refusal itself is in ms


@pytest.mark.parametrize(("text", "says"), [
    ("documents: " + "[" * 100_000, "nested deeper than 64"),
    ("a: &a [1, *a]\ndocuments: []\n", "recursive YAML alias"),
], ids=["deep-nesting", "recursive-alias"])
def test_other_shapes_that_cost_are_refused(tmp_path, text, says):
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=says):
        read_manifest(path)  # (deep nesting used to crash the process in PyYAML's C composer)


def test_a_huge_manifest_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_bytes(b"# " + b"x" * MAX_MANIFEST_BYTES + b"\n")
    with pytest.raises(ManifestError, match="more than"):
        read_manifest(path)


def _manifest_naming(tmp_path, small_manifest, file: str):
    data = yaml.safe_load(small_manifest.read_text(encoding="utf-8"))
    data["documents"][0]["file"] = file
    corpus = tmp_path / "corpus"
    shutil.copytree(small_manifest.parent, corpus)
    (corpus / "manifest.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return corpus / "manifest.yaml"


@pytest.mark.parametrize("file", ["/etc/passwd", "../../../../etc/passwd", "sub/../../secret.txt", "~/x.txt"])
def test_files_outside_the_corpus_directory_are_refused(tmp_path, small_manifest, file):
    manifest = _manifest_naming(tmp_path, small_manifest, file)
    with pytest.raises(ManifestError, match="outside the corpus directory") as e:
        load_corpus(manifest)
    assert str(manifest) in e.value.message


def test_the_cli_refuses_an_outside_file_and_changes_nothing(tmp_path, small_manifest, small_home):
    before = graph_files(small_home)
    manifest = _manifest_naming(tmp_path, small_manifest, "/etc/passwd")
    out = cli(["build"], cli_env(small_home, manifest))
    assert out.returncode == 2 and "'/etc/passwd' is outside the corpus directory" in out.stderr
    no_traceback(out.stdout, out.stderr)
    assert graph_files(small_home) == before


def test_the_user_may_allow_outside_files(tmp_path, small_manifest):
    outside = tmp_path / "elsewhere" / SMALL_FILES[0]
    outside.parent.mkdir()
    shutil.copy(small_manifest.parent / "guidelines" / SMALL_FILES[0], outside)
    manifest = _manifest_naming(tmp_path, small_manifest, str(outside))
    with files_outside_corpus(True):
        docs = load_corpus(manifest)
    assert len(docs) == 2 and docs[0].program.source_file == SMALL_FILES[0]
    with pytest.raises(ManifestError):
        load_corpus(manifest)  # only within the block


def _user_corpus(home, small_manifest, file: str):
    """The small corpus as the user's (``home/corpus``), its first file moved to ``inbox/``, named as ``file``."""
    corpus = home / "corpus"
    shutil.copytree(small_manifest.parent, corpus)
    (corpus / "inbox").mkdir()
    shutil.move(corpus / "guidelines" / SMALL_FILES[0], corpus / "inbox" / SMALL_FILES[0])
    shutil.copy(corpus / "inbox" / SMALL_FILES[0], home / SMALL_FILES[0])  # outside the corpus, inside the home
    data = yaml.safe_load((corpus / "manifest.yaml").read_text(encoding="utf-8"))
    data["documents"][0]["file"] = file.format(corpus=corpus)
    (corpus / "manifest.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return corpus / "manifest.yaml"


@pytest.mark.parametrize(("file", "allowed"), [
    ("{corpus}/inbox/" + SMALL_FILES[0], True),
    ("../inbox/" + SMALL_FILES[0], True),
    ("../../" + SMALL_FILES[0], False),
    ("{corpus}/../" + SMALL_FILES[0], False),
    ("/etc/passwd", False),
], ids=["absolute-inside", "relative-inside", "relative-outside", "absolute-outside", "etc-passwd"])
def test_the_users_manifest_may_name_any_file_of_the_users_corpus_and_no_other(tmp_path, small_manifest, file,
                                                                                 allowed):
    from fundgraph import service
    from fundgraph.core.settings import Settings

    home = tmp_path / "home"
    home.mkdir()
    manifest = _user_corpus(home, small_manifest, file)
    settings = Settings(home=home, corpus_dir=None)
    assert manifest.parent == settings.user_corpus
    with pytest.raises(ManifestError, match="outside the corpus directory"):
        load_corpus(manifest)  # not read as the user's manifest: guidelines/ beside it only
    with service.reading_manifests(settings):
        if allowed:
            assert [d.program.source_file for d in load_corpus(manifest)] == [SMALL_FILES[0], SMALL_FILES[1]]
        else:
            with pytest.raises(ManifestError, match="outside the corpus directory"):
                load_corpus(manifest)


def test_a_user_corpus_build_is_confined_locked_and_leaves_the_graph_alone_when_refused(tmp_path, small_manifest):
    home = tmp_path / "home"
    home.mkdir()
    manifest = _user_corpus(home, small_manifest, "{corpus}/inbox/" + SMALL_FILES[0])
    out = cli(["build", "--no-bundled"], cli_env(home))
    assert out.returncode == 0, out.stderr
    no_traceback(out.stdout, out.stderr)
    before = graph_files(home)
    assert "nodes.json" in before and "MANIFEST.json" in before

    from fundgraph.graph.stores.embedded.home import BuildLock

    lock = BuildLock(home)
    assert lock.try_acquire()
    try:  # the lock holds for a user corpus build with any flags
        out = cli(["build", "--no-bundled", "--full", "--strict"], cli_env(home))
    finally:
        lock.release()
    assert out.returncode == 2 and "another build" in out.stderr, out.stderr
    no_traceback(out.stdout, out.stderr)
    assert graph_files(home) == before

    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["documents"][0]["file"] = "/etc/passwd"
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = cli(["build", "--no-bundled", "--full"], cli_env(home))
    assert out.returncode == 2 and "'/etc/passwd' is outside the corpus directory" in out.stderr, out.stderr
    no_traceback(out.stdout, out.stderr)
    assert graph_files(home) == before
