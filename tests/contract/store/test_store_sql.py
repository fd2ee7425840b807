"""What only the SQL store promises: batched statements, SQLite tuning, UTC storage, concurrent SQLite writers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import String, event, inspect, text

from coupler.adapters.engines import SQLITE_BUSY_TIMEOUT_MS
from coupler.adapters.store import SqlStateStore, open_state_store
from coupler.domain.coupling import Coupling
from coupler.domain.jobs import Counters, Job, JobError, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import (
    Conflict,
    ConflictField,
    ConflictKey,
    FailureKey,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def coupling(key: str) -> Coupling:
    return Coupling(mapping="customers", local_key=key, integration_key=f"i-{key}", coupled_at=T0)


@contextmanager
def statements(store: SqlStateStore) -> Iterator[list[str]]:
    """The statements sent to the database (``BEGIN`` left out): their first word."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.strip().upper() != "BEGIN":
            seen.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_a_batch_is_saved_with_one_statement_per_kind(sql_store: SqlStateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1000)]
    job = Job(id="job-1", mapping="customers", kind=JobKind.INCREMENTAL, direction="to-integration", started_at=T0)
    sql_store.jobs.add(job)
    with statements(sql_store) as added:
        sql_store.couplings.add([coupling(k) for k in keys])
    synced = [
        coupling(k).succeeded(
            direction=Direction.TO_INTEGRATION,
            job_id="job-1",
            local_modified_on=T0,
            integration_modified_on=T0,
            at=T0 + timedelta(seconds=1),
        )
        for k in keys
    ]
    errors = [
        JobError(
            job_id="job-1", mapping="customers", local_key=k, integration_key=None, message="x", detail=None, at=T0
        )
        for k in keys[:50]
    ]

    with statements(sql_store) as saved:
        sql_store.save(
            StateChanges(couplings=tuple(synced)),
            errors=errors,
            job=job.finish(at=T0, counters=Counters(modified=1000)),
        )

    assert added == ["INSERT"]
    assert saved == ["INSERT", "UPDATE", "INSERT"]
    assert sql_store.couplings.page("customers", limit=2000) == synced
    stored = sql_store.jobs.get("job-1")
    assert stored is not None
    assert stored.counters.modified == 1000


def test_reading_and_removing_many_keys_takes_statements_per_500_keys(sql_store: SqlStateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1200)]
    sql_store.couplings.add([coupling(k) for k in keys])

    with statements(sql_store) as read:
        found = sql_store.couplings.find("customers", Side.INTEGRATION, [f"i-{k}" for k in keys])
    with statements(sql_store) as removed:
        count = sql_store.couplings.remove("customers", keys)

    assert len(found) == 1200
    assert read == ["SELECT"] * 3
    assert count == 1200
    assert removed == ["DELETE"] * 6, "per 500 keys: the couplings, and the parked conflicts that go with them"


def test_stats_take_one_statement(sql_store: SqlStateStore) -> None:
    with statements(sql_store) as seen:
        sql_store.stats("customers")

    assert seen == ["SELECT"]


def test_pages_are_ordered_by_code_point_on_every_database(sql_store: SqlStateStore) -> None:
    if sql_store.engine.dialect.name == "postgresql":
        columns = {c["name"]: c for c in inspect(sql_store.engine).get_columns("coupler_couplings")}
        local_key = columns["local_key"]["type"]
        assert isinstance(local_key, String)
        assert local_key.collation == "C"
    keys = ["a", "B", "ä", "Z", "_"]
    sql_store.couplings.add([coupling(k) for k in keys])

    assert [c.local_key for c in sql_store.couplings.page("customers")] == sorted(keys)


def test_sqlite_is_tuned_for_a_local_file(sqlite_file_url: str) -> None:
    store = open_state_store(sqlite_file_url)
    try:
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "temp_store")
            }
    finally:
        store.close()

    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
        "temp_store": 2,  # memory: no temporary file written per row by the couplings' count triggers
    }


def test_sqlite_stores_utc_text_and_reads_back_aware_utc(sqlite_file_url: str) -> None:
    store = open_state_store(sqlite_file_url)
    try:
        plus_two = datetime(2024, 5, 6, 9, 8, 9, 5, tzinfo=timezone(timedelta(hours=2)))
        store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=plus_two))
        with store.engine.connect() as conn:
            raw = conn.execute(text("SELECT value FROM coupler_watermarks")).scalar_one()
        read = store.cursors.watermark("customers", Side.LOCAL)
    finally:
        store.close()

    assert raw == "2024-05-06 07:08:09.000005"
    assert read is not None
    assert read.stamp == datetime(2024, 5, 6, 7, 8, 9, 5, tzinfo=UTC)
    assert read.stamp.tzinfo is UTC


def test_a_failed_sqlite_transaction_leaves_nothing_behind(sqlite_file_url: str) -> None:
    """SQLAlchemy, not the driver, opens SQLite transactions, so a rollback also covers the first statements."""
    store = open_state_store(sqlite_file_url)
    try:
        with pytest.raises(RuntimeError), store.engine.begin() as conn:
            conn.execute(text("INSERT INTO coupler_watermarks (mapping, side) VALUES ('m', 'local')"))
            raise RuntimeError
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM coupler_watermarks")).scalar_one() == 0
    finally:
        store.close()


