"""Private jieba tokenizers over jieba's default dictionary, which is read once per process.

Every user of jieba here (the keyword extractor, each lexical encoder) adds its own words, so each needs a
``jieba.Tokenizer`` of its own. jieba's ``initialize`` reads the default dictionary from its cache file
every time (~0.5 s, ~1.5 s on a loaded machine, ~55 MB); a copy of the dictionary read once takes ~10 ms
and ~15 MB. The dictionary is jieba's own constant data, not state of any graph.
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba


@cache
def _default_dictionary() -> tuple[dict[str, int], int]:
    """The default prefix dictionary of jieba (word → frequency) and its total; never handed out uncopied."""
    import jieba

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

    freq, total = _default_dictionary()
    tk = jieba.Tokenizer()
    # What Tokenizer.initialize sets (jieba 0.42), from a copy instead of a second read of the cache file.
    tk.FREQ, tk.total, tk.initialized = dict(freq), total, True
    return tk
