"""A mapping's schedule: due at once when it never ran, then ``every`` after its last run; after ``idle_after`` runs
in a row that found nothing it is polled every ``idle_every`` until a run finds something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coupler.domain.jobs import Counters, Job, JobKind
from coupler.domain.schedules import Schedule, next_run

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SCHEDULE = Schedule(every=timedelta(minutes=30), idle_after=2, idle_every=timedelta(hours=4))


def job(minute: int, *, changed: int = 0, unchanged: int = 0, kind: JobKind = JobKind.INCREMENTAL) -> Job:
    started = T0 + timedelta(minutes=minute)
    counters = Counters(modified=changed, unchanged=unchanged)
    return Job(
        id=str(minute),
        mapping="CUSTOMER",
        kind=kind,
        direction="-",
        started_at=started,
        finished_at=started + timedelta(seconds=5),
        counters=counters,
    )


def test_a_mapping_that_never_ran_is_due_at_once() -> None:
    state = next_run(SCHEDULE, [job(0, kind=JobKind.FULL)])
    assert state.last_run is None and state.due(T0)


def test_the_next_run_is_every_after_the_last_one() -> None:
    state = next_run(SCHEDULE, [job(60, changed=1), job(30)])  # most recent first
    assert state.next_run == T0 + timedelta(minutes=90) and not state.idle
    assert not state.due(T0 + timedelta(minutes=89)) and state.due(T0 + timedelta(minutes=90))


def test_runs_that_found_nothing_back_off_until_one_finds_something() -> None:
    idle = next_run(SCHEDULE, [job(90, unchanged=4), job(60), job(30, changed=2)])
    assert idle.idle_runs == 2 and idle.idle and idle.next_run == T0 + timedelta(minutes=90, hours=4)
    back = next_run(SCHEDULE, [job(330, changed=1), job(90), job(60)])
    assert back.idle_runs == 0 and back.next_run == T0 + timedelta(minutes=360)


def test_an_unscheduled_mapping_is_never_due() -> None:
    state = next_run(Schedule(every=timedelta(minutes=1), enabled=False), [])
    assert state.next_run is None and not state.due(T0 + timedelta(days=1))
