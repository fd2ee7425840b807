"""What only the SQL connector does: database-assigned integer keys, naive date-time stamps, reflection once,
error translation (locked database, unreachable server) and batch bisection."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from contract.connectors.backends import DATA_COLUMNS, KEY, SPEC, TABLE, SqlBackend
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.domain.errors import ConfigurationError, ConnectorError, RetryableConnectorError
from coupler.domain.mapping import Condition, TableSpec
from coupler.domain.records import ChangeCursor, RecordUpdate

ITEM = TableSpec(table="item", key="id", modified_on="changed_at")
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        made = sa.create_engine(f"sqlite:///{tmp_path / 'items.sqlite'}")
    else:
        made = sa.create_engine(request.getfixturevalue("pg_url"))
    metadata = sa.MetaData()
    sa.Table(
        "item",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("changed_at", sa.DateTime()),  # naive UTC, no trigger: the rows carry their own stamps
        sa.Column("weight", sa.Integer),
    )
    with made.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
    yield made
    made.dispose()


def test_the_database_assigns_integer_keys_in_row_order(engine: sa.Engine) -> None:
    connector = SqlConnector(engine)
    rows = [{"code": f"C{i}", "changed_at": T0} for i in range(5)]
    rows[2]["code"] = None

    results = connector.insert(ITEM, rows)

    assert [r.ok for r in results] == [True, True, False, True, True]
    assert "code" in (results[2].error or "")
    keys = [int(r.key or 0) for r in results if r.ok]
    assert keys == sorted(keys) and len(set(keys)) == 4
    records = connector.read(ITEM, [str(k) for k in keys], columns=["id", "code"])
    expected = zip(keys, ["C0", "C1", "C3", "C4"], strict=True)
    assert [(r.key, r.values["code"]) for r in records] == [(str(k), code) for k, code in expected]


def test_a_table_whose_keys_the_database_assigns_is_found_again_by_its_unique_column(
    engine: sa.Engine, tmp_path: Path
) -> None:
    connector = SqlConnector(engine)
    assert connector.assigns_keys(ITEM) and connector.new_keys(ITEM, 2) is None
    assert connector.alternate_key(ITEM) == "code", "the column a unique constraint covers alone"
    assert connector.alternate_key(replace(ITEM, alternate_key="weight")) == "weight", "the spec's own comes first"
    texts = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'texts.sqlite'}"))
    assert not texts.connector.assigns_keys(SPEC) and texts.connector.alternate_key(SPEC) is None


@pytest.mark.parametrize("key", ["id INTEGER PRIMARY KEY", "id INTEGER PRIMARY KEY AUTOINCREMENT"])
def test_sqlite_numbers_the_rows_of_a_table_declared_by_hand(tmp_path: Path, key: str) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'notes.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE note ({key}, title TEXT)")
    connector = SqlConnector(engine)
    note = TableSpec(table="note", key="id")

    results = connector.insert(note, [{"title": "a"}, {"title": "b"}])

    assert [(r.ok, r.key) for r in results] == [(True, "1"), (True, "2")]
    assert connector.describe("note")["id"].primary_key  # type: ignore[index]
    engine.dispose()


def test_a_length_a_check_constraint_caps_is_the_columns_maximum_length(tmp_path: Path) -> None:
    """SQLite keeps no VARCHAR lengths: a CHECK on ``length(col)`` says how long a text may be (the demo's way)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cities.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE place (id INTEGER PRIMARY KEY, city TEXT CHECK ("city" IS NULL OR length("city") <= 30), '
            "code VARCHAR(10), note TEXT)"
        )
    columns = SqlConnector(engine).describe("place") or {}

    assert {name: c.max_length for name, c in columns.items()} == {"id": None, "city": 30, "code": 10, "note": None}
    engine.dispose()


def test_keys_that_cannot_be_integers_do_not_exist(engine: sa.Engine) -> None:
    connector = SqlConnector(engine)
    assert connector.insert(ITEM, [{"code": "A"}])[0].ok

    assert connector.read(ITEM, ["abc"], columns=["code"]) == []
    assert connector.update(ITEM, [RecordUpdate(key="abc", values={"weight": 1})])[0].error == (
        "record abc does not exist in item"
    )
    assert connector.delete(ITEM, ["abc", "999"])[1].error == "record 999 does not exist in item"


