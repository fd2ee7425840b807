"""What only the in-memory connector does: its clock, direct edits, versions (ETags) and simulated outages.
Everything it shares with the SQL connector is in tests/contract/connectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from coupler.adapters.connectors.memory.connector import InMemoryConnector, MillisecondClock
from coupler.domain.errors import ConfigurationError, RetryableConnectorError
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate

SPEC = TableSpec(table="contact", key="id", modified_on="modified_on")


def make(**kwargs: object) -> InMemoryConnector:
    connector = InMemoryConnector(**kwargs)  # type: ignore[arg-type]
    connector.add_table("contact", "id", ["name", "email"], rows=[{"id": "c1", "name": "Ann"}])
    return connector


def test_the_default_clock_is_utc_milliseconds_and_strictly_increasing() -> None:
    clock = MillisecondClock()
    stamps = [clock() for _ in range(500)]

    assert all(b - a >= timedelta(milliseconds=1) for a, b in pairwise(stamps))
    assert all(s.tzinfo is UTC and s.microsecond % 1000 == 0 for s in stamps)


def test_inserts_updates_and_puts_are_stamped_by_the_clock() -> None:
    ticks = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(10))
    connector = make(clock=lambda: next(ticks))

    inserted = connector.insert(SPEC, [{"name": "Bob"}])[0]
    updated = connector.update(SPEC, [RecordUpdate(key="c1", values={"email": "ann@example.com"})])[0]
    connector.put("contact", {"id": "c1", "name": "Anne"})

    assert inserted.modified_on == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert updated.modified_on == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    assert {row["id"]: row for row in connector.rows("contact")}["c1"] == {
        "id": "c1",
        "name": "Anne",
        "email": "ann@example.com",
        "modified_on": datetime(2026, 1, 1, 0, 3, tzinfo=UTC),
    }


def test_remove_and_put_edit_directly() -> None:
    connector = make()
    key = connector.put("contact", {"name": "New"})

    connector.remove("contact", "c1")

    assert [row["id"] for row in connector.rows("contact")] == [key]
    with pytest.raises(KeyError, match="c1"):
        connector.remove("contact", "c1")


def test_versioned_tables_refuse_stale_versions() -> None:
    connector = InMemoryConnector()
    connector.add_table("account", "id", ["name"], rows=[{"id": "a1", "name": "Contoso"}], versioned=True)
    spec = TableSpec(table="account", key="id", modified_on="modified_on")
    version = connector.read(spec, ["a1"], columns=["name"])[0].version

    first = connector.update(spec, [RecordUpdate(key="a1", values={"name": "One"}, version=version)])[0]
    stale = connector.update(spec, [RecordUpdate(key="a1", values={"name": "Two"}, version=version)])[0]

    assert first.ok and first.version and first.version != version
    assert not stale.ok and stale.retryable and "stale version" in (stale.error or "")
    assert connector.read(spec, ["a1"], columns=["name"])[0].values == {"name": "One"}


def test_a_down_system_fails_with_retryable_errors() -> None:
    connector = make()
    connector.down = True

    with pytest.raises(RetryableConnectorError, match="memory is unavailable"):
        connector.ping()
    with pytest.raises(RetryableConnectorError):
        connector.read(SPEC, ["c1"], columns=["name"])
    connector.down = False
    assert connector.read(SPEC, ["c1"], columns=["name"])[0].values == {"name": "Ann"}


def test_specs_must_match_the_declared_table() -> None:
    connector = make()

    with pytest.raises(ConfigurationError, match="no table 'lead'"):
        connector.read(TableSpec(table="lead", key="id"), ["c1"], columns=[])
    with pytest.raises(ConfigurationError, match="'id', not 'name'"):
        connector.read(TableSpec(table="contact", key="name"), ["c1"], columns=[])
    with pytest.raises(ConfigurationError, match="has no column 'phone'"):
        connector.read(SPEC, ["c1"], columns=["phone"])
