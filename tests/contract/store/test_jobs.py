"""The jobs port (``store.jobs``): jobs and their errors, and deleting old errors (the web app's 'delete entries
older than N days'). Every test runs against the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from contract.store.values import (
    T0,
    assert_utc,
    error,
    job,
)
from coupler.domain.jobs import Counters, JobKind
from coupler.ports.store import StateStore


# jobs -------------------------------------------------------------------------------------------------------------
def test_jobs_round_trip_and_come_newest_first(store: StateStore) -> None:
    counters = Counters(inserted=1, modified=2, deleted=3, unchanged=4, skipped=5, failed=6, coupled=7, uncoupled=8)
    counters.conflicts = 9
    done = job("j-old", started_at=T0).finish(at=T0 + timedelta(microseconds=1), counters=counters, message="ok")
    store.jobs.add(done)
    store.jobs.add(job("j-new", started_at=T0 + timedelta(hours=1)))
    store.jobs.add(job("j-tie-b", started_at=T0 + timedelta(minutes=1)))
    store.jobs.add(job("j-tie-a", started_at=T0 + timedelta(minutes=1)))
    store.jobs.add(job("j-vendors", mapping="vendors", started_at=T0 + timedelta(minutes=30)))
    done.counters.inserted = 100  # the store keeps the counters it was given

    assert [j.id for j in store.jobs.recent()] == ["j-new", "j-vendors", "j-tie-b", "j-tie-a", "j-old"]
    assert [j.id for j in store.jobs.recent(limit=2, mapping="customers")] == ["j-new", "j-tie-b"]
    stored = store.jobs.get("j-old")
    assert stored == replace(done, counters=counters)
    assert stored is not None
    assert stored.counters.inserted == 1
    stored.counters.inserted = 200
    assert store.jobs.recent(mapping="customers")[-1].counters.inserted == 1
    assert stored.kind is JobKind.FULL
    assert stored.duration_seconds == 0.000001
    assert_utc(stored.finished_at)
    assert store.jobs.get("missing") is None


def test_a_job_is_added_once(store: StateStore) -> None:
    store.jobs.add(job())

    with pytest.raises(ValueError, match="job-1"):
        store.jobs.add(job())


def test_jobs_keep_the_unmatched_counter(store: StateStore) -> None:
    finished = job().finish(at=T0, counters=Counters(unmatched=7, coupled=2))

    store.save(job=finished)

    stored = store.jobs.get("job-1")
    assert stored is not None
    assert stored.counters == Counters(unmatched=7, coupled=2)


# errors -----------------------------------------------------------------------------------------------------------
def test_errors_come_newest_first_and_filter_by_job_and_mapping(store: StateStore) -> None:
    store.jobs.add(job("j1"))
    store.jobs.add(job("j2", mapping="vendors"))
    store.save(errors=[error("j1", "first", T0), error("j1", "third", T0 + timedelta(seconds=2))])
    store.save(errors=[error("j2", "second", T0 + timedelta(seconds=1), mapping="vendors")])
    store.save(errors=[error("j1", "same time, later", T0 + timedelta(seconds=2))])

    everything = store.jobs.errors()
    assert [e.message for e in everything] == ["same time, later", "third", "second", "first"]
    assert len({e.id for e in everything}) == 4
    assert None not in {e.id for e in everything}
    assert [e.message for e in store.jobs.errors(job_id="j1", limit=2)] == ["same time, later", "third"]
    assert [e.message for e in store.jobs.errors(mapping="vendors")] == ["second"]
    assert store.jobs.errors(job_id="j1", mapping="vendors") == []
    first = everything[-1]
    assert (first.job_id, first.mapping, first.local_key, first.integration_key, first.detail) == (
        "j1",
        "customers",
        "L1",
        "I1",
        "trace",
    )
    assert first.at == T0
    assert_utc(first.at)


def test_errors_of_one_record_by_either_key(store: StateStore) -> None:
    from dataclasses import replace

    store.jobs.add(job())
    other = replace(error(message="other"), local_key="L2", integration_key="I2")
    store.save(errors=[error(message="first"), other, replace(error(message="crm side"), local_key=None)])
    assert [e.message for e in store.jobs.errors(key="L1")] == ["first"]
    assert sorted(e.message for e in store.jobs.errors(key="I1")) == ["crm side", "first"]
    assert [e.message for e in store.jobs.errors(key="I2", mapping="customers")] == ["other"]
    assert store.jobs.errors(key="L1", mapping="vendors") == []


def test_errors_before_a_time_are_deleted_and_counted(store: StateStore) -> None:
    store.jobs.add(job("job-1"))
    store.jobs.add(job("job-2", mapping="contacts"))
    store.save(errors=[error(message="old", at=T0), error(message="new", at=T0 + timedelta(days=3))])
    store.save(errors=[error(job_id="job-2", mapping="contacts", message="old contact", at=T0)])

    assert store.jobs.delete_errors(before=T0 + timedelta(days=1), mapping="customers") == 1
    assert sorted(e.message for e in store.jobs.errors()) == ["new", "old contact"]

    assert store.jobs.delete_errors(before=T0 + timedelta(days=1)) == 1
    assert [e.message for e in store.jobs.errors()] == ["new"]
    assert store.jobs.delete_errors(before=T0) == 0


def test_errors_recorded_after_a_deletion_are_all_kept(store: StateStore) -> None:
    store.jobs.add(job("job-1"))
    store.save(errors=[error(message="a", at=T0), error(message="b", at=T0 + timedelta(days=2))])
    store.jobs.delete_errors(before=T0 + timedelta(days=1))
    store.save(errors=[error(message="c", at=T0 + timedelta(days=3)), error(message="d", at=T0 + timedelta(days=4))])

    assert [e.message for e in store.jobs.errors()] == ["d", "c", "b"]
    assert len({e.id for e in store.jobs.errors()}) == 3
