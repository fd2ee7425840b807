"""What a job tells its telemetry (start, progress, end with its outcome) and the context its log lines carry."""

from __future__ import annotations

import logging

import pytest

from coupler.domain.errors import RetryableConnectorError
from coupler.domain.jobs import Job
from coupler.ports.telemetry import JobOutcome, Telemetry
from coupler.services.log_context import log_context
from unit.services.conftest import World, customer_mapping, make_world


class Recorded(Telemetry):
    def __init__(self) -> None:
        self.events: list[tuple[str, Job, JobOutcome | None]] = []

    def job_started(self, job: Job) -> None:
        self.events.append(("started", job, None))

    def job_progress(self, job: Job) -> None:
        self.events.append(("progress", job, None))

    def job_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.events.append(("finished", job, outcome))


@pytest.fixture
def open_world() -> World:
    """Customers created on the other side without coupling them first."""
    return make_world(customer_mapping(only_coupled=False))


@pytest.fixture
def telemetry(open_world: World) -> Recorded:
    recorded = Recorded()
    open_world.coupler.systems.telemetry = recorded
    open_world.coupler.systems.connection = "coupler.toml"
    return recorded


def test_a_job_tells_its_start_progress_and_outcome(open_world: World, telemetry: Recorded) -> None:
    open_world.customer("C1")
    open_world.customer("C2")
    [report] = open_world.coupler.sync_modified()

    kinds = [kind for kind, _, _ in telemetry.events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "progress" in kinds
    _, job, outcome = telemetry.events[-1]
    assert outcome is JobOutcome.OK and job == report.job and job.counters.inserted == 2
    progress = [job.counters.inserted for kind, job, _ in telemetry.events if kind == "progress"]
    assert progress == sorted(progress) and progress[-1] == 2  # cumulative, as saved chunk by chunk


def test_records_that_fail_make_the_outcome_errors(open_world: World, telemetry: Recorded) -> None:
    open_world.customer("C1", displayName="")  # the CRM refuses an account without a name
    open_world.coupler.sync_modified()
    assert telemetry.events[-1][2] is JobOutcome.ERRORS


def test_a_job_stopped_by_a_system_gone_is_stopped(open_world: World, telemetry: Recorded) -> None:
    open_world.customer("C1")
    open_world.crm.down = True
    with pytest.raises(RetryableConnectorError):
        open_world.coupler.sync_modified()
    assert [(kind, outcome) for kind, _, outcome in telemetry.events][-1] == ("finished", JobOutcome.STOPPED)


def test_every_log_line_of_a_job_carries_the_job_mapping_and_connection(
    open_world: World, telemetry: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    open_world.customer("C1", displayName="")
    with caplog.at_level(logging.INFO, logger="coupler"):
        [report] = open_world.coupler.sync_modified()
    lines = [r for r in caplog.records if r.name.startswith("coupler.services")]
    assert len(lines) >= 3  # started, the failed record, finished
    expected = {"job": report.job.id, "mapping": "CUSTOMER", "connection": "coupler.toml"}
    assert all(dict(r.coupler_context) == expected for r in lines), [r.__dict__ for r in lines]  # type: ignore[attr-defined]
    assert any(r.levelno == logging.WARNING and "C1" in r.getMessage() for r in lines)
    assert dict(log_context()) == {}  # the job is over: later lines carry nothing of it


@pytest.fixture(autouse=True)
def _context_on_records(caplog: pytest.LogCaptureFixture) -> None:
    """caplog keeps the records; tag each with the context bound when it was made (as configure_logging does)."""
    from coupler.adapters.logs import ContextFilter

    caplog.handler.addFilter(ContextFilter())
