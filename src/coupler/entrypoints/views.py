"""Plain dictionaries of coupler's results, for --json output and for the tables the CLI prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import Job, JobError
from coupler.domain.records import Record
from coupler.domain.timeutil import format_iso
from coupler.services.check import CheckReport
from coupler.services.locks import LockStatus
from coupler.services.queries import MappingOverview, RecordStatus
from coupler.services.recorder import JobReport

__all__ = [
    "check_view",
    "coupling_view",
    "error_view",
    "job_view",
    "lock_view",
    "overview_view",
    "report_view",
    "status_view",
]


def _time(value: datetime | None) -> str | None:
    return format_iso(value) if value else None


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "mapping": job.mapping,
        "kind": job.kind.value,
        "direction": job.direction,
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "duration_seconds": job.duration_seconds,
        "counters": job.counters.as_dict(),
        "message": job.message,
    }


def lock_view(status: LockStatus) -> dict[str, Any]:
    lock, job = status.lock, status.job
    return {
        "mapping": status.mapping,
        "state": status.state,
        "job_id": lock.owner,
        "job": job_view(job) if job is not None else None,
        "host": lock.host,
        "pid": lock.pid,
        "alive": status.alive,
        "until": _time(lock.until),
        "expired": status.expired,
    }


def error_view(error: JobError) -> dict[str, Any]:
    return {
        "job_id": error.job_id,
        "mapping": error.mapping,
        "local_key": error.local_key,
        "integration_key": error.integration_key,
        "message": error.message,
        "detail": error.detail,
        "at": _time(error.at),
    }


def report_view(report: JobReport) -> dict[str, Any]:
    return {**job_view(report.job), "errors": [error_view(e) for e in report.errors]}


def coupling_view(coupling: Coupling) -> dict[str, Any]:
    return {
        "mapping": coupling.mapping,
        "local_key": coupling.local_key,
        "integration_key": coupling.integration_key,
        "coupled_at": _time(coupling.coupled_at),
        "last_synced_at": _time(coupling.last_synced_at),
        "local_modified_on": _time(coupling.local_modified_on),
        "integration_modified_on": _time(coupling.integration_modified_on),
        "to_integration": {"result": coupling.to_integration_result, "job": coupling.to_integration_job},
        "from_integration": {"result": coupling.from_integration_result, "job": coupling.from_integration_job},
        "skipped": coupling.skipped,
        "last_error": coupling.last_error,
    }


def _record(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    values = {k: (format_iso(v) if isinstance(v, datetime) else v) for k, v in record.values.items()}
    return {"key": record.key, "modified_on": _time(record.modified_on), "values": values}


def status_view(status: RecordStatus) -> dict[str, Any]:
    return {
        "mapping": status.mapping,
        "ref": status.ref,
        "coupled": status.coupling is not None,
        "coupling": coupling_view(status.coupling) if status.coupling else None,
        "local": _record(status.local),
        "integration": _record(status.integration),
        "errors": [error_view(e) for e in status.errors],
    }


def overview_view(overview: MappingOverview) -> dict[str, Any]:
    mapping = overview.mapping
    return {
        "name": mapping.name,
        "direction": mapping.direction.value,
        "local_table": mapping.local.table,
        "integration_table": mapping.integration.table,
        "sync_only_coupled": mapping.sync_only_coupled,
        "depends_on": list(mapping.depends_on),
        "couplings": overview.stats.couplings,
        "failed": overview.stats.failed,
        "skipped": overview.stats.skipped,
        "errors": overview.stats.errors,
        "conflicts": overview.stats.conflicts,
        "pending_deletions": overview.stats.pending_deletions,
    }


def check_view(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "systems": [{"role": s.role, "name": s.name, "ok": s.ok, "message": s.message} for s in report.systems],
        "problems": list(report.problems),
    }
