"""kill -9 of a real build at named points, concurrent builds, a read-only home: the previous graph is never lost
nor changed, debris is removed, the next build works."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from fundgraph.graph.stores.embedded import home as safety
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests import PROJECT_ROOT
from tests.reliability.conftest import SMALL_NODES, cli, cli_env, debris, graph_files, kill_at, no_traceback

#: Points before `current` is switched: the previous graph must stay current, byte for byte.
BEFORE_SWITCH = ["locked", "staged", "manifested", "renamed", "linked"]


@pytest.mark.slow
@pytest.mark.parametrize("point", BEFORE_SWITCH)
def test_kill_before_the_switch_keeps_the_previous_graph(small_home, small_manifest, point):
    before = graph_files(small_home)
    assert before
    kill_at(point, cli_env(small_home, small_manifest))
    assert graph_files(small_home) == before  # byte-identical, at once (no recovery needed to read it)
    store = EmbeddedStore(small_home)
    store.warm()  # what a server does at start-up: recover, then read
    assert store.health().node_count == SMALL_NODES
    assert debris(small_home) == [] and graph_files(small_home) == before
    out = cli(["build"], cli_env(small_home, small_manifest))  # the lock died with the build
    assert out.returncode == 0, out.stderr
    assert debris(small_home) == []


@pytest.mark.slow
def test_kill_after_the_switch_leaves_the_new_complete_graph(small_home, small_manifest):
    before = os.readlink(small_home / "current")
    kill_at("switched", cli_env(small_home, small_manifest))
    after = os.readlink(small_home / "current")
    assert after != before
    safety.verify(small_home / after)  # complete: every file of its manifest, checksums included
    done = safety.recover(small_home)  # the previous graph and the (now empty) staging directory
    assert f"removed {before}" in done and len(done) == 2 and debris(small_home) == []
    assert EmbeddedStore(small_home).health().node_count == SMALL_NODES


@pytest.mark.slow
def test_kill_while_moving_a_pre_symlink_graph_aside_is_recovered(small_home, small_manifest):
    target = (small_home / "current").resolve()
    os.unlink(small_home / "current")
    shutil.move(target, small_home / "current")  # the layout of fundgraph before symlinks: a directory
    (small_home / "current" / "MANIFEST.json").unlink()
    kill_at("legacy-moved", cli_env(small_home, small_manifest))
    assert not (small_home / "current").exists()  # the one moment without `current`, of a one-time migration
    store = EmbeddedStore(small_home)
    assert store.health().node_count == SMALL_NODES  # a reader relinks the newest complete graph
    assert (small_home / "current").is_symlink() and debris(small_home) == []


def test_the_old_layouts_stranded_graph_is_relinked(small_home):
    """The old swap killed between its two renames left the good graph in .old-PID and no `current`."""
    before = graph_files(small_home)
    target = (small_home / "current").resolve()
    os.unlink(small_home / "current")
    shutil.move(target, small_home / ".old-12345")
    (small_home / ".staging-abc").mkdir()
    store = EmbeddedStore(small_home)
    assert store.health().node_count == SMALL_NODES
    assert graph_files(small_home) == before and debris(small_home) == []


def test_debris_of_dead_builds_is_removed_at_start_up(small_home):
    before = graph_files(small_home)
    for name in (".staging-x1", ".staging-x2/g", "g-1-999"):
        (small_home / name).mkdir(parents=True)
        (small_home / name / "graph.json").write_text("{", encoding="utf-8")
    os.symlink("g-1-999", small_home / ".link-999")
    done = safety.recover(small_home)
    assert sorted(done) == ["removed .link-999", "removed .staging-x1", "removed .staging-x2", "removed g-1-999"]
    assert debris(small_home) == [] and graph_files(small_home) == before


def test_recovery_leaves_a_running_build_alone(small_home):
    lock = safety.BuildLock(small_home)
    assert lock.try_acquire()
    try:
        (small_home / ".staging-live").mkdir()
        assert safety.recover(small_home) == []  # another process builds: its staging directory is not debris
        assert (small_home / ".staging-live").is_dir()
    finally:
        lock.release()


@pytest.mark.slow
def test_a_second_build_refuses_while_one_runs_and_the_lock_dies_with_its_holder(small_home, small_manifest):
    before = graph_files(small_home)
    env = cli_env(small_home, small_manifest)
    first = subprocess.Popen([sys.executable, "-m", "fundgraph.cli", "build"], cwd=PROJECT_ROOT,
                             env={**env, "FUNDGRAPH_FAULT_PAUSE": "locked"}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status)
        t0 = time.monotonic()
        second = cli(["build"], {**env, "FUNDGRAPH_BUILD_LOCK_WAIT": "0.5"})
        assert second.returncode == 2
        no_traceback(second.stdout, second.stderr)
        assert f"another build (pid {first.pid}" in second.stderr and "wait for it to finish" in second.stderr
        assert time.monotonic() - t0 < 30
        assert graph_files(small_home) == before
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    third = cli(["build"], env)
    assert third.returncode == 0, third.stderr


@pytest.mark.slow
def test_two_builds_at_once_wait_for_each_other(small_home, small_manifest):
    env = cli_env(small_home, small_manifest, FUNDGRAPH_BUILD_LOCK_WAIT="120")
    procs = [subprocess.Popen([sys.executable, "-m", "fundgraph.cli", "build"], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for out, err in outs:
        no_traceback(out, err)
    assert debris(small_home) == []
    safety.verify(small_home / os.readlink(small_home / "current"))


def _as_unprivileged() -> tuple[str, ...]:
    """A prefix that runs a command without root's power to write anywhere (CAP_DAC_OVERRIDE)."""
    if os.geteuid() != 0:
        return ()
    caps = "-dac_override,-dac_read_search,-fowner"
    return ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")


def test_a_read_only_home_is_refused_before_any_work(small_home, small_manifest):
    before = graph_files(small_home)
    small_home.chmod(0o555)
    try:
        t0 = time.monotonic()
        out = cli(["build"], cli_env(small_home, small_manifest), prefix=_as_unprivileged())
        seconds = time.monotonic() - t0
    finally:
        small_home.chmod(0o755)
    assert out.returncode == 2, out.stderr
    no_traceback(out.stdout, out.stderr)
    assert f"cannot write to the store directory {small_home}: Permission denied" in out.stderr
    assert "built" not in out.stdout and graph_files(small_home) == before
    assert seconds < 30  # imports only: no parsing, no build


def test_a_read_only_home_still_serves_its_graph(small_home):
    small_home.chmod(0o555)
    try:
        code = ("from fundgraph.graph.stores.embedded.store import EmbeddedStore\n"
                f"s = EmbeddedStore({str(small_home)!r}); s.warm(); print(s.health().node_count)\n")
        out = subprocess.run([*_as_unprivileged(), sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, timeout=120)
    finally:
        small_home.chmod(0o755)
    assert out.returncode == 0 and out.stdout.strip() == str(SMALL_NODES), out.stderr
