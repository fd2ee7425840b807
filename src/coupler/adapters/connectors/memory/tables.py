"""The table store behind the in-memory connector: tables of dict rows declared with ``add_table``, and the helpers
that read and edit the data directly, as a user of the system would (``rows``, ``put``, ``remove``).

The store stamps modified-on from its clock on every write (like a database trigger) and checks per-column
constraint callbacks (like NOT NULL and CHECK constraints); a ``versioned`` table gives each record a version.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import TableSpec
from coupler.domain.records import Record, WriteResult
from coupler.domain.timeutil import utcnow
from coupler.ports.connector import ColumnInfo

__all__ = ["Constraint", "MemoryTable", "MillisecondClock", "TableStore"]

Constraint = Callable[[Any], str | None]
"""Checks one column's value; returns the error message that rejects the row, or None."""


class MillisecondClock:
    """UTC now at millisecond precision, strictly increasing from one call to the next."""

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        with self._lock:
            if self._last is not None and now <= self._last:
                now = self._last + timedelta(milliseconds=1)
            self._last = now
        return now


@dataclass(kw_only=True, slots=True)
class MemoryTable:
    """One table: its rows by key, their versions and the log of deleted keys."""

    name: str
    key: str
    columns: dict[str, ColumnInfo]
    modified_on: str | None
    constraints: dict[str, Constraint]
    key_factory: Callable[[], str]
    versioned: bool
    server_keys: bool = False
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    deleted: list[tuple[datetime, str]] = field(default_factory=list)

    def check_columns(self, names: Iterable[str]) -> None:
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise ConfigurationError(f"table {self.name!r} has no column {unknown[0]!r}")

    def violation(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        for column, check in self.constraints.items():
            try:
                message = check(values.get(column))
            except (TypeError, ValueError) as exc:  # a value of the wrong type, as a database would refuse it
                return f"{self.name}: invalid value for column {column!r}: {exc}", repr(exc)
            if message:
                return f"{self.name}: {message}", f"constraint on column {column!r} of {self.name}"
        return None


class TableStore:
    """Tables by name, guarded by one lock: the in-memory connector's data."""

    def __init__(self, *, display_name: str, clock: Callable[[], datetime] | None) -> None:
        self.display_name = display_name
        self._clock = clock or MillisecondClock()
        self._tables: dict[str, MemoryTable] = {}
        self._lock = threading.RLock()

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

    # internals -----------------------------------------------------------------------------------------------
    def _get(self, table: str) -> MemoryTable:
        data = self._tables.get(table)
        if data is None:
            raise ConfigurationError(f"{self.display_name} has no table {table!r}")
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
