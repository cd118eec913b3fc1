"""Private jieba tokenizers over jieba's default dictionary, which is read once per process.

Every user of jieba here (the keyword extractor, each lexical encoder) adds its own words, so each needs a
``jieba.Tokenizer`` of its own. jieba's ``initialize`` reads the default dictionary from its cache file
every time (~0.5 s, ~1.5 s on a loaded machine, ~55 MB); a copy of the dictionary read once takes ~10 ms
and ~15 MB. The dictionary is jieba's own constant data, not state of any graph.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import jieba
    import jieba.posseg


@cache
def _default_dictionary() -> tuple[dict[str, int], int]:
    """The default prefix dictionary of jieba (word → frequency) and its total; never handed out uncopied."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict…" on every process
    tk = jieba.Tokenizer()
    tk.tmp_dir = str(_cache_dir())
    tk.initialize()
    return tk.FREQ, tk.total


def _cache_dir() -> Path:
    """Where jieba keeps its dictionary cache: the user's own cache directory.

    jieba's default, ``/tmp/jieba.cache``, is shared by every user of the machine: a file left there by another
    user cannot be replaced, and jieba then logs a traceback on every start (seen running the tests as a
    non-root user after a root run).
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fundgraph"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"fundgraph-{os.getuid()}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


def private_tokenizer() -> jieba.Tokenizer:
    """An initialised ``jieba.Tokenizer`` of the caller's own: words added to it stay in it."""
    import jieba
    import jieba.posseg

    if using_mapped_dictionary():
        a = _mapped_arrays()
        tk = jieba.Tokenizer()
        tk.FREQ, tk.total, tk.initialized = MappedWords(a["freq_words"], a["freq"]), a["total"], True
        return tk
    freq, total = _default_dictionary()
    tk = jieba.Tokenizer()
    # What Tokenizer.initialize sets (jieba 0.42), from a copy instead of a second read of the cache file.
    tk.FREQ, tk.total, tk.initialized = dict(freq), total, True
    return tk


# -- the dictionary memory-mapped, for a process that cuts a few texts (`fundgraph add`) -----------------------
#: Version of the files :func:`_mapped_arrays` writes (part of their name).
_MAPPED_FORMAT = 1
_mapped_mode: ContextVar[bool] = ContextVar("mapped_dictionary", default=False)
_ABSENT = object()


@contextlib.contextmanager
def mapped_dictionary() -> Iterator[None]:
    """Within this block, new tokenizers look words up in jieba's dictionary memory-mapped (:class:`MappedWords`).

    Reading the dictionary into dicts costs ~1 s per process (500,000 words and 350,000 part-of-speech tags
    made into Python objects; 1.2 s of a 100,000-direction ``fundgraph add``); an addition cuts a few dozen
    directions, so it looks each word up in sorted arrays instead (a few microseconds, then remembered). The cuts
    are the same (tests/loaders/test_keyword_tokens.py). A build cuts millions of words: it reads the dicts.
    """
    token = _mapped_mode.set(True)
    try:
        yield
    finally:
        _mapped_mode.reset(token)


def using_mapped_dictionary() -> bool:
    """Whether :func:`mapped_dictionary` is in force."""
    return _mapped_mode.get()


