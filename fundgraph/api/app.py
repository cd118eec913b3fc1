"""The FastAPI app: JSON under /api, OpenAPI at /docs, the dashboard at /.

``create_app(settings, store=None)`` is the only constructor: ``fundgraph serve`` and the tests call it.
"""

from __future__ import annotations

import base64
import ctypes
import gc
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from fundgraph.api.cache import ResponseCache
from fundgraph.api.deps import EntityTypesInUse, JSONBytesCache, Responder, StoreHolder, store_limiter
from fundgraph.api.direct import DirectRoutes
from fundgraph.api.errors import install_error_handlers
from fundgraph.api.middleware import RequestGuard
from fundgraph.api.routes import directions, entities, export, graph, health, overlaps, programs, schema, search
from fundgraph.api.work_queue import SearchProcesses, WorkQueue
from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.base import GraphStore
from fundgraph.loaders.vocab import vocabulary_registry

#: The dashboard (built by its own engineer): served at / when ``index.html`` is there.
STATIC_DIR = Path(__file__).resolve().parent / "static"

logger = logging.getLogger(__name__)

ROUTERS = (
    health.router,
    programs.router,
    directions.router,
    search.router,
    entities.router,
    overlaps.router,
    graph.router,
    export.router,
    schema.router,
)


def _graph_version(holder: StoreHolder, json_cache: JSONBytesCache) -> Hashable | None:
    """The store's token of the graph it serves, for the response cache (None: answers must not be cached).

    When it changes, the results of the previous graph are dropped from the app's serialised-results cache too
    (on the first request after the reload, not the first JSON answer): kept until evicted, they held ~25 MB of
    old read models after ten reloads of the corpus graph.
    """
    version = holder.get().version()
    json_cache.follow(version)
    return version


def _in_memory(holder: StoreHolder) -> bool:
    """Whether the store answers from this process's memory (False while it cannot be opened)."""
    try:
        return holder.get().in_memory
    except FundgraphError:
        return False


def _warm_up(holder: StoreHolder) -> None:
    """Let the store prepare before the first request, then exempt what it loaded from garbage collection.

    Each store decides what warming means (the embedded store loads its graph and indexes; a remote store is
    not contacted at startup: it may be down, and the API must still start and answer 503). A loaded graph is
    many long-lived objects; ``gc.freeze`` keeps the collector from rescanning them during requests (which
    shows up as p99 spikes).
    """
    _cap_allocator_arenas()
    try:
        holder.get().warm()
    except FundgraphError as e:
        logger.warning("store not ready at startup: %s", e.message)
    gc.collect()
    gc.freeze()


class SurvivorFreezer:
    """Keeps the long-lived objects made while serving out of the collector's full scans (a ``gc.callbacks`` hook).

    Requests fill bounded caches (direction briefs, similar lists, details: three tracked objects per pydantic
    model); each full collection walked all of them: at 100,000 directions, 60-200 ms pauses every 1,000-2,000
    distinct ``/similar`` requests, the whole p99 at 32 clients (194 ms against a p50 of 14 ms). So what survives
    a generation-1 collection is frozen as the loaded graph is: full collections then scan almost nothing.
    Refcounting still frees frozen objects (evicted cache entries go at once); only reference cycles that die
    after being frozen are left, so when the frozen objects grow by ``leak_bound`` past what was frozen at
    start-up, they are handed back to the collector until its next full collection (rarely, if ever: the caches are
    bounded).
    """

    #: Freezes between two counts of the frozen objects (``gc.get_freeze_count`` walks them: ~5 ms for 500,000).
    CHECK_EVERY = 256

    def __init__(self, leak_bound: int = 2_000_000) -> None:
        self.leak_bound = leak_bound
        self.base = gc.get_freeze_count()
        self.draining = False
        self.freezes = 0

    def __call__(self, phase: str, info: dict) -> None:
        """After a generation-1 or -2 collection: freeze its survivors (past the bound: let a full one run first)."""
        generation = info.get("generation", 0)
        if phase != "stop" or generation < 1:
            return
        if self.draining:  # gc.collect() does nothing inside a collection's callback: wait for the next full one
            if generation == 2:
                self.draining = False
                gc.freeze()
                self.base = gc.get_freeze_count()
            return
        self.freezes += 1
        if self.freezes % self.CHECK_EVERY == 0 and gc.get_freeze_count() > self.base + self.leak_bound:
            gc.unfreeze()
            self.draining = True
            return
        gc.freeze()


def _cap_allocator_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for this process (as ``MALLOC_ARENA_MAX=2`` would).

    Each thread that allocates (uvicorn's, the search workers') may get an arena of its own, and a graph reload
    frees its blocks into arenas the next graph does not reuse: over 20 reloads of the bundled corpus under load
    the server's RSS grew 201 → 263 MB with glibc's default (8 per core), and stayed 204–226 MB with 2.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.mallopt(-8, arenas)  # M_ARENA_MAX


