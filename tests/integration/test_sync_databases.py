"""The whole stack on real databases: config -> bootstrap -> SQL connectors and SQL state store, on SQLite files and
on PostgreSQL (both systems and coupler's state in one PostgreSQL database, as a shared server would hold them)."""

from __future__ import annotations

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
    assert "C003" in messages and "name/name" in messages
    assert "C004" in messages and "rejected" in messages
    assert _one(crm, "SELECT address1_city FROM account WHERE accountnumber = 'C005'") == "Tromsø"
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C003'") == "CRM edit"

    resolved = coupler.sync("CUSTOMER", ["C003"], direction=Direction.TO_INTEGRATION)
    assert resolved.ok
    assert _one(crm, "SELECT name FROM account WHERE accountnumber = 'C003'") == "Local edit"
    decoupled = coupler.decouple("CUSTOMER", ["C003"])
    assert decoupled.job.counters.uncoupled == 1
    assert coupler.systems.store.coupling("CUSTOMER", Side.LOCAL, "00000000-0000-0000-0000-000000000003") is None


def test_unknown_columns_are_configuration_errors(setup: tuple[Coupler, sa.Engine, sa.Engine], tmp_path: Path) -> None:
    path = tmp_path / "coupler.toml"
    path.write_text(path.read_text().replace('local = "city"', 'local = "town"'))
    with pytest.raises(ConfigurationError) as caught:
        open_coupler(path)
    assert caught.value.problems == [
        f"{path}: mapping CUSTOMER, key fields[1].local: table 'customers' of ERP has no column 'town'"
    ]