class MappedWords:
    """A dict of jieba's word → value as tokenizers read it (``in``, ``get``, ``[]``, assignment, ``update``).

    The dictionary's words are a sorted memory-mapped array; words assigned (the user's words a tokenizer adds) are
    kept in a dict of their own over it, and a word looked up is remembered, up to :attr:`MEMO` of them (then the
    memo starts again: a server's tokenizer looks up the words of every search text it is sent).
    """

    __slots__ = ("_memo", "_own", "_values", "_width", "_words")

    #: Looked-up words remembered (found or not) before the memo is emptied.
    MEMO = 1 << 18

    def __init__(self, words: np.ndarray, values: np.ndarray) -> None:
        self._words, self._values = words, values
        self._width = words.dtype.itemsize // 4
        self._own: dict[str, Any] = {}
        self._memo: dict[str, Any] = {}

    def _find(self, key: str) -> Any:
        hit = self._own.get(key, _ABSENT)
        if hit is not _ABSENT or key in self._own:
            return hit
        hit = self._memo.get(key, self)  # self: not looked up yet (_ABSENT is remembered for a word not found)
        if hit is not self:
            return hit
        value = _ABSENT
        if isinstance(key, str) and 0 < len(key) <= self._width and not key.endswith("\0"):
            i = int(np.searchsorted(self._words, key))
            if i < len(self._words) and self._words[i] == key:
                value = self._values[i].item()
        if len(self._memo) >= self.MEMO:
            self._memo.clear()
        self._memo[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not _ABSENT  # type: ignore[arg-type]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, else ``default``."""
        value = self._find(key)
        return default if value is _ABSENT else value

    def __getitem__(self, key: str) -> Any:
        value = self._find(key)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._own[key] = value

    def update(self, other: dict[str, Any]) -> None:
        """Assign every item of ``other``."""
        self._own.update(other)

    def __bool__(self) -> bool:
        return True


@cache
def _mapped_arrays() -> dict[str, Any]:
    """The dictionary of jieba as sorted arrays in the cache directory (written once), memory-mapped.

    ``freq_words``/``freq``: every entry of the prefix dictionary (``Tokenizer.FREQ``) and ``total``;
    ``tag_words``/``tags``: the part-of-speech tag of each word of ``dict.txt`` (``POSTokenizer.word_tag_tab``).
    """
    import jieba
    import jieba.posseg

    source = Path(jieba.get_dict_file().name)
    st = source.stat()
    key = f"{getattr(jieba, '__version__', '?')}-{st.st_size}-{st.st_mtime_ns}-{_MAPPED_FORMAT}"
    base = _cache_dir() / f"jieba-mapped-{key}"
    names = ("freq_words", "freq", "tag_words", "tags", "total")
    if not all((base / f"{n}.npy").exists() for n in names):
        freq, total = _default_dictionary()
        tags: dict[str, str] = {}
        with jieba.get_dict_file() as fh:
            for line in fh.read().decode("utf-8").splitlines():
                parts = line.strip().split(" ")
                if len(parts) == 3:
                    tags[parts[0]] = parts[2]
        arrays = {}
        for words, values, wname, vname, dtype in ((freq, freq, "freq_words", "freq", np.int64),
                                                   (tags, tags, "tag_words", "tags", None)):
            ordered = sorted(words)
            arrays[wname] = np.asarray(ordered, dtype=str)
            arrays[vname] = np.asarray([values[w] for w in ordered], dtype=dtype if dtype is not None else str)
        arrays["total"] = np.asarray([total], dtype=np.int64)
        staging = Path(tempfile.mkdtemp(prefix=base.name + ".", dir=base.parent))
        for n, a in arrays.items():
            np.save(staging / f"{n}.npy", a, allow_pickle=False)
        try:
            os.rename(staging, base)
        except OSError:  # another process wrote it first
            shutil.rmtree(staging, ignore_errors=True)
    out: dict[str, Any] = {n: np.load(base / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in names}
    out["total"] = int(out["total"][0])
    return out


def mapped_tags() -> MappedWords:
    """The part-of-speech tags of jieba's dictionary words, memory-mapped (``POSTokenizer.word_tag_tab``)."""
    a = _mapped_arrays()
    return MappedWords(a["tag_words"], a["tags"])


# -- jieba's part-of-speech HMM, its Viterbi pass over arrays ---------------------------------------------------
class ArrayViterbi:
    """``jieba.posseg.viterbi`` with each step's products as one numpy sum instead of a generator per state.

    jieba's pass, for each character, scores every (previous, next) pair of the allowed states in a Python
    generator (a third of keyword extraction's CPU on the bundled guidelines). Here each step adds the same
    three float64 terms in the same order (``V[prev] + trans[prev, next]``, then ``+ emit[next]``: the same
    roundings), over the states jieba would consider, and breaks ties as ``max`` over ``(score, state)`` tuples
    does (the greater state wins): the same route (tests/loaders/test_extraction_fast_paths.py compares them).
    """

    def __init__(self, states: dict, start_p: dict, trans_p: dict, emit_p: dict) -> None:
        self.char_states, self.emit_p = states, emit_p
        self.states = sorted(trans_p)  # ascending in tuple order: ties go to the last (greatest) index
        index = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        self.index = index
        self.start = np.array([start_p[s] for s in self.states], dtype=np.float64)
        self.trans = np.full((n, n), -np.inf)
        for a, nexts in trans_p.items():
            for b, p in nexts.items():
                self.trans[index[a], index[b]] = p
        self.follows = np.zeros((n, n), dtype=bool)  # b is a key of trans_p[a] (whatever its value)
        for a, nexts in trans_p.items():
            self.follows[index[a], [index[b] for b in nexts]] = True
        self.leads = np.array([len(trans_p[s]) > 0 for s in self.states])
        self._emit: dict[str, np.ndarray] = {}
        self._allowed: dict[str, np.ndarray] = {}

    def _emission(self, c: str) -> np.ndarray:
        e = self._emit.get(c)
        if e is None:
            e = self._emit[c] = np.array([self.emit_p[s].get(c, -3.14e100) for s in self.states], dtype=np.float64)
        return e

    def _allowed_states(self, c: str) -> np.ndarray:
        a = self._allowed.get(c)
        if a is None:
            a = np.ones(len(self.states), dtype=bool)
            listed = self.char_states.get(c)
            if listed is not None:
                a[:] = False
                a[[self.index[s] for s in listed]] = True
            self._allowed[c] = a
        return a

    def __call__(self, obs: str) -> tuple[float, list[tuple[str, str]]]:
        """(score, state per character) of ``obs``, as ``jieba.posseg.viterbi.viterbi`` gives them."""
        cur = np.flatnonzero(self._allowed_states(obs[0]))
        v = self.start[cur] + self._emission(obs[0])[cur]
        back: list[tuple[np.ndarray, np.ndarray]] = []  # per step: its states and each one's best previous state
        for c in obs[1:]:
            prev = cur[self.leads[cur]]
            vp = v[self.leads[cur]]
            expected = self.follows[prev].any(axis=0)
            nxt = self._allowed_states(c) & expected
            if not nxt.any():
                nxt = expected if expected.any() else np.ones(len(self.states), dtype=bool)
            cur = np.flatnonzero(nxt)
            scores = (vp[:, None] + self.trans[np.ix_(prev, cur)]) + self._emission(c)[cur][None, :]
            flipped = scores[::-1]
            best = flipped.argmax(axis=0)  # the last of equal maxima: the greatest previous state
            v = flipped[best, np.arange(len(cur))]
            back.append((cur, prev[::-1][best]))
        k = len(v) - 1 - int(v[::-1].argmax())
        prob, state = float(v[k]), int(cur[k])
        route = [0] * len(obs)
        for i in range(len(obs) - 1, 0, -1):
            route[i] = state
            states, best_prev = back[i - 1]
            state = int(best_prev[np.searchsorted(states, state)])
        route[0] = state
        return prob, [self.states[s] for s in route]


@cache
def array_viterbi() -> ArrayViterbi:
    """:class:`ArrayViterbi` over jieba's part-of-speech model (loaded with ``jieba.posseg``)."""
    import jieba.posseg as posseg

    return ArrayViterbi(posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)


@cache
def array_pos_tokenizer() -> type[jieba.posseg.POSTokenizer]:
    """A ``jieba.posseg.POSTokenizer`` subclass whose HMM pass over unknown words is :func:`array_viterbi`.

    Everything else (dictionary words, tags, the cut of Latin and digits) is jieba's own; only the private
    ``__cut`` that runs the Viterbi pass is replaced, its body otherwise as jieba 0.42 writes it.
    """
    import jieba.posseg as posseg

    class ArrayPOSTokenizer(posseg.POSTokenizer):
        def _POSTokenizer__cut(self, sentence: str) -> Iterator[posseg.pair]:  # jieba's own (mangled) name
            _prob, pos_list = array_viterbi()(sentence)
            begin, nexti = 0, 0
            for i, char in enumerate(sentence):
                pos = pos_list[i][0]
                if pos == "B":
                    begin = i
                elif pos == "E":
                    yield posseg.pair(sentence[begin:i + 1], pos_list[i][1])
                    nexti = i + 1
                elif pos == "S":
                    yield posseg.pair(char, pos_list[i][1])
                    nexti = i + 1
            if nexti < len(sentence):
                yield posseg.pair(sentence[nexti:], pos_list[nexti][1])

    return ArrayPOSTokenizer
