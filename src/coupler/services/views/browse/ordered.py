"""The list sorted by a column, paged both ways: segments read on ordered keysets (see the package's docstring and
``coupler.services.views.keysets``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from coupler.domain.mapping import Side, TableMapping
from coupler.domain.ordering import Bookmark, CouplingOrder, coupling_value
from coupler.domain.records import Record
from coupler.ports.store import CouplingStats
from coupler.services.context import Systems
from coupler.services.views.browse.rows import (
    _SCAN_BATCH,
    BrowsePage,
    BrowseRow,
    RecordFilter,
    Sort,
    _bare,
    _kept,
    _local_total,
    _name_field,
    _page_rows,
    _rows,
    _search_fields,
    _with_records,
)
from coupler.services.views.keysets import Segment, decode, encode, walk

__all__ = ["_sorted"]


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
    token = before if before is not None else after
    start = decode(token) if token else None
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
    counted_at = None
    if filter is RecordFilter.COUPLED:
        total: int | None = stats.couplings if search is None else None
    else:
        total, counted_at = _local_total(systems, mapping, filter, search, stats)
    return BrowsePage(
        mapping=mapping.name,
        filter=filter,
        search=search,
        rows=tuple(row for _, row in items),
        next_after=next_after,
        total=total,
        counted_at=counted_at,
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
