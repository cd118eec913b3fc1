"""One root exception with specific subclasses; the API maps them to one JSON error shape."""

from __future__ import annotations

from pathlib import Path


class FundgraphError(Exception):
    """Root of every error fundgraph raises on purpose."""

    #: HTTP status the API answers with for this error.
    status_code: int = 500
    #: Stable machine-readable error code in the API's error shape.
    code: str = "fundgraph_error"

    def __init__(self, message: str, *, detail: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class InputError(FundgraphError):
    """Bad input file: names the file and, where there is one, the line (1-based)."""

    status_code = 422
    code = "input_error"

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 detail: dict | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path:
            where = self.path + (f":{line}" if line is not None else "")
        full = f"{where}: {message}" if where else message
        d = dict(detail or {})
        if self.path:
            d["file"] = self.path
        if line is not None:
            d["line"] = line
        super().__init__(full, detail=d)


class GuidelineParseError(InputError):
    """A guideline document could not be read or yielded no directions."""

    code = "guideline_parse_error"


class UnsupportedDocument(GuidelineParseError):
    """A file fundgraph cannot read as a guideline (.doc, .wps, a zip, a scan, an empty file); says what to do."""

    code = "unsupported_document"


class ManifestError(InputError):
    """The corpus manifest is malformed or points to a missing file."""

    code = "manifest_error"


class VocabularyError(InputError):
    """A vocabulary file is malformed (duplicate ids, ambiguous synonyms, bad rows)."""

    code = "vocabulary_error"


class NotFound(FundgraphError):
    """A requested resource does not exist."""

    status_code = 404
    code = "not_found"


class DirectionNotFound(NotFound):
    """No direction has this id."""

    code = "direction_not_found"


class ProgramNotFound(NotFound):
    """No program has this id."""

    code = "program_not_found"


class EntityNotFound(NotFound):
    """No entity of this type has this id."""

    code = "entity_not_found"


class NodeNotFound(NotFound):
    """No node has this id."""

    code = "node_not_found"


class InvalidRequest(FundgraphError):
    """A request's parameters are out of range or inconsistent."""

    status_code = 422
    code = "invalid_request"


class GraphNotBuilt(FundgraphError):
    """The store holds no graph yet: run `fundgraph build` first."""

    status_code = 503
    code = "graph_not_built"


class BackendUnavailable(FundgraphError):
    """The storage backend (e.g. Neo4j) cannot be reached."""

    status_code = 503
    code = "backend_unavailable"


class StoreDamaged(FundgraphError):
    """A file of the stored graph is missing, truncated, changed or malformed: names the file and the problem."""

    status_code = 503
    code = "store_damaged"

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"store damaged: {path}: {problem}; run `fundgraph build` to write a new graph",
                         detail={"file": self.path, "problem": problem})


class StoreNotWritable(FundgraphError):
    """The store directory cannot be written (checked before a build starts)."""

    code = "store_not_writable"


class BuildInProgress(FundgraphError):
    """Another build holds the store's build lock."""

    status_code = 409
    code = "build_in_progress"


class Overloaded(FundgraphError):
    """Too many expensive requests are queued: try again after ``retry_after`` seconds."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int = 1, detail: dict | None = None) -> None:
        super().__init__(message, detail={"retry_after": retry_after, **(detail or {})})
        self.headers = {"Retry-After": str(retry_after)}


class InstallIncomplete(FundgraphError):
    """A file fundgraph ships with (a Cypher statement, a vocabulary) is missing from its installed package."""

    code = "install_incomplete"

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = str(path)
        super().__init__(f"fundgraph's installation is incomplete: {what} ({self.path}) is missing; "
                         "reinstall fundgraph (pip install --force-reinstall fundgraph, or pip install -e . "
                         "in a checkout)", detail={"file": self.path})


class MissingDependency(FundgraphError):
    """An optional dependency is needed for this feature but is not installed."""

    code = "missing_dependency"

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package: install it with `pip install 'fundgraph[{extra}]'`",
            detail={"package": package, "extra": extra},
        )
