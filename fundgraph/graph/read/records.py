"""Record mappers both stores and the exports use: flat node properties → the records the API and exports show."""

from __future__ import annotations

from typing import Any

from fundgraph.core import schema
from fundgraph.core.schema import field_names
from fundgraph.graph.model import ENTITY_KEY_BY_LABEL

PROGRAM_FIELDS = field_names(schema.PROGRAM_FIELDS, exported=True)

_ENTITY_LABELS = ENTITY_KEY_BY_LABEL


def program_record(node: dict[str, Any]) -> dict[str, Any]:
    """A program as exported."""
    return {k: node.get(k) for k in PROGRAM_FIELDS}


def direction_record(node: dict[str, Any]) -> dict[str, Any]:
    """A direction as exported (the fields issue 2 names), from its flat node properties."""
    funding = None
    if node.get("funding_amount") is not None:
        funding = {"amount": node["funding_amount"], "unit": node.get("funding_unit"),
                   "scope": node.get("funding_scope"), "text": node.get("funding_text")}
    return {
        "id": node["id"],
        "program_id": node["program_id"],
        "code": node["code"],
        "ordinal": node["ordinal"],
        "title": node["title"],
        "title_en": node.get("title_en"),
        "category": node.get("category"),
        "category_raw": node.get("category_raw"),
        "support_type": node.get("support_type"),
        "section": node.get("section"),
        "section_title": node.get("section_title"),
        "content": node.get("content"),
        "metrics": node.get("metrics"),
        "keywords": list(node.get("keywords") or []),
        "notes": list(node.get("notes") or []),
        "funding": funding,
        "application_code": node.get("application_code"),
        "disciplines": list(node.get("disciplines") or []),
        "source": {"file": node.get("source_file"), "start": node.get("source_start"),
                   "end": node.get("source_end"), "line": node.get("source_line")},
    }


def entity_type_of(label: str) -> str | None:
    """API entity type ('disease' …) of a node label, or None for non-entity labels."""
    return _ENTITY_LABELS.get(label)
