"""Start and stop the test Neo4j (tools/neo4j-launcher: neo4j-harness 5.26 in a child JVM).

The launcher prints ``BOLT_URI=bolt://127.0.0.1:PORT`` once Bolt accepts connections and stops when its
stdin closes (so it also dies with this process) or on SIGTERM.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests import PROJECT_ROOT

LAUNCHER_DIR = PROJECT_ROOT / "tools" / "neo4j-launcher"
JAR = LAUNCHER_DIR / "target" / "neo4j-launcher.jar"
#: Modest memory for a 2-core / 24 GiB machine shared with the rest of the test suite.
JVM_OPTS = ("-Xms256m", "-Xmx1g", "-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1")
#: What Neo4j's own start script gives its JVM besides memory and GC (``server.jvm.additional`` of the neo4j.conf it
#: ships, which the Docker image keeps), added to :data:`JVM_OPTS` so the launcher's server is the one users run.
#: Without ``--add-opens java.base/java.nio`` the page cache runs in its fallback mode (debug.log: "Reflection access
#: to java.nio.DirectByteBuffer is not available, using fallback mode").
SERVER_JVM_FLAGS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:-OmitStackTraceInFastThrow",
)
START_TIMEOUT_S = 180.0


class HarnessUnavailable(RuntimeError):
    """Java or Maven is missing, or the launcher could not be built."""


def missing_tools() -> str | None:
    """Why the launcher cannot run here, or None."""
    for tool, what in (("java", "Java 17+"), ("javac", "a JDK 17+"), ("mvn", "Maven")):
        if shutil.which(tool) is None:
            return f"{what} ({tool}) is not installed: the Neo4j tests need it to build and run neo4j-harness"
    return None


def build_launcher() -> Path:
    """Build the launcher jar unless it is up to date (tools/neo4j-launcher/build.sh)."""
    reason = missing_tools()
    if reason:
        raise HarnessUnavailable(reason)
    proc = subprocess.run(
        ["bash", str(LAUNCHER_DIR / "build.sh")], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0 or not JAR.exists():
        raise HarnessUnavailable(f"building the Neo4j launcher failed:\n{proc.stdout}\n{proc.stderr}")
    return JAR


class Neo4jProcess:
    """One launcher process; ``port=None`` lets the OS choose a free port; ``pagecache``: e.g. "2g" (default 128m)."""

    def __init__(self, port: int | None = None, *, workdir: Path | None = None, pagecache: str | None = None) -> None:
        self.port = port or 0
        self.pagecache = pagecache
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="fundgraph-neo4j-"))
        self.uri: str | None = None
        self.proc: subprocess.Popen[str] | None = None
        self.startup_s: float | None = None

    def start(self) -> Neo4jProcess:
        """Start the server and wait for its Bolt URI."""
        jar = build_launcher()
        t0 = time.perf_counter()
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "launcher.log").open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                "java",
                *JVM_OPTS,
                *SERVER_JVM_FLAGS,
                "-jar",
                str(jar),
                "--port",
                str(self.port),
                "--dir",
                str(self.workdir / "db"),
                *(("--pagecache", self.pagecache) if self.pagecache else ()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            cwd=self.workdir,
            env={**os.environ},
        )
        found: list[str] = []

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("BOLT_URI="):
                    found.append(line.strip().split("=", 1)[1].rstrip("/"))

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the Neo4j launcher exited with {self.proc.returncode}; see "
                    f"{self.workdir / 'launcher.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Neo4j did not start within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        self.uri = found[0]
        self.port = int(self.uri.rsplit(":", 1)[1])
        self.startup_s = time.perf_counter() - t0
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Close its stdin (a clean shutdown), then SIGTERM, then SIGKILL if it still runs."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        try:
            if p.stdin:
                p.stdin.close()
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# -- neo4j-admin import (tests/neo4j/test_admin_import.py, benchmarks/scale.py) ----------------------------------
#: ``neo4j-admin`` is org.neo4j.cli.AdminTool, already on the launcher's class path (through neo4j-harness).
CLASSPATH = f"{LAUNCHER_DIR / 'target' / 'neo4j-launcher.jar'}{os.pathsep}{LAUNCHER_DIR / 'target' / 'lib' / '*'}"
#: The importer suggests a 1 GiB heap for the corpus graph; off-heap is capped so it fits beside the test server.
IMPORT_JVM = "-Xmx1g -XX:+UseParallelGC -XX:TieredStopAtLevel=1"


def admin_shim(bin_dir: Path, home: Path, jvm: str = IMPORT_JVM) -> Path:
    """A ``neo4j-admin`` on PATH that runs the real AdminTool against the Neo4j home ``home``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "neo4j-admin"
    shim.write_text(
        "#!/bin/sh\n"
        f"NEO4J_HOME={shlex.quote(str(home))} NEO4J_CONF={shlex.quote(str(home / 'conf'))} \\\n"
        f'  exec java {jvm} -cp {shlex.quote(CLASSPATH)} org.neo4j.cli.AdminTool "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return shim


def fresh_home(root: Path) -> Path:
    """An empty Neo4j home (an empty conf/neo4j.conf) under ``root``."""
    home = root / "home"
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "neo4j.conf").write_text("", encoding="utf-8")
    return home


def run_with_admin(
    cmd: list[str], cwd: Path, bin_dir: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with the ``neo4j-admin`` shim of ``bin_dir`` first on PATH."""
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
