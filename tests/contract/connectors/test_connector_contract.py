"""The connector contract: every connector behaves the same (in-memory fake, SQLite, PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contract.connectors.backends import DATA_COLUMNS, KEY, MODIFIED_ON, SPEC, TABLE, Backend
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Condition, Operator
from coupler.domain.records import ChangeCursor, Record, RecordUpdate

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def seed(backend: Backend, count: int, **values: Any) -> list[str]:
    rows = [{KEY: f"k{i:04d}", "name": f"Customer {i}", **values} for i in range(count)]
    results = backend.connector.insert(SPEC, rows)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return [row[KEY] for row in rows]


def changed(
    backend: Backend, since: datetime | None, page_size: int = 100, spec: Any = SPEC, *, key: str | None = None
) -> list[list[Record]]:
    """The pages read after the cursor (``since``, ``key``), or of everything when ``since`` is None."""
    cursor = None if since is None else ChangeCursor(stamp=since, key=key)
    return list(backend.connector.changed_since(spec, cursor, columns=DATA_COLUMNS, page_size=page_size))


def keys_of(pages: list[list[Record]]) -> list[str]:
    return [record.key for page in pages for record in page]


# describe -------------------------------------------------------------------------------------------------------
def test_describe_lists_the_columns(backend: Backend) -> None:
    columns = backend.connector.describe(TABLE)

    assert columns is not None
    assert set(columns) - backend.system_columns == {*DATA_COLUMNS, MODIFIED_ON}
    assert columns[KEY].primary_key and not columns[KEY].nullable
    assert columns["name"].type == "string" and columns["name"].max_length == 100 and not columns["name"].nullable
    assert columns["city"].nullable and not columns["city"].primary_key
    assert columns["credit_limit"].type == "integer"
    assert backend.connector.describe("no_such_table") is None


# read -----------------------------------------------------------------------------------------------------------
def test_read_returns_existing_keys_only(backend: Backend) -> None:
    keys = seed(backend, 3, city="Berlin")

    records = backend.connector.read(SPEC, [keys[2], "missing", keys[0]], columns=["name", "city"])

    assert [r.key for r in records] == [keys[2], keys[0]]
    assert records[0].values == {"name": "Customer 2", "city": "Berlin"}
    assert records[0].modified_on is not None and records[0].modified_on.tzinfo is not None
    assert records[0].modified_on.utcoffset() == timedelta(0)


def test_read_chunks_long_key_lists(backend: Backend) -> None:
    keys = seed(backend, 1203)

    records = backend.connector.read(SPEC, [*keys, "missing-1", "missing-2"], columns=["name"])

    assert [r.key for r in records] == keys


# changed_since --------------------------------------------------------------------------------------------------
def test_changed_since_none_reads_everything_in_order(backend: Backend) -> None:
    keys = seed(backend, 7)

    records = [r for page in changed(backend, None) for r in page]

    assert sorted(r.key for r in records) == keys
    positions = [(r.modified_on, r.key) for r in records]
    assert positions == sorted(positions)  # type: ignore[type-var]


def test_changed_since_is_exclusive(backend: Backend) -> None:
    keys = seed(backend, 3)
    for offset, key in enumerate(keys):
        backend.set_modified_on([key], T0 + timedelta(seconds=offset))

    assert keys_of(changed(backend, T0 + timedelta(seconds=1))) == [keys[2]]
    assert keys_of(changed(backend, T0 - timedelta(milliseconds=1))) == keys
    assert keys_of(changed(backend, T0 + timedelta(seconds=2))) == []
    record = changed(backend, T0 + timedelta(seconds=1))[0][0]
    assert record.modified_on == T0 + timedelta(seconds=2)


def test_changed_since_pages_through_ties_without_gaps_or_repeats(backend: Backend) -> None:
    keys = seed(backend, 23)
    backend.set_modified_on(keys[:10], T0)
    backend.set_modified_on(keys[10:20], T0 + timedelta(milliseconds=1))
    backend.set_modified_on(keys[20:], T0 + timedelta(milliseconds=2))

    pages = changed(backend, None, page_size=3)

    assert [len(page) for page in pages] == [3] * 7 + [2]
    assert keys_of(pages) == keys
    assert keys_of(changed(backend, T0, page_size=4)) == keys[10:]


def test_changed_since_a_cursor_with_a_key_resumes_among_the_records_of_its_stamp(backend: Backend) -> None:
    """A run that stopped after a page ending inside records that share one stamp resumes with the rest of them:
    after the key in the system's own order, or (a service whose key order a filter cannot reach) with all of
    them again; never past them."""
    keys = seed(backend, 12)
    backend.set_modified_on([keys[0]], T0 - timedelta(seconds=1))
    backend.set_modified_on(keys[1:9], T0)
    backend.set_modified_on(keys[9:], T0 + timedelta(seconds=1))

    resumed = keys_of(changed(backend, T0, page_size=3, key=keys[4]))

    assert resumed == (keys[5:] if backend.keyset else keys[1:])
    assert keys_of(changed(backend, T0, key=keys[8])) == (keys[9:] if backend.keyset else keys[1:])
    assert keys_of(changed(backend, T0)) == keys[9:], "no key: every record of the stamp was seen"


def test_records_never_stamped_come_first_and_only_when_reading_everything(backend: Backend) -> None:
    keys = seed(backend, 5)
    for offset, key in enumerate(keys):
        backend.set_modified_on([key], T0 + timedelta(seconds=offset))
    backend.set_modified_on([keys[3], keys[1]], None)

    pages = changed(backend, None, page_size=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert keys_of(pages) == [keys[1], keys[3], keys[0], keys[2], keys[4]]
    assert pages[0][0].modified_on is None
    assert keys_of(changed(backend, T0 - timedelta(seconds=1))) == [keys[0], keys[2], keys[4]]


def test_changed_since_without_modified_on_pages_by_key(backend: Backend) -> None:
    keys = seed(backend, 5)
    spec = replace(SPEC, modified_on=None)

    pages = changed(backend, datetime(2999, 1, 1, tzinfo=UTC), page_size=2, spec=spec)

    assert keys_of(pages) == keys
    assert all(record.modified_on is None for page in pages for record in page)


ROWS = (
    {KEY: "a", "name": "Alpha", "city": "Berlin", "credit_limit": 0},
    {KEY: "b", "name": "alpine", "city": "Bern", "credit_limit": 100},
    {KEY: "c", "name": "Beta 50%_off", "city": None, "credit_limit": 250},
    {KEY: "d", "name": "Gamma", "city": "Paris", "credit_limit": None},
)


@pytest.mark.parametrize(
    "condition",
    [
        Condition(field="city", op=Operator.EQ, value="Berlin"),
        Condition(field="city", op=Operator.EQ, value=None),
        Condition(field="city", op=Operator.NE, value="Berlin"),
        Condition(field="credit_limit", op=Operator.LT, value=100),
        Condition(field="credit_limit", op=Operator.LE, value=100),
        Condition(field="credit_limit", op=Operator.GT, value=100),
        Condition(field="credit_limit", op=Operator.GE, value=100),
        Condition(field="city", op=Operator.IN, value=["Bern", "Paris"]),
        Condition(field="city", op=Operator.IN, value=["Bern", None]),
        Condition(field="city", op=Operator.NOT_IN, value=["Bern", "Paris"]),
        Condition(field="city", op=Operator.NOT_IN, value=["Bern", None]),
        Condition(field="city", op=Operator.IS_NULL),
        Condition(field="credit_limit", op=Operator.NOT_NULL),
        Condition(field="name", op=Operator.STARTSWITH, value="Al"),
        Condition(field="name", op=Operator.CONTAINS, value="a"),
        Condition(field="name", op=Operator.CONTAINS, value="0%_"),
    ],
    ids=lambda c: f"{c.field}-{c.op.value}-{c.value}",
)
def test_filters_mean_what_condition_matches_means(backend: Backend, condition: Condition) -> None:
    rows = [backend.stored(row) for row in ROWS]  # Business Central: a blank city, not a null one
    assert all(r.ok for r in backend.connector.insert(SPEC, rows))
    spec = replace(SPEC, filter=(condition,))
    expected = [row[KEY] for row in rows if backend.means(condition).matches(row)]

    assert keys_of(changed(backend, None, spec=spec)) == expected
    assert [r.key for r in backend.connector.find(spec, {}, columns=["name"])] == expected


def test_a_filter_on_an_unknown_column_names_table_and_column(backend: Backend) -> None:
    spec = replace(SPEC, filter=(Condition(field="colour", value="red"),))

    with pytest.raises(ConfigurationError, match=rf"(?s)(?=.*{TABLE})(?=.*colour)"):
        next(iter(backend.connector.changed_since(spec, None, columns=DATA_COLUMNS, page_size=10)))


# find -----------------------------------------------------------------------------------------------------------
def test_find_compares_text_case_insensitively_on_request(backend: Backend) -> None:
    assert all(r.ok for r in backend.connector.insert(SPEC, [backend.stored(row) for row in ROWS]))
    connector = backend.connector

    assert [r.key for r in connector.find(SPEC, {"name": "ALPHA"}, columns=["name"], case_sensitive=False)] == ["a"]
    assert connector.find(SPEC, {"name": "ALPHA"}, columns=["name"]) == []
    assert [r.key for r in connector.find(SPEC, {"name": "Alpha", "city": "Berlin"}, columns=["city"])] == ["a"]
    assert [r.key for r in connector.find(SPEC, {"city": None}, columns=["city"])] == ["c"], "null, or the blank"
    assert len(connector.find(SPEC, {}, columns=["name"], limit=3)) == 3
    filtered = replace(SPEC, filter=(Condition(field="city", value="Bern"),))
    assert connector.find(filtered, {"name": "Alpha"}, columns=["name"]) == []


# find_any -------------------------------------------------------------------------------------------------------
def test_find_any_returns_the_records_holding_any_of_the_values_in_key_order(backend: Backend) -> None:
    assert all(r.ok for r in backend.connector.insert(SPEC, ROWS))
    connector = backend.connector

    found = connector.find_any(SPEC, "city", ["Paris", "missing", None, "Berlin", "Paris"], columns=["name", "city"])

    assert [r.key for r in found] == ["a", "d"]
    assert found[1].values == {"name": "Gamma", "city": "Paris"}
    assert found[0].modified_on is not None
    assert [r.key for r in connector.find_any(SPEC, "credit_limit", [250, 0, 7], columns=["name"])] == ["a", "c"]
    assert connector.find_any(SPEC, "city", [], columns=["name"]) == []
    assert connector.find_any(SPEC, "city", [None], columns=["name"]) == [], "None matches nothing, not NULL"


def test_find_any_compares_text_case_insensitively_on_request(backend: Backend) -> None:
    assert all(r.ok for r in backend.connector.insert(SPEC, ROWS))
    connector = backend.connector

    found = connector.find_any(SPEC, "name", ["ALPHA", "Alpine", "gamma"], columns=["name"], case_sensitive=False)

    assert [r.key for r in found] == ["a", "b", "d"]
    assert [r.key for r in connector.find_any(SPEC, "name", ["ALPHA", "Alpha"], columns=["name"])] == ["a"]
    numbers = connector.find_any(SPEC, "credit_limit", [100, 250], columns=["name"], case_sensitive=False)
    assert [r.key for r in numbers] == ["b", "c"], "a number column compares numbers whatever the case setting"


def test_find_any_applies_the_spec_filter_and_returns_every_record_of_a_value(backend: Backend) -> None:
    rows = [*ROWS, {KEY: "e", "name": "Alpha", "city": "Bern", "credit_limit": 5}]
    assert all(r.ok for r in backend.connector.insert(SPEC, rows))
    connector = backend.connector

    assert [r.key for r in connector.find_any(SPEC, "name", ["alpha"], columns=["city"], case_sensitive=False)] == [
        "a",
        "e",
    ]
    in_bern = replace(SPEC, filter=(Condition(field="city", value="Bern"),))
    found = connector.find_any(in_bern, "name", ["Alpha", "alpine", "Gamma"], columns=["city"], case_sensitive=False)
    assert [r.key for r in found] == ["b", "e"]


def test_find_any_chunks_long_value_lists(backend: Backend) -> None:
    keys = seed(backend, 1203)
    names = [f"CUSTOMER {i}" for i in reversed(range(1203))]

    found = backend.connector.find_any(SPEC, "name", [*names, "nobody"], columns=["name"], case_sensitive=False)

    assert [r.key for r in found] == keys
    assert found[7].values == {"name": "Customer 7"}


def test_find_any_on_an_unknown_column_names_it(backend: Backend) -> None:
    with pytest.raises(ConfigurationError, match="colour"):
        backend.connector.find_any(SPEC, "colour", ["red"], columns=["name"])


# insert ---------------------------------------------------------------------------------------------------------
def test_insert_returns_keys_and_modified_on(backend: Backend) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    results = backend.connector.insert(SPEC, [{"name": "New"}, {KEY: "given", "name": "Given", "credit_limit": 7}])

    assert [r.index for r in results] == [0, 1] and all(r.ok for r in results)
    generated = results[0].key
    assert generated and results[1].key == "given"
    records = {r.key: r for r in backend.connector.read(SPEC, [generated, "given"], columns=DATA_COLUMNS)}
    assert records["given"].values == {KEY: "given", "name": "Given", "city": None, "credit_limit": 7}
    assert records[generated].values["name"] == "New"
    for result in results:
        assert result.modified_on is not None and result.modified_on > before
        assert result.modified_on == records[result.key or ""].modified_on


def test_keys_chosen_in_advance_are_the_keys_records_get(backend: Backend) -> None:
    keys = backend.connector.new_keys(SPEC, 3)
    assert keys is not None and len(set(keys)) == 3, "text keys are GUIDs coupler can choose before inserting"
    results = backend.connector.insert(SPEC, [{KEY: key, "name": f"N{n}"} for n, key in enumerate(keys)])
    assert [r.key for r in results] == keys


def test_insert_isolates_rejected_rows(backend: Backend) -> None:
    rows = [
        {KEY: "ok1", "name": "One"},
        {KEY: "bad-null", "name": None},
        {KEY: "ok2", "name": "Two", "credit_limit": 5},
        {KEY: "bad-check", "name": "Three", "credit_limit": -5},
        {KEY: "ok3", "name": "Four"},
    ]

    results = backend.connector.insert(SPEC, rows)

    assert [r.index for r in results] == list(range(5))
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert "name" in (results[1].error or "")
    assert "credit_limit" in (results[3].error or "")
    assert all(r.detail for r in results if not r.ok)
    landed = backend.connector.read(SPEC, [row[KEY] for row in rows], columns=["name"])
    assert [r.key for r in landed] == ["ok1", "ok2", "ok3"]


def test_insert_rejects_an_unknown_column(backend: Backend) -> None:
    with pytest.raises(ConfigurationError, match="colour"):
        backend.connector.insert(SPEC, [{KEY: "x", "name": "X", "colour": "red"}])


# update ---------------------------------------------------------------------------------------------------------
def test_update_changes_only_the_given_columns(backend: Backend) -> None:
    keys = seed(backend, 3, city="Berlin", credit_limit=10)
    backend.set_modified_on(keys, T0)

    results = backend.connector.update(
        SPEC,
        [
            RecordUpdate(key=keys[0], values={"city": "Paris"}),
            RecordUpdate(key="missing", values={"city": "Rome"}),
            RecordUpdate(key=keys[2], values={"name": "Renamed", "credit_limit": 20}),
            RecordUpdate(key=keys[1], values={"credit_limit": -1}),
        ],
    )

    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[1].error == f"record missing does not exist in {TABLE}"
    assert "credit_limit" in (results[3].error or "")
    records = {r.key: r for r in backend.connector.read(SPEC, keys, columns=DATA_COLUMNS)}
    assert records[keys[0]].values == {KEY: keys[0], "name": "Customer 0", "city": "Paris", "credit_limit": 10}
    assert records[keys[1]].values == {KEY: keys[1], "name": "Customer 1", "city": "Berlin", "credit_limit": 10}
    assert records[keys[2]].values == {KEY: keys[2], "name": "Renamed", "city": "Berlin", "credit_limit": 20}
    for result in (results[0], results[2]):
        assert result.key is not None
        assert result.modified_on is not None and result.modified_on > T0
        assert result.modified_on == records[result.key].modified_on
    assert records[keys[1]].modified_on == T0
    assert keys_of(changed(backend, T0)) == sorted([keys[0], keys[2]], key=lambda k: records[k].modified_on or T0)


# delete ---------------------------------------------------------------------------------------------------------
def test_delete_removes_records_and_reports_missing_ones(backend: Backend) -> None:
    keys = seed(backend, 3)

    results = backend.connector.delete(SPEC, [keys[0], "missing", keys[2]])

    assert [(r.index, r.ok, r.key) for r in results] == [(0, True, keys[0]), (1, False, "missing"), (2, True, keys[2])]
    assert results[1].error == f"record missing does not exist in {TABLE}"
    assert [r.key for r in backend.connector.read(SPEC, keys, columns=["name"])] == [keys[1]]


def test_an_update_given_the_version_read_refuses_a_record_changed_since_and_keeps_the_change(backend: Backend) -> None:
    """Optimistic concurrency: coupler reads, a user edits one of the records, coupler writes with the versions it
    read. The edited record is not written (a retryable error: read it again); the others are."""
    keys = seed(backend, 3, city="Berlin")
    backend.set_modified_on(keys, T0)
    read = {r.key: r for r in backend.connector.read(SPEC, keys, columns=DATA_COLUMNS)}
    assert all(read[key].version for key in keys), "records read by key carry a version"
    [edit] = backend.connector.update(SPEC, [RecordUpdate(key=keys[1], values={"city": "Lyon"})])  # a user's
    assert edit.ok

    results = backend.connector.update(
        SPEC, [RecordUpdate(key=key, values={"city": "Paris"}, version=read[key].version) for key in keys]
    )

    assert [(r.index, r.ok, r.key) for r in results] == [(0, True, keys[0]), (1, False, keys[1]), (2, True, keys[2])]
    assert results[1].retryable and "since it was read" in (results[1].error or "")
    now = {r.key: r for r in backend.connector.read(SPEC, keys, columns=DATA_COLUMNS)}
    assert [now[key].values["city"] for key in keys] == ["Paris", "Lyon", "Paris"], "the user's change is kept"
    assert now[keys[1]].modified_on == edit.modified_on
    for result in (results[0], results[2]):
        assert result.modified_on is not None and result.modified_on == now[result.key or ""].modified_on

    [again] = backend.connector.update(
        SPEC, [RecordUpdate(key=keys[1], values={"city": "Paris"}, version=now[keys[1]].version)]
    )
    assert again.ok, "read again, the record is written"
    assert backend.connector.read(SPEC, [keys[1]], columns=["city"])[0].values["city"] == "Paris"
