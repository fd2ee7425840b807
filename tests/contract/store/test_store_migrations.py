"""The Alembic migrations build exactly the declared schema, on SQLite and PostgreSQL, and are safe to run again."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, bindparam, event, inspect, text

from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store import open_state_store
from coupler.adapters.store.sql.migrate import (
    HEAD,
    MIGRATIONS,
    current_revision,
    head_revision,
    migrations_config,
    upgrade,
)
from coupler.adapters.store.sql.schema import VERSION_TABLE, UtcDateTime, is_own_name, metadata
from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import Lock
from coupler.domain.timeutil import utcnow
from coupler.ports.store import CouplingStats


def differences(engine: Engine, target: MetaData = metadata) -> list[Any]:
    """What differs between the database and ``target``; the result index (an expression) is compared by
    ``test_the_sorted_couplings_indexes_exist``: SQLAlchemy does not reflect an expression index on SQLite."""
    with warnings.catch_warnings(), engine.connect() as conn:
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": is_own_name,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        found = list(compare_metadata(context, target))
    # PostgreSQL reflects the expression in its own spelling, which never compares equal to the declared text
    return [
        d for d in found if not (isinstance(d, tuple) and getattr(d[1], "name", "") == "ix_coupler_couplings_result")
    ]


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = create_sql_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def own_tables(engine: Engine) -> set[str]:
    return {name for name in inspect(engine).get_table_names() if name.startswith("coupler_")}


def test_migrations_build_the_declared_schema(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        assert current_revision(engine) is None

        upgrade(engine)

        assert differences(engine) == []
        assert own_tables(engine) == {*metadata.tables, VERSION_TABLE}
        assert current_revision(engine) == head_revision() == HEAD == "0008"


def test_the_sorted_couplings_indexes_exist(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            names = {index["name"] for index in inspect(engine).get_indexes("coupler_couplings")}
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                names |= set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
    assert {"ix_coupler_couplings_synced", "ix_coupler_couplings_result"} <= names


def test_the_comparison_sees_a_schema_that_differs(blank_url: str) -> None:
    altered = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(altered)
    altered.tables["coupler_couplings"].append_column(Column("extra", Integer))
    altered.tables["coupler_watermarks"].c.value.nullable = False

    with engine_for(blank_url) as engine:
        upgrade(engine)
        found = differences(engine, altered)

    assert [d[0] for d in found if isinstance(d, tuple)] == ["add_column"]
    assert any(isinstance(d, list) and d[0][0] == "modify_nullable" for d in found)


def test_upgrading_an_up_to_date_database_changes_nothing(blank_url: str) -> None:
    coupling = Coupling(mapping="m", local_key="L1", integration_key="I1", coupled_at=utcnow())
    store = open_state_store(blank_url)
    try:
        store.couplings.add([coupling])
    finally:
        store.close()

    with engine_for(blank_url) as engine, statements(engine) as seen:
        upgrade(engine)
        upgrade(engine)
        writes = [s for s in seen if s.split()[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}]
        assert writes == []
        assert current_revision(engine) == head_revision()
        assert differences(engine) == []

    again = open_state_store(blank_url)
    try:
        assert again.couplings.get("m", Side.LOCAL, "L1") == coupling
    finally:
        again.close()


def test_upgrading_from_0001_keeps_the_jobs_and_counts_them_unmatched_zero(blank_url: str) -> None:
    started = utcnow()
    with engine_for(blank_url) as engine:
        upgrade(engine, "0001")
        assert not {"coupler_conflicts", "coupler_locks"} & own_tables(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO coupler_jobs (id, mapping, kind, direction, started_at, coupled)"
                    " VALUES ('j1', 'm', 'full', 'bidirectional', :at, 4)"
                ).bindparams(bindparam("at", started, type_=UtcDateTime())),
            )

        upgrade(engine)

        assert current_revision(engine) == head_revision()
        assert differences(engine) == []
    store = open_state_store(blank_url)
    try:
        job = store.jobs.get("j1")
    finally:
        store.close()
    assert job is not None
    assert (job.counters.coupled, job.counters.unmatched) == (4, 0)


def test_downgrading_to_0001_removes_what_0002_added(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0001")
        assert own_tables(engine) == {
            VERSION_TABLE,
            "coupler_couplings",
            "coupler_watermarks",
            "coupler_jobs",
            "coupler_job_errors",
        }
        assert "unmatched" not in {c["name"] for c in inspect(engine).get_columns("coupler_jobs")}
        assert current_revision(engine) == "0001"


def test_downgrading_to_base_removes_every_table_and_upgrading_restores_them(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "base")
        assert own_tables(engine) == {VERSION_TABLE}
        assert current_revision(engine) is None

        upgrade(engine)
        assert differences(engine) == []


def test_a_shared_database_keeps_its_own_tables_and_alembic_version(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('their-app-42')"))
            conn.execute(text("CREATE TABLE customers (no VARCHAR(20) PRIMARY KEY)"))

        upgrade(engine)

        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "their-app-42"
        assert {"alembic_version", "customers"} <= set(inspect(engine).get_table_names())
        assert differences(engine) == []


def test_migrating_leaves_logging_alone(blank_url: str) -> None:
    loggers = [logging.getLogger(), logging.getLogger("alembic"), logging.getLogger("sqlalchemy.engine")]
    before = [(lg.level, list(lg.handlers), lg.disabled, lg.propagate) for lg in loggers]
    disabled_before = {name for name, lg in logging.Logger.manager.loggerDict.items() if getattr(lg, "disabled", False)}

    store = open_state_store(blank_url)
    store.close()

    assert [(lg.level, list(lg.handlers), lg.disabled, lg.propagate) for lg in loggers] == before
    disabled = {name for name, lg in logging.Logger.manager.loggerDict.items() if getattr(lg, "disabled", False)}
    assert disabled == disabled_before


def test_the_migrations_folder_is_self_contained() -> None:
    files = {p.relative_to(MIGRATIONS).as_posix() for p in MIGRATIONS.rglob("*") if "__pycache__" not in p.parts}

    assert {"env.py", "script.py.mako", "versions/0001_initial.py"} <= files
    assert "versions/0002_conflicts_failures_deletions_intents_locks.py" in files
    assert not [f for f in files if f.endswith(".ini")]
    assert migrations_config().get_main_option("script_location") == str(MIGRATIONS)


def test_upgrading_from_0002_keeps_the_watermarks_with_no_deletions_cursor(blank_url: str) -> None:
    mark = utcnow()
    with engine_for(blank_url) as engine:
        upgrade(engine, "0002")
        assert "deletions_cursor" not in {c["name"] for c in inspect(engine).get_columns("coupler_watermarks")}
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO coupler_watermarks (mapping, side, value) VALUES ('m', 'local', :at)").bindparams(
                    bindparam("at", mark, type_=UtcDateTime())
                ),
            )

        upgrade(engine)

        assert current_revision(engine) == head_revision() == "0008"
        assert differences(engine) == []
    store = open_state_store(blank_url)
    try:
        assert store.cursors.watermark("m", Side.LOCAL) == ChangeCursor(stamp=mark)
        assert store.cursors.deletions_cursor("m", Side.LOCAL) is None
    finally:
        store.close()


def test_upgrading_from_0003_keeps_each_watermark_as_a_cursor_that_has_seen_its_whole_stamp(blank_url: str) -> None:
    mark = utcnow()
    with engine_for(blank_url) as engine:
        upgrade(engine, "0003")
        assert "last_key" not in {c["name"] for c in inspect(engine).get_columns("coupler_watermarks")}
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO coupler_watermarks (mapping, side, value, deletions_cursor) "
                    "VALUES ('m', 'integration', :at, 'token')"
                ).bindparams(bindparam("at", mark, type_=UtcDateTime())),
            )

        upgrade(engine)

        assert current_revision(engine) == head_revision() == "0008"
        assert differences(engine) == []
    store = open_state_store(blank_url)
    try:
        assert store.cursors.watermark("m", Side.INTEGRATION) == ChangeCursor(stamp=mark, key=None)
        assert store.cursors.deletions_cursor("m", Side.INTEGRATION) == "token"
    finally:
        store.close()


def test_downgrading_to_0003_removes_the_watermarks_key(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0003")
        assert "last_key" not in {c["name"] for c in inspect(engine).get_columns("coupler_watermarks")}
        assert "deletions_cursor" in {c["name"] for c in inspect(engine).get_columns("coupler_watermarks")}
        assert current_revision(engine) == "0003"
        upgrade(engine)
        assert differences(engine) == []


def test_downgrading_to_0002_removes_the_deletions_cursor(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0002")
        assert "deletions_cursor" not in {c["name"] for c in inspect(engine).get_columns("coupler_watermarks")}
        assert current_revision(engine) == "0002"
        upgrade(engine)
        assert differences(engine) == []


def test_state_stores_opened_from_several_threads_at_once_all_migrate(tmp_path: Path) -> None:
    """The web app opens a store per background task: Alembic's process-wide environment must not be entered twice."""

    def open_and_close(index: int) -> str | None:
        store = open_state_store(f"sqlite:///{tmp_path / f'state{index}.db'}")
        try:
            return current_revision(store.engine)
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        revisions = list(pool.map(open_and_close, range(16)))
    assert revisions == [head_revision()] * 16


