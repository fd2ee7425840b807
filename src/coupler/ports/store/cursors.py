"""The cursors port: where a run resumes and what it holds. Watermarks (change cursors), the deleted-entries feeds'
cursors, intents to create records (crash safety) and the locks runs hold."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import CreateIntent, Lock

__all__ = ["Cursors"]


class Cursors(ABC):
    # watermarks ----------------------------------------------------------------------------------------------
    @abstractmethod
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        """Where reading the ``side`` system's changes resumes for the mapping (stamp and key), or None."""

    @abstractmethod
    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        """Keep the cursor, stamp and key together (None forgets it); the deletions cursor is left as it is."""

    # deleted-entries feeds -------------------------------------------------------------------------------------
    @abstractmethod
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        """Where the ``side`` system's deleted-entries feed was last read for the mapping (the connector's opaque
        cursor, e.g. a Dataverse delta token), or None."""

    @abstractmethod
    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        """Keep the feed's cursor (None forgets it); the watermark is left as it is."""

    # intents to create (crash safety) --------------------------------------------------------------------------
    @abstractmethod
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        """Record, durably and before the records are created, the keys they will get."""

    @abstractmethod
    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]: ...

    @abstractmethod
    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None: ...

    # locks -----------------------------------------------------------------------------------------------------
    @abstractmethod
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None = None, pid: int | None = None
    ) -> bool:
        """Take the lock ``name`` for ``owner`` until ``until``: True if it was free, expired (before ``now``) or
        already ``owner``'s (then extended); False if another owner holds it. ``host`` and ``pid`` name the owner's
        process (shown to administrators)."""

    @abstractmethod
    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        """Extend the lock to ``until`` if ``owner`` still holds it, expired or not: True then; False if it was
        released or another owner took it (so ``owner`` has not held it without a break)."""

    @abstractmethod
    def release_lock(self, name: str, owner: str) -> None:
        """Release the lock if ``owner`` holds it."""

    @abstractmethod
    def locks(self) -> list[Lock]:
        """Every lock on record (expired ones too, until they are taken over or released), ordered by name."""
