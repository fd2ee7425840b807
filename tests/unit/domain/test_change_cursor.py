"""The change cursor a page leaves behind: the keyset position of its last record, never past the settled point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coupler.domain.records import ChangeCursor, Record

SETTLED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _record(key: str, modified_on: datetime | None) -> Record:
    return Record(key=key, modified_on=modified_on, values={})


def test_a_page_ending_before_the_settled_point_leaves_its_last_records_position() -> None:
    earlier = SETTLED - timedelta(seconds=3)
    assert ChangeCursor.after(_record("k7", earlier), settled=SETTLED) == ChangeCursor(stamp=earlier, key="k7")
    assert ChangeCursor.after(_record("k7", SETTLED), settled=SETTLED) == ChangeCursor(stamp=SETTLED, key="k7")


def test_a_page_ending_past_the_settled_point_leaves_the_settled_point_with_no_key() -> None:
    later = SETTLED + timedelta(milliseconds=1)
    assert ChangeCursor.after(_record("k7", later), settled=SETTLED) == ChangeCursor(stamp=SETTLED, key=None)


def test_a_page_ending_among_records_never_stamped_leaves_no_cursor() -> None:
    assert ChangeCursor.after(_record("k7", None), settled=SETTLED) is None
