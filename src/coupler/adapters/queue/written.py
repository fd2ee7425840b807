"""What a queued job wrote, carried from the worker to the web app's notice: the first records each job wrote with
their fields' old and new values (``JobReport.written``) and the first pairs it decoupled (``JobReport.decoupled``),
as JSON in the job's progress row. The job log keeps counters, not values; a task the thread pool runs hands its
reports to the web app in memory, a task a worker runs hands them over this way.

Values keep their kind through JSON, so that the notice formats them as it formats an in-process job's: amounts
(``Decimal``), dates and times are tagged (``{"decimal": "1000.50"}``); text, numbers, Yes/No and nothing are JSON's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from coupler.domain.jobs import FieldChange, Job, Written
from coupler.domain.mapping import Side
from coupler.services.engine.recorder import JobReport

__all__ = ["kept", "report_of"]


def kept(reports: Sequence[JobReport]) -> dict[str, dict[str, Any]]:
    """Job id -> what its report keeps for the notice (only the jobs that wrote or decoupled records)."""
    found: dict[str, dict[str, Any]] = {}
    for report in reports:
        if report.written or report.decoupled:
            found[report.job.id] = {
                "written": [_written(w) for w in report.written],
                "decoupled": [list(pair) for pair in report.decoupled],
            }
    return found


def report_of(job: Job, carried: Mapping[str, Any]) -> JobReport:
    """The job's report with what ``kept`` carried for it (``carried``: the job ids' entries; none: counters only)."""
    entry = carried.get(job.id) or {}
    written = tuple(_written_of(item) for item in entry.get("written") or ())
    decoupled = tuple((str(local), str(integration)) for local, integration in entry.get("decoupled") or ())
    return JobReport(job=job, written=written, decoupled=decoupled)


def _written(written: Written) -> dict[str, Any]:
    return {
        "side": written.side.value,
        "title": written.title,
        "ref": written.ref,
        "created": written.created,
        "changes": [{"field": c.field, "old": _value(c.old), "new": _value(c.new)} for c in written.changes],
    }


def _written_of(item: Mapping[str, Any]) -> Written:
    changes = tuple(
        FieldChange(field=str(c["field"]), old=_value_of(c.get("old")), new=_value_of(c.get("new")))
        for c in item.get("changes") or ()
    )
    return Written(
        side=Side(item["side"]),
        title=str(item["title"]),
        ref=str(item["ref"]),
        created=bool(item.get("created")),
        changes=changes,
    )


def _value(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return str(value)


def _value_of(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind == "decimal":
            return Decimal(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text)
    return value
