"""The whole stack on real databases: config -> bootstrap -> SQL connectors and SQL state store, on SQLite files and
on PostgreSQL (both systems and coupler's state in one PostgreSQL database, as a shared server would hold them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from coupler.bootstrap import open_coupler
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Direction, Side
from coupler.services.api import Coupler

CONFIG = """
state = "{state}"
[sync]
batch_size = 7
[local]
name = "ERP"
url = "{erp}"
[integration]
name = "CRM"
url = "{crm}"
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
integration = {{ table = "account", key = "accountid", display_key = "name", modified_on = "modifiedon" }}
fields = [
  {{ local = "name", integration = "name" }},
  {{ local = "city", integration = "address1_city" }},
  {{ local = "number", integration = "accountnumber", direction = "to-integration" }},
  {{ integration = "customertypecode", constant = 3, direction = "to-integration" }},
]
[mappings.local]
table = "customers"
key = "id"
display_key = "number"
modified_on = "modified"
filter = [{{ field = "blocked", op = "eq", value = 0 }}]
"""


def _tables(engine: sa.Engine) -> None:
    postgres = engine.dialect.name == "postgresql"
    stamp = "timestamptz" if postgres else "TEXT"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE customers (id VARCHAR(36) PRIMARY KEY, number VARCHAR(20) NOT NULL UNIQUE, "
            f"name VARCHAR(100), city VARCHAR(30), blocked INTEGER NOT NULL DEFAULT 0, modified {stamp})"
        )
        conn.exec_driver_sql(
            "CREATE TABLE account (accountid VARCHAR(36) PRIMARY KEY, "
            "name VARCHAR(40) NOT NULL CHECK (length(name) <= 40), "
            f"accountnumber VARCHAR(20), address1_city VARCHAR(30), customertypecode INTEGER, modifiedon {stamp})"
        )
        for table, column in (("customers", "modified"), ("account", "modifiedon")):
            if postgres:
                conn.exec_driver_sql(
                    f"CREATE FUNCTION stamp_{table}() RETURNS trigger AS $$ BEGIN "
                    f"NEW.{column} := clock_timestamp(); RETURN NEW; END $$ LANGUAGE plpgsql"
                )
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {table}_stamp BEFORE INSERT OR UPDATE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION stamp_{table}()"
                )
            else:
                now = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
                watched = "name, city, blocked" if table == "customers" else "name, address1_city, accountnumber"
                for event in ("INSERT", f"UPDATE OF {watched}"):
                    label = event.split()[0].lower()
                    conn.exec_driver_sql(
                        f"CREATE TRIGGER {table}_{label} AFTER {event} ON {table} BEGIN "
                        f"UPDATE {table} SET {column} = {now} WHERE rowid = NEW.rowid; END"
                    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Coupler, sa.Engine, sa.Engine]]:
    if request.param == "sqlite":
        urls = {"state": "sqlite:///state.db", "erp": "sqlite:///erp.db", "crm": "sqlite:///crm.db"}
        engines = (
            sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}"),
            sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}"),
        )
        for engine in engines:  # each file gets both tables; the ERP uses one, the CRM the other
            _tables(engine)
        yield from _run(tmp_path, urls, engines)
        return
    url: sa.URL = request.getfixturevalue("pg_url")
    text = url.render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    _tables(engine)
    yield from _run(tmp_path, {"state": text, "erp": text, "crm": text}, (engine, engine))


def _run(
    tmp_path: Path, urls: dict[str, str], engines: tuple[sa.Engine, sa.Engine]
) -> Iterator[tuple[Coupler, sa.Engine, sa.Engine]]:
    try:
        coupler = _prepare(tmp_path, urls, engines[0])
        try:
            yield coupler, engines[0], engines[1]
        finally:
            coupler.close()
    finally:
        for engine in set(engines):
            engine.dispose()


def _prepare(tmp_path: Path, urls: dict[str, str], erp: sa.Engine) -> Coupler:
    with erp.begin() as conn:
        for n in range(20):
            conn.execute(
                sa.text("INSERT INTO customers (id, number, name, city, blocked) VALUES (:id, :n, :name, 'Oslo', :b)"),
                {
                    "id": f"00000000-0000-0000-0000-{n:012d}",
                    "n": f"C{n:03d}",
                    "name": f"Customer {n}",
                    "b": int(n == 19),
                },
            )
    (tmp_path / "coupler.toml").write_text(CONFIG.format(**urls))
    return open_coupler(tmp_path / "coupler.toml")


def _one(engine: sa.Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _run_sql(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_full_incremental_conflict_and_rejection(setup: tuple[Coupler, sa.Engine, sa.Engine]) -> None:
    coupler, erp, crm = setup
    full = coupler.sync_full("CUSTOMER")
    assert full.ok, full.errors
    assert (full.job.counters.inserted, full.job.counters.coupled) == (19, 19)
    assert _one(crm, "SELECT count(*) FROM account WHERE customertypecode = 3") == 19
    assert [r.job.counters.modified + r.job.counters.inserted for r in coupler.sync_modified()] == [0]

    _run_sql(erp, "UPDATE customers SET city = 'Bergen' WHERE number = 'C001'")
    account = coupler.status("CUSTOMER", "C002").coupling
    assert account is not None
    _run_sql(crm, "UPDATE account SET address1_city = 'Trondheim' WHERE accountid = :k", k=account.integration_key)
    report = coupler.sync_modified()[0]
    assert (report.job.counters.modified, report.job.counters.failed) == (2, 0)
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C001'") == "Bergen"
    assert _one(erp, "SELECT city FROM customers WHERE number = 'C002'") == "Trondheim"
    assert [r.job.counters.modified for r in coupler.sync_modified()] == [0], "no echo"

    _run_sql(erp, "UPDATE customers SET name = 'Local edit' WHERE number = 'C003'")
    _run_sql(crm, "UPDATE account SET name = 'CRM edit' WHERE accountnumber = 'C003'")
    _run_sql(
        erp,
        "UPDATE customers SET name = :n WHERE number = 'C004'",
        n="A name far too long for the CRM column to hold it",
    )
    _run_sql(erp, "UPDATE customers SET city = 'Tromsø' WHERE number = 'C005'")
    report = coupler.sync_modified()[0]
    counters = report.job.counters
    assert (counters.modified, counters.failed, counters.conflicts) == (1, 1, 1)
    messages = " ".join(e.message for e in report.errors)
    assert "ERP customers C003: Both records changed name to different values" in messages
    assert "ERP customers C004: name is 49 characters; CRM allows 40." in messages, "refused before it is sent"
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C005'") == "Tromsø"
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C003'") == "CRM edit"

    resolved = coupler.sync("CUSTOMER", ["C003"], direction=Direction.TO_INTEGRATION)
    assert resolved.ok
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C003'") == "Local edit"
    decoupled = coupler.decouple("CUSTOMER", ["C003"])
    assert decoupled.job.counters.uncoupled == 1
    assert coupler.systems.store.couplings.get("CUSTOMER", Side.LOCAL, "00000000-0000-0000-0000-000000000003") is None


def test_unknown_columns_are_configuration_errors(setup: tuple[Coupler, sa.Engine, sa.Engine], tmp_path: Path) -> None:
    path = tmp_path / "coupler.toml"
    path.write_text(path.read_text().replace('local = "city"', 'local = "town"'))
    with pytest.raises(ConfigurationError) as caught:
        open_coupler(path)
    assert caught.value.problems == [
        f"{path}: mapping CUSTOMER, key fields[1].local: table 'customers' of ERP has no column 'town'"
    ]


def test_a_user_edit_committed_between_read_and_write_is_never_overwritten(
    setup: tuple[Coupler, sa.Engine, sa.Engine],
) -> None:
    """coupler reads two changed customers and their accounts; just before its UPDATE of the accounts runs, a user
    edits both accounts (the city of one, as coupler is about to; the name of the other). Neither edit is lost: the
    conditional update leaves both accounts as the user made them, and the next run synchronizes them (the same
    field changed on both sides is parked as a conflict, the other field flows back)."""
    coupler, erp, crm = setup
    assert coupler.sync_full("CUSTOMER").ok
    _run_sql(erp, "UPDATE customers SET city = 'Bergen' WHERE number = 'C001'")
    _run_sql(erp, "UPDATE customers SET city = 'Stavanger' WHERE number = 'C002'")
    fired: list[str] = []

    def users_edit(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not fired and statement.lstrip().upper().startswith("UPDATE ACCOUNT"):
            fired.append(statement)
            _run_sql(crm, "UPDATE account SET address1_city = 'Trondheim' WHERE accountnumber = 'C001'")
            _run_sql(crm, "UPDATE account SET name = 'Renamed in the CRM' WHERE accountnumber = 'C002'")

    engine = coupler.systems.integration._engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", users_edit)
    try:
        first = coupler.sync_modified()[0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", users_edit)

    assert fired, "the edits ran between coupler's read and its write"
    assert (first.job.counters.modified, first.job.counters.failed) == (0, 2)
    assert all("since it was read" in e.message for e in first.errors), first.errors
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C001'") == "Trondheim"
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C002'") == "Oslo"

    second = coupler.sync_modified()[0]
    assert second.job.counters.conflicts == 1, second.errors
    assert [c.local_key for c in coupler.conflicts("CUSTOMER")] == ["00000000-0000-0000-0000-000000000001"]
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C001'") == "Trondheim"
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C002'") == "Stavanger"
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C002'") == "Renamed in the CRM"
    assert _one(erp, "SELECT name FROM customers WHERE number = 'C002'") == "Renamed in the CRM", "flowed back"
    assert [r.job.counters.modified for r in coupler.sync_modified()] == [0]


def test_a_user_edit_committed_right_after_coupler_wrote_is_not_taken_for_coupler_s_own(
    setup: tuple[Coupler, sa.Engine, sa.Engine],
) -> None:
    """coupler writes an account, then reads back its modified-on to store as the pair's. A user's edit committed in
    between would have its stamp stored as coupler's, so it would never be synchronized: the stamp is read in the
    write's own transaction, and the user's edit (held back until that commits) is synchronized by the next run."""
    coupler, erp, crm = setup
    assert coupler.sync_full("CUSTOMER").ok
    _run_sql(erp, "UPDATE customers SET city = 'Bergen' WHERE number = 'C001'")
    seen: list[str] = []
    edits: list[threading.Thread] = []

    def users_edit(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        text = " ".join(statement.split())
        if text.upper().startswith("UPDATE ACCOUNT"):
            seen.append("update")
        elif seen == ["update"] and text.startswith("SELECT account.accountid, account.modifiedon FROM account"):
            seen.append("read back")
            sql = "UPDATE account SET name = 'Renamed in the CRM' WHERE accountnumber = 'C001'"
            edits.append(threading.Thread(target=_run_sql, args=(crm, sql)))
            edits[0].start()
            edits[0].join(timeout=1)  # it lands now, unless coupler's transaction holds the row

    engine = coupler.systems.integration._engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", users_edit)
    try:
        first = coupler.sync_modified()[0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", users_edit)
        for edit in edits:
            edit.join(timeout=30)

    assert seen == ["update", "read back"]
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C001'") == "Renamed in the CRM"
    second = coupler.sync_modified()[0]
    modified = first.job.counters.modified + second.job.counters.modified
    assert modified == 2, "the city went out; the user's edit is a change, not coupler's own write, and came back"
    assert _one(erp, "SELECT name FROM customers WHERE number = 'C001'") == "Renamed in the CRM"
    assert [r.job.counters.modified for r in coupler.sync_modified()] == [0]