def create_app(
    settings: Settings, store: GraphStore | None = None, *, static_dir: Path | None = STATIC_DIR
) -> FastAPI:
    """The API over ``store`` (or the store the settings select, opened on first request).

    Args:
        settings: CORS origins, limits, and the store to open when none is given.
        store: an open store to serve (tests pass one); the app closes only a store it opened itself.
        static_dir: directory served at ``/`` (the dashboard) when it holds an ``index.html``; None for none.
    """
    registry = vocabulary_registry(settings.vocab_dir)  # this app's entity types (its entity_types.csv's too)
    holder = StoreHolder(settings, store)
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        processes = None
        if settings.search_processes and owns_store and _in_memory(holder):
            # Searches in processes of their own: no search holds the GIL cheap requests need (api/work_queue.py).
            processes = app.state.searches = SearchProcesses(settings, queue, workers=settings.search_workers)
            processes.start()
        _warm_up(holder)
        freezer = SurvivorFreezer()
        gc.callbacks.append(freezer)
        yield
        gc.callbacks.remove(freezer)
        gc.unfreeze()
        if processes is not None:
            processes.close()
        await holder.close_loop()  # the store's async driver of this loop (the Neo4j store's), store given or not
        if owns_store:
            holder.close()

    app = FastAPI(
        title="fundgraph",
        summary="A knowledge graph of funding directions: programs, directions, entities, similarity.",
        version="0.1.0",
        docs_url=None,  # served below from vendored Swagger UI files: no CDN at run time
        redoc_url=None,  # ReDoc would load its script and fonts from CDNs: /docs covers the same ground
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store_holder = holder
    app.state.json_cache = json_cache = JSONBytesCache()
    app.state.store_limiter = store_limiter(settings.store_threads)
    app.state.entity_registry = registry
    queue = WorkQueue("search", workers=settings.search_workers, waiting=settings.search_queue,
                      timeout=settings.search_timeout)
    app.state.searches = queue
    install_error_handlers(app)
    # Innermost: plain detail, similar and neighbourhood GETs and searches skip FastAPI's routing (api/direct.py).
    app.add_middleware(DirectRoutes, settings=settings, holder=holder,
                       responder=lambda store, gzip=False: Responder(store, json_cache, app.state.store_limiter,
                                                                     gzip=gzip),
                       searches=lambda: app.state.searches)
    app.add_middleware(ResponseCache, version=lambda: _graph_version(holder, json_cache))
    app.add_middleware(RequestGuard, routes=lambda: app.router.routes, max_body=settings.max_body_bytes,
                       client_timeout=settings.client_timeout, script_hashes=[_docs_script_hash()])
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "HEAD", "POST"],
        allow_headers=["*"],
        max_age=600,
    )
    app.add_middleware(EntityTypesInUse, registry=registry)  # outermost: requests, OpenAPI and start-up see it
    for router in ROUTERS:
        app.include_router(router)
    _add_docs_route(app)
    # Mounted last: /api/* and /docs win; every other path is the dashboard's.
    if static_dir is not None and (Path(static_dir) / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="dashboard")
    return app


VENDOR_DIR = STATIC_DIR / "vendor"


def _docs_page() -> HTMLResponse:
    """The /docs page: Swagger UI from the vendored files."""
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/openapi.json", title="fundgraph API",
                               swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs/assets/swagger-ui.css",
                               swagger_favicon_url="/docs/assets/favicon-32x32.png")


def _docs_script_hash() -> str:
    """The CSP hash of the one inline script of /docs (it starts Swagger UI), so no other inline script runs."""
    page = bytes(_docs_page().body).decode()
    inline = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    if len(inline) != 1:
        raise RuntimeError(f"/docs has {len(inline)} inline scripts, expected 1: update _docs_script_hash")
    return "'sha256-" + base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode() + "'"


def _add_docs_route(app: FastAPI) -> None:
    """OpenAPI docs at /docs with Swagger UI from api/static/vendor (vendored from npm, like cytoscape)."""
    from fastapi.responses import FileResponse

    assets = {"swagger-ui-bundle.js": "application/javascript", "swagger-ui.css": "text/css"}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return _docs_page()

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        media = assets.get(name) or ("image/png" if name == "favicon-32x32.png" else None)
        if media is None:
            from fundgraph.core.errors import NotFound

            raise NotFound(f"no docs asset {name!r}", detail={"name": name})
        return FileResponse(VENDOR_DIR / name, media_type=media)


def app_from_env() -> FastAPI:
    """The app over the settings read from the environment (uvicorn factory for several workers)."""
    from fundgraph.core.settings import get_settings

    return create_app(get_settings())
