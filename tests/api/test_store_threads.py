"""The bound on store calls at once (``FUNDGRAPH_STORE_THREADS``): a network store's requests queue in the API."""

from __future__ import annotations

import asyncio
import threading
import time

from fundgraph.api.app import create_app
from fundgraph.api.deps import call, store_limiter
from fundgraph.graph.read.models import DirectionFilter


def test_the_app_bounds_store_calls_by_the_setting(api_settings):
    app = create_app(api_settings.model_copy(update={"store_threads": 3}))
    assert app.state.store_limiter.total_tokens == 3
    assert create_app(api_settings).state.store_limiter.total_tokens == 4  # the default


def test_a_network_store_is_called_from_at_most_the_bound_of_threads_at_once(store):
    did = store.directions(DirectionFilter(), 1, 0).items[0].id
    limiter = store_limiter(2)
    lock = threading.Lock()
    running, most, threads = 0, 0, set()

    def detail() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.get_ident())
        try:
            time.sleep(0.02)  # long enough that every call admitted at once overlaps the others
            return store.direction(did).id
        finally:
            with lock:
                running -= 1

    async def twelve() -> tuple[int, list[str]]:
        return threading.get_ident(), await asyncio.gather(*(call(store, detail, limiter=limiter) for _ in range(12)))

    loop_thread, answers = asyncio.run(twelve())
    assert answers == [did] * 12
    if store.in_memory:  # answered inline on the event loop: one at a time, no thread
        assert (most, threads) == (1, {loop_thread})
    else:
        assert most == 2 and loop_thread not in threads

