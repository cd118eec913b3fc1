"""Private jieba tokenizers over jieba's default dictionary, which is read once per process.

Every user of jieba here (the keyword extractor, each lexical encoder) adds its own words, so each needs a
``jieba.Tokenizer`` of its own. jieba's ``initialize`` reads the default dictionary from its cache file
every time (~0.5 s, ~1.5 s on a loaded machine, ~55 MB); a copy of the dictionary read once takes ~10 ms
and ~15 MB. The dictionary is jieba's own constant data, not state of any graph.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba


@cache
def _default_dictionary() -> tuple[dict[str, int], int]:
    """The default prefix dictionary of jieba (word → frequency) and its total; never handed out uncopied."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict…" on every process
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk.FREQ, tk.total


def private_tokenizer() -> jieba.Tokenizer:
    """An initialised ``jieba.Tokenizer`` of the caller's own: words added to it stay in it."""
    import jieba

    freq, total = _default_dictionary()
    tk = jieba.Tokenizer()
    # What Tokenizer.initialize sets (jieba 0.42), from a copy instead of a second read of the cache file.
    tk.FREQ, tk.total, tk.initialized = dict(freq), total, True
    return tk
