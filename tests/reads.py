"""A connector wrapper that counts what is read through it, for tests that bound the reads of a page."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from coupler.domain.mapping import TableSpec
from coupler.domain.records import ChangeCursor, Record
from coupler.ports.connector import Connector, ForwardingConnector


class ReadCounter(ForwardingConnector):
    """Passes every call to ``inner`` and counts the records its reads return: ``records`` those read with fields,
    ``keys`` those read as keys only (no columns but the key and modified-on); ``counts`` the counts asked for.
    ``in_flight`` and ``most_in_flight`` count the calls under way at once; ``pause`` (seconds) holds each read so
    that concurrent calls overlap."""

    def __init__(self, inner: Connector, *, pause: float = 0.0) -> None:
        super().__init__(inner)
        self.pause = pause
        self.records = 0
        self.keys = 0
        self.counts = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.records = self.keys = self.counts = self.most_in_flight = 0

    def _tally(self, spec: TableSpec, found: Sequence[Record], columns: Sequence[str]) -> None:
        with self._lock:
            if set(columns) - {spec.key, spec.modified_on}:
                self.records += len(found)
            else:
                self.keys += len(found)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.pause:
            threading.Event().wait(self.pause)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _read(self, call: Any, spec: TableSpec, *args: Any, **kwargs: Any) -> list[Record]:
        self._enter()
        try:
            found: list[Record] = call(spec, *args, **kwargs)
        finally:
            self._leave()
        self._tally(spec, found, kwargs["columns"])
        return found

    # reads: counted --------------------------------------------------------------------------------------------
    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        return self._read(self.inner.read, spec, keys, columns=columns)

    def changed_since(
        self, spec: TableSpec, since: ChangeCursor | None, *, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        for page in self.inner.changed_since(spec, since, columns=columns, page_size=page_size):
            self._tally(spec, page, columns)
            yield page

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        return self._read(self.inner.find, spec, criteria, columns=columns, limit=limit, case_sensitive=case_sensitive)

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        return self._read(self.inner.find_any, spec, field, values, columns=columns, case_sensitive=case_sensitive)

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
        return self._read(self.inner.search, spec, fields, text, columns=columns, after=after, limit=limit)

    def count(self, spec: TableSpec) -> int | None:
        with self._lock:
            self.counts += 1
        self._enter()
        try:
            return self.inner.count(spec)
        finally:
            self._leave()

    def search_count(self, spec: TableSpec, fields: Sequence[str], text: str) -> int | None:
        with self._lock:
            self.counts += 1
        return self.inner.search_count(spec, fields, text)


class Uncountable(ReadCounter):
    """A connector that cannot count cheaply (``count`` is None), as an HTTP service may be."""

    def count(self, spec: TableSpec) -> int | None:
        return None
