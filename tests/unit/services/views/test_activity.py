"""The connection page's read models over in-memory fakes: each mapping's recent jobs with how each ended and where
it stands on its schedule (one bounded read of the log per mapping), and the card's FactBox."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import RetryableConnectorError
from coupler.domain.jobs import Counters, Job, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.schedules import Schedule
from coupler.services.views.factbox import CouplingStatus, coupling_status
from coupler.services.views.schedules import HISTORY, RunOutcome, activity, run_outcome
from unit.services.conftest import World

START = datetime(2026, 12, 7, 21, 40, tzinfo=UTC)


def job(
    n: int, kind: JobKind = JobKind.INCREMENTAL, *, open_: bool = False, message: str | None = None, **counts: int
) -> Job:
    started = START + timedelta(minutes=n)
    return Job(
        id=f"job-{n:03d}",
        mapping="CUSTOMER",
        kind=kind,
        direction="bidirectional",
        started_at=started,
        finished_at=None if open_ else started + timedelta(seconds=5),
        counters=Counters(**counts),
        message=message,
    )


@pytest.mark.parametrize(
    ("made", "outcome"),
    [
        (job(1, modified=3), RunOutcome.SUCCEEDED),
        (job(2, modified=3, failed=1), RunOutcome.FAILED),
        (job(3, modified=1, conflicts=1), RunOutcome.CONFLICTS),
        (job(4, JobKind.MATCH, coupled=2, unmatched=1), RunOutcome.CONFLICTS),
        (job(5, unchanged=12), RunOutcome.NOTHING),
        (job(6), RunOutcome.NOTHING),
        (job(7, open_=True, modified=2), RunOutcome.RUNNING),
        (job(8, message="Stopped before the end: CRM: the endpoint does not answer"), RunOutcome.FAILED),
        (job(9, JobKind.COUPLE, coupled=1), RunOutcome.SUCCEEDED),
    ],
)
def test_how_a_job_ended_as_the_history_bar_colours_it(made: Job, outcome: RunOutcome) -> None:
    assert run_outcome(made) is outcome


def test_a_job_that_stopped_half_way_is_a_failed_run(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.customer("C001")
    world.coupler.sync_full("CUSTOMER", force=True)

    def down(*args: Any, **kwargs: Any) -> None:
        raise RetryableConnectorError("CRM: the endpoint does not answer")

    monkeypatch.setattr(world.crm, "describe", down)
    with pytest.raises(RetryableConnectorError):
        world.coupler.sync_modified(["CUSTOMER"])
    stopped = world.store.jobs.recent(limit=1, mapping="CUSTOMER")[0]
    assert stopped.finished_at is not None and not stopped.counters.failed
    assert run_outcome(stopped) is RunOutcome.FAILED


def test_each_mapping_with_its_recent_jobs_oldest_first_and_one_bounded_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(HISTORY + 5):
        world.store.jobs.add(job(n, modified=n % 3))
    reads: list[dict[str, Any]] = []
    recent = world.store.jobs.recent

    def counted(**kwargs: Any) -> list[Job]:
        reads.append(kwargs)
        return recent(**kwargs)

    monkeypatch.setattr(world.store.jobs, "recent", counted)
    [customer] = activity(world.coupler.systems, None)
    assert reads == [{"limit": 50, "mapping": "CUSTOMER"}], "one read of the last jobs, whatever the log holds"
    assert customer.state is None, "no schedule: nothing says when it runs next"
    assert customer.last is not None and customer.last.id == f"job-{HISTORY + 4:03d}"
    history = customer.history
    assert len(history) == HISTORY and history[0][0].id == "job-005" and history[-1][0] == customer.last
    assert [o for _, o in history[:3]] == [RunOutcome.SUCCEEDED, RunOutcome.NOTHING, RunOutcome.SUCCEEDED]


def test_the_schedule_says_when_a_mapping_runs_next_and_backs_off_while_it_finds_nothing(world: World) -> None:
    schedule = Schedule(every=timedelta(minutes=10), idle_after=2, idle_every=timedelta(hours=1))
    [never] = activity(world.coupler.systems, lambda name: schedule)
    assert never.state is not None and never.state.last_run is None and never.last is None

    world.store.jobs.add(job(0, modified=2))
    [busy] = activity(world.coupler.systems, lambda name: schedule)
    assert busy.state is not None and busy.state.next_run == START + timedelta(minutes=10)
    world.store.jobs.add(job(1, unchanged=4))
    world.store.jobs.add(job(2))
    [idle] = activity(world.coupler.systems, lambda name: schedule)
    assert idle.state is not None and idle.state.idle
    assert idle.state.next_run == START + timedelta(minutes=2, hours=1)
    off = replace(schedule, enabled=False)
    [unscheduled] = activity(world.coupler.systems, lambda name: off)
    assert unscheduled.state is not None and unscheduled.state.next_run is None


COUPLING = Coupling(mapping="CUSTOMER", local_key="l", integration_key="i", coupled_at=START)


@pytest.mark.parametrize(
    ("coupling", "status"),
    [
        (None, CouplingStatus.NOT_COUPLED),
        (COUPLING, CouplingStatus.COUPLED),
        (replace(COUPLING, to_integration_result=SyncResult.SUCCESS), CouplingStatus.COUPLED),
        (replace(COUPLING, from_integration_result=SyncResult.FAILURE), CouplingStatus.FAILED),
        (replace(COUPLING, to_integration_result=SyncResult.CONFLICT), CouplingStatus.CONFLICT),
        (replace(COUPLING, to_integration_result=SyncResult.FAILURE, skipped=True), CouplingStatus.SKIPPED),
    ],
)
def test_the_factbox_status_is_the_most_pressing_state_of_the_coupling(
    coupling: Coupling | None, status: CouplingStatus
) -> None:
    assert coupling_status(coupling) is status


def test_the_factbox_of_a_coupled_record_has_the_last_synchronization_of_each_direction(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    account = world.account("Adatum")
    report = world.coupler.couple("CUSTOMER", "C001", account, sync_after=Side.LOCAL)
    card = world.queries.card("CUSTOMER", "C001")
    box = world.queries.factbox(card)
    assert box.status is CouplingStatus.COUPLED and box.coupled_to == "Adatum" and box.url is None
    to, back = box.syncs
    assert (to.direction, to.result, to.job_id) == (Direction.TO_INTEGRATION, SyncResult.SUCCESS, report.job.id)
    assert to.at == report.job.finished_at
    assert (back.direction, back.result, back.job_id, back.at) == (Direction.FROM_INTEGRATION, None, None, None)

    world.customer("C002", displayName="Trey Research")
    uncoupled = world.queries.factbox(world.queries.card("CUSTOMER", "C002"))
    assert uncoupled.status is CouplingStatus.NOT_COUPLED and uncoupled.syncs == () and uncoupled.coupled_to is None