def test_upgrading_from_0004_keeps_the_locks_with_no_owner_process(blank_url: str) -> None:
    until = utcnow()
    with engine_for(blank_url) as engine:
        upgrade(engine, "0004")
        assert "host" not in {c["name"] for c in inspect(engine).get_columns("coupler_locks")}
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO coupler_locks (name, owner, until) VALUES ('mapping:m', 'job-1', :at)").bindparams(
                    bindparam("at", until, type_=UtcDateTime())
                ),
            )

        upgrade(engine)

        assert differences(engine) == []
    store = open_state_store(blank_url)
    try:
        assert store.cursors.locks() == [Lock(name="mapping:m", owner="job-1", until=until)]
    finally:
        store.close()


def test_downgrading_to_0004_removes_the_lock_owner_process(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0004")
        assert {c["name"] for c in inspect(engine).get_columns("coupler_locks")} == {"name", "owner", "until"}
        assert current_revision(engine) == "0004"


def test_downgrading_to_0005_removes_the_kept_metadata(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine)
        assert "coupler_metadata" in own_tables(engine)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0005")
        assert "coupler_metadata" not in own_tables(engine)
        assert current_revision(engine) == "0005"
        upgrade(engine)
        assert differences(engine) == []


def test_upgrading_from_0006_counts_what_the_store_holds_and_keeps_counting(blank_url: str) -> None:
    with engine_for(blank_url) as engine:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO coupler_couplings (mapping, local_key, integration_key, coupled_at, "
                    "to_integration_result, skipped) VALUES ('m', 'a', 'x', :at, 'failure', :no), "
                    "('m', 'b', 'y', :at, 'success', :yes), ('n', 'c', 'z', :at, NULL, :no)"
                ).bindparams(bindparam("at", utcnow(), type_=UtcDateTime()), yes=True, no=False)
            )

        upgrade(engine)

        assert differences(engine) == []
    store = open_state_store(blank_url)
    try:
        assert store.stats("m") == CouplingStats(couplings=2, failed=1, skipped=1)
        assert store.stats("n") == CouplingStats(couplings=1)
        store.couplings.remove("m", ["a"])
        assert store.stats("m") == CouplingStats(couplings=1, skipped=1)
    finally:
        store.close()
