"""The connector contract for the records list's search: a prefix of any of the fields, whatever the letter case,
within the spec's filter, in key order after a key (every connector: in-memory, SQLite, PostgreSQL, HTTP)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contract.connectors.backends import KEY, SPEC, Backend
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Condition, Operator, TableSpec
from coupler.domain.ordering import Bookmark

ROWS = (
    {KEY: "a", "name": "Alpha", "city": "Berlin", "credit_limit": 0},
    {KEY: "b", "name": "alpine", "city": "Bern", "credit_limit": 100},
    {KEY: "c", "name": "Beta 50%_off", "city": None, "credit_limit": 250},
    {KEY: "d", "name": "Gamma", "city": "Paris", "credit_limit": None},
    {KEY: "e", "name": "ALPS", "city": "Bern", "credit_limit": 5},
)


@pytest.fixture
def backend_with_rows(backend: Backend) -> Backend:
    assert all(r.ok for r in backend.connector.insert(SPEC, ROWS))
    return backend


def _keys(
    backend: Backend,
    fields: list[str],
    text: str,
    *,
    spec: TableSpec = SPEC,
    after: str | None = None,
    limit: int = 100,
) -> list[str]:
    found = backend.connector.search(spec, fields, text, columns=["name", "city"], after=after, limit=limit)
    return [record.key for record in found]


@pytest.mark.parametrize("text", ["alp", "ALP", "Alp"])
def test_search_finds_a_prefix_whatever_the_letter_case(backend_with_rows: Backend, text: str) -> None:
    assert _keys(backend_with_rows, ["name"], text) == ["a", "b", "e"]


def test_search_returns_the_requested_columns_and_looks_in_every_field(backend_with_rows: Backend) -> None:
    [record] = backend_with_rows.connector.search(SPEC, ["name"], "gam", columns=["name", "city"])
    assert record.key == "d" and {"name": "Gamma", "city": "Paris"}.items() <= record.values.items()
    assert _keys(backend_with_rows, ["name", "city"], "be") == ["a", "b", "c", "e"], "Berlin, Bern, Beta, Bern"
    assert _keys(backend_with_rows, ["city"], "par") == ["d"]
    assert _keys(backend_with_rows, ["name"], "pha") == [], "a prefix, not a substring"


def test_search_pages_by_key_and_respects_the_limit_and_the_filter(backend_with_rows: Backend) -> None:
    assert _keys(backend_with_rows, ["name"], "alp", after="a") == ["b", "e"]
    assert _keys(backend_with_rows, ["name"], "alp", after="e") == []
    assert _keys(backend_with_rows, ["name"], "alp", limit=2) == ["a", "b"]
    in_bern = replace(SPEC, filter=(Condition(field="city", value="Bern"),))
    assert _keys(backend_with_rows, ["name"], "alp", spec=in_bern) == ["b", "e"]


def test_search_takes_wildcards_literally_and_never_matches_null(backend_with_rows: Backend) -> None:
    assert _keys(backend_with_rows, ["name"], "beta 50%_") == ["c"]
    assert _keys(backend_with_rows, ["name"], "beta 5_") == []
    assert _keys(backend_with_rows, ["name"], "%") == []
    assert _keys(backend_with_rows, ["city"], "") == ["a", "b", "d", "e"], "every non-NULL value starts with ''"


def test_search_on_an_unknown_column_names_it(backend_with_rows: Backend) -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        backend_with_rows.connector.search(SPEC, ["nope"], "x", columns=["name"])


def test_search_count_counts_what_search_finds_or_says_it_cannot(backend_with_rows: Backend) -> None:
    connector = backend_with_rows.connector
    in_bern = replace(SPEC, filter=(Condition(field="city", value="Bern"),))
    cases = [(SPEC, ["name"], "ALP"), (SPEC, ["name", "city"], "be"), (in_bern, ["name"], "alp"), (SPEC, ["name"], "x")]
    for spec, fields, text in cases:
        counted = connector.search_count(spec, fields, text)
        found = connector.search(spec, fields, text, columns=["name"], limit=1000)
        assert counted is None or counted == len(found), (fields, text, counted, len(found))
    if backend_with_rows.name in ("memory", "sqlite", "postgresql"):  # the connectors that count a search cheaply
        assert connector.search_count(SPEC, ["name"], "alp") == 3


# ordered keyset reads (the sorted records list) ------------------------------------------------------------------
def _walk(
    backend: Backend,
    field: str,
    *,
    descending: bool,
    size: int,
    search: tuple[list[str], str] | None = None,
) -> list[str] | None:
    """Every record in ``field`` order, ``size`` at a time, each page after the last row of the one before."""
    keys: list[str] = []
    after: Bookmark | None = None
    while True:
        page = backend.connector.ordered(
            SPEC, field, columns=["name"], descending=descending, after=after, limit=size, search=search
        )
        if page is None:
            return None
        keys += [record.key for record in page]
        if len(page) < size:
            return keys
        after = Bookmark(value=page[-1].get(field), key=page[-1].key)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("size", [1, 2, 10])
def test_ordered_reads_page_by_a_column_with_empty_values_first_then_by_key(
    backend_with_rows: Backend, descending: bool, size: int
) -> None:
    assert backend_with_rows.connector.insert(SPEC, [{KEY: "f", "name": "Gamma", "city": None, "credit_limit": 5}])
    by_city = _walk(backend_with_rows, "city", descending=descending, size=size)
    if by_city is None:  # a connector that cannot sort in a query says so, for every column
        assert backend_with_rows.connector.ordered(SPEC, "name", columns=[]) is None
        return
    ascending = ["c", "f", "a", "b", "e", "d"]  # no city (by key), Berlin, Bern (by key), Paris
    assert by_city == (ascending[::-1] if descending else ascending)
    by_name = _walk(backend_with_rows, "name", descending=descending, size=size)
    names = ["ALPS", "Alpha", "Beta 50%_off", "Gamma", "Gamma", "alpine"]  # binary order, ties by key (d, f)
    expected = ["e", "a", "c", "d", "f", "b"]
    assert names and by_name == (expected[::-1] if descending else expected)


def test_ordered_reads_search_and_keep_the_filter(backend_with_rows: Backend) -> None:
    found = backend_with_rows.connector.ordered(
        replace(SPEC, filter=(Condition(field="city", op=Operator.NE, value="Paris"),)),
        "name",
        columns=["name"],
        descending=True,
        search=(["name"], "al"),
    )
    if found is not None:
        assert [record.key for record in found] == ["b", "a", "e"]


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("size", [1, 2, 10])
def test_a_sorted_search_pages_through_every_match_in_order(
    backend_with_rows: Backend, monkeypatch: pytest.MonkeyPatch, dense: bool, descending: bool, size: int
) -> None:
    """Matches of a prefix in any of the fields, whatever the letter case, in the sort's order (binary, ties by key),
    page after page; on SQLite both ways of reading them (the matches sorted, or the sort's index read in order
    when they are many: ``dense``) give the same pages."""
    monkeypatch.setattr("coupler.adapters.connectors.sql.connector.DENSE_SEARCH", 1 if dense else 10**9)
    more = [
        {KEY: "f", "name": "Bert", "city": "Alpbach", "credit_limit": 1},  # found by its city
        {KEY: "g", "name": "alpha", "city": None, "credit_limit": 2},
        {KEY: "h", "name": "ALPS", "city": "Oslo", "credit_limit": 3},  # a tie with e: by key
    ]
    assert all(r.ok for r in backend_with_rows.connector.insert(SPEC, more))
    found = _walk(backend_with_rows, "name", descending=descending, size=size, search=(["city", "name"], "ALP"))
    if found is None:  # a connector that cannot sort in a query says so
        return
    ascending = ["e", "h", "a", "f", "g", "b"]  # ALPS, ALPS, Alpha, Bert (Alpbach), alpha, alpine
    assert found == (ascending[::-1] if descending else ascending)
