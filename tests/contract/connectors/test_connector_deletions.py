"""The deleted-entries feed of the connector contract: a cursor-driven feed (in-memory fake, Dataverse change
tracking), or None for systems that keep none (SQL databases, Business Central)."""

from __future__ import annotations

from contract.connectors.backends import SPEC, Backend
from contract.connectors.test_connector_contract import seed


def test_a_system_without_a_feed_answers_none_with_or_without_a_cursor(backend: Backend) -> None:
    if backend.keeps_deletions:
        assert backend.connector.deletions(SPEC, None) is not None
        return
    assert backend.connector.deletions(SPEC, None) is None
    assert backend.connector.deletions(SPEC, None, cursor="anything") is None


def test_the_feed_reports_the_deletions_after_its_cursor_and_can_be_read_again(backend: Backend) -> None:
    connector = backend.connector
    keys = seed(backend, 4)
    start = connector.deletions(SPEC, None)
    if start is None:
        assert not backend.keeps_deletions
        return
    assert start.cursor is not None and start.restarted and start.keys == ()

    assert all(r.ok for r in connector.delete(SPEC, [keys[1], keys[3]]))
    first = connector.deletions(SPEC, None, cursor=start.cursor)
    again = connector.deletions(SPEC, None, cursor=start.cursor)

    assert first is not None and sorted(first.keys) == [keys[1], keys[3]] and not first.restarted
    assert first.cursor is not None and first.cursor != start.cursor
    assert again is not None and sorted(again.keys) == sorted(first.keys), "a cursor read twice reports the same"
    later = connector.deletions(SPEC, None, cursor=first.cursor)
    assert later is not None and later.keys == () and later.cursor is not None
    assert all(r.ok for r in connector.delete(SPEC, [keys[0]]))
    last = connector.deletions(SPEC, None, cursor=later.cursor)
    assert last is not None and last.keys == (keys[0],)


def test_a_cursor_the_system_does_not_know_starts_over(backend: Backend) -> None:
    connector = backend.connector
    keys = seed(backend, 2)
    if not backend.keeps_deletions:
        assert connector.deletions(SPEC, None, cursor="not-a-cursor") is None
        return
    assert all(r.ok for r in connector.delete(SPEC, [keys[0]]))

    fresh = connector.deletions(SPEC, None, cursor="not-a-cursor")

    assert fresh is not None and fresh.restarted and fresh.keys == () and fresh.cursor is not None
    assert all(r.ok for r in connector.delete(SPEC, [keys[1]]))
    after = connector.deletions(SPEC, None, cursor=fresh.cursor)
    assert after is not None and after.keys == (keys[1],) and not after.restarted
