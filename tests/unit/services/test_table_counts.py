"""Counts that cost a scan are kept until coupler writes or a few minutes pass; cheap ones are made every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coupler.services.table_counts import MAX_AGE, SLOW, Counted, TableCounts

T0 = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.seconds = 0.0

    def wall(self) -> datetime:
        return self.now

    def timer(self) -> float:
        return self.seconds


def counter(clock: Clock, values: list[int], cost: float):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def count() -> int:
        clock.seconds += cost
        calls.append(1)
        return values[len(calls) - 1]

    return count, calls


def test_a_slow_count_is_kept_with_its_time_until_the_newest_job_changes() -> None:
    clock = Clock()
    counts = TableCounts(clock=clock.wall, timer=clock.timer)
    count, calls = counter(clock, [1_000_000, 1_000_007], SLOW * 3)

    assert counts.count("customers", "job-1", count) == Counted(1_000_000)
    clock.now += timedelta(minutes=2)
    assert counts.count("customers", "job-1", count) == Counted(1_000_000, T0)  # kept: its age is shown
    assert len(calls) == 1
    assert counts.count("customers", "job-2", count) == Counted(1_000_007)  # a job wrote: counted again
    assert len(calls) == 2


def test_a_kept_count_is_made_again_after_the_maximum_age() -> None:
    clock = Clock()
    counts = TableCounts(clock=clock.wall, timer=clock.timer)
    count, calls = counter(clock, [10, 11], SLOW * 2)
    counts.count("k", None, count)
    clock.now += MAX_AGE
    assert counts.count("k", None, count) == Counted(11)
    assert len(calls) == 2


def test_a_cheap_count_is_made_every_time_and_has_no_age() -> None:
    clock = Clock()
    counts = TableCounts(clock=clock.wall, timer=clock.timer)
    count, calls = counter(clock, [5, 6, 7], SLOW / 10)
    assert [counts.count("k", "v", count) for _ in range(3)] == [Counted(5), Counted(6), Counted(7)]
    assert len(calls) == 3


def test_keys_are_kept_apart() -> None:
    clock = Clock()
    counts = TableCounts(clock=clock.wall, timer=clock.timer)
    slow_a, _ = counter(clock, [1], SLOW * 2)
    slow_b, _ = counter(clock, [2], SLOW * 2)
    assert counts.count(("local", "customers", "tr"), "v", slow_a).value == 1
    assert counts.count(("local", "customers", "ad"), "v", slow_b).value == 2
    assert counts.count(("local", "customers", "tr"), "v", slow_b).value == 1
