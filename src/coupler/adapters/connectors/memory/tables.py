"""The in-memory connector's tables: ``MemoryTable`` (rows of dicts by key, their versions, the log of deleted keys
and per-column ``Constraint`` callbacks) and ``MillisecondClock``, the connector's default clock for modified-on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from coupler.domain.errors import ConfigurationError
from coupler.domain.timeutil import utcnow
from coupler.ports.connector import ColumnInfo

__all__ = ["Constraint", "MemoryTable", "MillisecondClock"]

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
