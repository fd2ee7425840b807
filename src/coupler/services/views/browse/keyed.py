"""The list in key order (the API's, and the attention filters'): driven by the local system or by the state store,
paged forward on the key (see the package's docstring)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Condition, Direction, Operator, Side, TableMapping
from coupler.domain.records import Record
from coupler.domain.state import RecordFailure
from coupler.ports.store import StateStore
from coupler.services.context import Systems
from coupler.services.views.browse.rows import (
    _SCAN_BATCH,
    _STORE_BATCH,
    BrowseRow,
    RecordFilter,
    _bare,
    _kept,
    _page_rows,
    _rows,
    _search_fields,
    _with_records,
)

__all__ = ["_from_local", "_from_store", "_local_page"]


# driven by the local system ----------------------------------------------------------------------------------
def _local_page(
    systems: Systems,
    mapping: TableMapping,
    search: str | None,
    after: str | None,
    size: int,
    columns: Sequence[str],
) -> list[Record]:
    """Up to ``size`` local records after ``after`` in key order matching the filter and the search, with
    ``columns`` (none: keys only)."""
    spec = mapping.spec(Side.LOCAL)
    if search is not None:
        return systems.local.search(spec, _search_fields(mapping), search, columns=columns, after=after, limit=size)
    cursor = (Condition(field=spec.key, op=Operator.GT, value=after),) if after is not None else ()
    return systems.local.find(replace(spec, filter=(*spec.filter, *cursor)), {}, columns=columns, limit=size)


def _from_local(
    systems: Systems,
    mapping: TableMapping,
    filter: RecordFilter,
    search: str | None,
    after: str | None,
    limit: int,
    max_scan: int,
) -> tuple[list[BrowseRow], str | None]:
    if search is not None and filter in _FEW:
        return _search_few(systems, mapping, filter, search, after, limit, max_scan)
    if filter is not RecordFilter.ALL:
        return _scan(systems, mapping, filter, search, after, limit, max_scan)
    records = _local_page(systems, mapping, search, after, limit + 1, mapping.columns(Side.LOCAL))
    next_after = records[limit - 1].key if len(records) > limit else None
    return _rows(systems, mapping, records[:limit]), next_after


def _scan(
    systems: Systems,
    mapping: TableMapping,
    filter: RecordFilter,
    search: str | None,
    after: str | None,
    limit: int,
    max_scan: int,
) -> tuple[list[BrowseRow], str | None]:
    """Keys only, until ``limit + 1`` of them pass the filter or ``max_scan`` were read; then the page's records."""
    found: list[BrowseRow] = []
    scanned = 0
    cursor = after
    while True:
        size = min(_SCAN_BATCH, max_scan - scanned)
        keys = [record.key for record in _local_page(systems, mapping, search, cursor, size, ())]
        scanned += len(keys)
        found.extend(_kept(systems, mapping, filter, keys))
        if len(found) > limit:
            return _page_rows(systems, mapping, filter, found[:limit]), found[limit - 1].key
        if len(keys) < size:
            return _page_rows(systems, mapping, filter, found), None
        cursor = keys[-1]
        if scanned >= max_scan:  # enough for one call: the next page goes on after the last key read
            return _page_rows(systems, mapping, filter, found), cursor


_FEW = (RecordFilter.FAILED, RecordFilter.SKIPPED, RecordFilter.CONFLICT)
"""The states few records are in: a search within one of them reads the state store's list of them and tests the
search on their records, instead of scanning every record the search matches."""


