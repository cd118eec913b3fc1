"""Open the store the settings select, importing its backend package only then.

``neo4j`` (the driver, an optional extra) is imported only when ``FUNDGRAPH_STORE=neo4j``: the embedded
store and everything above the stores work without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fundgraph.core.errors import FundgraphError

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.base import GraphStore

#: Backend name (``Settings.store``) → "module:class" of its store.
BACKENDS: dict[str, str] = {
    "embedded": "fundgraph.graph.stores.embedded.store:EmbeddedStore",
    "neo4j": "fundgraph.graph.stores.neo4j.store:Neo4jStore",
}


def open_store(settings: Settings, **kwargs: Any) -> GraphStore:
    """The store ``settings.store`` names, opened with its ``from_settings``.

    Raises:
        FundgraphError: for a backend name not in :data:`BACKENDS`.
        MissingDependency: when the backend's optional extra is not installed (raised by the backend).
    """
    target = BACKENDS.get(settings.store)
    if target is None:
        raise FundgraphError(f"unknown store {settings.store!r}", detail={"store": settings.store,
                                                                         "allowed": list(BACKENDS)})
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name).from_settings(settings, **kwargs)
