"""The Set up coupling lookup: the integration records a user may couple a local record with, found by name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coupler.domain.errors import UsageError
from coupler.domain.mapping import Condition, Operator, Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems
from coupler.services.views.record_names import record_name

__all__ = ["MAX_QUERY", "IntegrationMatch", "search_integration"]

MAX_QUERY = 200
"""The longest text the integration lookup accepts."""


@dataclass(frozen=True, kw_only=True, slots=True)
class IntegrationMatch:
    """An integration record the Set up coupling lookup found; ``coupled_to`` names its local partner if any."""

    key: str
    name: str
    values: Mapping[str, Any]
    exact: bool
    coupled_to: str | None = None


def search_integration(systems: Systems, name: str, query: str, *, limit: int = 10) -> list[IntegrationMatch]:
    """Integration records for the Set up coupling lookup: within the mapping's integration filter, whose display
    name equals ``query`` (any case) or starts with it, or whose key is ``query``. Exact matches come first."""
    mapping = systems.mapping(name)
    text = query.strip()
    if len(text) > MAX_QUERY:
        raise UsageError(f"the search text is longer than {MAX_QUERY} characters.")
    if not 1 <= limit <= 100:
        raise UsageError("the number of results must be between 1 and 100.")
    spec = mapping.integration
    column = spec.display_key or spec.key
    connector = systems.integration
    columns = mapping.columns(Side.INTEGRATION)
    found: dict[str, tuple[Record, bool]] = {}
    if text:
        for record in connector.read(replace(spec, filter=()), [text], columns=columns):
            if spec.matches(record.values):
                found[record.key] = (record, True)
        for record in connector.find(spec, {column: text}, columns=columns, limit=limit, case_sensitive=False):
            found.setdefault(record.key, (record, True))
    for prefix in dict.fromkeys([text, text[:1].upper() + text[1:]]) if text else [""]:
        if len(found) >= limit:
            break
        narrowed = replace(spec, filter=(*spec.filter, Condition(field=column, op=Operator.STARTSWITH, value=prefix)))
        for record in _first_page(
            connector.changed_since(narrowed if prefix else spec, None, columns=columns, page_size=limit)
        ):
            found.setdefault(record.key, (record, False))
    ranked = sorted(found.values(), key=lambda item: (not item[1], str(item[0].get(column) or "").lower()))[:limit]
    partners = systems.store.couplings.find(mapping.name, Side.INTEGRATION, [r.key for r, _ in ranked])
    local_names = _local_names(systems, mapping, [c.local_key for c in partners.values()])
    return [
        IntegrationMatch(
            key=record.key,
            name=str(record.get(column) or record.key),
            values=record.values,
            exact=exact,
            coupled_to=local_names.get(partners[record.key].local_key) if record.key in partners else None,
        )
        for record, exact in ranked
    ]


def _first_page(pages: Iterable[list[Record]]) -> list[Record]:
    """The first page of a lazy read, releasing the rest of it."""
    iterator = iter(pages)
    try:
        return next(iterator, [])
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _local_names(systems: Systems, mapping: TableMapping, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    spec = replace(mapping.local, filter=())
    records = systems.local.read(spec, keys, columns=mapping.columns(Side.LOCAL))
    named = {r.key: record_name(mapping, Side.LOCAL, r) or r.key for r in records}
    return {key: named.get(key, key) for key in keys}
