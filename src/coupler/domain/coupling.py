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

    @property
    def last_job(self) -> str | None:
        return self.to_integration_job or self.from_integration_job

    def handled_in(self, job_id: str) -> bool:
        return job_id in (self.to_integration_job, self.from_integration_job)

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
    ) -> Coupling:
        """The coupling after a successful sync: both sides' modified-on stored, so our own write is no change."""
        changes = _result_changes(direction, SyncResult.SUCCESS, job_id)
        return replace(
            self,
            local_modified_on=local_modified_on,
            integration_modified_on=integration_modified_on,
            last_synced_at=at,
            last_error=None,
            failure_count=0,
            skipped=False,
            fingerprint=fingerprint if fingerprint is not None else self.fingerprint,
            **changes,
        )

    def failed(self, *, direction: Direction, job_id: str, message: str) -> Coupling:
        """The coupling after a failed sync. Two failures in a row with the same message make it skipped."""
        changes = _result_changes(direction, SyncResult.FAILURE, job_id)
        count = self.failure_count + 1 if message == self.last_error else 1
        return replace(self, last_error=message, failure_count=count, skipped=count >= 2, **changes)


def _result_changes(direction: Direction, result: SyncResult, job_id: str) -> dict[str, object]:
    if direction is Direction.TO_INTEGRATION:
        return {"to_integration_result": result, "to_integration_job": job_id}
    return {"from_integration_result": result, "from_integration_job": job_id}
