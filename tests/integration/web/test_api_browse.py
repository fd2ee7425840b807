"""The records list service at scale: keyset pages and the total stay fast at 100,000 local records."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store import InMemoryStateStore
from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Direction, FieldMapping, TableMapping, TableSpec
from coupler.services.context import Systems
from coupler.services.views.browse import RecordFilter, browse

ROWS = 100_000


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Systems:
    path = Path(tmp_path_factory.mktemp("browse")) / "erp.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, number TEXT, name TEXT, modified TEXT)")
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, '2024-01-01T00:00:00')",
            ((f"k{i:06d}", f"C{i:06d}", f"Customer {i}") for i in range(ROWS)),
        )
    local = SqlConnector(create_sql_engine(f"sqlite:///{path}"), display_name="ERP")
    spec = TableSpec(table="customers", key="id", modified_on="modified", display_key="number")
    other = TableSpec(table="accounts", key="id")
    mapping = TableMapping(
        name="CUSTOMER",
        local=spec,
        integration=other,
        direction=Direction.BIDIRECTIONAL,
        fields=(FieldMapping(local="name", integration="name", direction=Direction.BIDIRECTIONAL),),
    )
    store = InMemoryStateStore()
    at = datetime(2024, 1, 1, tzinfo=UTC)
    store.couplings.add(
        [
            Coupling(mapping="CUSTOMER", local_key=f"k{i:06d}", integration_key=f"i{i}", coupled_at=at)
            for i in range(0, ROWS, 10)
        ]
    )
    return Systems(local=local, integration=local, store=store, mappings=[mapping])


def _timed(systems: Systems, **kwargs: object) -> tuple[float, object]:
    started = time.perf_counter()
    page = browse(systems, "CUSTOMER", **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started, page


def test_a_deep_page_costs_what_the_first_costs(systems: Systems) -> None:
    first_time, first = _timed(systems, limit=50)
    deep_time, deep = _timed(systems, limit=50, after="k090000")
    assert first.total == ROWS  # type: ignore[attr-defined]
    assert [r.key for r in deep.rows][:2] == ["k090001", "k090002"]  # type: ignore[attr-defined]
    assert deep.next_after == "k090050"  # type: ignore[attr-defined]
    assert first_time < 1.0 and deep_time < 1.0, (first_time, deep_time)


def test_filters_and_search_at_scale(systems: Systems) -> None:
    elapsed, coupled = _timed(systems, filter=RecordFilter.COUPLED, limit=20, after="k050000")
    assert coupled.total == ROWS // 10 and [r.key for r in coupled.rows][:2] == ["k050010", "k050020"]  # type: ignore[attr-defined]
    assert elapsed < 1.0
    elapsed, uncoupled = _timed(systems, filter=RecordFilter.UNCOUPLED, limit=20)
    assert uncoupled.total == ROWS - ROWS // 10 and not any(r.coupled for r in uncoupled.rows)  # type: ignore[attr-defined]
    assert elapsed < 1.0
    elapsed, found = _timed(systems, search="C09999", limit=20)
    assert [r.display for r in found.rows][:2] == ["C099990", "C099991"]  # type: ignore[attr-defined]
    assert elapsed < 2.0
    _, named = _timed(systems, search="customer 4242", limit=5)
    assert "Customer 4242" in [r.name for r in named.rows]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["c09999", "C09999", "CUSTOMER 9999", "cUsToMeR 9999"])
def test_search_ignores_letter_case_and_stays_fast_at_scale(systems: Systems, text: str) -> None:
    elapsed, found = _timed(systems, search=text, limit=20)
    names = [(r.display, r.name) for r in found.rows]  # type: ignore[attr-defined]
    assert names[0] in (("C009999", "Customer 9999"), ("C099990", "Customer 99990")), names
    assert all(d.lower().startswith(text.lower()) or n.lower().startswith(text.lower()) for d, n in names), names
    assert elapsed < 1.0, elapsed
    expected = 10 if text.lower().startswith("c0") else 11  # C099990-C099999; Customer 9999 and 99990-99999
    assert found.total == expected == len(_timed(systems, search=text, limit=500)[1].rows)  # type: ignore[attr-defined]
    deep_time, deep = _timed(systems, search=text, limit=5, after=found.rows[-1].key)  # type: ignore[attr-defined]
    assert deep_time < 1.0 and all(r.key > found.rows[-1].key for r in deep.rows)  # type: ignore[attr-defined]


def test_search_is_a_prefix_and_a_rare_text_scans_quickly(systems: Systems) -> None:
    elapsed, none = _timed(systems, search="ustomer", limit=20)
    assert none.rows == () and none.next_after is None  # type: ignore[attr-defined]
    assert elapsed < 1.0, "no match at all reads the whole table once, in well under a second"
    _, percent = _timed(systems, search="C%", limit=5)
    assert percent.rows == (), "wildcards are taken literally"  # type: ignore[attr-defined]
    assert browse(systems, "CUSTOMER", filter=RecordFilter.CONFLICT).rows == ()
    assert browse(systems, "CUSTOMER", filter=RecordFilter.FAILED).rows == ()
