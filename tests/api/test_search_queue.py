import asyncio
import threading

from fundgraph.api.work_queue import INLINE_TEXT_CHARS, WorkQueue


class Recording:
    """The real store, recording the thread each search runs in."""

    def __init__(self, store):
        self.store = store
        self.in_memory = store.in_memory
        self.threads: list[int] = []

    def cached_search(self, text, k, programs):
        return getattr(self.store, "cached_search", lambda *_: None)(text, k, programs)

    def search(self, text, k, programs):
        self.threads.append(threading.get_ident())
        return self.store.search(text, k, programs)


def searched_on(store, text):
    queue = WorkQueue("search", workers=1, waiting=1, timeout=60)
    recording = Recording(store)

    async def run():
        return threading.get_ident(), await queue.search(recording, text, 5, None)

    loop_thread, result = asyncio.run(run())
    assert queue.admitted == 0
    return recording.threads == [loop_thread], result


def test_a_short_text_is_searched_on_the_event_loop_of_an_in_memory_store(store):
    on_loop, result = searched_on(store, "脑机接口 神经调控 brain-computer interface (queue test)")
    assert on_loop is store.in_memory
    assert result.items and result == store.search("脑机接口 神经调控 brain-computer interface (queue test)", 5, None)


def test_a_long_text_goes_through_the_queue(store):
    text = ("阿尔茨海默病 PET imaging 多模态影像 queue test " * 40)[: INLINE_TEXT_CHARS + 1]
    on_loop, result = searched_on(store, text)
    assert not on_loop
    assert result.items and result == store.search(text, 5, None)