def _search_few(
    systems: Systems,
    mapping: TableMapping,
    filter: RecordFilter,
    search: str,
    after: str | None,
    limit: int,
    max_scan: int,
) -> tuple[list[BrowseRow], str | None]:
    """The records in the state ``filter`` (the store's keyset, a batch at a time) whose display key or name
    starts with ``search`` (any letter case), until ``limit + 1`` match or ``max_scan`` were read. Of the
    candidates only the searched fields are read; the page's rows then with all their fields."""
    wanted = search.lower()
    fields = _search_fields(mapping)
    spec = replace(mapping.spec(Side.LOCAL), filter=())
    found: list[BrowseRow] = []
    scanned, cursor = 0, after
    while True:
        bare, more = _store_rows(systems, mapping, filter, cursor, _STORE_BATCH)
        scanned += len(bare)
        named = {r.key: r for r in systems.local.read(spec, [row.key for row in bare], columns=fields)} if bare else {}
        for row in bare:
            record = named.get(row.key)
            values = [record.key if f == spec.key else record.get(f) for f in fields] if record is not None else []
            if any(value is not None and str(value).lower().startswith(wanted) for value in values):
                found.append(row)
        if len(found) > limit or more is None or scanned >= max_scan:
            break
        cursor = more
    if len(found) > limit:
        return _with_records(systems, mapping, found[:limit]), found[limit - 1].key
    # the list is done, or enough was read for one call: the next page goes on after the last key read
    return _with_records(systems, mapping, found), more


# driven by the state store ------------------------------------------------------------------------------------
def _from_store(
    systems: Systems, mapping: TableMapping, filter: RecordFilter, after: str | None, limit: int
) -> tuple[list[BrowseRow], str | None]:
    bare, next_after = _store_rows(systems, mapping, filter, after, limit)
    return _with_records(systems, mapping, bare), next_after


def _store_rows(
    systems: Systems, mapping: TableMapping, filter: RecordFilter, after: str | None, limit: int
) -> tuple[list[BrowseRow], str | None]:
    """Up to ``limit`` rows in the state ``filter`` after ``after``, from the store alone (no record read)."""
    store = systems.store
    name = mapping.name
    couplings: list[Coupling] = []
    failures: list[RecordFailure] = []
    want = limit + 1
    if filter is RecordFilter.COUPLED:
        couplings = store.couplings.page(name, after=after, limit=want)
    elif filter is RecordFilter.SKIPPED:
        couplings = store.couplings.page(name, after=after, limit=want, skipped=True)
        failures = store.attention.failures(name, side=Side.LOCAL, skipped=True, after=after, limit=want)
    elif filter is RecordFilter.CONFLICT:
        keys = [c.local_key for c in store.attention.conflicts(name, after=after, limit=want)]
        by_key = store.couplings.find(name, Side.LOCAL, keys)
        couplings = [by_key[k] for k in keys if k in by_key]
    else:
        streams = (_failed(store, name, d, after) for d in mapping.direction.one_way)
        couplings = _first(_merge(*streams), want)
        failures = store.attention.failures(name, side=Side.LOCAL, skipped=False, after=after, limit=want)
    items: dict[str, Coupling | RecordFailure] = {c.local_key: c for c in couplings}
    for entry in failures:
        items.setdefault(entry.key, entry)
    keys = sorted(items)[:want]
    bare = []
    for key in keys[:limit]:
        item = items[key]
        coupling = item if isinstance(item, Coupling) else None
        bare.append(_bare(key, coupling, item if isinstance(item, RecordFailure) else None))
    return bare, (bare[-1].key if len(keys) > limit else None)


def _failed(store: StateStore, name: str, direction: Direction, after: str | None) -> Iterator[Coupling]:
    """Couplings whose last result in ``direction`` is a failure (not pending), in local key order, lazily."""
    cursor = after
    while True:
        batch = store.couplings.failed(name, direction, after=cursor, limit=_STORE_BATCH)
        yield from (c for c in batch if c.result(direction) is SyncResult.FAILURE)
        if len(batch) < _STORE_BATCH:
            return
        cursor = batch[-1].local_key


def _merge(*streams: Iterable[Coupling]) -> Iterator[Coupling]:
    last = None
    for coupling in heapq.merge(*streams, key=lambda c: c.local_key):
        if coupling.local_key != last:
            last = coupling.local_key
            yield coupling


def _first(items: Iterator[Coupling], count: int) -> list[Coupling]:
    return [item for _, item in zip(range(count), items, strict=False)]
