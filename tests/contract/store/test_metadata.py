"""The metadata port (``store.metadata``): what connectors learnt about their systems' schemas, kept per connection
with the time it was learnt. Every test runs against the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contract.store.values import assert_utc
from coupler.ports.store import KnownEntry, StateStore

BC = "business-central https://api.businesscentral.dynamics.com/v2.0/t/production/api/v2.0 company=CRONUS USA, Inc."
DV = "dataverse https://contoso.crm.dynamics.com/api/data/v9.2/"
T0 = datetime(2026, 7, 1, 8, 0, 0, 123456, tzinfo=UTC)


def test_entries_are_kept_per_connection_with_the_time_they_were_learnt(store: StateStore) -> None:
    assert store.metadata.entries(BC) == []
    store.metadata.put(BC, "GET companies", '{"value": []}', at=T0)
    store.metadata.put(BC, "GET $metadata application/xml", "<edmx/>", at=T0 + timedelta(seconds=1))
    store.metadata.put(DV, "GET WhoAmI", '{"UserId": "u"}', at=T0)

    assert store.metadata.entries(BC) == [
        KnownEntry(key="GET $metadata application/xml", value="<edmx/>", learnt_at=T0 + timedelta(seconds=1)),
        KnownEntry(key="GET companies", value='{"value": []}', learnt_at=T0),
    ]
    assert store.metadata.entries(DV) == [KnownEntry(key="GET WhoAmI", value='{"UserId": "u"}', learnt_at=T0)]
    assert store.metadata.entries(BC + " ") == [], "another connection's key is another connection"


def test_putting_a_key_again_replaces_its_value_and_time(store: StateStore) -> None:
    store.metadata.put(DV, "GET WhoAmI", "old", at=T0)
    later = datetime(2026, 7, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    store.metadata.put(DV, "GET WhoAmI", "new", at=later)

    [entry] = store.metadata.entries(DV)
    assert (entry.value, entry.learnt_at) == ("new", later)
    assert_utc(entry.learnt_at)


def test_forgetting_drops_one_connections_entries_only(store: StateStore) -> None:
    store.metadata.put(BC, "GET companies", "[]", at=T0)
    store.metadata.put(BC, "GET $metadata application/xml", "<edmx/>", at=T0)
    store.metadata.put(DV, "GET WhoAmI", "{}", at=T0)

    store.metadata.forget(BC)
    store.metadata.forget("a connection never seen")

    assert store.metadata.entries(BC) == []
    assert [e.key for e in store.metadata.entries(DV)] == ["GET WhoAmI"]
    store.metadata.put(BC, "GET companies", "[1]", at=T0)
    assert [e.value for e in store.metadata.entries(BC)] == ["[1]"]


def test_a_large_text_and_long_keys_are_kept_whole(store: StateStore) -> None:
    """Business Central's ``$metadata`` is about a megabyte; keys hold a request's path and parameters."""
    document = "<edmx>" + "é€𝄞 <EntityType Name='customer'/>" * 40_000 + "</edmx>"
    assert len(document.encode("utf-8")) > 1_000_000
    key = "GET EntityDefinitions?%24filter=EntitySetName+eq+%27" + "x" * 800 + "%27"
    connection = DV + " client=" + "c" * 300
    store.metadata.put(connection, key, document, at=T0)

    [entry] = store.metadata.entries(connection)
    assert entry.key == key and entry.value == document
