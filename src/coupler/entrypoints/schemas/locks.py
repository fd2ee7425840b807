"""The JSON shape of a mapping's lock: the job and process holding it, until when, and whether its owner is gone."""

from __future__ import annotations

from pydantic import Field

from coupler.entrypoints.schemas.base import Out, Time
from coupler.entrypoints.schemas.jobs import JobOut
from coupler.services.operations.locks import LockStatus

__all__ = ["LockOut", "UnlockOut"]


class LockOut(Out):
    mapping: str
    state: str = Field(description="held, expired, or owner gone (its process no longer exists on this machine).")
    job_id: str = Field(description="The job holding the lock.")
    job: JobOut | None
    host: str | None = Field(description="The machine of the process holding it (null for an older lock).")
    pid: int | None
    alive: bool | None = Field(description="Whether that process exists; known only on its own machine.")
    until: Time
    expired: bool

    @classmethod
    def of(cls, status: LockStatus) -> LockOut:
        lock = status.lock
        return cls(
            mapping=status.mapping,
            state=status.state,
            job_id=lock.owner,
            job=JobOut.of(status.job) if status.job is not None else None,
            host=lock.host,
            pid=lock.pid,
            alive=status.alive,
            until=lock.until,
            expired=status.expired,
        )


class UnlockOut(Out):
    mapping: str
    released: LockOut | None = Field(description="The lock released, or null when the mapping was not locked.")
