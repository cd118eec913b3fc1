"""The embedded store's home directory made crash-safe: verified graphs, an atomic swap, one build at a time.

Layout of a home::

    current          symlink → g-<time>-<pid>   (the graph being served; switched with one os.replace)
    g-<time>-<pid>/  a complete graph: the store's files (see :mod:`.files`) and MANIFEST.json, written last
    .build.lock      held (fcntl.flock) by the one build writing to this home; the kernel releases it on death
    .staging-*/      a graph being written (debris if its build died)
    .link-*          the next ``current`` symlink before it is switched in (debris if its build died)

Why a symlink: renaming a directory over another is not atomic on POSIX (the old code moved ``current`` aside,
then moved the new graph in: a kill between the two renames left no ``current``). ``rename(2)`` of a symlink over
a symlink is atomic, so ``current`` names the old graph or the new one at every instant, whatever dies when. A
graph directory is renamed into place only once complete (its files and their manifest fsynced), so whatever
``current`` names is complete.

The manifest lists every regular file of the graph directory with its size and SHA-256, whatever files the
store's format writes (this module knows no file name but its own). :func:`verify` checks a graph against it
before it is read; :func:`reading` turns a reader's failure on one file into :class:`StoreDamaged` naming that
file and what is wrong.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fundgraph.core.errors import BuildInProgress, StoreDamaged, StoreNotWritable

logger = logging.getLogger(__name__)

CURRENT = "current"
MANIFEST_FILE = "MANIFEST.json"
LOCK_FILE = ".build.lock"
GRAPH_PREFIX = "g-"
STAGING_PREFIX = ".staging-"
LINK_PREFIX = ".link-"
#: Left by fundgraph before the symlink layout: the previous graph, moved aside during a swap.
LEGACY_OLD_PREFIX = ".old-"

#: Named points of a build where ``FUNDGRAPH_FAULT_PAUSE=<point>`` stops the process (for the fault suite).
FAULT_POINTS = ("locked", "staged", "manifested", "renamed", "linked", "switched", "legacy-moved")


def fault_point(name: str) -> None:
    """Stop this process (SIGSTOP) when ``FUNDGRAPH_FAULT_PAUSE`` names this point: a test then kills it.

    A test hook read straight from the environment (not Settings) so that it reaches every process of a build,
    whichever entry point started it; it costs one dict lookup when unset.
    """
    if os.environ.get("FUNDGRAPH_FAULT_PAUSE") == name:
        os.kill(os.getpid(), signal.SIGSTOP)


# -- the manifest ---------------------------------------------------------------------------------------------
#: Bytes hashed per call of ``update`` (see :func:`_sha256`).
HASH_CHUNK = 64 << 20


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, hashed from a read-only mapping of it in large pieces.

    ``update`` releases the GIL while it hashes, and must take it back after each piece: read in 1 MB blocks,
    hashing a 100,000-direction graph (1.5 GB) while the main thread reads the columns (Python, holding the GIL)
    took 4.2 s, each block waiting for the GIL twice (the read and the update); in 64 MB pieces of a mapping,
    2.8 s (alone: 1.4 and 1.0 s).
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return h.hexdigest()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m, memoryview(m) as view:
            for at in range(0, size, HASH_CHUNK):
                h.update(view[at : at + HASH_CHUNK])
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _graph_files(graph_dir: Path) -> list[Path]:
    return sorted(p for p in graph_dir.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)


def carried_entries(graph_dir: Path, sources: dict[str, Path]) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The manifest entries of files hard-linked from another graph, for :func:`write_manifest`.

    Returns:
        {name in ``graph_dir``: (source, its entry in its own graph's manifest)}; files that manifest lacks are
        left out (hashed again).
    """
    out: dict[str, tuple[Path, dict[str, Any]]] = {}
    by_dir: dict[Path, dict[str, Any]] = {}
    for name, source in sources.items():
        d = source.parent
        if d not in by_dir:
            try:
                by_dir[d] = json.loads((d / MANIFEST_FILE).read_bytes().decode("utf-8"))["files"]
            except (OSError, ValueError, KeyError):
                by_dir[d] = {}
        entry = by_dir[d].get(source.name)
        if entry is not None:
            out[name] = (source, entry)
    return out


