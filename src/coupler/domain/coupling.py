"""The coupling: the strictly 1:1 link between a local record and an integration record of one table mapping."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from coupler.domain.mapping import Direction, Side

__all__ = ["Coupling", "SyncResult"]


class SyncResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    CONFLICT = "conflict"  # parked: waits for a user to resolve it; neither retried nor ever skipped
    PENDING = "pending"  # this direction still has to carry changes back (set by the other direction's pass)


@dataclass(frozen=True, kw_only=True, slots=True)
class Coupling:
    mapping: str
    local_key: str
    integration_key: str
    coupled_at: datetime
    local_modified_on: datetime | None = None
    integration_modified_on: datetime | None = None
    last_synced_at: datetime | None = None
    to_integration_result: SyncResult | None = None
    to_integration_job: str | None = None
    from_integration_result: SyncResult | None = None
    from_integration_job: str | None = None
    last_error: str | None = None
    failure_count: int = 0
    skipped: bool = False
    fingerprint: str | None = None

    @classmethod
    def created(
        cls,
        *,
        mapping: str,
        direction: Direction,
        source_key: str,
        target_key: str,
        source_modified_on: datetime | None,
        target_modified_on: datetime | None,
        job_id: str,
        at: datetime,
        fingerprint: str | None = None,
    ) -> Coupling:
        """The coupling of a record just created from a ``direction.source`` record: in sync on both sides."""
        local_first = direction.source is Side.LOCAL
        to_integration = direction is Direction.TO_INTEGRATION
        return cls(
            mapping=mapping,
            local_key=source_key if local_first else target_key,
            integration_key=target_key if local_first else source_key,
            coupled_at=at,
            local_modified_on=source_modified_on if local_first else target_modified_on,
            integration_modified_on=target_modified_on if local_first else source_modified_on,
            last_synced_at=at,
            to_integration_result=SyncResult.SUCCESS if to_integration else None,
            to_integration_job=job_id if to_integration else None,
            from_integration_result=None if to_integration else SyncResult.SUCCESS,
            from_integration_job=None if to_integration else job_id,
            fingerprint=fingerprint,
        )

    def key(self, side: Side) -> str:
        return self.local_key if side is Side.LOCAL else self.integration_key

    def modified_on(self, side: Side) -> datetime | None:
        return self.local_modified_on if side is Side.LOCAL else self.integration_modified_on

    def result(self, direction: Direction) -> SyncResult | None:
        if direction is Direction.TO_INTEGRATION:
            return self.to_integration_result
        return self.from_integration_result

    def job(self, direction: Direction) -> str | None:
        if direction is Direction.TO_INTEGRATION:
            return self.to_integration_job
        return self.from_integration_job

    def changed(self, side: Side, modified_on: datetime | None) -> bool:
        """Whether a record of ``side`` changed since the last sync, judged by its modified-on."""
        stored = self.modified_on(side)
        return stored is None or modified_on is None or modified_on != stored

    def succeeded(
        self,
        *,
        direction: Direction,
        job_id: str,
        local_modified_on: datetime | None,
        integration_modified_on: datetime | None,
        at: datetime,
        fingerprint: str | None = None,
        settles: bool = False,
    ) -> Coupling:
        """The coupling after a successful sync: both sides' modified-on stored, so our own write is no change.

        ``settles``: a user chose this direction, which settles a failure of the other direction too (a conflict
        resolved), so that failure is not retried."""
        synced = self._with_result(direction, SyncResult.SUCCESS, job_id)
        reverse = Direction.FROM_INTEGRATION if direction is Direction.TO_INTEGRATION else Direction.TO_INTEGRATION
        if synced.result(reverse) is SyncResult.CONFLICT or (settles and synced.result(reverse) is SyncResult.FAILURE):
            # settled: no longer failed or parked that way (its job stays, so a reverse pass still runs)
            if reverse is Direction.TO_INTEGRATION:
                synced = replace(synced, to_integration_result=None)
            else:
                synced = replace(synced, from_integration_result=None)
        return replace(
            synced,
            local_modified_on=local_modified_on,
            integration_modified_on=integration_modified_on,
            last_synced_at=at,
            last_error=None,
            failure_count=0,
            skipped=False,
            fingerprint=fingerprint if fingerprint is not None else self.fingerprint,
        )

    def failed(self, *, direction: Direction, job_id: str, message: str, retryable: bool = False) -> Coupling:
        """The coupling after a failed sync. Two failures in a row with the same message make it skipped, unless
        the failure is a passing one (throttled, unavailable, changed meanwhile), which is only retried."""
        if retryable:
            return replace(self._with_result(direction, SyncResult.FAILURE, job_id), last_error=message)
        count = self.failure_count + 1 if message == self.last_error else 1
        return replace(
            self._with_result(direction, SyncResult.FAILURE, job_id),
            last_error=message,
            failure_count=count,
            skipped=count >= 2,
        )

    def awaiting(self, direction: Direction) -> Coupling:
        """The coupling with changes that ``direction`` must still carry: its next pass looks at the pair whatever
        its watermark says, even after a crash."""
        if direction is Direction.TO_INTEGRATION:
            return replace(self, to_integration_result=SyncResult.PENDING)
        return replace(self, from_integration_result=SyncResult.PENDING)

    def conflicted(self, *, direction: Direction, job_id: str, message: str) -> Coupling:
        """The coupling with a parked conflict. Its modified-on stamps and fingerprint stay as they were, so both
        sides still count as changed and nothing either side did is forgotten."""
        return replace(self._with_result(direction, SyncResult.CONFLICT, job_id), last_error=message)

    @property
    def in_conflict(self) -> bool:
        return SyncResult.CONFLICT in (self.to_integration_result, self.from_integration_result)

    def _with_result(self, direction: Direction, result: SyncResult, job_id: str) -> Coupling:
        if direction is Direction.TO_INTEGRATION:
            return replace(self, to_integration_result=result, to_integration_job=job_id)
        return replace(self, from_integration_result=result, from_integration_job=job_id)