def test_naive_datetime_stamps_are_utc(engine: sa.Engine) -> None:
    connector = SqlConnector(engine)
    stamps = [T0.replace(tzinfo=None) + timedelta(seconds=i) for i in range(3)]
    results = connector.insert(ITEM, [{"code": f"C{i}", "changed_at": s} for i, s in enumerate(stamps)])

    assert [r.modified_on for r in results] == [s.replace(tzinfo=UTC) for s in stamps]
    pages = list(connector.changed_since(ITEM, ChangeCursor(stamp=T0), columns=["code", "changed_at"], page_size=10))
    assert [r.values["code"] for page in pages for r in page] == ["C1", "C2"]
    assert pages[0][0].values["changed_at"] == T0 + timedelta(seconds=1)


def test_a_cursor_key_is_compared_in_the_key_columns_own_type(engine: sa.Engine) -> None:
    """Integer keys resume after 9 in number order (10, 11, 12), as the read is ordered, not in text order."""
    connector = SqlConnector(engine)
    results = connector.insert(ITEM, [{"code": f"C{i}", "changed_at": T0.replace(tzinfo=None)} for i in range(12)])
    keys = [r.key for r in results]
    assert keys == [str(i) for i in range(1, 13)]

    def resumed(key: str) -> list[str]:
        cursor = ChangeCursor(stamp=T0, key=key)
        return [r.key for page in connector.changed_since(ITEM, cursor, columns=["code"], page_size=2) for r in page]

    assert resumed("9") == ["10", "11", "12"]
    assert resumed("12") == []
    assert resumed("not a number") == keys, "a key the column cannot hold: the whole stamp again, nothing skipped"


def test_a_batch_with_a_few_bad_rows_lands_every_good_row(tmp_path: Path) -> None:
    backend = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'many.sqlite'}"))
    bad = {17, 500, 999}
    rows = [{KEY: f"k{i:04d}", "name": None if i in bad else f"n{i}"} for i in range(1000)]

    results = backend.connector.insert(SPEC, rows)

    assert {r.index for r in results if not r.ok} == bad
    assert len(backend.connector.read(SPEC, [row[KEY] for row in rows], columns=["name"])) == 997
    backend.close()


def test_tables_are_reflected_once(tmp_path: Path) -> None:
    backend = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'reflect.sqlite'}"))
    statements: list[str] = []
    sa.event.listen(backend.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    connector = backend.connector

    connector.describe(TABLE)
    reflecting = len(statements)
    connector.read(SPEC, ["x"], columns=DATA_COLUMNS)
    connector.find(SPEC, {"name": "x"}, columns=DATA_COLUMNS)

    assert reflecting > 0
    assert len(statements) == reflecting + 2
    backend.close()


def test_filter_values_are_bound_not_spliced(tmp_path: Path) -> None:
    backend = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'bound.sqlite'}"))
    evil = "x'; DROP TABLE customer; --"
    assert backend.connector.insert(SPEC, [{KEY: "a", "name": evil}, {KEY: "b", "name": "b"}])[0].ok
    spec = TableSpec(table=TABLE, key=KEY, modified_on="modified_on", filter=(Condition(field="name", value=evil),))

    pages = list(backend.connector.changed_since(spec, None, columns=["name"], page_size=10))

    assert [r.key for page in pages for r in page] == ["a"]
    assert backend.connector.describe(TABLE) is not None
    backend.close()


def test_unknown_tables_and_unusable_stamp_columns_are_configuration_errors(tmp_path: Path) -> None:
    backend = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'config.sqlite'}"))

    with pytest.raises(ConfigurationError, match="nowhere"):
        backend.connector.read(TableSpec(table="nowhere", key="id"), ["1"], columns=[])
    with pytest.raises(ConfigurationError, match="credit_limit"):
        backend.connector.read(TableSpec(table=TABLE, key=KEY, modified_on="credit_limit"), ["1"], columns=[])
    backend.close()


