"""A connector's metadata cache kept in the state store (``store.metadata``) for one connection.

The connection's entries are read with one query when the connector first asks, then served from memory; what the
connector learns is written through at once (another process may start meanwhile), and forgetting drops the
connection's rows."""

from __future__ import annotations

import threading

from coupler.domain.timeutil import utcnow
from coupler.ports.metadata import MetadataCache
from coupler.ports.store import Metadata

__all__ = ["StoredMetadata"]


class StoredMetadata(MetadataCache):
    def __init__(self, store: Metadata, connection: str) -> None:
        self._store = store
        self.connection = connection
        self._kept: dict[str, str] | None = None
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            if self._kept is None:
                self._kept = {entry.key: entry.value for entry in self._store.entries(self.connection)}
            return self._kept.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._store.put(self.connection, key, value, at=utcnow())
            if self._kept is not None:
                self._kept[key] = value

    def forget(self) -> None:
        with self._lock:
            self._store.forget(self.connection)
            self._kept = {}
