"""Deleting old job errors (the web app's 'delete entries older than N days'), on every store."""

from __future__ import annotations

from datetime import timedelta

from contract.store.test_store_contract import T0, error, job
from coupler.ports.store import StateStore


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
