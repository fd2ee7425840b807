"""What connectors learnt about their systems' schemas, per connection, in a dictionary."""

from __future__ import annotations

import threading
from datetime import datetime

from coupler.domain.timeutil import to_utc
from coupler.ports.store import KnownEntry, Metadata

__all__ = ["MemoryMetadata"]


class MemoryMetadata(Metadata):
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._kept: dict[str, dict[str, KnownEntry]] = {}

    def entries(self, connection: str) -> list[KnownEntry]:
        with self._lock:
            kept = self._kept.get(connection, {})
            return [kept[key] for key in sorted(kept)]

    def put(self, connection: str, key: str, value: str, *, at: datetime) -> None:
        with self._lock:
            self._kept.setdefault(connection, {})[key] = KnownEntry(key=key, value=value, learnt_at=to_utc(at))

    def forget(self, connection: str) -> None:
        with self._lock:
            self._kept.pop(connection, None)
