"""Every Cypher statement fundgraph runs, kept as files ``cypher/<verb_noun>.cypher`` and loaded by name.

Statements take values only as ``$parameters``. Labels and relationship types are never spliced in as text:
the loader passes them as parameters to Neo4j 5.26's dynamic labels (``SET n:$(row.label)``,
``MERGE (a)-[r:$(row.type) …]->(b)``), after checking each against the fixed enums of :mod:`graph.model`.
The analyst queries (``analyst_*.cypher``) are meant to be pasted into Neo4j Browser as they are.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fundgraph.core.errors import InstallIncomplete

SUFFIX = ".cypher"


class MissingStatement(InstallIncomplete, KeyError):
    """No bundled statement has that name: a caller's typo, or an installation that lost its files.

    A :class:`KeyError` for lookups, and a :class:`FundgraphError` so a command reports it in one line.
    """

    def __str__(self) -> str:
        return self.message


@cache
def query(name: str) -> str:
    """The text of ``cypher/<name>.cypher`` (read once, UTF-8).

    Raises:
        MissingStatement: (a KeyError) when no statement has that name.
    """
    res = resources.files(__package__).joinpath(name + SUFFIX)
    if not res.is_file():
        raise MissingStatement(str(res), f"the Cypher statement {name!r}")
    return res.read_text(encoding="utf-8").strip()


def names() -> list[str]:
    """Names of every bundled statement, sorted."""
    return sorted(
        p.name[: -len(SUFFIX)] for p in resources.files(__package__).iterdir() if p.name.endswith(SUFFIX)
    )