def test_two_processes_worth_of_stores_write_one_sqlite_file(sqlite_file_url: str) -> None:
    url = sqlite_file_url
    stores = [open_state_store(url), open_state_store(url)]
    failures: list[BaseException] = []

    def write(store: SqlStateStore, prefix: str) -> None:
        try:
            for batch in range(20):
                store.couplings.add([coupling(f"{prefix}{batch:02d}-{i:02d}") for i in range(50)])
                store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=T0 + timedelta(seconds=batch)))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(s, p)) for s, p in zip(stores, "AB", strict=True)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert stores[0].stats("customers").couplings == 2000
    finally:
        for store in stores:
            store.close()


def test_the_state_beside_couplings_is_saved_with_one_statement_per_kind(sql_store: SqlStateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1000)]
    field = ConflictField(
        pair="name",
        local_field="name",
        integration_field="name",
        local_value="A",
        integration_value=2,
        last_local=None,
        last_integration=True,
    )
    conflicts = [
        Conflict(mapping="customers", local_key=k, integration_key=k, fields=(field,), detected_at=T0, job_id="j")
        for k in keys
    ]
    failures = [
        RecordFailure(mapping="customers", side=Side.LOCAL, key=k, message="x", job_id="j", at=T0) for k in keys
    ]
    deletions = [
        PendingDeletion(mapping="customers", side=Side.LOCAL, deleted_key=k, survivor_key=k, detected_at=T0, job_id="j")
        for k in keys
    ]

    with statements(sql_store) as saved:
        sql_store.save(
            StateChanges(
                conflicts=tuple(conflicts),
                settled=tuple(ConflictKey(mapping="customers", local_key=k) for k in keys[:500]),
                failures=tuple(failures),
                cleared=tuple(FailureKey(mapping="customers", side=Side.LOCAL, key=k) for k in keys[:500]),
                deletions=tuple(deletions),
            )
        )
    with statements(sql_store) as nothing:
        sql_store.save()

    assert saved == ["INSERT", "DELETE", "INSERT", "DELETE", "INSERT"]
    assert nothing == []
    assert len(sql_store.attention.conflicts(limit=2000)) == 500
    assert len(sql_store.attention.failures(limit=2000)) == 500
    assert len(sql_store.attention.pending_deletions(limit=2000)) == 1000


def test_conflict_fields_are_stored_as_json_text(sql_store: SqlStateStore) -> None:
    field = ConflictField(
        pair="credit",
        local_field="Credit_Limit",
        integration_field="creditlimit",
        local_value=1500,
        integration_value=0.1,
        last_local=None,
        last_integration="Ä",
    )
    conflict = Conflict(
        mapping="customers", local_key="L1", integration_key="I1", fields=(field,), detected_at=T0, job_id="j"
    )
    sql_store.save(StateChanges(conflicts=(conflict,)))

    with sql_store.engine.connect() as conn:
        raw = conn.execute(text("SELECT fields FROM coupler_conflicts")).scalar_one()

    assert json.loads(raw) == [
        {
            "pair": "credit",
            "local_field": "Credit_Limit",
            "integration_field": "creditlimit",
            "local_value": 1500,
            "integration_value": 0.1,
            "last_local": None,
            "last_integration": "Ä",
        }
    ]


@pytest.mark.postgres
def test_a_state_store_that_stops_answering_is_a_passing_failure_named_as_such(pg_url: object) -> None:
    import sqlalchemy as sa

    from coupler.adapters.store.sql.store import open_state_store
    from coupler.domain.errors import RetryableConnectorError

    url = pg_url  # a fresh database of the shared test server
    assert isinstance(url, sa.URL)
    store = open_state_store(url.render_as_string(hide_password=False))
    try:
        assert store.jobs.recent() == []
        admin = sa.create_engine(url.set(database="test"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the database goes away: no new session, every open one ended
            conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": url.database},
            )
        try:
            with pytest.raises(RetryableConnectorError, match="does not answer"):
                store.jobs.recent()
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
            admin.dispose()
    finally:
        store.close()


def test_couplings_written_in_one_statement_keep_every_value_exactly(sql_store: SqlStateStore) -> None:
    """On PostgreSQL a batch of couplings travels as one JSON document: times with another offset, or none (UTC),
    microseconds, quotes, non-ASCII text, absent values and flags come back as they went in."""
    plus_two = timezone(timedelta(hours=2))
    first = Coupling(
        mapping="customers",
        local_key='C"1\\ é',
        integration_key="i-1",
        coupled_at=T0,
        local_modified_on=datetime(2024, 5, 6, 9, 8, 9, 5, tzinfo=plus_two),
        integration_modified_on=datetime(2024, 5, 6, 7, 8, 9, 999999),  # naive: UTC
        last_error="Ørsted 😀\n",
        failure_count=3,
        skipped=True,
        fingerprint='{"a":"b"}',
    )
    second = replace(first, local_key="C2", integration_key="i-2", local_modified_on=None, skipped=False)
    sql_store.couplings.add([first, second])
    updated = replace(second, integration_key="i-3", integration_modified_on=T0, last_error=None, failure_count=0)
    sql_store.save(StateChanges(couplings=(updated,)))

    found = sql_store.couplings.find("customers", Side.LOCAL, ['C"1\\ é', "C2"])
    assert found['C"1\\ é'] == replace(
        first,
        local_modified_on=datetime(2024, 5, 6, 7, 8, 9, 5, tzinfo=UTC),
        integration_modified_on=datetime(2024, 5, 6, 7, 8, 9, 999999, tzinfo=UTC),
    )
    assert found["C2"] == updated
