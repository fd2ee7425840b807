"""The state store port: coupler's own state (couplings, watermarks, jobs, job errors)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import (
    NO_CHANGES,
    Conflict,
    CreateIntent,
    Lock,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)

__all__ = ["CouplingStats", "StateStore"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CouplingStats:
    couplings: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    conflicts: int = 0
    pending_deletions: int = 0


class StateStore(ABC):
    """Couplings are strictly 1:1 per mapping: one local key and one integration key each at most once."""

    # couplings ---------------------------------------------------------------------------------------------
    @abstractmethod
    def couplings(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        """The couplings of these ``side`` keys, by that key (one query per batch)."""

    def coupling(self, mapping: str, side: Side, key: str) -> Coupling | None:
        return self.couplings(mapping, side, [key]).get(key)

    @abstractmethod
    def failed_couplings(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        """Couplings whose last result in ``direction`` was a failure (or that it must still carry back: pending)
        and that are not skipped, ordered by local key, starting after local key ``after``."""

    @abstractmethod
    def list_couplings(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        """Couplings of a mapping ordered by local key, starting after local key ``after``."""

    @abstractmethod
    def add_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Insert new couplings atomically; raise AlreadyCoupled (naming the record) if either key is taken."""

    @abstractmethod
    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        """The unit of work: apply ``changes`` (see ``StateChanges``), add the job ``errors`` and store the ``job``'s
        progress (adding it if it was not). Either all of it is written or none: AlreadyCoupled, naming the keys, if
        a new coupling takes a key or an update takes another coupling's integration key; ValueError if an error
        belongs to no known job."""

    @abstractmethod
    def remove_couplings(self, mapping: str, local_keys: Sequence[str]) -> int:
        """Delete couplings by local key, with their parked conflicts; the number deleted."""

    @abstractmethod
    def stats(self, mapping: str) -> CouplingStats:
        """Counts of couplings, failed and skipped couplings (and skipped failed creations), job errors, parked
        conflicts and pending deletions of a mapping."""

    # parked conflicts --------------------------------------------------------------------------------------
    @abstractmethod
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        """Parked conflicts ordered by mapping and local key, starting after local key ``after``."""

    @abstractmethod
    def conflict(self, mapping: str, local_key: str) -> Conflict | None: ...

    # failures of uncoupled records ---------------------------------------------------------------------------
    @abstractmethod
    def record_failures(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        """The failures of these uncoupled ``side`` records, by key."""

    @abstractmethod
    def list_record_failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[RecordFailure]:
        """Failures ordered by mapping, side and key, starting after key ``after``."""

    # pending deletions -------------------------------------------------------------------------------------
    @abstractmethod
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        """Deletions waiting for approval, oldest first."""

    @abstractmethod
    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int: ...

    # intents to create (crash safety) ----------------------------------------------------------------------
    @abstractmethod
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        """Record, durably and before the records are created, the keys they will get."""

    @abstractmethod
    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]: ...

    @abstractmethod
    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None: ...

    # locks ---------------------------------------------------------------------------------------------------
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

    # watermarks --------------------------------------------------------------------------------------------
    @abstractmethod
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        """Where reading the ``side`` system's changes resumes for the mapping (stamp and key), or None."""

    @abstractmethod
    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        """Keep the cursor, stamp and key together (None forgets it); the deletions cursor is left as it is."""

    # deleted-entries feeds -----------------------------------------------------------------------------------
    @abstractmethod
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        """Where the ``side`` system's deleted-entries feed was last read for the mapping (the connector's opaque
        cursor, e.g. a Dataverse delta token), or None."""

    @abstractmethod
    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        """Keep the feed's cursor (None forgets it); the watermark is left as it is."""

    # jobs and errors ---------------------------------------------------------------------------------------
    @abstractmethod
    def add_job(self, job: Job) -> None: ...

    @abstractmethod
    def job(self, job_id: str) -> Job | None: ...

    @abstractmethod
    def jobs(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        """The most recent jobs first."""

    @abstractmethod
    def errors(
        self,
        *,
        job_id: str | None = None,
        mapping: str | None = None,
        key: str | None = None,
        limit: int = 100,
    ) -> list[JobError]:
        """Job errors, the most recent first; ``key`` keeps those of the record with that local or integration key."""

    @abstractmethod
    def delete_errors(self, *, before: datetime, mapping: str | None = None) -> int:
        """Delete the job errors recorded before ``before`` (of one mapping or all); the number deleted."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