def test_a_locked_database_is_a_retryable_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    backend = SqlBackend(sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05}))
    backend.connector.describe(TABLE)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RetryableConnectorError, match="locked"):
            backend.connector.insert(SPEC, [{KEY: "a", "name": "A"}])
        with pytest.raises(RetryableConnectorError, match="locked"):
            backend.connector.read(SPEC, ["a"], columns=["name"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert backend.connector.insert(SPEC, [{KEY: "a", "name": "A"}])[0].ok
    backend.close()


def test_ping(tmp_path: Path) -> None:
    SqlConnector(sa.create_engine(f"sqlite:///{tmp_path / 'ping.sqlite'}")).ping()
    unreachable = SqlConnector(
        sa.create_engine(
            "postgresql+psycopg://coupler:s3cr3t-pw@127.0.0.1:1/nothing", connect_args={"connect_timeout": 2}
        ),
        display_name="CRM database",
    )

    with pytest.raises(ConnectorError) as raised:
        unreachable.ping()

    message = str(raised.value)
    assert message.startswith("CRM database (postgresql+psycopg://coupler:***@127.0.0.1:1/nothing) does not answer")
    assert "s3cr3t" not in message


def test_rows_with_chosen_keys_land_whatever_their_column_names_and_types(tmp_path: Path) -> None:
    """Rows of text and integer columns go to SQLite's driver as they are (names quoted); a date-time column keeps
    SQLAlchemy's conversion. The keys coupler chooses are distinct version 4 UUIDs as text."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'quoted.sqlite'}")
    metadata = sa.MetaData()
    sa.Table(
        "Ship-to Address",
        metadata,
        sa.Column("No.", sa.String(40), primary_key=True),
        sa.Column("order", sa.String(20)),
        sa.Column("Quantity", sa.Integer),
        sa.Column("Due", sa.DateTime()),
    )
    metadata.create_all(engine)
    connector = SqlConnector(engine, display_name="ERP")
    spec = TableSpec(table="Ship-to Address", key="No.")
    keys = connector.new_keys(spec, 500)
    assert keys is not None and len(set(keys)) == 500
    assert all(str(uuid.UUID(k)) == k and uuid.UUID(k).version == 4 for k in keys)

    plain = [{"No.": key, "order": f'o"{i}', "Quantity": i} for i, key in enumerate(keys[:3])]
    dated = [{"No.": keys[3], "order": "d", "Quantity": None, "Due": T0}]
    assert all(r.ok for r in connector.insert(spec, [*plain, *dated]))

    found = {r.key: r.values for r in connector.read(spec, keys[:4], columns=["order", "Quantity", "Due"])}
    assert found[keys[1]] == {"order": 'o"1', "Quantity": 1, "Due": None}
    assert found[keys[3]]["Due"] == T0.replace(tzinfo=None)
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_bulk_insert_with_chosen_keys_lands_every_good_row_and_names_each_bad_one(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The driver's bulk path (SQLite's executemany, PostgreSQL's COPY) refuses a batch as a statement would: the
    batch is split until each bad row stands alone with its error, and the table's insert trigger runs for each row."""
    url = f"sqlite:///{tmp_path / 'bulk.sqlite'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    sa.Table(
        "account",
        metadata,
        sa.Column("accountid", sa.String(40), primary_key=True),
        sa.Column("accountnumber", sa.String(20), unique=True),
        sa.Column("name", sa.String(100)),
        sa.Column("shadow", sa.String(100)),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:  # a trigger copies the name: it must run for rows inserted in bulk too
        if kind == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER copy_name AFTER INSERT ON account BEGIN "
                "UPDATE account SET shadow = NEW.name WHERE accountid = NEW.accountid; END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION copy_name() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN NEW.shadow := NEW.name; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER copy_name BEFORE INSERT ON account FOR EACH ROW EXECUTE FUNCTION copy_name()"
            )
    connector = SqlConnector(engine, display_name="CRM")
    spec = TableSpec(table="account", key="accountid")
    keys = connector.new_keys(spec, 6)
    assert keys is not None
    numbers = ["A1", "A2", "A1", "A4", "A5", "A5"]  # the third and the sixth repeat a number: refused
    rows = [
        {"accountid": k, "accountnumber": n, "name": f"N\t{i}\\"}
        for i, (k, n) in enumerate(zip(keys, numbers, strict=True))
    ]

    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    results = connector.insert(spec, rows)

    assert [r.ok for r in results] == [True, True, False, True, True, False]
    if kind == "postgres":  # in COPYs, which SQLAlchemy does not see: no INSERT statement
        assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert all("account" in (r.error or "") for r in results if not r.ok)
    found = {r.key: r.values for r in connector.read(spec, keys, columns=["name", "shadow"])}
    assert sorted(found) == sorted([keys[0], keys[1], keys[3], keys[4]])
    assert found[keys[4]] == {"name": "N\t4\\", "shadow": "N\t4\\"}
    engine.dispose()
