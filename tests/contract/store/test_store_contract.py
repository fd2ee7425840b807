"""The state store contract: every test runs against the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.jobs import Counters, Job, JobError, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import IntentKey, StateChanges
from coupler.ports.store import CouplingStats, StateStore

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
FAILURE = SyncResult.FAILURE
SUCCESS = SyncResult.SUCCESS


def coupling(local_key: str, integration_key: str | None = None, mapping: str = "customers", **kw: object) -> Coupling:
    return Coupling(
        mapping=mapping,
        local_key=local_key,
        integration_key=integration_key or f"i-{local_key}",
        coupled_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def job(job_id: str = "job-1", mapping: str = "customers", started_at: datetime = T0) -> Job:
    return Job(id=job_id, mapping=mapping, kind=JobKind.FULL, direction="bidirectional", started_at=started_at)


def error(job_id: str = "job-1", message: str = "boom", at: datetime = T0, mapping: str = "customers") -> JobError:
    return JobError(
        job_id=job_id, mapping=mapping, local_key="L1", integration_key="I1", message=message, detail="trace", at=at
    )


def all_couplings(store: StateStore, mapping: str = "customers") -> list[Coupling]:
    return store.couplings.page(mapping, limit=10_000)


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# couplings: reading -----------------------------------------------------------------------------------------------
def test_couplings_are_found_by_either_side(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2"), coupling("L1", "I1", mapping="vendors")])

    by_local = store.couplings.find("customers", Side.LOCAL, ["L1", "L2", "L3"])
    by_integration = store.couplings.find("customers", Side.INTEGRATION, ["I2", "L1"])

    assert by_local == {"L1": coupling("L1", "I1"), "L2": coupling("L2", "I2")}
    assert by_integration == {"I2": coupling("L2", "I2")}
    assert store.couplings.get("vendors", Side.INTEGRATION, "I1") == coupling("L1", "I1", mapping="vendors")
    assert store.couplings.get("customers", Side.LOCAL, "nope") is None
    assert store.couplings.find("customers", Side.LOCAL, []) == {}


def test_couplings_reads_more_keys_than_one_query_holds(store: StateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1234)]
    store.couplings.add([coupling(k) for k in keys])

    found = store.couplings.find("customers", Side.LOCAL, [*keys, "missing", keys[0]])

    assert sorted(found) == keys
    assert found["K01000"].integration_key == "i-K01000"


def test_every_field_round_trips_exactly_and_in_utc(store: StateStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    full = Coupling(
        mapping="customers",
        local_key="C-00001 ÄÖ ключ 🙂",
        integration_key="6f1c2a1e-0000-4000-8000-000000000001",
        coupled_at=datetime(2024, 1, 2, 3, 4, 5, 1, tzinfo=UTC),
        local_modified_on=datetime(2024, 2, 3, 4, 5, 6, 999999, tzinfo=UTC),
        integration_modified_on=datetime(2024, 3, 4, 7, 6, 7, 654321, tzinfo=plus_two),
        last_synced_at=datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        to_integration_result=SUCCESS,
        to_integration_job="job-a",
        from_integration_result=FAILURE,
        from_integration_job="job-b",
        last_error="The field 'name' is too long.\nSecond line",
        failure_count=3,
        skipped=True,
        fingerprint="sha256:abc",
    )
    bare = coupling("bare")
    store.couplings.add([full, bare])

    stored = store.couplings.get("customers", Side.LOCAL, full.local_key)
    assert stored == full
    assert stored is not None
    assert stored.integration_modified_on == datetime(2024, 3, 4, 5, 6, 7, 654321, tzinfo=UTC)
    for value in (stored.coupled_at, stored.local_modified_on, stored.integration_modified_on, stored.last_synced_at):
        assert_utc(value)
    assert stored.to_integration_result is SyncResult.SUCCESS
    assert stored.from_integration_result is SyncResult.FAILURE
    assert stored.skipped is True
    assert store.couplings.get("customers", Side.LOCAL, "bare") == bare
    assert all_couplings(store) == [full, bare]


def test_modified_on_stored_is_equal_to_the_one_read_again(store: StateStore) -> None:
    seen = datetime(2024, 6, 1, 12, 0, 0, 7, tzinfo=UTC)
    store.couplings.add([coupling("L1", local_modified_on=seen, integration_modified_on=seen)])

    stored = store.couplings.get("customers", Side.LOCAL, "L1")

    assert stored is not None
    assert not stored.changed(Side.LOCAL, seen)
    assert stored.changed(Side.LOCAL, seen + timedelta(microseconds=1))


# couplings: the 1:1 rule ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("taken", "side"),
    [(coupling("L1", "I9"), "local key(s) 'L1'"), (coupling("L9", "I1"), "integration key(s) 'I1'")],
)
def test_add_refuses_a_taken_key_and_writes_nothing(store: StateStore, taken: Coupling, side: str) -> None:
    store.couplings.add([coupling("L1", "I1")])

    with pytest.raises(AlreadyCoupled) as raised:
        store.couplings.add([coupling("L2", "I2"), taken, coupling("L3", "I3")])

    assert "'customers'" in raised.value.message
    assert side in raised.value.message
    assert all_couplings(store) == [coupling("L1", "I1")]


@pytest.mark.parametrize(
    ("batch", "named"),
    [
        ([coupling("L1", "I1"), coupling("L2", "I1")], "integration key(s) 'I1'"),
        ([coupling("L1", "I1"), coupling("L1", "I2")], "local key(s) 'L1'"),
    ],
)
def test_add_refuses_a_key_twice_in_one_batch(store: StateStore, batch: list[Coupling], named: str) -> None:
    with pytest.raises(AlreadyCoupled, match=named.replace("(", r"\(").replace(")", r"\)")):
        store.couplings.add([coupling("L0", "I0"), *batch])

    assert all_couplings(store) == []


def test_add_names_every_taken_key(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2")])

    with pytest.raises(AlreadyCoupled) as raised:
        store.couplings.add([coupling("L1", "X1"), coupling("X2", "I2")])

    assert "local key(s) 'L1'" in raised.value.message
    assert "integration key(s) 'I2'" in raised.value.message


def test_the_same_keys_may_be_coupled_in_another_mapping(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])
    store.couplings.add([coupling("L1", "I1", mapping="contacts")])
    store.couplings.add([])

    assert all_couplings(store, "contacts") == [coupling("L1", "I1", mapping="contacts")]


def test_removed_couplings_free_both_keys(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2"), coupling("L1", "I1", mapping="vendors")])

    assert store.couplings.remove("customers", ["L1", "L1", "missing"]) == 1
    assert store.couplings.remove("customers", []) == 0
    assert store.couplings.remove("nothing", ["L2"]) == 0

    store.couplings.add([coupling("L3", "I1"), coupling("L1", "I3")])
    assert [c.local_key for c in all_couplings(store)] == ["L1", "L2", "L3"]
    assert store.couplings.get("customers", Side.INTEGRATION, "I1") == coupling("L3", "I1")
    assert all_couplings(store, "vendors") == [coupling("L1", "I1", mapping="vendors")]


def test_many_couplings_are_removed_at_once(store: StateStore) -> None:
    keys = [f"K{i:04d}" for i in range(1100)]
    store.couplings.add([coupling(k) for k in keys])

    assert store.couplings.remove("customers", keys[:1050]) == 1050
    assert [c.local_key for c in all_couplings(store)] == keys[1050:]


# save -----------------------------------------------------------------------------------------------------------
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


def test_save_may_move_a_coupling_to_a_free_integration_key(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])

    store.save(StateChanges(couplings=(coupling("L1", "I7"),)))

    assert store.couplings.get("customers", Side.INTEGRATION, "I7") == coupling("L1", "I7")
    assert store.couplings.get("customers", Side.INTEGRATION, "I1") is None
    store.couplings.add([coupling("L2", "I1")])


# paging and stats ------------------------------------------------------------------------------------------------
def _states(store: StateStore) -> None:
    to_failed = {"to_integration_result": FAILURE}
    from_failed = {"from_integration_result": FAILURE}
    store.couplings.add(
        [
            coupling("a1", **to_failed),
            coupling("a2", **from_failed),
            coupling("a3", **to_failed, from_integration_result=FAILURE),
            coupling("a4", **to_failed, skipped=True),
            coupling("a5", to_integration_result=SUCCESS, from_integration_result=SUCCESS),
            coupling("a6", **to_failed),
            coupling("a7"),
            coupling("a8", **to_failed, mapping="vendors"),
            coupling("a9", skipped=True),
        ]
    )


def _pages(store: StateStore, direction: Direction, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after: str | None = None
    while page := store.couplings.failed("customers", direction, after=after, limit=size):
        pages.append([c.local_key for c in page])
        after = page[-1].local_key
    return pages


def test_failed_couplings_are_paged_by_local_key(store: StateStore) -> None:
    _states(store)

    assert _pages(store, Direction.TO_INTEGRATION, 2) == [["a1", "a3"], ["a6"]]
    assert _pages(store, Direction.FROM_INTEGRATION, 1) == [["a2"], ["a3"]]
    assert _pages(store, Direction.BIDIRECTIONAL, 3) == [["a1", "a2", "a3"], ["a6"]]
    assert store.couplings.failed("customers", Direction.TO_INTEGRATION, after="a3", limit=10)[0].local_key == "a6"
    assert store.couplings.failed("nobody", Direction.TO_INTEGRATION, after=None, limit=10) == []


def test_list_couplings_pages_in_code_point_order(store: StateStore) -> None:
    keys = ["b", "B", "a", "Z10", "Z9", "é", "e", "10", "9", "a-1", "a 1", "日本", "ß"]
    store.couplings.add([coupling(k) for k in keys])

    seen: list[str] = []
    after: str | None = None
    while page := store.couplings.page("customers", after=after, limit=4):
        assert len(page) <= 4
        seen += [c.local_key for c in page]
        after = page[-1].local_key

    assert seen == sorted(keys)
    assert [c.local_key for c in store.couplings.page("customers", after="a", limit=2)] == ["a 1", "a-1"]


def test_list_couplings_filters_skipped(store: StateStore) -> None:
    _states(store)

    assert [c.local_key for c in store.couplings.page("customers", skipped=True)] == ["a4", "a9"]
    assert [c.local_key for c in store.couplings.page("customers", skipped=False, after="a4", limit=2)] == ["a5", "a6"]
    assert len(store.couplings.page("customers")) == 8


def test_stats_count_couplings_failures_skips_and_errors(store: StateStore) -> None:
    assert store.stats("customers") == CouplingStats()
    _states(store)
    store.jobs.add(job())
    store.save(errors=[error(), error(), error(mapping="vendors")])

    assert store.stats("customers") == CouplingStats(couplings=8, failed=5, skipped=2, errors=2)
    assert store.stats("vendors") == CouplingStats(couplings=1, failed=1, skipped=0, errors=1)


# watermarks ---------------------------------------------------------------------------------------------------------
def test_watermarks_are_kept_per_mapping_and_side(store: StateStore) -> None:
    assert store.cursors.watermark("customers", Side.LOCAL) is None
    first = ChangeCursor(stamp=datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    second = ChangeCursor(stamp=datetime(2024, 1, 2, 12, 30, 0, 999999, tzinfo=timezone(timedelta(hours=-5))))

    store.cursors.set_watermark("customers", Side.LOCAL, first)
    store.cursors.set_watermark("customers", Side.INTEGRATION, first)
    store.cursors.set_watermark("customers", Side.LOCAL, second)
    store.cursors.set_watermark("vendors", Side.LOCAL, None)

    local = store.cursors.watermark("customers", Side.LOCAL)
    assert local == second
    assert local is not None and local.key is None
    assert_utc(local.stamp)
    assert store.cursors.watermark("customers", Side.INTEGRATION) == first
    assert store.cursors.watermark("vendors", Side.LOCAL) is None
    assert store.cursors.watermark("vendors", Side.INTEGRATION) is None

    store.cursors.set_watermark("customers", Side.LOCAL, None)
    assert store.cursors.watermark("customers", Side.LOCAL) is None


def test_a_watermark_keeps_its_key_beside_its_stamp(store: StateStore) -> None:
    """The keyset position of the last record read (a run stopped among records sharing one stamp resumes after
    it); a later watermark with no key replaces both."""
    stamp = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    key = "0f8fad5b-d9cb-469f-a165-70867728950e" + "é" * 300  # as long as a coupled key may be
    store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=stamp, key=key))
    store.cursors.set_watermark("customers", Side.INTEGRATION, ChangeCursor(stamp=stamp, key="10"))

    assert store.cursors.watermark("customers", Side.LOCAL) == ChangeCursor(stamp=stamp, key=key)
    assert store.cursors.watermark("customers", Side.INTEGRATION) == ChangeCursor(stamp=stamp, key="10")

    store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=stamp + timedelta(seconds=1)))
    assert store.cursors.watermark("customers", Side.LOCAL) == ChangeCursor(stamp=stamp + timedelta(seconds=1))
    store.cursors.set_watermark("customers", Side.INTEGRATION, None)
    assert store.cursors.watermark("customers", Side.INTEGRATION) is None


def test_deletions_cursors_are_kept_per_mapping_and_side_apart_from_the_watermark(store: StateStore) -> None:
    mark = ChangeCursor(stamp=datetime(2024, 3, 1, 8, 0, tzinfo=UTC), key="k7")
    later = ChangeCursor(stamp=mark.stamp + timedelta(hours=1))
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) is None
    store.cursors.set_watermark("customers", Side.INTEGRATION, mark)

    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, "accounts:41!03/01/2024 08:00:00")
    store.cursors.set_deletions_cursor("vendors", Side.INTEGRATION, "accounts:7!03/01/2024 08:00:00")
    store.cursors.set_deletions_cursor("customers", Side.LOCAL, "x" * 5000)  # opaque and unbounded (a long token)

    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:41!03/01/2024 08:00:00"
    assert store.cursors.deletions_cursor("vendors", Side.INTEGRATION) == "accounts:7!03/01/2024 08:00:00"
    assert store.cursors.deletions_cursor("customers", Side.LOCAL) == "x" * 5000
    assert store.cursors.watermark("customers", Side.INTEGRATION) == mark, "the watermark is left alone"
    assert store.cursors.watermark("vendors", Side.INTEGRATION) is None

    store.cursors.set_watermark("customers", Side.INTEGRATION, later)
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:41!03/01/2024 08:00:00", (
        "and a new watermark leaves the cursor alone"
    )
    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, "accounts:42!03/01/2024 09:00:00")
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:42!03/01/2024 09:00:00"
    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, None)
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) is None
    assert store.cursors.watermark("customers", Side.INTEGRATION) == later


# jobs and errors ----------------------------------------------------------------------------------------------------
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
