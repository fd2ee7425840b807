"""The CLI adds the command that helps to a message; the services' messages name none (the web app shows the same
messages with its own buttons)."""

from __future__ import annotations

from datetime import UTC, datetime

from coupler.domain.errors import (
    ConnectionDisabled,
    MappingBusy,
    NoMatchFields,
    RecordNotFound,
    UnknownJob,
    WouldDuplicate,
)
from coupler.domain.jobs import Counters, Job, JobError, JobKind
from coupler.entrypoints.cli.hints import for_error, for_reports, with_hint
from coupler.services.engine.recorder import JobReport
from coupler.services.wording import AWAITS_APPROVAL

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def _report(*messages: str, **counted: int) -> JobReport:
    job = Job(id="j1", mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="bidirectional", started_at=T0)
    job = job.finish(at=T0, counters=Counters(**counted))
    errors = tuple(
        JobError(job_id="j1", mapping="CUSTOMER", local_key="k", integration_key=None, message=m, detail=None, at=T0)
        for m in messages
    )
    return JobReport(job=job, errors=errors)


def test_errors_get_the_command_that_helps() -> None:
    busy = MappingBusy("CUSTOMER is being synchronized by another run.", mapping="CUSTOMER")
    assert with_hint(busy) == (
        "CUSTOMER is being synchronized by another run. `coupler unlock CUSTOMER` releases the lock of a run that is "
        "gone at once."
    )
    assert for_error(UnknownJob("No job has the id 'x'.")) == "`coupler jobs` lists them."
    assert for_error(ConnectionDisabled("Off.")) == "Switch it on with `coupler enable`."
    assert for_error(RecordNotFound("CUSTOMER: Business Central has no Customer 'C404'.")) is None
    assert for_error(MappingBusy("busy")) is None, "without the mapping there is nothing to name"
    assert for_error(NoMatchFields("CUSTOMER has no fields to match on: ...", example="name")) == (
        "Name them with --on (e.g. --on name)."
    )
    duplicate = WouldDuplicate(
        "CUSTOMER: ... or confirm to create every uncoupled record anyway.", command="coupler match X"
    )
    assert for_error(duplicate) == "Couple them with `coupler match X`; --force creates every uncoupled record anyway."


def test_reports_with_conflicts_or_deletions_awaiting_approval_get_the_commands() -> None:
    conflicted = _report("Business Central Customer C1: Both records changed City ...", conflicts=1)
    waiting = _report(f"Business Central Customer C2: ... deleting this record too {AWAITS_APPROVAL}.", skipped=1)

    hints = for_reports([conflicted, waiting])

    assert hints == [
        "Choose which values win: `coupler resolve CUSTOMER KEY --use local|integration` (or synchronize the record "
        "with --direction); `coupler conflicts --mapping CUSTOMER` lists the conflicts.",
        "`coupler deletions --mapping CUSTOMER` lists the deletions; `coupler approve CUSTOMER` carries them out.",
    ]
    assert for_reports([_report(modified=3)]) == []
