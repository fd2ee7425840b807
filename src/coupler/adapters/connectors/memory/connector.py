"""An in-memory connector with the SQL connector's semantics, for users' tests and coupler's own.

Tables are declared with ``add_table``; the connector stamps modified-on from its clock on every insert and update
(like a database trigger) and checks per-column constraint callbacks (like NOT NULL and CHECK constraints). The
helpers ``rows``, ``put`` and ``remove`` read and edit the data directly, as a user of the system would.
Records carry a version and an update given a stale one is refused (a retryable error): a table declared
``versioned`` counts versions (an ETag), the others use the modified-on, as the SQL connector does.
"""

from __future__ import annotations

import heapq
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from coupler.adapters.connectors.memory.tables import Constraint, MemoryTable, MillisecondClock
from coupler.domain.errors import ConfigurationError, RetryableConnectorError
from coupler.domain.mapping import TableSpec
from coupler.domain.ordering import Bookmark, ordered_page
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult
from coupler.ports.connector import ColumnInfo, Connector, Deletions

__all__ = ["Constraint", "InMemoryConnector", "MillisecondClock"]


class InMemoryConnector(Connector):
    """Tables of dict rows keyed by string keys; every method keeps the SQL connector's semantics."""

    def __init__(self, *, display_name: str = "memory", clock: Callable[[], datetime] | None = None) -> None:
        self.display_name = display_name
        self._clock = clock or MillisecondClock()
        self._tables: dict[str, MemoryTable] = {}
        self._lock = threading.RLock()
        self.down = False
        """Set to make every call fail with a retryable error, as an unreachable system would."""
        self.report_deletions = False
        """Set to keep a deleted-entries feed (``deletions``), as Dataverse's change tracking does."""
        self._feed_epoch = 0  # bumped by ``expire_deletion_cursors``: older cursors are unknown

    # set-up and direct edits -----------------------------------------------------------------------------------
    def add_table(
        self,
        name: str,
        key: str,
        columns: Sequence[str | ColumnInfo],
        modified_on: str | None = "modified_on",
        constraints: Mapping[str, Constraint] | None = None,
        key_factory: Callable[[], str] = lambda: str(uuid.uuid4()),
        *,
        rows: Iterable[Mapping[str, Any]] = (),
        versioned: bool = False,
        server_keys: bool = False,
    ) -> None:
        """``server_keys``: the table assigns the keys of new records itself, as Business Central does (``new_keys``
        is None); otherwise coupler may choose them."""
        infos = {c.name: c for c in (ColumnInfo(name=c, type="string") if isinstance(c, str) else c for c in columns)}
        infos[key] = replace(infos.get(key) or ColumnInfo(name=key, type="string"), nullable=False, primary_key=True)
        if modified_on and modified_on not in infos:
            infos[modified_on] = ColumnInfo(name=modified_on, type="datetime")
        table = MemoryTable(
            name=name,
            key=key,
            columns=infos,
            modified_on=modified_on,
            constraints=dict(constraints or {}),
            key_factory=key_factory,
            versioned=versioned,
            server_keys=server_keys,
        )
        table.check_columns(table.constraints)
        with self._lock:
            self._tables[name] = table
        for row in rows:
            self.put(name, row)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Copies of the table's rows, in key order."""
        with self._lock:
            data = self._get(table)
            return [dict(data.rows[key]) for key in sorted(data.rows)]

    def put(self, table: str, values: Mapping[str, Any]) -> str:
        """Insert or change a record directly (no constraint checks), stamping modified-on from the clock.
        Returns the record's key."""
        with self._lock:
            data = self._get(table)
            data.check_columns(values)
            key = values.get(data.key)
            key = data.key_factory() if key is None else str(key)
            row = data.rows.get(key) or dict.fromkeys(data.columns)
            row.update(values)
            row[data.key] = key
            self._stamp(data, key, row)
            return key

    def set_modified_on(self, table: str, keys: Iterable[str], value: datetime | None) -> None:
        """Overwrite the modified-on of records (as a database administrator could), e.g. to make ties."""
        with self._lock:
            data = self._get(table)
            if not data.modified_on:
                raise ConfigurationError(f"table {table!r} has no modified-on column")
            for key in keys:
                data.rows[key][data.modified_on] = value

    def remove(self, table: str, key: str) -> None:
        with self._lock:
            data = self._get(table)
            if data.rows.pop(key, None) is None:
                raise KeyError(f"record {key} does not exist in {table}")
            data.versions.pop(key, None)
            data.deleted.append((self._clock(), key))

    # the port ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        self._check_up()

    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        self._check_up()
        with self._lock:
            data = self._tables.get(table)
            return dict(data.columns) if data is not None else None

    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        with self._lock:
            data = self._resolve(spec, columns)
            return [self._record(data, spec, data.rows[k], columns) for k in dict.fromkeys(keys) if k in data.rows]

    def count(self, spec: TableSpec) -> int | None:
        with self._lock:
            data = self._resolve(spec, ())
            return sum(1 for row in data.rows.values() if spec.matches(row))

    def changed_since(
        self,
        spec: TableSpec,
        since: ChangeCursor | None,
        *,
        columns: Sequence[str],
        page_size: int,
    ) -> Iterator[list[Record]]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        with self._lock:
            data = self._resolve(spec, columns)
        return self._pages(data, spec, since, columns, page_size)

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        with self._lock:
            data = self._resolve(spec, columns)
            data.check_columns(criteria)
            found = [
                row
                for key, row in sorted(data.rows.items())
                if spec.matches(row) and all(_equal(row[c], v, case_sensitive) for c, v in criteria.items())
            ]
            return [self._record(data, spec, row, columns) for row in found[:limit]]

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        with self._lock:
            data = self._resolve(spec, [*columns, field])
            wanted = {_folded(value, case_sensitive) for value in values if value is not None}
            return [
                self._record(data, spec, row, columns)
                for _, row in sorted(data.rows.items())
                if row[field] is not None and _folded(row[field], case_sensitive) in wanted and spec.matches(row)
            ]

    def search(
        self,
        spec: TableSpec,
        fields: Sequence[str],
        text: str,
        *,
        columns: Sequence[str],
        after: str | None = None,
        limit: int = 100,
    ) -> list[Record]:
        folded = text.lower()
        with self._lock:
            data = self._resolve(spec, [*columns, *fields])
            found = [
                row
                for key, row in sorted(data.rows.items())
                if (after is None or key > after)
                and any(row[f] is not None and str(row[f]).lower().startswith(folded) for f in fields)
                and spec.matches(row)
            ]
            return [self._record(data, spec, row, columns) for row in found[:limit]]

    def ordered(
        self,
        spec: TableSpec,
        field: str,
        *,
        columns: Sequence[str],
        descending: bool = False,
        after: Bookmark | None = None,
        limit: int = 100,
        search: tuple[Sequence[str], str] | None = None,
    ) -> list[Record] | None:
        wanted = list(dict.fromkeys([*columns, field]))
        fields, folded = (search[0], search[1].lower()) if search is not None else ((), "")
        with self._lock:
            data = self._resolve(spec, [*wanted, *fields])
            rows = [
                (key, row)
                for key, row in data.rows.items()
                if spec.matches(row)
                and (
                    search is None or any(row[f] is not None and str(row[f]).lower().startswith(folded) for f in fields)
                )
            ]
            page = ordered_page(
                rows, lambda r: r[1][field], lambda r: r[0], descending=descending, after=after, limit=limit
            )
            return [self._record(data, spec, row, wanted) for _, row in page]

    def search_count(self, spec: TableSpec, fields: Sequence[str], text: str) -> int | None:
        return len(self.search(spec, fields, text, columns=(), limit=sys.maxsize))

    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        self._check_up()
        with self._lock:
            data = self._get(spec.table)
            return None if data.server_keys else [data.key_factory() for _ in range(count)]

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        with self._lock:
            data = self._resolve(spec, ())
            data.check_columns({name for row in rows for name in row})
            results = []
            for index, values in enumerate(rows):
                row = dict.fromkeys(data.columns) | dict(values)
                key = data.key_factory() if row[data.key] is None else str(row[data.key])
                row[data.key] = key
                problem = data.violation(row)
                if key in data.rows:
                    problem = (f"{data.name}: record {key} already exists", f"duplicate key {key}")
                if problem is not None:
                    results.append(WriteResult(index=index, error=problem[0], detail=problem[1]))
                    continue
                data.rows[key] = row
                results.append(self._written(data, index, key, row))
            return results

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        with self._lock:
            data = self._resolve(spec, ())
            data.check_columns({name for update in updates for name in update.values})
            results = []
            for index, update in enumerate(updates):
                current = data.rows.get(update.key)
                if current is None:
                    results.append(_failed(index, update.key, f"record {update.key} does not exist in {data.name}"))
                    continue
                if update.version is not None and update.values and update.version != self._version(data, update.key):
                    message = f"record {update.key} of {data.name} was changed since it was read (stale version)"
                    results.append(_failed(index, update.key, message, retryable=True))
                    continue
                row = current | dict(update.values)
                key = str(row[data.key])
                problem = data.violation(row)
                if key != update.key and key in data.rows:
                    problem = (f"{data.name}: record {key} already exists", f"duplicate key {key}")
                if problem is not None:
                    results.append(_failed(index, update.key, *problem))
                    continue
                if key != update.key:
                    del data.rows[update.key]
                    data.versions.pop(update.key, None)
                row[data.key] = key
                data.rows[key] = row
                results.append(self._written(data, index, key, row))
            return results

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        with self._lock:
            data = self._resolve(spec, ())
            results = []
            for index, key in enumerate(keys):
                if data.rows.pop(key, None) is None:
                    results.append(_failed(index, key, f"record {key} does not exist in {data.name}"))
                else:
                    data.versions.pop(key, None)
                    data.deleted.append((self._clock(), key))
                    results.append(WriteResult(index=index, key=key))
            return results

    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        """The fake keeps a deleted-entries feed when ``report_deletions`` is set; otherwise, like a plain database,
        it reports none (None). A cursor is a position in the table's deletion log; without one, the deletions
        after ``since`` are reported (all when None). An unknown or expired cursor starts over."""
        self._check_up()
        if not self.report_deletions:
            return None
        with self._lock:
            data = self._get(spec.table)
            fresh = f"{self._feed_epoch}:{len(data.deleted)}"
            if cursor is None:
                keys = [key for at, key in data.deleted if since is None or at > since]
                return Deletions(keys=tuple(keys), cursor=fresh, restarted=True)
            epoch, _, position = cursor.partition(":")
            if epoch != str(self._feed_epoch) or not position.isdigit() or int(position) > len(data.deleted):
                return Deletions(cursor=fresh, restarted=True)
            return Deletions(keys=tuple(key for _, key in data.deleted[int(position) :]), cursor=fresh)

    def expire_deletion_cursors(self) -> None:
        """Every cursor handed out so far is expired, as a Dataverse delta token is after its retention period."""
        with self._lock:
            self._feed_epoch += 1

    # internals -----------------------------------------------------------------------------------------------
    def _check_up(self) -> None:
        if self.down:
            raise RetryableConnectorError(f"{self.display_name} is unavailable")

    def _get(self, table: str) -> MemoryTable:
        data = self._tables.get(table)
        if data is None:
            raise ConfigurationError(f"{self.display_name} has no table {table!r}")
        return data

    def _resolve(self, spec: TableSpec, columns: Iterable[str]) -> MemoryTable:
        self._check_up()
        data = self._get(spec.table)
        data.check_columns([spec.key, *columns, *(c.field for c in spec.filter)])
        if spec.key != data.key:
            raise ConfigurationError(f"the key of table {data.name!r} is {data.key!r}, not {spec.key!r}")
        if spec.modified_on not in (None, data.modified_on):
            raise ConfigurationError(f"the modified-on column of table {data.name!r} is {data.modified_on!r}")
        return data

    def _stamp(self, data: MemoryTable, key: str, row: dict[str, Any]) -> None:
        if data.modified_on:
            row[data.modified_on] = self._clock()
        data.rows[key] = row
        data.versions[key] = data.versions.get(key, 0) + 1

    def _written(self, data: MemoryTable, index: int, key: str, row: dict[str, Any]) -> WriteResult:
        self._stamp(data, key, row)
        stamp = row[data.modified_on] if data.modified_on else None
        return WriteResult(index=index, key=key, modified_on=stamp, version=self._version(data, key))

    def _version(self, data: MemoryTable, key: str) -> str | None:
        """A ``versioned`` table's counter (an ETag); else, as the SQL connector, the modified-on as text."""
        if data.versioned:
            return str(data.versions[key])
        stamp = data.rows[key].get(data.modified_on) if data.modified_on else None
        return None if stamp is None else (stamp.isoformat() if isinstance(stamp, datetime) else str(stamp))

    def _record(self, data: MemoryTable, spec: TableSpec, row: Mapping[str, Any], columns: Sequence[str]) -> Record:
        key = row[data.key]
        return Record(
            key=key,
            modified_on=row[spec.modified_on] if spec.modified_on else None,
            values={name: row[name] for name in columns},
            version=self._version(data, key),
        )

    def _pages(
        self, data: MemoryTable, spec: TableSpec, since: ChangeCursor | None, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        stamp = spec.modified_on
        after: tuple[Any, ...] | None = None
        while True:
            with self._lock:
                self._check_up()
                candidates = []
                for key, row in data.rows.items():
                    if stamp is None:
                        position: tuple[Any, ...] = (key,)
                    elif row[stamp] is None:
                        if since is not None:
                            continue
                        position = (0, _EPOCH, key)
                    elif since is None or _beyond(since, row[stamp], key):
                        position = (1, row[stamp], key)
                    else:
                        continue
                    if (after is None or position > after) and spec.matches(row):
                        candidates.append((position, row))
                page = heapq.nsmallest(page_size, candidates, key=lambda item: item[0])
                records = [self._record(data, spec, row, columns) for _, row in page]
            if records:
                yield records
            if len(page) < page_size:
                return
            after = page[-1][0]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _beyond(cursor: ChangeCursor, stamp: datetime, key: str) -> bool:
    """Whether the position (stamp, key) comes after the cursor (keys compare as the strings they are here)."""
    return stamp > cursor.stamp or (stamp == cursor.stamp and cursor.key is not None and key > cursor.key)


def _equal(actual: Any, expected: Any, case_sensitive: bool) -> bool:
    if not case_sensitive and isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)


def _folded(value: Any, case_sensitive: bool) -> Any:
    return value.lower() if not case_sensitive and isinstance(value, str) else value


def _failed(index: int, key: str, error: str, detail: str | None = None, *, retryable: bool = False) -> WriteResult:
    return WriteResult(index=index, key=key, error=error, detail=detail, retryable=retryable)
