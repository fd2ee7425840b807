"""A task on the job queue as its jobs stand in procrastinate's table and the workers' progress rows: waiting for a
worker, waiting for its mapping, running with the records done, failed with the worker's message, done with the
counters of the jobs it recorded in the job log (a round's chained jobs count together)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coupler.adapters.queue.progress import JobProgress
from coupler.domain.jobs import Counters, Job, JobKind
from coupler.entrypoints.web.queued import WAITING, task_of

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TAG = {"id": "q1", "label": "Synchronize modified records (CUSTOMER, CONTACT)", "at": "2026-12-07T12:00:00Z"}


def job(status: str, mapping: str = "CUSTOMER", **fields: Any) -> JobProgress:
    values: dict[str, Any] = {"stage": None, "done": 0, "total": None, "jobs": (), "error": None, "finished_at": None}
    values.update(fields)
    return JobProgress(id=1, status=status, mapping=mapping, task=TAG, **values)


def logged(job_id: str) -> Job | None:
    counters = {"j1": Counters(modified=2), "j2": Counters(inserted=1, conflicts=1)}.get(job_id)
    if counters is None:
        return None
    return Job(id=job_id, mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="both", started_at=AT).finish(
        at=AT, counters=counters
    )


def test_a_job_no_worker_took_waits_for_a_worker() -> None:
    task = task_of("q1", [job("todo")], logged)
    assert (task.state, task.stage, task.label, task.started_at) == ("running", WAITING, TAG["label"], AT)


def test_a_job_refused_its_mapping_says_what_it_waits_for() -> None:
    stage = "Waiting while another run synchronizes CUSTOMER"
    assert task_of("q1", [job("todo", stage=stage)], logged).stage == stage


def test_a_running_job_shows_its_stage_and_the_records_done_so_far() -> None:
    task = task_of("q1", [job("doing", stage="Reading CUSTOMER", done=250, total=1000)], logged)
    assert (task.state, task.stage, task.done, task.percent) == ("running", "Reading CUSTOMER", 250, 25)


def test_a_round_runs_until_its_last_chained_job_has_finished() -> None:
    jobs = [job("succeeded", jobs=("j1",), finished_at=AT), job("todo", mapping="CONTACT")]
    task = task_of("q1", jobs, logged)
    assert (task.state, task.job_ids) == ("running", ["j1"])


def test_finished_jobs_are_done_with_the_counters_they_recorded() -> None:
    jobs = [job("succeeded", jobs=("j1",), finished_at=AT), job("succeeded", mapping="CONTACT", jobs=("j2",))]
    task = task_of("q1", jobs, logged)
    assert (task.state, task.job_ids, task.finished_at) == ("done", ["j1", "j2"], AT)
    assert task.message == "1 created, 2 synchronized, 1 in conflict"
    assert task.problems == "1 conflict"


def test_a_failed_job_fails_the_task_with_the_workers_message() -> None:
    jobs = [
        job("succeeded", jobs=("j1",)),
        job("failed", mapping="CONTACT", error="Dynamics 365 Sales does not answer"),
    ]
    task = task_of("q1", jobs, logged)
    assert (task.state, task.error) == ("failed", "Dynamics 365 Sales does not answer")


def test_a_done_task_hands_on_what_its_jobs_wrote_with_old_and_new_values() -> None:
    """A worker's job carries its first written records (values of every kind) and decoupled pairs in its progress
    row; the finished task gives them to the web app with the jobs' reports, as the thread pool's tasks do."""
    from decimal import Decimal

    from coupler.adapters.queue.written import kept
    from coupler.domain.jobs import FieldChange, Written
    from coupler.domain.mapping import Side
    from coupler.services.engine.recorder import JobReport

    changes = (
        FieldChange(field="City", old="Odense", new="Leeds"),
        FieldChange(field="Credit Limit (LCY)", old=Decimal("1000.50"), new=Decimal("2500")),
        FieldChange(field="Blocked", old=False, new=True),
        FieldChange(field="Last Date Modified", old=None, new=AT),
        FieldChange(field="Payment Days", old=30, new=45),
    )
    written = (Written(side=Side.INTEGRATION, title="Fabrikam, Inc.", ref="C00070", changes=changes),)
    j1, j2 = logged("j1"), logged("j2")
    assert j1 is not None and j2 is not None
    reports = [JobReport(job=j1, written=written), JobReport(job=j2, decoupled=(("k1", "a1"),))]
    import json

    carried = json.loads(json.dumps(kept(reports)))  # as the progress row's jsonb keeps it
    remembered: list[JobReport] = []

    task = task_of("q1", [job("succeeded", jobs=("j1", "j2"), written=carried)], logged, remember=remembered.extend)

    assert task.state == "done"
    assert [r.job.id for r in remembered] == ["j1", "j2"]
    assert remembered[0].written == written, "every value of the kind it had"
    assert remembered[1].decoupled == (("k1", "a1"),) and remembered[1].written == ()


def test_a_running_task_hands_on_nothing() -> None:
    remembered: list[object] = []
    task_of("q1", [job("doing", stage="Synchronizing")], logged, remember=remembered.extend)
    assert remembered == []
