"""The records list's values (filters, orders, rows, pages) and how its rows are filled: coupling states from the
store, records from the local system, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.domain.state import RecordFailure
from coupler.ports.store import CouplingStats
from coupler.services.context import Systems

__all__ = ["MAX_LIMIT", "MAX_SCAN", "BrowsePage", "BrowseRow", "RecordFilter", "Sort"]

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
    counted_at: datetime | None = None
    """When ``total`` was counted, if it is a count kept because it cost a scan (None: counted now)."""
    stats: CouplingStats
    fields: tuple[str, ...]
    """The local columns each row's record holds, in the mapping's order."""
    sort: Sort = Sort.KEY
    """The order the rows are in (key order when the order asked for cannot be read; see the module)."""
    descending: bool = False
    prev_before: str | None = None
    """The ``before`` of the previous page; None on the first page (and in key order, which pages forward only)."""


# rows shared by every way of reading a page ------------------------------------------------------------------
def _search_fields(mapping: TableMapping) -> list[str]:
    """The local fields a search looks at: the display key (else the key) and the name."""
    spec = mapping.spec(Side.LOCAL)
    return list(dict.fromkeys(f for f in (spec.display_key or spec.key, _name_field(mapping)) if f))


def _name_field(mapping: TableMapping) -> str | None:
    return next((f.local for f in mapping.fields if f.local and f.enabled and not f.has_constant), None)


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
) -> tuple[int | None, datetime | None]:
    """The records matching, when known cheaply, and when that count was made if it is a kept one (a count that
    costs a scan is kept: ``Systems.count``)."""
    spec = mapping.spec(Side.LOCAL)
    if search is None:
        counted = systems.count(Side.LOCAL, spec)
        if counted.value is None or filter is RecordFilter.ALL:
            return counted.value, counted.counted_at
        if filter is RecordFilter.UNCOUPLED:
            return max(counted.value - stats.couplings, 0), counted.counted_at
        return None, None
    if filter is RecordFilter.ALL:
        counted = systems.count(Side.LOCAL, spec, search_fields=_search_fields(mapping), search=search)
        return counted.value, counted.counted_at
    return None, None


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
