"""Where runs resume and what they hold, in dictionaries: watermarks, the deleted-entries feeds' cursors, intents
to create and locks. Timestamps are kept in UTC and sides and directions as enums, as a database gives them back."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coupler.adapters.store.memory.tables import remove
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import CreateIntent, IntentKey, Lock
from coupler.domain.timeutil import to_utc
from coupler.ports.store import Cursors

__all__ = ["MemoryCursors"]


class MemoryCursors(Cursors):
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._watermarks: dict[tuple[str, Side], ChangeCursor | None] = {}
        self._deletion_feeds: dict[tuple[str, Side], str] = {}
        self._intents: dict[tuple[str, Direction, str], CreateIntent] = {}
        self._locks: dict[str, Lock] = {}

    # watermarks ----------------------------------------------------------------------------------------------
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        with self._lock:
            return self._watermarks.get((mapping, Side(side)))

    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        with self._lock:
            at = None if cursor is None else replace(cursor, stamp=to_utc(cursor.stamp))
            self._watermarks[(mapping, Side(side))] = at

    # deleted-entries feeds -------------------------------------------------------------------------------------
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        with self._lock:
            return self._deletion_feeds.get((mapping, Side(side)))

    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        with self._lock:
            if cursor is None:
                self._deletion_feeds.pop((mapping, Side(side)), None)
            else:
                self._deletion_feeds[(mapping, Side(side))] = cursor

    # intents to create -----------------------------------------------------------------------------------------
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        stored = [replace(i, direction=Direction(i.direction), at=to_utc(i.at)) for i in intents]
        with self._lock:
            self._intents.update(((i.mapping, i.direction, i.source_key), i) for i in stored)

    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]:
        direction = Direction(direction)
        with self._lock:
            chosen = [i for i in self._intents.values() if i.mapping == mapping and i.direction is direction]
        chosen.sort(key=lambda i: (i.at, i.source_key))
        return chosen[:limit]

    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
        direction = Direction(direction)
        with self._lock:
            remove(self._intents, [(mapping, direction, key) for key in source_keys])

    def drop_done(self, done: Sequence[IntentKey]) -> None:
        """In the unit of work: drop the intents of records created and coupled."""
        with self._lock:
            remove(self._intents, [(i.mapping, Direction(i.direction), i.source_key) for i in done])

    # locks -----------------------------------------------------------------------------------------------------
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None = None, pid: int | None = None
    ) -> bool:
        with self._lock:
            held = self._locks.get(name)
            if held is not None and held.owner != owner and not held.expired(to_utc(now)):
                return False
            self._locks[name] = Lock(name=name, owner=owner, until=to_utc(until), host=host, pid=pid)
            return True

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        with self._lock:
            held = self._locks.get(name)
            if held is None or held.owner != owner:
                return False
            self._locks[name] = replace(held, until=to_utc(until))
            return True

    def release_lock(self, name: str, owner: str) -> None:
        with self._lock:
            held = self._locks.get(name)
            if held is not None and held.owner == owner:
                del self._locks[name]

    def locks(self) -> list[Lock]:
        with self._lock:
            return [self._locks[name] for name in sorted(self._locks)]
