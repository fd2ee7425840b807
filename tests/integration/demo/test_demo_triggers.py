"""The modified-on triggers: every insert and update, by any program, gets the database's own UTC timestamp."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from coupler.demo import DemoResult
from coupler.domain.timeutil import parse_timestamp

from .support import ISO_MS, connect, one
from .test_demo_schema import KEYS, MINIMAL, _database, insert

OLD = "2001-02-03T04:05:06.789Z"

# A column each table lets a test change without breaking a constraint.
EDITABLE = {
    "customers": ("city", "Springfield"),
    "contacts": ("jobTitle", "Buyer"),
    "salespeoplePurchasers": ("phoneNo", "+1 425 555 0100"),
    "currencies": ("symbol", "kr"),
    "items": ("unitPrice", 12.5),
    "account": ("address1_city", "Springfield"),
    "contact": ("jobtitle", "Buyer"),
    "systemuser": ("mobilephone", "+1 425 555 0100"),
    "transactioncurrency": ("currencysymbol", "kr"),
    "product": ("price", 12.5),
}


def _recent(stamp: str) -> bool:
    moment = parse_timestamp(stamp)
    assert moment is not None
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


def _stamp(db: sqlite3.Connection, table: str, modified_on: str, rowid: int) -> str:
    return str(one(db, f'SELECT "{modified_on}" FROM "{table}" WHERE rowid = ?', rowid)[0])


def _tick() -> None:
    """Let the millisecond clock move on."""
    time.sleep(0.005)


@pytest.fixture(params=[False, True], ids=["recursive_triggers=off", "recursive_triggers=on"])
def recursive(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize("table", sorted(MINIMAL))
def test_insert_sets_modified_on_even_when_given(demo: DemoResult, table: str, recursive: bool) -> None:
    path, modified_on = _database(demo, table)
    with connect(path) as db:
        db.execute(f"PRAGMA recursive_triggers = {'ON' if recursive else 'OFF'}")
        row = insert(db, table, {**MINIMAL[table], modified_on: OLD})
        assert row[modified_on] != OLD
        assert re.match(ISO_MS, row[modified_on]) and _recent(row[modified_on])
        unique = KEYS[table][1]
        values = {**MINIMAL[table], modified_on: None}
        if unique:
            values[unique] = "Z-2"
        assert re.match(ISO_MS, insert(db, table, values)[modified_on])


@pytest.mark.parametrize("table", sorted(EDITABLE))
def test_update_sets_modified_on(demo: DemoResult, table: str, recursive: bool) -> None:
    path, modified_on = _database(demo, table)
    column, value = EDITABLE[table]
    with connect(path) as db:
        db.execute(f"PRAGMA recursive_triggers = {'ON' if recursive else 'OFF'}")
        rowid = one(db, f'SELECT min(rowid) FROM "{table}"')[0]
        before = _stamp(db, table, modified_on, rowid)
        _tick()
        db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', (value, rowid))
        after = _stamp(db, table, modified_on, rowid)
        assert re.match(ISO_MS, after) and after > before and _recent(after)
        others = db.execute(f'SELECT count(*) FROM "{table}" WHERE "{modified_on}" = ?', (after,)).fetchone()[0]
        assert others == 1  # only the updated row


@pytest.mark.parametrize("table", sorted(EDITABLE))
def test_an_explicit_modified_on_is_overridden(demo: DemoResult, table: str, recursive: bool) -> None:
    path, modified_on = _database(demo, table)
    column, value = EDITABLE[table]
    with connect(path) as db:
        db.execute(f"PRAGMA recursive_triggers = {'ON' if recursive else 'OFF'}")
        rowid = one(db, f'SELECT max(rowid) FROM "{table}"')[0]
        before = _stamp(db, table, modified_on, rowid)
        _tick()
        db.execute(f'UPDATE "{table}" SET "{modified_on}" = ? WHERE rowid = ?', (OLD, rowid))
        alone = _stamp(db, table, modified_on, rowid)
        assert alone != OLD and alone > before and _recent(alone)
        _tick()
        sql = f'UPDATE "{table}" SET "{column}" = ?, "{modified_on}" = ? WHERE rowid = ?'
        db.execute(sql, (value, OLD, rowid))
        together = _stamp(db, table, modified_on, rowid)
        assert together != OLD and together > alone
        db.execute(f'UPDATE "{table}" SET "{modified_on}" = NULL WHERE rowid = ?', (rowid,))
        assert re.match(ISO_MS, _stamp(db, table, modified_on, rowid))
        assert one(db, f'SELECT count(*) FROM "{table}" WHERE "{modified_on}" IS NULL')[0] == 0


def test_a_multi_row_update_stamps_every_row(demo: DemoResult, recursive: bool) -> None:
    with connect(demo.erp) as db:
        db.execute(f"PRAGMA recursive_triggers = {'ON' if recursive else 'OFF'}")
        before = one(db, 'SELECT max("lastModifiedDateTime") FROM customers')[0]
        _tick()
        changed = db.execute("UPDATE customers SET creditLimit = creditLimit + 1 WHERE blocked = ''").rowcount
        stamps = db.execute("SELECT DISTINCT \"lastModifiedDateTime\" FROM customers WHERE blocked = ''").fetchall()
        assert changed >= 30
        assert len(stamps) == 1 and stamps[0][0] > before
        untouched = one(db, "SELECT max(\"lastModifiedDateTime\") FROM customers WHERE blocked <> ''")[0]
        assert untouched <= before


def test_the_triggers_exist_per_table(shared_demo: DemoResult) -> None:
    for table in KEYS:
        path, _ = _database(shared_demo, table)
        with connect(path) as db:
            names = {
                r[0]
                for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,))
            }
        assert names == {f"{table}_stamp_insert", f"{table}_stamp_update", f"{table}_stamp_override"}


def test_the_update_trigger_does_not_watch_the_modified_on_column(shared_demo: DemoResult) -> None:
    with connect(shared_demo.crm) as db:
        sql = one(db, "SELECT sql FROM sqlite_master WHERE name = 'account_stamp_update'")[0]
    watched = sql.split(" OF ", 1)[1].split(" ON ", 1)[0]
    assert '"modifiedon"' not in watched and '"name"' in watched
