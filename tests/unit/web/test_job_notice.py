"""The notice after an action: what the job wrote (each record linked to its card, its fields' old and new values),
in which direction by the systems' names, its errors linked to the records they name, and what to do next."""

from __future__ import annotations

from datetime import UTC, datetime

from coupler.domain.jobs import Counters, FieldChange, Job, JobError, JobKind, Written
from coupler.domain.mapping import Direction, Side, TableMapping, TableSpec
from coupler.entrypoints.web.pages.common import Link, job_notice
from coupler.entrypoints.web.tasks import problems_of as _problems
from coupler.services.engine.recorder import JobReport

T0 = datetime(2026, 12, 7, tzinfo=UTC)
NAMES = {"local": "Business Central", "integration": "Dynamics 365 Sales"}
CUSTOMER = TableMapping(
    name="CUSTOMER",
    local=TableSpec(table="customers", key="id", display_key="number", caption="Customer"),
    integration=TableSpec(table="account", key="accountid", display_key="name", caption="Account"),
    direction=Direction.BIDIRECTIONAL,
    fields=(),
)


def _job(direction: str = "to-integration", **counted: int) -> Job:
    job = Job(id="j1", mapping="CUSTOMER", kind=JobKind.MANUAL, direction=direction, started_at=T0)
    return job.finish(at=T0, counters=Counters(**counted))


def _error(message: str, local_key: str | None) -> JobError:
    return JobError(job_id="j1", mapping="CUSTOMER", local_key=local_key, integration_key=None, message=message,
                    detail=None, at=T0)  # fmt: skip


def test_the_notice_lists_what_was_written_with_the_direction_and_links_to_the_cards() -> None:
    written = Written(
        side=Side.INTEGRATION,
        title="Trey Research",
        ref="C00020",
        changes=(FieldChange(field="City", old="Odense", new="Aalborg"),),
    )

    notice = job_notice(_job(modified=3), [], written=[written], systems=NAMES, mapping=CUSTOMER)

    assert notice.kind == "ok"
    assert notice.text == "Synchronize now (CUSTOMER), Business Central to Dynamics 365 Sales: 3 synchronized."
    [item] = notice.written
    assert item.what == "Dynamics 365 Sales Account"
    assert item.record == Link(text="Trey Research", href="/mappings/CUSTOMER/records/C00020")
    assert item.changes == written.changes and not item.created
    assert notice.written_more == 2, "three written, one kept"


def test_errors_link_to_their_records_by_display_key_and_the_next_steps_are_offered() -> None:
    errors = [_error("Business Central Customer C00020: ...", "guid-20"), _error("'nobody' names no record.", None)]

    notice = job_notice(_job(failed=1, conflicts=1), errors, refs={"guid-20": "C00020"}, systems=NAMES)

    assert notice.kind == "error", "nothing was written"
    assert notice.items == (
        Link(text="Business Central Customer C00020: ...", href="/mappings/CUSTOMER/records/C00020"),
        "'nobody' names no record.",
    )
    assert notice.actions == (
        Link(text="Resolve the conflicts", href="/conflicts?mapping=CUSTOMER"),
        Link(text="Open the errors", href="/errors?mapping=CUSTOMER"),
    )


def test_a_bidirectional_job_names_no_single_direction() -> None:
    notice = job_notice(_job("bidirectional", unchanged=1), [], systems=NAMES)
    assert notice.text == "Synchronize now (CUSTOMER): 1 unchanged."


def test_a_task_says_what_its_jobs_left_to_look_at() -> None:
    assert _problems([JobReport(job=_job(modified=2)), JobReport(job=_job(coupled=1, unmatched=3))]) is None
    reports = [JobReport(job=_job(conflicts=1, failed=2)), JobReport(job=_job(unmatched=3, failed=1))]
    assert _problems(reports) == "1 conflict, 3 failed"
