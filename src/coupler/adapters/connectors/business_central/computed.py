"""Computed columns of an entity: columns API v2.0 does not have, which the connector computes for the rows it reads
(``currencies.exchangeRate`` from ``currencyExchangeRates``, ``contacts.customerNumber`` from the customers'
``contactsInformation``). They are described like the entity's own columns, never sent in ``$select`` or
``$filter`` (a filter on one is checked on each row), and a computed column that can be written turns into the
entity's own columns before the write (``customerNumber`` -> ``companyNumber``)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from coupler.ports.connector import ColumnInfo

__all__ = ["ComputedColumn", "Kept", "NotWritable"]

T = TypeVar("T")


class NotWritable(Exception):
    """A value of a computed column cannot be written as asked; the message names the record's problem."""


class ComputedColumn(ABC):
    """One computed column. ``needs``: the entity's own properties its computation reads from each row."""

    name: str
    type: str = "string"
    needs: tuple[str, ...] = ()

    @property
    def info(self) -> ColumnInfo:
        return ColumnInfo(name=self.name, type=self.type, nullable=True)

    @abstractmethod
    def fill(self, rows: list[dict[str, Any]]) -> None:
        """Set the column in each row read (rows as the service sent them, with ``needs``)."""

    def written(self, value: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entity's own values that writing ``value`` stands for (``values``: the rest of the row);
        ``NotWritable`` when it cannot be written."""
        raise NotWritable(f"{self.name} is computed by coupler from Business Central's data and cannot be written")


class Kept(Generic[T]):
    """A value computed from the service's data, kept for ``seconds`` (a synchronization's reads share one answer;
    a long-running process asks again later)."""

    def __init__(self, load: Callable[[], T], *, seconds: float = 300.0) -> None:
        self._load = load
        self._seconds = seconds
        self._value: T | None = None
        self._at = 0.0

    def get(self) -> T:
        now = time.monotonic()
        if self._value is None or now - self._at > self._seconds:
            self._value = self._load()
            self._at = now
        return self._value

    def forget(self) -> None:
        self._value = None
