"""The Set up coupling lookup: the integration records a user may couple a local record with, found by name, the
one it preselects (a single exact match) and the columns that tell the records apart."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coupler.domain.errors import UsageError
from coupler.domain.mapping import Condition, FieldMapping, Operator, Side, TableMapping, TableSpec
from coupler.domain.ordering import Bookmark
from coupler.domain.records import Record
from coupler.ports.connector import Connector
from coupler.services.context import Systems
from coupler.services.views.record_names import record_name

__all__ = [
    "HIDDEN_SCAN",
    "MAX_QUERY",
    "IdentifyingField",
    "IntegrationMatch",
    "identifying_fields",
    "preselected",
    "search_integration",
]

MAX_QUERY = 200
"""The longest text the integration lookup accepts."""
HIDDEN_SCAN = 300
"""With coupled records hidden, the most records starting with the text that the lookup reads to find uncoupled
ones (a name most records start with finds the uncoupled among the first ones only)."""
PAGE_HIDING = 100
"""The page size of that read."""
IDENTIFYING = 3
"""How many columns beside the name the lookup shows."""


@dataclass(frozen=True, kw_only=True, slots=True)
class IntegrationMatch:
    """An integration record the Set up coupling lookup found; ``coupled_to`` names its local partner if any."""

    key: str
    name: str
    values: Mapping[str, Any]
    exact: bool
    coupled_to: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IdentifyingField:
    """A column of the lookup beside the name: the integration field, its caption and the field mapping (to format
    its values)."""

    field: str
    caption: str
    mapping: FieldMapping


def search_integration(
    systems: Systems, name: str, query: str, *, limit: int = 10, hide_coupled: bool = False
) -> list[IntegrationMatch]:
    """Integration records for the Set up coupling lookup: within the mapping's integration filter, whose display
    name equals ``query`` (any case) or starts with it, or whose key is ``query``. Exact matches come first.
    ``hide_coupled`` leaves out the records coupled already (reading at most ``HIDDEN_SCAN`` records that start with
    the text to find enough others)."""
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

    def kept(records: list[Record]) -> list[Record]:
        if not hide_coupled or not records:
            return records
        coupled = systems.store.couplings.coupled(mapping.name, Side.INTEGRATION, [r.key for r in records])
        return [r for r in records if r.key not in coupled]

    found: dict[str, tuple[Record, bool]] = {}
    if text:
        by_key = connector.read(replace(spec, filter=()), [text], columns=columns)
        by_key = [r for r in by_key if spec.matches(r.values)]
        by_name = connector.find(spec, {column: text}, columns=columns, limit=limit, case_sensitive=False)
        for record in kept([*by_key, *by_name]):
            found.setdefault(record.key, (record, True))
    size = max(limit, PAGE_HIDING) if hide_coupled else limit
    most = HIDDEN_SCAN if hide_coupled else limit
    sorted_pages = _in_name_order(connector, spec, column, text, columns, size) if text else None
    if sorted_pages is not None and len(found) < limit:  # whatever the letter case, in the order of the names
        for record in _leading(sorted_pages, kept, wanted=limit - len(found), most=most):
            found.setdefault(record.key, (record, False))
    prefixes = [] if sorted_pages is not None else [text, text[:1].upper() + text[1:]] if text else [""]
    for prefix in dict.fromkeys(prefixes):
        if len(found) >= limit:
            break
        narrowed = replace(spec, filter=(*spec.filter, Condition(field=column, op=Operator.STARTSWITH, value=prefix)))
        pages = connector.changed_since(narrowed if prefix else spec, None, columns=columns, page_size=size)
        for record in _leading(pages, kept, wanted=limit - len(found), most=most):
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


def preselected(matches: Sequence[IntegrationMatch]) -> IntegrationMatch | None:
    """The match the lookup picks before the user does: the only exact one, when it is not coupled already;
    otherwise none, so that nothing looks chosen until the user picks."""
    exact = [m for m in matches if m.exact]
    return exact[0] if len(exact) == 1 and exact[0].coupled_to is None else None


def identifying_fields(
    mapping: TableMapping, matches: Sequence[IntegrationMatch], *, count: int = IDENTIFYING
) -> list[IdentifyingField]:
    """The columns that tell the matches apart beside their name: the mapping's first integration fields (its match
    fields first) that hold a value of their own (no constant, no lookup of another record) and that some match
    fills in."""
    display = mapping.integration.display_key
    candidates = sorted(
        (
            f
            for f in mapping.fields
            if f.enabled and f.integration and f.integration != display and not f.has_constant and f.lookup is None
        ),
        key=lambda f: f.match_priority is None,
    )
    chosen: dict[str, IdentifyingField] = {}
    for field in candidates:
        name = field.integration or ""
        if name in chosen or not any(m.values.get(name) not in (None, "") for m in matches):
            continue
        chosen[name] = IdentifyingField(field=name, caption=mapping.caption_of(Side.INTEGRATION, name), mapping=field)
        if len(chosen) == count:
            break
    return list(chosen.values())


def _in_name_order(
    connector: Connector, spec: TableSpec, column: str, text: str, columns: Sequence[str], size: int
) -> Iterator[list[Record]] | None:
    """The records whose name starts with ``text`` (any letter case) in the order of the names, a page at a time;
    None when the system cannot read in order (the lookup then reads by prefix in the text's own case)."""
    first = connector.ordered(spec, column, columns=columns, limit=size, search=([column], text))
    if first is None:
        return None

    def pages(page: list[Record]) -> Iterator[list[Record]]:
        while page:
            yield page
            if len(page) < size:
                return
            last = page[-1]
            after = Bookmark(value=last.get(column), key=last.key)
            page = (
                connector.ordered(spec, column, columns=columns, limit=size, after=after, search=([column], text)) or []
            )

    return pages(first)


def _leading(
    pages: Iterable[list[Record]], kept: Callable[[list[Record]], list[Record]], *, wanted: int, most: int
) -> list[Record]:
    """The kept records of the first pages of a lazy read, until ``wanted`` are kept or ``most`` were read; the rest
    of the read is released."""
    iterator = iter(pages)
    found: list[Record] = []
    read = 0
    try:
        for page in iterator:
            found += kept(page)
            read += len(page)
            if len(found) >= wanted or read >= most:
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return found


def _local_names(systems: Systems, mapping: TableMapping, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    spec = replace(mapping.local, filter=())
    records = systems.local.read(spec, keys, columns=mapping.columns(Side.LOCAL))
    named = {r.key: record_name(mapping, Side.LOCAL, r) or r.key for r in records}
    return {key: named.get(key, key) for key in keys}