def write_manifest(graph_dir: Path, carried: dict[str, tuple[Path, dict[str, Any]]] | None = None) -> None:
    """Flush every file of ``graph_dir`` to disk, then write ``MANIFEST.json`` (sizes and SHA-256) last.

    Args:
        graph_dir: the graph directory.
        carried: files hard-linked from a graph already verified and on disk ({name: (source, its manifest
            entry)}): their entry is reused when the file is still that very file (same inode) of that size,
            instead of reading it again (hashing 1 GB costs ~2.5 s).
    """
    files = {}
    carried = carried or {}
    todo: list[tuple[str, Path, int]] = []
    for path in _graph_files(graph_dir):
        name = path.relative_to(graph_dir).as_posix()
        reuse = carried.get(name)
        st = path.stat()
        if reuse is not None:
            source, entry = reuse
            with contextlib.suppress(OSError):
                sst = source.stat()
                if (sst.st_ino, sst.st_dev) == (st.st_ino, st.st_dev) and int(entry["size"]) == st.st_size:
                    files[name] = {"size": st.st_size, "sha256": str(entry["sha256"])}
                    continue
        todo.append((name, path, st.st_size))

    def flushed_entry(path: Path, size: int) -> dict[str, Any]:
        with path.open("rb+") as fh:
            os.fsync(fh.fileno())
        return {"size": size, "sha256": _sha256(path)}

    # Hashed on every core, largest first: ``update`` hashes without the GIL. A full build's 1.6 GB at 100,000
    # directions took ~2.5 s on one core of two; an addition rewrites ~700 MB (the text vectors, their transpose).
    todo.sort(key=lambda t: -t[2])
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for (name, _, _), entry in zip(todo, pool.map(lambda t: flushed_entry(t[1], t[2]), todo), strict=True):
            files[name] = entry
    tmp = graph_dir / (MANIFEST_FILE + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump({"format": 1, "files": files}, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, graph_dir / MANIFEST_FILE)
    _fsync_dir(graph_dir)


def has_manifest(graph_dir: Path) -> bool:
    """Whether ``graph_dir`` carries a manifest (graphs written before manifests existed do not)."""
    return (graph_dir / MANIFEST_FILE).is_file()


def verify(graph_dir: Path, *, checksums: bool = True, sizes_only: Collection[str] = ()) -> None:
    """Check every file the manifest lists: present, of its size, and (``checksums``) of its content.

    ``sizes_only``: files whose content is not hashed (``fundgraph add``: the blobs it carries over by hard link,
    with their manifest entries, so the next full verification still finds damage in them).

    Raises:
        StoreDamaged: naming the first file that is missing, of another size or changed, or the manifest itself.
    """
    manifest_path = graph_dir / MANIFEST_FILE
    with reading(manifest_path):
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not a mapping")
        entries = [(name, int(e["size"]), str(e["sha256"])) for name, e in files.items()]
    for name, size, digest in entries:
        path = graph_dir / name
        try:
            found = path.stat().st_size
        except FileNotFoundError:
            raise StoreDamaged(path, "missing (listed in the graph's manifest)") from None
        if found != size:
            raise StoreDamaged(path, f"{found} bytes where {size} were written (truncated or overwritten)")
        if checksums and name not in sizes_only and _sha256(path) != digest:
            raise StoreDamaged(path, "content differs from what was written (SHA-256 mismatch)")


#: Verifications started ahead of a first read (:func:`verify_ahead`), by graph directory: (the manifest's stamp,
#: the thread, what it found).
_AHEAD: dict[Path, tuple[tuple[int, int, int], threading.Thread, list[Exception]]] = {}
_AHEAD_LOCK = threading.Lock()


def _manifest_stamp(graph_dir: Path) -> tuple[int, int, int] | None:
    try:
        st = (graph_dir / MANIFEST_FILE).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def verify_ahead(graph_dir: Path) -> None:
    """Start verifying ``graph_dir`` (checksums included) in a thread now, for a first read to come.

    ``fundgraph serve`` starts it before it imports the web framework and starts uvicorn: at 100,000 directions
    the hashing (1.5 GB, ~1 s of a core without the GIL) then overlaps ~0.5 s of imports that it otherwise
    followed. :func:`verify_awaiting` takes its result (or verifies, when the graph changed since).
    """
    graph_dir = Path(graph_dir)
    stamp = _manifest_stamp(graph_dir)
    if stamp is None:
        return
    found: list[Exception] = []

    def run() -> None:
        try:
            verify(graph_dir)
        except Exception as e:  # any failure, not only damage, is raised again to the first read
            found.append(e)

    with _AHEAD_LOCK:
        if graph_dir in _AHEAD and _AHEAD[graph_dir][0] == stamp:
            return
        thread = threading.Thread(target=run, name="fundgraph-verify-ahead", daemon=True)
        _AHEAD[graph_dir] = (stamp, thread, found)
    thread.start()


def verify_awaiting(graph_dir: Path, *, sizes_only: Collection[str] = ()) -> None:
    """:func:`verify`, or the result of the :func:`verify_ahead` of this very graph (waited for), taken once."""
    graph_dir = Path(graph_dir)
    with _AHEAD_LOCK:
        ahead = _AHEAD.pop(graph_dir, None)
    if ahead is not None and not sizes_only and ahead[0] == _manifest_stamp(graph_dir):
        ahead[1].join()
        if ahead[2]:
            raise ahead[2][0]
        return
    verify(graph_dir, sizes_only=sizes_only)


def _describe(e: BaseException) -> str:
    """What is wrong with a file, in a few words, from the exception its reader raised."""
    if isinstance(e, FileNotFoundError):
        return "missing"
    if isinstance(e, UnicodeDecodeError):
        return f"not valid UTF-8 (byte {e.start})"
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}; truncated?)"
    if isinstance(e, KeyError):
        return f"missing key {e.args[0]!r}" if e.args else "a key is missing"
    if isinstance(e, OSError):
        return f"cannot be read ({e.strerror or e})"
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "allow_pickle" in text or "pickle" in text.lower():
        return "holds a pickled (object) array, which is refused"
    if isinstance(e, EOFError) or "mmap length is greater than file size" in text:
        return "truncated"
    return text[:200]


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Within this block, any failure reading ``path`` is :class:`StoreDamaged` naming ``path`` and the problem."""
    try:
        yield
    except StoreDamaged:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError, RecursionError) as e:
        raise StoreDamaged(path, _describe(e)) from e


def check_shapes(graph_dir: Path, built: Any, *, vectors_file: str, index_file: str) -> None:
    """Check what the files say of each other: one vector row per direction id, and every id a node."""
    shape = getattr(built.vectors, "shape", None)
    ids = built.direction_ids
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise StoreDamaged(graph_dir / index_file, "'direction_ids' is not a list of ids")
    if shape is None or len(shape) != 2:
        raise StoreDamaged(graph_dir / vectors_file, f"not a 2-d array (shape {shape})")
    if shape[0] != len(ids):
        raise StoreDamaged(graph_dir / vectors_file, f"{shape[0]} vectors for {len(ids)} directions")
    words = getattr(built, "words", None)
    if words is not None and words.shape[0] != len(ids):
        raise StoreDamaged(graph_dir / "words.indptr.npy", f"{words.shape[0]} word rows for {len(ids)} directions")
    pools = getattr(built, "pools", None)
    if pools is not None and (pools[0].shape[0] != len(ids) or int(np.max(pools[0], initial=-1)) >= len(ids)):
        raise StoreDamaged(graph_dir / "pools.rows.npy",
                           f"pools of {pools[0].shape[0]} rows (or naming a row past them) for {len(ids)} directions")
    columns = getattr(built, "columns", None)  # a graph read as columns: its node index (no networkx graph made)
    nodes = columns.index if columns is not None else built.graph
    missing = next((i for i in ids if i not in nodes), None)
    if missing is not None:
        raise StoreDamaged(graph_dir / index_file, f"direction {missing!r} is not in the graph")
    if not isinstance(built.meta, dict) or not isinstance(built.encoder_state, dict):
        raise StoreDamaged(graph_dir / index_file, "'meta' or 'encoder_state' is not a mapping")


# -- one build at a time --------------------------------------------------------------------------------------
class BuildLock:
    """An exclusive ``flock`` on ``home/.build.lock``: the kernel drops it when its process dies, even by kill -9.

    Args:
        home: the store's home.
        wait: seconds to wait for another build to finish before refusing (0: refuse at once).
    """

    def __init__(self, home: Path, wait: float = 0.0) -> None:
        self.home = Path(home)
        self.wait = wait
        self._fh: Any = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fh is not None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        fh = (self.home / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            fh.close()
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        fh.flush()
        self._fh = fh
        return True

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds.

        Raises:
            BuildInProgress: another build still holds it.
        """
        deadline = time.monotonic() + self.wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                holder = (self.home / LOCK_FILE).read_text(encoding="utf-8", errors="replace").split()
                who = f"pid {holder[0]}, started {holder[1]}" if len(holder) >= 2 else "another process"
                raise BuildInProgress(
                    f"another build ({who}) is writing to {self.home}: wait for it to finish "
                    f"(or set FUNDGRAPH_BUILD_LOCK_WAIT to wait longer than {self.wait:g} s)",
                    detail={"home": str(self.home)},
                )
            time.sleep(0.1)

    def release(self) -> None:
        """Give the lock back (the file stays: removing it would let two processes lock two different files)."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def check_writable(home: Path) -> None:
    """Make sure ``home`` exists and a file can be created in it, before any work is done.

    Raises:
        StoreNotWritable: naming the directory and the reason.
    """
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=home)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StoreNotWritable(
            f"cannot write to the store directory {home}: {e.strerror or e}; fix its permissions or choose "
            "another FUNDGRAPH_HOME", detail={"home": str(home)}) from e


# -- the swap ---------------------------------------------------------------------------------------------
def current_target(home: Path) -> Path | None:
    """The graph directory ``current`` names (a symlink, or a directory of the pre-symlink layout)."""
    current = home / CURRENT
    if current.is_symlink():
        target = home / os.readlink(current)
        return target if target.is_dir() else None
    return current if current.is_dir() else None


def install(home: Path, write: Callable[[Path], Any]) -> Path:
    """Write a graph with ``write(directory)`` and make it ``current`` atomically; the caller holds the build lock.

    ``write`` may return the files it hard-linked from another graph (:func:`carried_entries`): their manifest
    entries are reused.

    Returns:
        The new graph's directory.
    """
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home))
    previous = current_target(home)
    try:
        carried = write(staging / "g")
        fault_point("staged")
        write_manifest(staging / "g", carried if isinstance(carried, dict) else None)
        fault_point("manifested")
        name = f"{GRAPH_PREFIX}{time.time_ns()}-{os.getpid()}"
        os.rename(staging / "g", home / name)
        _fsync_dir(home)
        fault_point("renamed")  # between the graph's rename and the link's
        current = home / CURRENT
        if current.is_dir() and not current.is_symlink():  # pre-symlink layout: move it to a graph name once
            legacy = home / f"{GRAPH_PREFIX}{time.time_ns()}-legacy"
            os.rename(current, legacy)
            previous = legacy
            fault_point("legacy-moved")  # no `current` here: recover() links the newest complete graph
        link = home / f"{LINK_PREFIX}{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(name, link)
        fault_point("linked")
        os.replace(link, current)  # the one atomic step: `current` names the old graph, then the new one
        _fsync_dir(home)
        fault_point("switched")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if previous is not None and previous.name != name:
        shutil.rmtree(previous, ignore_errors=True)
    return home / name


def _is_complete(graph_dir: Path) -> bool:
    try:
        verify(graph_dir, checksums=False)
    except StoreDamaged:
        return False
    return True


def recover(home: Path, lock: BuildLock | None = None) -> list[str]:
    """Repair a home left by a dead build, if no build is running: relink ``current``, remove debris.

    ``current`` missing or dangling (a build died while moving an old-layout graph, or someone removed it) is
    linked to the newest complete graph directory there is (or a graph an old fundgraph moved aside). Staging
    directories, unswitched links and graphs ``current`` does not name are removed.

    Args:
        home: the store's home.
        lock: the build lock if the caller holds it; otherwise it is taken without waiting (and nothing is done
            while another process builds).

    Returns:
        What was done, one line per action (empty when nothing was left over).
    """
    if not home.is_dir():
        return []
    own = lock is None
    if own:
        lock = BuildLock(home)
        try:
            if not lock.try_acquire():
                return []
        except OSError:  # a read-only home: nothing can be repaired, nor can a build have left anything
            return []
    done: list[str] = []
    try:
        names = sorted(os.listdir(home))
        if current_target(home) is None:
            candidates = [home / n for n in names if n.startswith(GRAPH_PREFIX) and _is_complete(home / n)]
            candidates.sort(key=lambda p: p.stat().st_mtime_ns)
            legacy = [home / n for n in names if n.startswith(LEGACY_OLD_PREFIX) and (home / n).is_dir()]
            if not candidates and legacy:  # the old layout's swap died between its renames
                moved = home / f"{GRAPH_PREFIX}{time.time_ns()}-legacy"
                os.rename(max(legacy, key=lambda p: p.stat().st_mtime_ns), moved)
                candidates = [moved]
            if candidates:
                link = home / f"{LINK_PREFIX}{os.getpid()}"
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                os.symlink(candidates[-1].name, link)
                current = home / CURRENT
                if current.is_symlink() or not current.exists():
                    os.replace(link, current)
                    done.append(f"relinked current → {candidates[-1].name}")
        keep = current_target(home)
        for n in sorted(os.listdir(home)):
            path = home / n
            if n.startswith((STAGING_PREFIX, LEGACY_OLD_PREFIX)) or (
                    n.startswith(GRAPH_PREFIX) and (keep is None or path.name != keep.name)):
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed {n}")
            elif n.startswith(LINK_PREFIX):
                path.unlink(missing_ok=True)
                done.append(f"removed {n}")
    except OSError as e:
        logger.warning("could not tidy the store directory %s: %s", home, e)
    finally:
        if own:
            lock.release()
    for line in done:
        logger.warning("store %s: %s (left by a build that did not finish)", home, line)
    return done
