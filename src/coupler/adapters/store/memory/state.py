"""The state kept beside couplings, in dictionaries: parked conflicts, failures of uncoupled records, pending
deletions, intents to create and locks. Used by ``InMemoryStateStore``, which holds the lock around every call.

Values are stored as a database would give them back: timestamps in UTC, enums for sides and directions, and
conflict fields through the same JSON encoding as the SQL store (so a value that is not JSON-ready fails the same
way, and a tuple value comes back as a list)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from coupler.adapters.store.encoding import decode_fields, encode_fields
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, CreateIntent, Lock, PendingDeletion, RecordFailure, StateChanges
from coupler.domain.timeutil import to_utc

__all__ = ["MemoryState", "StateWrites"]

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, kw_only=True, slots=True)
class StateWrites:
    """What one ``save`` writes beside couplings, already normalized: preparing it is where a save can fail."""

    conflicts: list[Conflict]
    settled: list[tuple[str, str]]
    failures: list[RecordFailure]
    cleared: list[tuple[str, Side, str]]
    deletions: list[PendingDeletion]

    @classmethod
    def of(cls, changes: StateChanges) -> StateWrites:
        return cls(
            conflicts=[_stored_conflict(c) for c in changes.conflicts],
            settled=[(k.mapping, k.local_key) for k in changes.settled],
            failures=[replace(f, side=Side(f.side), at=to_utc(f.at)) for f in changes.failures],
            cleared=[(k.mapping, Side(k.side), k.key) for k in changes.cleared],
            deletions=[replace(d, side=Side(d.side), detected_at=to_utc(d.detected_at)) for d in changes.deletions],
        )


class MemoryState:
    """Not thread-safe by itself: the store calls it under its lock."""

    def __init__(self) -> None:
        self._conflicts: dict[tuple[str, str], Conflict] = {}
        self._failures: dict[tuple[str, Side, str], RecordFailure] = {}
        self._deletions: dict[tuple[str, Side, str], PendingDeletion] = {}
        self._intents: dict[tuple[str, Direction, str], CreateIntent] = {}
        self._locks: dict[str, Lock] = {}

    def write(self, writes: StateWrites) -> None:
        """Replace, then remove: a key both stored and removed in one save ends up removed."""
        self._conflicts.update(((c.mapping, c.local_key), c) for c in writes.conflicts)
        _remove(self._conflicts, writes.settled)
        self._failures.update(((f.mapping, f.side, f.key), f) for f in writes.failures)
        _remove(self._failures, writes.cleared)
        self._deletions.update(((d.mapping, d.side, d.deleted_key), d) for d in writes.deletions)

    # parked conflicts ------------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None, *, after: str | None, limit: int) -> list[Conflict]:
        chosen = [
            c
            for (m, key), c in self._conflicts.items()
            if (mapping is None or m == mapping) and (after is None or key > after)
        ]
        chosen.sort(key=lambda c: (c.mapping, c.local_key))
        return chosen[:limit]

    def conflict(self, mapping: str, local_key: str) -> Conflict | None:
        return self._conflicts.get((mapping, local_key))

    # failures of uncoupled records -------------------------------------------------------------------------------
    def record_failures(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        side = Side(side)
        found = ((key, self._failures.get((mapping, side, key))) for key in keys)
        return {key: failure for key, failure in found if failure is not None}

    def list_record_failures(
        self, mapping: str | None, *, side: Side | None, skipped: bool | None, after: str | None, limit: int
    ) -> list[RecordFailure]:
        chosen = [
            f
            for f in self._failures.values()
            if (mapping is None or f.mapping == mapping)
            and (side is None or f.side is Side(side))
            and (skipped is None or f.skipped is skipped)
            and (after is None or f.key > after)
        ]
        chosen.sort(key=lambda f: (f.mapping, f.side.value, f.key))
        return chosen[:limit]

    # pending deletions -----------------------------------------------------------------------------------------
    def pending_deletions(self, mapping: str | None, *, limit: int) -> list[PendingDeletion]:
        chosen = [d for d in self._deletions.values() if mapping is None or d.mapping == mapping]
        chosen.sort(key=lambda d: (d.detected_at, d.mapping, d.side.value, d.deleted_key))
        return chosen[:limit]

    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        return _remove(self._deletions, [(mapping, Side(side), key) for key in deleted_keys])

    # intents to create -----------------------------------------------------------------------------------------
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        stored = [replace(i, direction=Direction(i.direction), at=to_utc(i.at)) for i in intents]
        self._intents.update(((i.mapping, i.direction, i.source_key), i) for i in stored)

    def intents(self, mapping: str, direction: Direction, *, limit: int) -> list[CreateIntent]:
        direction = Direction(direction)
        chosen = [i for i in self._intents.values() if i.mapping == mapping and i.direction is direction]
        chosen.sort(key=lambda i: (i.at, i.source_key))
        return chosen[:limit]

    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
        direction = Direction(direction)
        _remove(self._intents, [(mapping, direction, key) for key in source_keys])

    # locks -----------------------------------------------------------------------------------------------------
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None, pid: int | None
    ) -> bool:
        held = self._locks.get(name)
        if held is not None and held.owner != owner and not held.expired(to_utc(now)):
            return False
        self._locks[name] = Lock(name=name, owner=owner, until=to_utc(until), host=host, pid=pid)
        return True

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        held = self._locks.get(name)
        if held is None or held.owner != owner:
            return False
        self._locks[name] = replace(held, until=to_utc(until))
        return True

    def release_lock(self, name: str, owner: str) -> None:
        held = self._locks.get(name)
        if held is not None and held.owner == owner:
            del self._locks[name]

    def locks(self) -> list[Lock]:
        return [self._locks[name] for name in sorted(self._locks)]


def _stored_conflict(c: Conflict) -> Conflict:
    return replace(c, fields=decode_fields(encode_fields(c.fields)), detected_at=to_utc(c.detected_at))


def _remove(table: dict[_K, _V], keys: Iterable[_K]) -> int:
    removed = 0
    for key in dict.fromkeys(keys):
        if table.pop(key, None) is not None:
            removed += 1
    return removed
