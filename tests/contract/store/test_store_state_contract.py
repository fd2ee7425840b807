"""The state store contract for parked conflicts and failures of uncoupled records, and for ``save`` writing
them with everything else at once or not at all. Every test runs against memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract.store.state_values import (
    INTEGRATION,
    LOCAL,
    PLUS_TWO,
    T0,
    conflict,
    deletion,
    failure,
    field,
    job,
    keys_of,
)
from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.jobs import Counters, JobError
from coupler.domain.mapping import Side
from coupler.domain.state import ConflictField, ConflictKey, FailureKey, StateChanges
from coupler.ports.store import StateStore


# parked conflicts -----------------------------------------------------------------------------------------------
def test_a_conflict_round_trips_with_json_values_and_utc_time(store: StateStore) -> None:
    fields = (
        field("name", "Ärger & Co 🙂", "Aerger"),
        field("credit", 1500, 1500.5),
        field("blocked", True, False),
        field("phone", None, "+49 1"),
        ConflictField(
            pair="big",
            local_field="n",
            integration_field="m",
            local_value=2**53 + 1,
            integration_value=0.1,
            last_local=None,
            last_integration=-7,
        ),
    )
    parked = conflict("C-1 ключ", "customers", *fields, at=datetime(2024, 5, 6, 9, 8, 9, 5, tzinfo=PLUS_TWO))

    store.save(StateChanges(conflicts=(parked,)))

    stored = store.attention.conflict("customers", "C-1 ключ")
    assert stored == parked
    assert stored is not None
    assert stored.detected_at == datetime(2024, 5, 6, 7, 8, 9, 5, tzinfo=UTC)
    assert stored.detected_at.utcoffset() == timedelta(0)
    assert stored.pairs == ("name", "credit", "blocked", "phone", "big")
    values = [(f.local_value, f.integration_value) for f in stored.fields]
    assert [tuple(type(v) for v in pair) for pair in values] == [
        (str, str),
        (int, float),
        (bool, bool),
        (type(None), str),
        (int, float),
    ]
    assert store.attention.conflicts() == [parked]
    assert store.attention.conflict("customers", "other") is None
    assert store.attention.conflict("vendors", "C-1 ключ") is None


def test_a_conflict_replaces_the_parked_one_of_the_same_record(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"), conflict("L1", "vendors"), conflict("L2"))))
    newer = conflict("L1", "customers", field("city", "Berlin", "Bonn"), at=T0 + timedelta(hours=1))

    store.save(StateChanges(conflicts=(newer,)))

    assert store.attention.conflict("customers", "L1") == newer
    assert store.attention.conflict("vendors", "L1") == conflict("L1", "vendors")
    assert keys_of(store.attention.conflicts()) == [("customers", "L1"), ("customers", "L2"), ("vendors", "L1")]


def test_the_last_of_two_conflicts_of_one_record_in_a_save_wins(store: StateStore) -> None:
    first, last = conflict("L1", "customers", field("a")), conflict("L1", "customers", field("b"))

    store.save(StateChanges(conflicts=(first, last)))

    assert store.attention.conflicts() == [last]


def test_settled_conflicts_are_removed(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"), conflict("L2"), conflict("L1", "vendors"))))

    store.save(
        StateChanges(
            settled=(
                ConflictKey(mapping="customers", local_key="L1"),
                ConflictKey(mapping="customers", local_key="missing"),
                ConflictKey(mapping="nobody", local_key="L2"),
            )
        )
    )

    assert keys_of(store.attention.conflicts()) == [("customers", "L2"), ("vendors", "L1")]


def test_a_conflict_parked_and_settled_in_one_save_ends_up_settled(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"),)))

    store.save(
        StateChanges(
            conflicts=(conflict("L1"), conflict("L2")), settled=(ConflictKey(mapping="customers", local_key="L1"),)
        )
    )

    assert keys_of(store.attention.conflicts()) == [("customers", "L2")]


def test_conflicts_are_ordered_by_mapping_and_local_key_and_paged(store: StateStore) -> None:
    keys = ["b", "B", "a", "Z10", "Z9", "é", "10", "9", "a-1", "a 1", "日本"]
    store.save(
        StateChanges(conflicts=(*(conflict(k) for k in keys), conflict("x", "accounts"), conflict("a", "Vendors")))
    )

    assert keys_of(store.attention.conflicts()) == [
        ("Vendors", "a"),
        ("accounts", "x"),
        *(("customers", k) for k in sorted(keys)),
    ]
    seen: list[str] = []
    after: str | None = None
    while page := store.attention.conflicts("customers", after=after, limit=3):
        assert len(page) <= 3
        seen += [c.local_key for c in page]
        after = page[-1].local_key
    assert seen == sorted(keys)
    assert [c.local_key for c in store.attention.conflicts("customers", after="a", limit=2)] == ["a 1", "a-1"]
    assert store.attention.conflicts("nobody") == []


def test_conflicts_come_a_hundred_at_a_time_by_default(store: StateStore) -> None:
    store.save(StateChanges(conflicts=tuple(conflict(f"K{i:03d}") for i in range(150))))

    assert len(store.attention.conflicts()) == 100
    assert len(store.attention.conflicts("customers", limit=1000)) == 150


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


# failures of uncoupled records ----------------------------------------------------------------------------------
def test_a_failure_round_trips_in_utc(store: StateStore) -> None:
    at = datetime(2024, 5, 6, 9, 8, 9, 999999, tzinfo=PLUS_TWO)
    failed = failure("C-1 ÄÖ", INTEGRATION, message="The name is too long.\nSecond line", at=at, failure_count=3)
    skipped = failure("C-2", skipped=True, failure_count=2)

    store.save(StateChanges(failures=(failed, skipped)))

    found = store.attention.failures_of("customers", INTEGRATION, ["C-1 ÄÖ", "C-2", "missing"])
    assert found == {"C-1 ÄÖ": failed}
    assert found["C-1 ÄÖ"].at == datetime(2024, 5, 6, 7, 8, 9, 999999, tzinfo=UTC)
    assert found["C-1 ÄÖ"].at.utcoffset() == timedelta(0)
    assert found["C-1 ÄÖ"].side is Side.INTEGRATION
    local = store.attention.failures_of("customers", LOCAL, ["C-2", "C-1 ÄÖ"])
    assert local == {"C-2": skipped}
    assert local["C-2"].skipped is True
    assert store.attention.failures_of("customers", LOCAL, []) == {}
    assert store.attention.failures_of("vendors", LOCAL, ["C-2"]) == {}


def test_failures_are_read_by_more_keys_than_one_query_holds(store: StateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1234)]
    store.save(StateChanges(failures=tuple(failure(k) for k in keys)))

    found = store.attention.failures_of("customers", LOCAL, [*keys, "missing", keys[0]])

    assert sorted(found) == keys
    assert found["K01000"] == failure("K01000")


def test_a_failure_replaces_the_one_of_the_same_record_and_twice_the_same_message_skips(store: StateStore) -> None:
    store.save(StateChanges(failures=(failure("K1"), failure("K1", INTEGRATION), failure("K1", mapping="vendors"))))
    stored = store.attention.failures_of("customers", LOCAL, ["K1"])["K1"]

    again = stored.again(message="boom", job_id="job-2", at=T0 + timedelta(hours=1))
    store.save(StateChanges(failures=(again,)))

    assert store.attention.failures_of("customers", LOCAL, ["K1"]) == {"K1": again}
    assert again.skipped is True
    assert again.failure_count == 2
    assert store.attention.failures_of("customers", INTEGRATION, ["K1"]) == {"K1": failure("K1", INTEGRATION)}
    assert store.attention.failures_of("vendors", LOCAL, ["K1"]) == {"K1": failure("K1", mapping="vendors")}


def test_cleared_failures_are_removed_by_mapping_side_and_key(store: StateStore) -> None:
    store.save(
        StateChanges(
            failures=(failure("K1"), failure("K1", INTEGRATION), failure("K2"), failure("K1", mapping="vendors"))
        )
    )

    store.save(
        StateChanges(
            cleared=(
                FailureKey(mapping="customers", side=LOCAL, key="K1"),
                FailureKey(mapping="customers", side=LOCAL, key="missing"),
                FailureKey(mapping="customers", side=LOCAL, key="K1"),
            )
        )
    )

    assert [(f.mapping, f.side, f.key) for f in store.attention.failures()] == [
        ("customers", INTEGRATION, "K1"),
        ("customers", LOCAL, "K2"),
        ("vendors", LOCAL, "K1"),
    ]


def test_a_failure_stored_and_cleared_in_one_save_ends_up_cleared(store: StateStore) -> None:
    store.save(
        StateChanges(
            failures=(failure("K1"), failure("K2")), cleared=(FailureKey(mapping="customers", side=LOCAL, key="K1"),)
        )
    )

    assert [f.key for f in store.attention.failures()] == ["K2"]


def test_failures_are_listed_by_mapping_side_and_key_with_filters(store: StateStore) -> None:
    store.save(
        StateChanges(
            failures=(
                failure("b", LOCAL),
                failure("a", LOCAL, skipped=True),
                failure("c", INTEGRATION),
                failure("B", INTEGRATION, skipped=True),
                failure("é", LOCAL),
                failure("z", LOCAL, mapping="accounts"),
            )
        )
    )

    def listed(**kw: object) -> list[tuple[str, str, str]]:
        return [(f.mapping, f.side.value, f.key) for f in store.attention.failures(**kw)]  # type: ignore[arg-type]

    assert listed() == [
        ("accounts", "local", "z"),
        ("customers", "integration", "B"),
        ("customers", "integration", "c"),
        ("customers", "local", "a"),
        ("customers", "local", "b"),
        ("customers", "local", "é"),
    ]
    assert listed(mapping="customers", side=LOCAL) == [
        ("customers", "local", "a"),
        ("customers", "local", "b"),
        ("customers", "local", "é"),
    ]
    assert listed(mapping="customers", side=LOCAL, after="a", limit=1) == [("customers", "local", "b")]
    assert listed(skipped=True) == [("customers", "integration", "B"), ("customers", "local", "a")]
    assert [k for _, _, k in listed(mapping="customers", skipped=False)] == ["c", "b", "é"]
    assert listed(limit=2) == listed()[:2]
    assert listed(mapping="nobody") == []


# save: everything at once, or nothing ---------------------------------------------------------------------------
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
            settled=(ConflictKey(mapping="customers", local_key="C1"),),
            failures=(failure("F2"),),
            cleared=(FailureKey(mapping="customers", side=LOCAL, key="F1"),),
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
                settled=(ConflictKey(mapping="customers", local_key="C1"),),
                failures=(failure("F1", message="new"), failure("F2")),
                cleared=(FailureKey(mapping="customers", side=LOCAL, key="F1"),),
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
                settled=(ConflictKey(mapping="customers", local_key="C1"),),
                failures=(failure("F2"),),
                cleared=(FailureKey(mapping="customers", side=LOCAL, key="F1"),),
                deletions=(deletion("D2"),),
            )
        )

    assert _snapshot(store) == before


def test_jobs_keep_the_unmatched_counter(store: StateStore) -> None:
    finished = job().finish(at=T0, counters=Counters(unmatched=7, coupled=2))

    store.save(job=finished)

    stored = store.jobs.get("job-1")
    assert stored is not None
    assert stored.counters == Counters(unmatched=7, coupled=2)
