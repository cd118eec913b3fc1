"""Fault-injection fixtures: a small real corpus, homes built by the real CLI in subprocesses, real servers.

Everything here runs the real thing: `python -m fundgraph.cli build` in a subprocess (killed with SIGKILL at
named points through FUNDGRAPH_FAULT_PAUSE), uvicorn serving the real app on a free port, real damaged files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from fundgraph.core.paths import MANIFEST_PATH
from tests import PROJECT_ROOT

#: Two of the bundled guidelines (the two smallest): a real corpus that builds in seconds.
SMALL_FILES = ("000_299ab7605307a90d.txt", "004_1a64e516335c2d81.txt")
#: Nodes of their graph: 38 directions, their entities and sections, and the topic communities (the count of
#: communities follows the similarity scoring: 340 nodes before the learned term weights of session 8, 333 before
#: the raw character features of session 9).
SMALL_NODES = 336


def small_corpus(root: Path) -> Path:
    """A manifest of two bundled guidelines under ``root``; returns the manifest's path."""
    guidelines = root / "guidelines"
    guidelines.mkdir(parents=True)
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    data["documents"] = [d for d in data["documents"] if d["file"] in SMALL_FILES]
    for name in SMALL_FILES:
        shutil.copy(MANIFEST_PATH.parent / "guidelines" / name, guidelines / name)
    manifest = root / "manifest.yaml"
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return manifest


def cli_env(home: Path, manifest: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDGRAPH_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), FUNDGRAPH_HOME=str(home), FUNDGRAPH_STORE="embedded",
               FUNDGRAPH_ENCODER="lexical", FUNDGRAPH_BUILD_LOCK_WAIT="0")
    if manifest is not None:
        env["FUNDGRAPH_MANIFEST"] = str(manifest)
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], *, prefix: tuple[str, ...] = (), timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "fundgraph.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=PROJECT_ROOT, **kwargs)


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


def graph_files(home: Path) -> dict[str, str]:
    """SHA-256 of every file of the graph ``current`` names (empty when there is none)."""
    current = home / "current"
    if not current.exists():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(current.iterdir()) if p.is_file()}


def debris(home: Path) -> list[str]:
    """Whatever a build leaves behind when it dies: staging directories, unswitched links, unlinked graphs."""
    target = os.readlink(home / "current") if (home / "current").is_symlink() else None
    return sorted(n for n in os.listdir(home)
                  if n.startswith((".staging-", ".link-", ".old-")) or (n.startswith("g-") and n != target))


def kill_at(point: str, env: dict[str, str], *, timeout: float = 120, args: tuple[str, ...] = ("build",)) -> int:
    """Start ``fundgraph ARGS`` (a build) that stops itself at ``point``; SIGKILL it there. Returns its pid."""
    proc = subprocess.Popen([sys.executable, "-m", "fundgraph.cli", *args], cwd=PROJECT_ROOT,
                            env={**env, "FUNDGRAPH_FAULT_PAUSE": point},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:  # wait until it has stopped itself (SIGSTOP) at the point
        pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
        if pid and os.WIFSTOPPED(status):
            break
        if pid:  # it ended without reaching the point
            raise AssertionError(f"fundgraph {args[0]} ended before {point}: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"fundgraph {args[0]} never reached {point}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    os.waitpid(proc.pid, 0)
    proc.stderr.close()
    proc.returncode = -9
    return proc.pid


@pytest.fixture(scope="session")
def small_manifest(tmp_path_factory) -> Path:
    return small_corpus(tmp_path_factory.mktemp("small-corpus"))


@pytest.fixture(scope="session")
def small_home_built(tmp_path_factory, small_manifest) -> Path:
    """A home holding the small corpus's graph, built once by the CLI (copy it before changing anything)."""
    home = tmp_path_factory.mktemp("small-home")
    out = cli(["build"], cli_env(home, small_manifest))
    assert out.returncode == 0, out.stderr
    return home


@pytest.fixture
def small_home(tmp_path, small_home_built) -> Path:
    """A private copy of ``small_home_built`` (the ``current`` symlink kept as a symlink)."""
    home = tmp_path / "home"
    shutil.copytree(small_home_built, home, symlinks=True)
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`fundgraph serve` in a subprocess on a free port; its stderr is kept to look for tracebacks."""

    def __init__(self, home: Path, log: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fundgraph.cli", "serve", "--port", str(self.port), "--no-access-log", *args],
            cwd=PROJECT_ROOT, env=cli_env(home, **env), stdout=self._fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(self.url + "/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the server did not start:\n" + log.read_text()) from None
                time.sleep(0.2)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def output(self) -> str:
        self._fh.flush()
        return self.log.read_text()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()
        return self.log.read_text()


def served_as_designed(response: httpx.Response) -> None:
    """No 500: a 5xx is only one of the designed 503s, in the error shape."""
    if response.status_code >= 500:
        err = response.json()["error"]
        assert response.status_code == 503, response.text
        assert err["code"] in {"store_damaged", "graph_not_built", "overloaded", "backend_unavailable"}, err
