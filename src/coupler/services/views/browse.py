"""The records list of a table mapping: local records with their coupling state, searched, filtered and paged.

Pages are keysets on the local key (``after``), never offsets, so page 1,000 of 100,000 records costs what page 1
costs. Two ways to fill a page:

- driven by the local system (filter ``all`` or ``uncoupled``, or any search): with ``all``, one query for the page's
  ``limit + 1`` local records (the mapping's filter, the search, ``key > after``, ordered by key), then their
  couplings in one store query. A state filter here (``uncoupled``, or a search with any other filter) reads only
  keys, a batch at a time, keeps those whose coupling state passes, and stops at ``limit + 1`` kept or at
  ``max_scan`` keys read (then ``next_after`` continues after the last key read); only the page's records are read
  with their fields;
- driven by the state store (``coupled``, ``failed``, ``skipped``, ``conflict`` without a search): the store's
  keyset queries, then the local records for those keys in one read.

So a page reads at most ``limit + 1`` records of the local system with their fields, whatever the filter, and never
the whole table: memory per call does not grow with the table.

Search is a prefix of the display key or of the name (the mapping's first local field), whatever the letter case:
one ``Connector.search`` query per page (``lower(field) LIKE 'text%'`` on SQL), in key order after ``after``.

Sorted (any ``sort`` but ``key``, the web list's default being the display key), the list is paged both ways
(``after`` the next page's token, ``before`` the previous page's; see ``keysets``):

- by the display key or the name: ordered keyset reads of the local system (``Connector.ordered``), with the search;
  a coupling state filter (coupled, not coupled) keeps the rows of a bounded scan as above;
- by last synchronized or result: the state store's ordered keyset reads of the couplings (indexed), then the
  records not coupled, in key order; a search sorts by the display key instead (a search and a state order
  cannot be one query);
- by coupled to: coupled first (by key), then not coupled (the partner's name is in the other system: sorting by
  it would read every coupling's partner);
- the attention filters (failed, skipped, in conflict) and systems that cannot sort in a query stay in key order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import UsageError
from coupler.domain.mapping import Condition, Direction, Operator, Side, TableMapping
from coupler.domain.ordering import Bookmark, CouplingOrder, coupling_value
from coupler.domain.records import Record
from coupler.domain.state import RecordFailure
from coupler.ports.store import CouplingStats, StateStore
from coupler.services.context import Systems
from coupler.services.views.keysets import Segment, decode, encode, walk

__all__ = ["MAX_LIMIT", "MAX_SCAN", "BrowsePage", "BrowseRow", "RecordFilter", "Sort", "browse", "matching_keys"]

MAX_LIMIT = 500
MAX_SCAN = 20_000
"""Local keys read at most in one call while looking for records in a coupling state (``uncoupled``, or a search
with a state filter)."""
_SCAN_BATCH = 1_000  # keys read per query while scanning
_STORE_BATCH = 500


class RecordFilter(StrEnum):
    ALL = "all"
    COUPLED = "coupled"
    UNCOUPLED = "uncoupled"
    FAILED = "failed"
    SKIPPED = "skipped"
    CONFLICT = "conflict"


class Sort(StrEnum):
    """What the records list is sorted by."""

    KEY = "key"
    """The local key, ascending (the API's order; its ``next_after`` is the last key)."""
    NUMBER = "number"
    """The display key (the key when the mapping has none)."""
    NAME = "name"
    COUPLED = "coupled"
    SYNCED = "synced"
    RESULT = "result"


@dataclass(frozen=True, kw_only=True, slots=True)
class BrowseRow:
    """One local record and its coupling state (``record`` is None when a coupled local record is gone)."""

    key: str
    display: str | None
    name: Any
    record: Record | None
    coupling: Coupling | None
    failure: RecordFailure | None = None

    @property
    def coupled(self) -> bool:
        return self.coupling is not None

    @property
    def integration_key(self) -> str | None:
        return self.coupling.integration_key if self.coupling else None

    @property
    def last_synced_at(self) -> datetime | None:
        return self.coupling.last_synced_at if self.coupling else None

    @property
    def result(self) -> SyncResult | None:
        """The worst last result of either direction: conflict, failure, pending, success (None: never synced)."""
        if self.coupling is None:
            return SyncResult.FAILURE if self.failure is not None else None
        results = {self.coupling.to_integration_result, self.coupling.from_integration_result}
        for worst in (SyncResult.CONFLICT, SyncResult.FAILURE, SyncResult.PENDING, SyncResult.SUCCESS):
            if worst in results:
                return worst
        return None

    @property
    def skipped(self) -> bool:
        return bool(self.coupling.skipped if self.coupling else self.failure and self.failure.skipped)

    @property
    def in_conflict(self) -> bool:
        return self.result is SyncResult.CONFLICT

    @property
    def last_error(self) -> str | None:
        if self.coupling is not None:
            return self.coupling.last_error
        return self.failure.message if self.failure else None


@dataclass(frozen=True, kw_only=True, slots=True)
class BrowsePage:
    mapping: str
    filter: RecordFilter
    search: str | None
    rows: tuple[BrowseRow, ...]
    next_after: str | None
    """The ``after`` of the next page; None on the last page."""
    total: int | None
    """Records matching the filter and search, when known cheaply (None otherwise)."""
    stats: CouplingStats
    fields: tuple[str, ...]
    """The local columns each row's record holds, in the mapping's order."""
    sort: Sort = Sort.KEY
    """The order the rows are in (key order when the order asked for cannot be read; see the module)."""
    descending: bool = False
    prev_before: str | None = None
    """The ``before`` of the previous page; None on the first page (and in key order, which pages forward only)."""


def browse(
    systems: Systems,
    name: str,
    *,
    search: str | None = None,
    filter: RecordFilter = RecordFilter.ALL,
    after: str | None = None,
    limit: int = 50,
    max_scan: int = MAX_SCAN,
    sort: Sort = Sort.KEY,
    descending: bool = False,
    before: str | None = None,
) -> BrowsePage:
    """A page of ``name``'s local records with their coupling state (see the module's docstring); ``max_scan``
    bounds the keys one call reads while looking for records in a coupling state. Sorted by other than the key,
    ``after`` and ``before`` are the tokens of the page links."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    if max_scan < 1:
        raise UsageError(f"max_scan must be at least 1, not {max_scan}.")
    mapping = systems.mapping(name)
    search = (search or "").strip() or None
    stats = systems.store.stats(mapping.name)
    if sort is not Sort.KEY and filter in (RecordFilter.ALL, RecordFilter.COUPLED, RecordFilter.UNCOUPLED):
        page = _sorted(systems, mapping, sort, descending, filter, search, after, before, limit, max_scan, stats)
        if page is not None:
            return page
        after = before = None  # the system cannot sort: key order, from the first page
    if before is not None:
        after = None
    if search is None and filter not in (RecordFilter.ALL, RecordFilter.UNCOUPLED):
        rows, next_after = _from_store(systems, mapping, filter, after, limit)
        total = {
            RecordFilter.COUPLED: stats.couplings,
            RecordFilter.SKIPPED: stats.skipped,
            RecordFilter.CONFLICT: stats.conflicts,
        }.get(filter)
    else:
        rows, next_after = _from_local(systems, mapping, filter, search, after, limit, max_scan)
        total = _local_total(systems, mapping, filter, search, stats)
    return BrowsePage(
        mapping=mapping.name,
        filter=filter,
        search=search,
        rows=tuple(rows),
        next_after=next_after,
        total=total,
        stats=stats,
        fields=mapping.columns(Side.LOCAL),
    )


def matching_keys(
    systems: Systems,
    name: str,
    *,
    search: str | None = None,
    filter: RecordFilter = RecordFilter.ALL,
    coupled: bool | None = None,
) -> list[str]:
    """The local keys of every record the list shows for this search and filter ("Select all N matching"), only
    the coupled (``coupled``) or not coupled ones when asked: page after page in key order, for an action run in
    the background on what the filter matches rather than on keys sent by the browser."""
    narrowed = {True: RecordFilter.COUPLED, False: RecordFilter.UNCOUPLED}.get(coupled) if coupled is not None else None
    if narrowed is not None and filter is RecordFilter.ALL:
        filter = narrowed
    elif narrowed is not None and filter is RecordFilter.UNCOUPLED and coupled:
        return []
    keys: list[str] = []
    after: str | None = None
    while True:
        page = browse(systems, name, search=search, filter=filter, after=after, limit=MAX_LIMIT)
        keys += [row.key for row in page.rows if coupled is None or row.coupled is coupled]
        if page.next_after is None:
            return keys
        after = page.next_after


# sorted, both ways ---------------------------------------------------------------------------------------------
class _Unsorted(Exception):
    """The local system cannot read this order in a query."""


def _sorted(
    systems: Systems,
    mapping: TableMapping,
    sort: Sort,
    descending: bool,
    filter: RecordFilter,
    search: str | None,
    after: str | None,
    before: str | None,
    limit: int,
    max_scan: int,
    stats: CouplingStats,
) -> BrowsePage | None:
    if search is not None and sort in (Sort.SYNCED, Sort.RESULT, Sort.COUPLED):
        sort = Sort.NUMBER
    segments = _segments(systems, mapping, sort, descending, filter, search, max_scan)
    forward = before is None
    start = decode(before if before is not None else after) if (after or before) else None
    try:
        items, resume = walk(segments, start, forward=forward, want=limit + 1)
    except _Unsorted:
        return None
    more = len(items) > limit
    items = items[:limit]
    if not forward:
        items.reverse()
    marks = [mark for mark, _ in items]
    rest = encode(marks[-1 if forward else 0]) if more else (encode(resume) if resume is not None else None)
    if forward:
        next_after, prev_before = rest, (encode(marks[0]) if start is not None and marks else None)
    else:
        next_after, prev_before = (encode(marks[-1]) if marks else before), rest
    if filter is RecordFilter.COUPLED:
        total: int | None = stats.couplings if search is None else None
    else:
        total = _local_total(systems, mapping, filter, search, stats)
    return BrowsePage(
        mapping=mapping.name,
        filter=filter,
        search=search,
        rows=tuple(row for _, row in items),
        next_after=next_after,
        total=total,
        stats=stats,
        fields=mapping.columns(Side.LOCAL),
        sort=sort,
        descending=descending,
        prev_before=prev_before,
    )


def _segments(
    systems: Systems,
    mapping: TableMapping,
    sort: Sort,
    descending: bool,
    filter: RecordFilter,
    search: str | None,
    max_scan: int,
) -> list[Segment[BrowseRow]]:
    spec = mapping.spec(Side.LOCAL)
    keep = None if filter is RecordFilter.ALL else filter
    if sort in (Sort.NUMBER, Sort.NAME):
        field = (_name_field(mapping) if sort is Sort.NAME else None) or spec.display_key or spec.key
        return [_LocalSegment(systems, mapping, field, descending, search, keep, max_scan)]
    by = {Sort.SYNCED: CouplingOrder.SYNCED, Sort.RESULT: CouplingOrder.RESULT}.get(sort, CouplingOrder.KEY)
    coupled = _StoreSegment(systems, mapping, by, descending)
    uncoupled = _LocalSegment(systems, mapping, spec.key, descending, None, RecordFilter.UNCOUPLED, max_scan)
    if filter is RecordFilter.COUPLED:
        return [coupled]
    if filter is RecordFilter.UNCOUPLED:
        return [uncoupled]
    if sort is Sort.COUPLED and descending:  # not coupled first
        return [uncoupled, coupled]
    return [coupled, uncoupled]  # never synchronized, no result: after the rest, whichever the direction


class _LocalSegment:
    """The local records in ``field`` order (searched), kept by a coupling state filter when ``keep`` is one."""

    def __init__(
        self,
        systems: Systems,
        mapping: TableMapping,
        field: str,
        descending: bool,
        search: str | None,
        keep: RecordFilter | None,
        max_scan: int,
    ) -> None:
        self.systems, self.mapping, self.field, self.descending = systems, mapping, field, descending
        self.search = (_search_fields(mapping), search) if search is not None else None
        self.keep, self.max_scan = keep, max_scan

    def _read(self, after: Bookmark | None, forward: bool, size: int, columns: Sequence[str]) -> list[Record]:
        spec = self.mapping.spec(Side.LOCAL)
        if self.keep is RecordFilter.COUPLED:  # a coupled record outside the filter is listed (and says so)
            spec = replace(spec, filter=())
        records = self.systems.local.ordered(
            spec,
            self.field,
            columns=columns,
            descending=self.descending == forward,  # backward: the other way
            after=after,
            limit=size,
            search=self.search,
        )
        if records is None:
            raise _Unsorted(self.field)
        return records

    def _mark(self, record: Record) -> Bookmark:
        return Bookmark(value=record.get(self.field), key=record.key)

    def fetch(
        self, after: Bookmark | None, *, forward: bool, want: int
    ) -> tuple[list[tuple[Bookmark, BrowseRow]], Bookmark | None]:
        if self.keep is None:
            records = self._read(after, forward, want, self.mapping.columns(Side.LOCAL))
            rows = _rows(self.systems, self.mapping, records)
            return [(self._mark(r), row) for r, row in zip(records, rows, strict=True)], None
        found: list[tuple[Bookmark, BrowseRow]] = []
        scanned, cursor = 0, after
        batch_size = min(_SCAN_BATCH, max(2 * want, 100))  # a dense state (coupled) fills the page in one small read
        while True:
            size = min(batch_size, self.max_scan - scanned)
            batch_size = _SCAN_BATCH
            batch = self._read(cursor, forward, size, ())
            scanned += len(batch)
            marks = {r.key: self._mark(r) for r in batch}
            found.extend((marks[row.key], row) for row in _kept(self.systems, self.mapping, self.keep, list(marks)))
            if len(found) >= want or len(batch) < size:
                return self._filled(found[:want]), None
            cursor = marks[batch[-1].key]
            if scanned >= self.max_scan:  # enough for one call: the page goes on from the last record read
                return self._filled(found), cursor

    def _filled(self, found: list[tuple[Bookmark, BrowseRow]]) -> list[tuple[Bookmark, BrowseRow]]:
        assert self.keep is not None
        rows = _page_rows(self.systems, self.mapping, self.keep, [row for _, row in found])
        return [(mark, row) for (mark, _), row in zip(found, rows, strict=True)]


class _StoreSegment:
    """The coupled records in the state store's order ``by``."""

    def __init__(self, systems: Systems, mapping: TableMapping, by: CouplingOrder, descending: bool) -> None:
        self.systems, self.mapping, self.by, self.descending = systems, mapping, by, descending

    def fetch(
        self, after: Bookmark | None, *, forward: bool, want: int
    ) -> tuple[list[tuple[Bookmark, BrowseRow]], Bookmark | None]:
        couplings = self.systems.store.couplings.ordered(
            self.mapping.name, self.by, descending=self.descending == forward, after=after, limit=want
        )
        rows = _with_records(self.systems, self.mapping, [_bare(c.local_key, c, None) for c in couplings])
        marks = [Bookmark(value=coupling_value(c, self.by), key=c.local_key) for c in couplings]
        return list(zip(marks, rows, strict=True)), None


# driven by the local system ----------------------------------------------------------------------------------
def _search_fields(mapping: TableMapping) -> list[str]:
    """The local fields a search looks at: the display key (else the key) and the name."""
    spec = mapping.spec(Side.LOCAL)
    return list(dict.fromkeys(f for f in (spec.display_key or spec.key, _name_field(mapping)) if f))


def _name_field(mapping: TableMapping) -> str | None:
    return next((f.local for f in mapping.fields if f.local and f.enabled and not f.has_constant), None)


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


def _kept(systems: Systems, mapping: TableMapping, filter: RecordFilter, keys: Sequence[str]) -> list[BrowseRow]:
    """The rows of these keys that pass the filter. Not coupled needs no more than which keys are coupled (a
    key-only query); the rows' failures are read for the page's rows only (``_page_rows``)."""
    if filter is RecordFilter.UNCOUPLED:
        coupled = systems.store.couplings.coupled(mapping.name, Side.LOCAL, keys) if keys else set()
        return [_bare(key, None, None) for key in keys if key not in coupled]
    return [row for row in _states(systems, mapping, keys) if _keeps(filter, row)]


def _page_rows(
    systems: Systems, mapping: TableMapping, filter: RecordFilter, rows: Sequence[BrowseRow]
) -> list[BrowseRow]:
    if filter is RecordFilter.UNCOUPLED:  # their failures (a failed creation), read for the page only
        failures = systems.store.attention.failures_of(mapping.name, Side.LOCAL, [r.key for r in rows]) if rows else {}
        rows = [replace(row, failure=failures.get(row.key)) for row in rows]
    return _with_records(systems, mapping, rows)


def _keeps(filter: RecordFilter, row: BrowseRow) -> bool:
    if filter is RecordFilter.ALL:
        return True
    if filter is RecordFilter.UNCOUPLED:
        return not row.coupled
    if filter is RecordFilter.COUPLED:
        return row.coupled
    if filter is RecordFilter.SKIPPED:
        return row.skipped
    if filter is RecordFilter.CONFLICT:
        return row.in_conflict
    return row.result is SyncResult.FAILURE and not row.skipped


def _local_total(
    systems: Systems, mapping: TableMapping, filter: RecordFilter, search: str | None, stats: CouplingStats
) -> int | None:
    spec = mapping.spec(Side.LOCAL)
    if search is None:
        count = systems.local.count(spec)
        if count is None or filter is RecordFilter.ALL:
            return count
        return max(count - stats.couplings, 0) if filter is RecordFilter.UNCOUPLED else None
    if filter is RecordFilter.ALL:
        return systems.local.search_count(spec, _search_fields(mapping), search)
    return None


# driven by the state store -----------------------------------------------------------------------------------
def _from_store(
    systems: Systems, mapping: TableMapping, filter: RecordFilter, after: str | None, limit: int
) -> tuple[list[BrowseRow], str | None]:
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
    rows = _with_records(systems, mapping, bare)
    return rows, (rows[-1].key if len(keys) > limit else None)


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


# rows --------------------------------------------------------------------------------------------------------
def _read_local(systems: Systems, mapping: TableMapping, keys: Sequence[str]) -> list[Record]:
    if not keys:
        return []
    spec = replace(mapping.spec(Side.LOCAL), filter=())
    return systems.local.read(spec, keys, columns=mapping.columns(Side.LOCAL))


def _display(mapping: TableMapping, record: Record) -> str | None:
    display_key = mapping.spec(Side.LOCAL).display_key
    value = record.get(display_key) if display_key else None
    return str(value) if value is not None else None


def _bare(key: str, coupling: Coupling | None, failure: RecordFailure | None) -> BrowseRow:
    """A row with its coupling (or the failure of an uncoupled record) but no record yet."""
    return BrowseRow(key=key, display=None, name=None, record=None, coupling=coupling, failure=failure)


def _states(systems: Systems, mapping: TableMapping, keys: Sequence[str]) -> list[BrowseRow]:
    """Rows of these local keys with their coupling state, read from the store in one batch, but no record yet."""
    couplings = systems.store.couplings.find(mapping.name, Side.LOCAL, keys) if keys else {}
    uncoupled = [k for k in keys if k not in couplings]
    failures = systems.store.attention.failures_of(mapping.name, Side.LOCAL, uncoupled) if uncoupled else {}
    return [_bare(key, couplings.get(key), failures.get(key)) for key in keys]


def _with_records(systems: Systems, mapping: TableMapping, rows: Sequence[BrowseRow]) -> list[BrowseRow]:
    """The rows with their local records, read in one batch (a record deleted meanwhile leaves its row bare)."""
    records = {r.key: r for r in _read_local(systems, mapping, [row.key for row in rows])}
    name_field = _name_field(mapping)
    filled = []
    for row in rows:
        record = records.get(row.key)
        if record is not None:
            name = record.get(name_field) if name_field else None
            row = replace(row, record=record, display=_display(mapping, record), name=name)
        filled.append(row)
    return filled


def _rows(systems: Systems, mapping: TableMapping, records: Sequence[Record]) -> list[BrowseRow]:
    states = _states(systems, mapping, [r.key for r in records])
    name_field = _name_field(mapping)
    return [
        replace(
            row,
            record=record,
            display=_display(mapping, record),
            name=record.get(name_field) if name_field else None,
        )
        for row, record in zip(states, records, strict=True)
    ]
