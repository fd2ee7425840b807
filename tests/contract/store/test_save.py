"""The unit of work (``store.save``): a chunk's changes across the aggregates, with the job's errors and
progress, written at once or not at all; and the counts across them (``store.stats``). Every test runs against the
in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from contract.store.values import (
    T0,
    all_couplings,
    cleared,
    conflict,
    coupling,
    couplings_in_every_state,
    deletion,
    error,
    failure,
    field,
    job,
    settled,
)
from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.jobs import Counters, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import IntentKey, StateChanges
from coupler.ports.store import CouplingStats, StateStore


# couplings, errors and the job's progress -------------------------------------------------------------------------
def test_save_writes_couplings_errors_and_job_progress(store: StateStore) -> None:
    store.jobs.add(job())
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2")])
    later = T0 + timedelta(minutes=5, microseconds=17)
    synced = coupling("L1", "I1").succeeded(
        direction=Direction.TO_INTEGRATION,
        job_id="job-1",
        local_modified_on=later,
        integration_modified_on=later + timedelta(seconds=1),
        at=later,
        fingerprint="f1",
    )
    failed = coupling("L2", "I2").failed(direction=Direction.FROM_INTEGRATION, job_id="job-1", message="bad")
    counters = Counters(modified=1, failed=1, unchanged=998)
    finished = job().finish(at=later, counters=counters, message="done")

    store.save(StateChanges(couplings=(synced, failed)), errors=[error(message="bad")], job=finished)

    assert all_couplings(store) == [synced, failed]
    assert store.jobs.get("job-1") == finished
    assert [(e.job_id, e.message, e.local_key) for e in store.jobs.errors(job_id="job-1")] == [("job-1", "bad", "L1")]
    assert store.stats("customers") == CouplingStats(couplings=2, failed=1, skipped=0, errors=1)


def test_save_inserts_a_job_that_was_not_added(store: StateStore) -> None:
    store.save(job=job("job-9"), errors=[error("job-9")])
    store.save()

    assert store.jobs.get("job-9") == job("job-9")
    assert len(store.jobs.errors(job_id="job-9")) == 1


def test_save_skips_couplings_that_are_gone(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])
    changed = replace(coupling("L1", "I1"), last_error="x")

    store.save(StateChanges(couplings=(changed, coupling("L2", "I2"))))

    assert all_couplings(store) == [changed]


def test_save_keeps_the_last_of_two_updates_of_one_coupling(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])
    first, last = replace(coupling("L1", "I1"), last_error="first"), replace(coupling("L1", "I1"), last_error="last")

    store.save(StateChanges(couplings=(first, last)))

    assert all_couplings(store) == [last]


def test_save_may_move_a_coupling_to_a_free_integration_key(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])

    store.save(StateChanges(couplings=(coupling("L1", "I7"),)))

    assert store.couplings.get("customers", Side.INTEGRATION, "I7") == coupling("L1", "I7")
    assert store.couplings.get("customers", Side.INTEGRATION, "I1") is None
    store.couplings.add([coupling("L2", "I1")])


def test_save_adds_new_couplings_and_drops_their_intents_in_one_transaction(store: StateStore) -> None:
    from coupler.domain.errors import AlreadyCoupled
    from coupler.domain.state import CreateIntent

    store.jobs.add(job())
    intents = [
        CreateIntent(mapping="customers", direction=Direction.TO_INTEGRATION, source_key=k, target_key=f"I{k}", at=T0)
        for k in ("L1", "L2")
    ]
    store.cursors.add_intents(intents)
    done = tuple(IntentKey(mapping="customers", direction=Direction.TO_INTEGRATION, source_key=k) for k in ("L1", "L2"))
    store.save(StateChanges(new_couplings=(coupling("L1", "IL1"), coupling("L2", "IL2")), done_intents=done), job=job())
    assert [c.local_key for c in all_couplings(store)] == ["L1", "L2"]
    assert store.cursors.intents("customers", Direction.TO_INTEGRATION) == []
    store.cursors.add_intents([replace(intents[0], source_key="L3", target_key="IL3")])
    with pytest.raises(AlreadyCoupled, match="IL1"):
        store.save(
            StateChanges(
                new_couplings=(coupling("L3", "IL1"),),
                done_intents=(IntentKey(mapping="customers", direction=Direction.TO_INTEGRATION, source_key="L3"),),
            ),
            errors=[error(message="not written")],
        )
    assert [c.local_key for c in all_couplings(store)] == ["L1", "L2"], "nothing half-written"
    assert len(store.cursors.intents("customers", Direction.TO_INTEGRATION)) == 1
    assert [e.message for e in store.jobs.errors(job_id="job-1")] == []


# everything at once, or nothing -----------------------------------------------------------------------------------
def test_a_failing_save_on_an_unknown_job_writes_nothing(store: StateStore) -> None:
    store.jobs.add(job())
    store.couplings.add([coupling("L1", "I1")])

    with pytest.raises(ValueError, match="unknown jobs: job-404"):
        store.save(
            StateChanges(couplings=(replace(coupling("L1", "I1"), skipped=True),)),
            errors=[error("job-1"), error("job-404")],
            job=job().finish(at=T0, counters=Counters(failed=2)),
        )

    assert all_couplings(store) == [coupling("L1", "I1")]
    assert store.jobs.get("job-1") == job()
    assert store.jobs.errors() == []


def test_a_save_that_takes_an_integration_key_writes_nothing(store: StateStore) -> None:
    store.jobs.add(job())
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2")])

    with pytest.raises(AlreadyCoupled, match=r"integration key\(s\) 'I2'"):
        store.save(
            StateChanges(couplings=(replace(coupling("L1", "I1"), last_error="x"), coupling("L1", "I2"))),
            errors=[error()],
            job=job().finish(at=T0, counters=Counters(failed=1)),
        )

    assert all_couplings(store) == [coupling("L1", "I1"), coupling("L2", "I2")]
    assert store.jobs.get("job-1") == job()
    assert store.jobs.errors() == []


def test_a_value_that_is_not_json_ready_fails_the_save_and_writes_nothing(store: StateStore) -> None:
    store.couplings.add([Coupling(mapping="customers", local_key="L1", integration_key="I1", coupled_at=T0)])
    changed = Coupling(mapping="customers", local_key="L1", integration_key="I1", coupled_at=T0, last_error="x")

    with pytest.raises(TypeError):
        store.save(
            StateChanges(
                couplings=(changed,),
                conflicts=(conflict("L2"), conflict("L3", "customers", field("at", T0, "2024"))),
                failures=(failure("F1"),),
            ),
            job=job(),
        )

    assert store.attention.conflicts() == []
    assert store.attention.failures() == []
    assert store.jobs.get("job-1") is None
    assert store.couplings.page("customers")[0].last_error is None


def _parked(store: StateStore) -> None:
    store.jobs.add(job())
    store.couplings.add([Coupling(mapping="customers", local_key="L1", integration_key="I1", coupled_at=T0)])
    store.save(StateChanges(conflicts=(conflict("C1"),), failures=(failure("F1"),), deletions=(deletion("D1"),)))


def _snapshot(store: StateStore) -> tuple[object, ...]:
    return (
        store.couplings.page("customers"),
        store.jobs.get("job-1"),
        store.jobs.errors(),
        store.attention.conflicts(),
        store.attention.failures(),
        store.attention.pending_deletions(),
    )


def test_save_writes_everything_it_is_given(store: StateStore) -> None:
    _parked(store)
    synced = Coupling(mapping="customers", local_key="L1", integration_key="I1", coupled_at=T0, fingerprint="f")
    finished = job().finish(at=T0, counters=Counters(conflicts=1, failed=1, unmatched=3))
    error = JobError(
        job_id="job-1", mapping="customers", local_key="F2", integration_key=None, message="x", detail=None, at=T0
    )

    store.save(
        StateChanges(
            couplings=(synced,),
            conflicts=(conflict("C2"),),
            settled=(settled("C1"),),
            failures=(failure("F2"),),
            cleared=(cleared("F1"),),
            deletions=(deletion("D2"),),
        ),
        errors=[error],
        job=finished,
    )

    assert store.couplings.page("customers") == [synced]
    assert store.jobs.get("job-1") == finished
    assert [e.local_key for e in store.jobs.errors()] == ["F2"]
    assert store.attention.conflicts() == [conflict("C2")]
    assert store.attention.failures() == [failure("F2")]
    assert store.attention.pending_deletions() == [deletion("D1"), deletion("D2")]


def test_a_save_failing_on_an_unknown_job_writes_none_of_the_state(store: StateStore) -> None:
    _parked(store)
    before = _snapshot(store)
    error = JobError(
        job_id="job-404", mapping="customers", local_key=None, integration_key=None, message="x", detail=None, at=T0
    )

    with pytest.raises(ValueError, match="unknown jobs: job-404"):
        store.save(
            StateChanges(
                couplings=(
                    Coupling(mapping="customers", local_key="L1", integration_key="I1", coupled_at=T0, skipped=True),
                ),
                conflicts=(conflict("C1", "customers", field("other")), conflict("C2")),
                settled=(settled("C1"),),
                failures=(failure("F1", message="new"), failure("F2")),
                cleared=(cleared("F1"),),
                deletions=(deletion("D1", reported=True), deletion("D2")),
            ),
            errors=[error],
            job=job().finish(at=T0, counters=Counters(unmatched=1)),
        )

    assert _snapshot(store) == before


def test_a_save_that_takes_an_integration_key_writes_none_of_the_state(store: StateStore) -> None:
    _parked(store)
    store.couplings.add([Coupling(mapping="customers", local_key="L2", integration_key="I2", coupled_at=T0)])
    before = _snapshot(store)

    with pytest.raises(AlreadyCoupled):
        store.save(
            StateChanges(
                couplings=(Coupling(mapping="customers", local_key="L1", integration_key="I2", coupled_at=T0),),
                conflicts=(conflict("C2"),),
                settled=(settled("C1"),),
                failures=(failure("F2"),),
                cleared=(cleared("F1"),),
                deletions=(deletion("D2"),),
            )
        )

    assert _snapshot(store) == before


# counts -----------------------------------------------------------------------------------------------------------
def test_stats_count_couplings_failures_skips_and_errors(store: StateStore) -> None:
    assert store.stats("customers") == CouplingStats()
    couplings_in_every_state(store)
    store.jobs.add(job())
    store.save(errors=[error(), error(), error(mapping="vendors")])

    assert store.stats("customers") == CouplingStats(couplings=8, failed=5, skipped=2, errors=2)
    assert store.stats("vendors") == CouplingStats(couplings=1, failed=1, skipped=0, errors=1)
