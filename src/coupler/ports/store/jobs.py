"""The jobs port: the log of jobs and their per-record errors. A running job's progress and errors are saved by
``StateStore.save`` with the rest of each chunk's changes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from coupler.domain.jobs import Job, JobError

__all__ = ["Jobs"]


class Jobs(ABC):
    @abstractmethod
    def add(self, job: Job) -> None:
        """Record a job as it starts; ValueError if a job with its id exists."""

    @abstractmethod
    def get(self, job_id: str) -> Job | None: ...

    @abstractmethod
    def recent(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
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
