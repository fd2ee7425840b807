"""What waits for a user, in dictionaries: parked conflicts, failures of uncoupled records, pending deletions.

Values are stored as a database would give them back: timestamps in UTC, enums for sides, and conflict fields
through the same JSON encoding as the SQL store (so a value that is not JSON-ready fails the same way, and a tuple
value comes back as a list)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from coupler.adapters.store.encoding import decode_fields, encode_fields
from coupler.adapters.store.memory.tables import remove
from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion, RecordFailure, StateChanges
from coupler.domain.timeutil import to_utc
from coupler.ports.store import Attention

__all__ = ["AttentionWrites", "MemoryAttention"]


class MemoryAttention(Attention):
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._conflicts: dict[tuple[str, str], Conflict] = {}
        self._failures: dict[tuple[str, Side, str], RecordFailure] = {}
        self._deletions: dict[tuple[str, Side, str], PendingDeletion] = {}

    # parked conflicts ----------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        with self._lock:
            chosen = [
                c
                for (m, key), c in self._conflicts.items()
                if (mapping is None or m == mapping) and (after is None or key > after)
            ]
        chosen.sort(key=lambda c: (c.mapping, c.local_key))
        return chosen[:limit]

    def conflict(self, mapping: str, local_key: str) -> Conflict | None:
        with self._lock:
            return self._conflicts.get((mapping, local_key))

    def settle(self, mapping: str, local_keys: Sequence[str]) -> None:
        """Remove the parked conflicts of these couplings (removed with them)."""
        with self._lock:
            remove(self._conflicts, [(mapping, key) for key in local_keys])

    # failures of uncoupled records -----------------------------------------------------------------------------
    def failures_of(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        side = Side(side)
        with self._lock:
            found = ((key, self._failures.get((mapping, side, key))) for key in keys)
            return {key: failure for key, failure in found if failure is not None}

    def failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[RecordFailure]:
        with self._lock:
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
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        with self._lock:
            chosen = [d for d in self._deletions.values() if mapping is None or d.mapping == mapping]
        chosen.sort(key=lambda d: (d.detected_at, d.mapping, d.side.value, d.deleted_key))
        return chosen[:limit]

    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        with self._lock:
            return remove(self._deletions, [(mapping, Side(side), key) for key in deleted_keys])

    # in the unit of work ---------------------------------------------------------------------------------------
    def write(self, writes: AttentionWrites) -> None:
        """Replace, then remove: a key both stored and removed in one save ends up removed."""
        with self._lock:
            self._conflicts.update(((c.mapping, c.local_key), c) for c in writes.conflicts)
            remove(self._conflicts, writes.settled)
            self._failures.update(((f.mapping, f.side, f.key), f) for f in writes.failures)
            remove(self._failures, writes.cleared)
            self._deletions.update(((d.mapping, d.side, d.deleted_key), d) for d in writes.deletions)


@dataclass(frozen=True, kw_only=True, slots=True)
class AttentionWrites:
    """A chunk's conflicts, failures and pending deletions, already normalized: preparing them is where a save can
    fail (a conflict value that is not JSON-ready), before anything is written."""

    conflicts: list[Conflict]
    settled: list[tuple[str, str]]
    failures: list[RecordFailure]
    cleared: list[tuple[str, Side, str]]
    deletions: list[PendingDeletion]

    @classmethod
    def of(cls, changes: StateChanges) -> AttentionWrites:
        return cls(
            conflicts=[_stored_conflict(c) for c in changes.conflicts],
            settled=[(k.mapping, k.local_key) for k in changes.settled],
            failures=[replace(f, side=Side(f.side), at=to_utc(f.at)) for f in changes.failures],
            cleared=[(k.mapping, Side(k.side), k.key) for k in changes.cleared],
            deletions=[replace(d, side=Side(d.side), detected_at=to_utc(d.detected_at)) for d in changes.deletions],
        )


def _stored_conflict(c: Conflict) -> Conflict:
    return replace(c, fields=decode_fields(encode_fields(c.fields)), detected_at=to_utc(c.detected_at))
