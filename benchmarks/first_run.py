"""What a user feels first: `fundgraph build` of the bundled corpus and `fundgraph serve` to the first healthy answer.

Each run is a fresh process with a fresh FUNDGRAPH_HOME, exactly as a user types the commands. Prints the minimum,
median and maximum over --runs for: a cold build (empty home), a warm rebuild (same home: the per-document cache
is used), and serve start-up (process start to the first 200 from /api/health).

    python benchmarks/first_run.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FUNDGRAPH = [sys.executable, "-m", "fundgraph.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def serve_ready(env: dict[str, str], timeout: float = 120.0) -> float:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([*FUNDGRAPH, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.02)
        raise TimeoutError("serve did not answer /api/health")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    figures: dict[str, list[float]] = {"build (cold)": [], "build (warm cache)": [], "serve to first 200": []}
    for _ in range(args.runs):
        home = Path(tempfile.mkdtemp(prefix="fundgraph-first-run-"))
        env = {**os.environ, "FUNDGRAPH_HOME": str(home)}
        try:
            figures["build (cold)"].append(timed([*FUNDGRAPH, "build"], env))
            figures["build (warm cache)"].append(timed([*FUNDGRAPH, "build"], env))
            figures["serve to first 200"].append(serve_ready(env))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    print(f"{'what':<22}{'min s':>8}{'median s':>10}{'max s':>8}   ({args.runs} runs, fresh processes)")
    for name, xs in figures.items():
        print(f"{name:<22}{min(xs):>8.2f}{statistics.median(xs):>10.2f}{max(xs):>8.2f}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
