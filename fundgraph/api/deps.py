"""Dependencies handed to routes with ``Annotated[..., Depends(...)]``: the settings, the store, limits."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
import pydantic_core
from fastapi import Depends, Query, Request, Response
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from starlette.types import ASGIApp, Receive, Scope, Send

from fundgraph.core.errors import InvalidRequest
from fundgraph.core.schema import ENTITY_REGISTRY, EntityRegistry, using_registry
from fundgraph.core.settings import Settings
from fundgraph.graph.read import semantics
from fundgraph.graph.stores.base import GraphStore, GzipJSON
from fundgraph.graph.stores.factory import open_store

#: Largest ``k`` of similar and search.
MAX_K = 100
#: Longest search text (characters) and most programs a search may be restricted to.
MAX_SEARCH_TEXT = 20_000
MAX_SEARCH_PROGRAMS = 50
#: Largest neighbourhood depth.
MAX_DEPTH = 3
#: Largest ``limit`` of a page or a neighbourhood, as documented (the default of ``FUNDGRAPH_MAX_LIMIT``).
MAX_LIMIT: int = Settings.model_fields["max_limit"].default
#: Longest id or name a path or query parameter takes.
MAX_ID = 200
#: Defaults of a similar list's ``k`` and a neighbourhood's ``depth`` and ``limit``.
DEFAULT_K = semantics.DEFAULT_K
DEFAULT_DEPTH = 1
DEFAULT_LIMIT = 100
#: A similar list's ``scope``: other programs only, or all.
SimilarScope = Literal["cross-program", "all"]

T = TypeVar("T")


class StoreHolder:
    """The app's store, opened on first use (so the API starts, and answers 503, while a backend is down)."""

    def __init__(self, settings: Settings, store: GraphStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()

    def get(self) -> GraphStore:
        """The store (raises BackendUnavailable while it cannot be opened)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings)
        return self._store

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()

    async def close_loop(self) -> None:
        """Let the store, if opened, release what it opened for the running event loop (the app's, as it stops)."""
        if self._store is not None:
            await self._store.close_loop()


class EntityTypesInUse:
    """ASGI middleware: the app's entity registry is the one in use while it serves (and starts up).

    Each app makes its registry from its own vocabulary directory; the context variable behind
    :func:`~fundgraph.core.schema.using_registry` keeps two apps in one process from seeing each other's types.
    """

    def __init__(self, app: ASGIApp, registry: EntityRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope`` under the app's registry."""
        with using_registry(self.registry):
            await self.app(scope, receive, send)


# Dependencies are ``async def`` so FastAPI calls them on the event loop instead of a worker thread.
async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_store(request: Request) -> GraphStore:
    """The app's store."""
    return request.app.state.store_holder.get()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[GraphStore, Depends(get_store)]


@dataclass(frozen=True)
class Page:
    """``limit`` and ``offset`` of a list endpoint."""

    limit: int
    offset: int


async def get_page(
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, json_schema_extra={"maximum": MAX_LIMIT}, examples=[20],
                   description=f"Page size: 1 … {MAX_LIMIT} (FUNDGRAPH_MAX_LIMIT; a larger value is a 422).")
    ] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Page:
    """``limit`` (1 … ``settings.max_limit``) and ``offset`` (≥ 0); a larger limit is a 422."""
    if limit > settings.max_limit:
        raise InvalidRequest(
            f"limit must be at most {settings.max_limit}",
            detail={"limit": limit, "max_limit": settings.max_limit},
        )
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(get_page)]


class _RegisteredEntityType:
    """Validates an entity type against the schema registry at request time (types registered after import too).

    Documented and refused exactly as ``Literal["disease", "modality", …]`` would be, over the registered keys
    (in registry order, or with the scoring groups first).
    """

    def __init__(self, *, scored_first: bool = False) -> None:
        self.scored_first = scored_first

    def _keys(self) -> list[str]:
        rows = ENTITY_REGISTRY.scored_first() if self.scored_first else ENTITY_REGISTRY.rows()
        return [t.key for t in rows]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def check(value: str) -> str:
            if value not in ENTITY_REGISTRY:
                keys = [repr(k) for k in self._keys()]
                expected = f"{', '.join(keys[:-1])} or {keys[-1]}" if len(keys) > 1 else keys[0]
                raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        rest = {k: v for k, v in handler(schema).items() if k != "type"}
        return {"enum": self._keys(), "type": "string", **rest}


#: A route parameter naming an entity type (``type=``, ``by=``): one of the schema registry's keys.
EntityTypeKey = Annotated[str, _RegisteredEntityType()]
#: The same, listing the scoring groups first (``by=`` of the overlap matrix).
EntityTypeKeyScoredFirst = Annotated[str, _RegisteredEntityType(scored_first=True)]



class JSONBytesCache:
    """Serialised JSON of result objects the store hands out again and again (cached read models).

    Keyed by object identity; the entry holds the object, so its id cannot be reused while cached.
    Bounded by entry count and total bytes (least recently stored go first). One per app (``app.state.json_cache``).
    """

    def __init__(self, size: int = 8192, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._graph: Hashable | None = None

    def follow(self, graph: Hashable | None) -> None:
        """Forget every entry when the store serves another graph (``graph``: its :meth:`GraphStore.version`).

        The entries hold the read models they serialise: kept across a reload they would keep the old graph's.
        """
        if graph != self._graph:
            with self._lock:
                self._entries.clear()
                self._bytes = 0
                self._graph = graph

    def dumps(self, result: Any, keep: bool = True) -> bytes:
        """JSON bytes of a read model (or a list of them); ``keep``: remember them (the store hands it out again)."""
        if not keep:  # a fresh object per request (Neo4j): holding it would only evict the ones that come back
            return pydantic_core.to_json(result)
        hit = self._entries.get(id(result))
        if hit is not None and hit[0] is result:
            return hit[1]
        # A similar list is written whole, like any result: its items are made for it (the store keeps the list,
        # not a ranking its items are sliced from), so caching each item on its own only filled the cache with
        # entries no other answer reuses (three to five per uncached similar list, each under the lock).
        body = pydantic_core.to_json(result)
        self._store(result, body)
        return body

    def clear(self) -> None:
        """Forget every entry (the results of a graph no longer served must not stay alive here)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _store(self, result: Any, body: bytes) -> None:
        key = id(result)
        if len(body) > self.max_bytes // 16:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (result, body)
            self._bytes += len(body)
            while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


class Responder:
    """Answers a store query's read model as JSON, through the app's :class:`JSONBytesCache`.

    A route takes one (``respond: Respond``) and stays one line: ``return await respond(store.programs)``.
    """

    def __init__(self, store: GraphStore, cache: JSONBytesCache, limiter: anyio.CapacityLimiter | None = None,
                 gzip: bool = False) -> None:
        self.store = store
        self.cache = cache
        self.limiter = limiter
        self.gzip = gzip  # the request accepts a gzip-encoded answer (accepts_gzip of its Accept-Encoding)

    async def __call__(self, fn: Callable[..., Any], *args: Any, thread: bool = False) -> Response:
        """Run a store query (see :func:`call`) and answer its read model as JSON.

        The read models are already validated instances, so the route's ``response_model`` documents the shape
        while the bytes come straight from pydantic (and are reused for cached results). Where the store keeps
        ``fn``'s answers as JSON (:meth:`GraphStore.answers_json`: Neo4j's detail, similar and neighbourhood),
        its ``<fn>_json`` runs instead and its bytes are sent as they are; awaited on this event loop when the store
        has a coroutine for it (:meth:`GraphStore.answer_on_loop`: Neo4j's detail and similar), under the same bound
        (``limiter``) as the calls in worker threads.
        """
        name = getattr(fn, "__name__", "")
        on_loop = None
        varies = False
        if getattr(fn, "__self__", None) is self.store and self.store.answers_json(name):
            fn = getattr(self.store, f"{name}_json")
            on_loop = None if thread else self.store.answer_on_loop(name)
            varies = name in self.store.gzip_answers
            if varies and self.gzip:
                fn, on_loop = functools.partial(fn, gzip=True), on_loop and functools.partial(on_loop, gzip=True)
        if on_loop is not None:  # awaited on this loop, within the same bound as the store's worker threads
            async with self.limiter or shared_limiter():
                result = await on_loop(*args)
        else:
            result = await in_worker(fn, *args) if thread else await call(self.store, fn, *args, limiter=self.limiter)
        if isinstance(result, bytes):
            self.cache.follow(self.store.version())
            headers = {"vary": "Accept-Encoding"} if varies else None
            if isinstance(result, GzipJSON):  # asked for with gzip=True: the client accepts it
                headers = {"content-encoding": "gzip", "vary": "Accept-Encoding"}
            return Response(result, media_type="application/json", headers=headers)
        return self.answer(result)

    def answer(self, result: Any) -> Response:
        """A read model already made (a search's, from the search queue) as JSON, through the app's cache."""
        self.cache.follow(self.store.version())
        return Response(self.cache.dumps(result, keep=self.store.in_memory), media_type="application/json")


async def get_responder(request: Request, store: StoreDep) -> Responder:
    """A :class:`Responder` over the app's store, JSON bytes cache and bound on store calls at once."""
    return Responder(store, request.app.state.json_cache, request.app.state.store_limiter,
                     gzip=accepts_gzip(",".join(request.headers.getlist("accept-encoding"))))


def accepts_gzip(header: str | bytes | None) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (RFC 9110 12.5.3): ``gzip``, ``x-gzip`` or ``*`` with q > 0.

    An explicit ``gzip;q=0`` refuses it whatever ``*`` says; no header (or an empty one) asks for the identity.
    """
    if not header:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    star = None
    for item in header.lower().split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            star = q > 0
    return bool(star)


Respond = Annotated[Responder, Depends(get_responder)]


_WORKERS: anyio.CapacityLimiter | None = None


async def in_worker(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound work (encoding a search text) in one of two worker threads.

    Two, not anyio's default forty: with many requests in flight, forty threads fighting over the GIL
    (a 5 ms switch interval) make every request slow; two keep both cores busy and the rest wait their turn.
    """
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = anyio.CapacityLimiter(2)
    return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=_WORKERS)


async def call(store: GraphStore, fn: Callable[..., T], *args: Any,
               limiter: anyio.CapacityLimiter | None = None) -> T:
    """Run a store query: inline for a store that answers from memory (microseconds), in a worker thread otherwise.

    An in-memory store answers from precomputed indexes, so a thread hop would cost more than the query; a
    store that waits on the network must not block the event loop. ``limiter`` bounds the threads that query it at
    once (the app's: :func:`store_limiter`); more requests queue in arrival order.
    """
    if store.in_memory:
        return fn(*args)
    return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=limiter or shared_limiter())


#: Default of ``FUNDGRAPH_STORE_THREADS``: threads a store that waits on the network (Neo4j) is called from at once.
#: Forty (anyio's default) let 32 clients' requests contend for the GIL and the driver's pool in no order: at
#: 100,000 directions with 32 clients, p99 of a direction detail in five runs each (median) 66-95 (70) ms with 40
#: threads, 53-68 (57) with 8, 46-65 (55) with 4, throughput the same (benchmarks/api_latency.py --store neo4j,
#: load 3-5). Four keep a local Neo4j on 2 cores busy, and at 1 ms a round trip still pass 2,500 details a second.
#: Measured again as a setting at 20,000 directions (interleaved runs on one Neo4j, four each, median; load 2.2-5.4 with
#: another job on the machine): p99 at 32 clients of detail / similar / depth-2 neighbourhood (its req/s) with 1
#: thread 46.5 / 66.0 / 227 ms (183), 2: 55.2 / 53.8 / 178 (219), 4: 49.8 / 54.1 / 172 (254), 8: 54.6 / 60.3 / 177
#: (248), 40: 76.3 / 65.4 / 219 (264). Fewer than four leave Neo4j idle while the API decodes (a neighbourhood's
#: throughput falls), more let requests overtake each other (the p99 grows); CPU per request is the same for all.
STORE_THREADS: int = Settings.model_fields["store_threads"].default
_SHARED: anyio.CapacityLimiter | None = None  # the bound of calls made without an app's


def shared_limiter() -> anyio.CapacityLimiter:
    """The bound of store calls made without an app's (``FUNDGRAPH_STORE_THREADS``' default)."""
    global _SHARED
    _SHARED = _SHARED or store_limiter(STORE_THREADS)
    return _SHARED


def store_limiter(threads: int) -> anyio.CapacityLimiter:
    """A bound of ``threads`` store calls at once (one per app: ``app.state.store_limiter``)."""
    return anyio.CapacityLimiter(threads)
