"""The records list sorted by any column and paged both ways on keysets: Next then Previous give the same pages,
every row once, in the order asked for, with the coupled records' state order from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import UsageError
from coupler.ports.connector import ForwardingConnector
from coupler.services.views.browse import BrowsePage, RecordFilter, Sort, browse
from unit.services.conftest import World, customer_mapping, make_world

AT = datetime(2024, 1, 1, tzinfo=UTC)
ROWS = 23


@pytest.fixture
def world() -> World:
    """ROWS customers numbered in an order other than their keys', names in the reverse order; every 5th not
    coupled; the others synchronized at different times, every 4th failed."""
    world = make_world(customer_mapping())
    couplings = []
    for n in range(ROWS):
        key = world.customer(f"C{(n * 7) % ROWS:04d}", displayName=f"Name {ROWS - n:03d}")
        if n % 5 == 2:
            continue
        result = SyncResult.FAILURE if n % 4 == 0 else SyncResult.SUCCESS
        couplings.append(
            Coupling(
                mapping="CUSTOMER",
                local_key=key,
                integration_key=f"account-{n}",
                coupled_at=AT,
                last_synced_at=AT + timedelta(minutes=(n * 11) % ROWS),
                to_integration_result=result,
                from_integration_result=SyncResult.SUCCESS,
            )
        )
    world.store.couplings.add(couplings)
    return world


def _pages(world: World, **kwargs: object) -> list[BrowsePage]:
    pages = [browse(world.coupler.systems, "CUSTOMER", limit=4, **kwargs)]  # type: ignore[arg-type]
    while pages[-1].next_after is not None:
        pages.append(browse(world.coupler.systems, "CUSTOMER", limit=4, after=pages[-1].next_after, **kwargs))  # type: ignore[arg-type]
    return pages


def _rows(pages: list[BrowsePage]) -> list[str]:
    return [row.key for page in pages for row in page.rows]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", [Sort.NUMBER, Sort.NAME])
def test_a_list_sorted_by_a_local_column_pages_forward_in_that_order(
    world: World, sort: Sort, descending: bool
) -> None:
    pages = _pages(world, sort=sort, descending=descending)
    field = "number" if sort is Sort.NUMBER else "displayName"
    values = [row.record.get(field) for page in pages for row in page.rows if row.record]
    assert len(values) == ROWS and values == sorted(values, reverse=descending)
    assert pages[0].prev_before is None and all(page.prev_before for page in pages[1:])
    assert all(page.sort is sort for page in pages)


@pytest.mark.parametrize("sort", [Sort.NUMBER, Sort.NAME, Sort.SYNCED, Sort.RESULT, Sort.COUPLED])
@pytest.mark.parametrize("descending", [False, True])
def test_previous_gives_back_the_same_pages_as_next(world: World, sort: Sort, descending: bool) -> None:
    pages = _pages(world, sort=sort, descending=descending)
    assert sorted(_rows(pages)) == sorted(r.key for r in browse(world.coupler.systems, "CUSTOMER", limit=500).rows)
    back = pages[-1]
    for expected in reversed(pages[:-1]):
        assert back.prev_before is not None
        back = browse(
            world.coupler.systems, "CUSTOMER", limit=4, sort=sort, descending=descending, before=back.prev_before
        )
        assert [r.key for r in back.rows] == [r.key for r in expected.rows]
    assert back.prev_before is None, "the first page has no previous page"


def test_a_list_sorted_by_last_synchronized_puts_the_coupled_in_that_order_then_the_uncoupled(world: World) -> None:
    rows = [row for page in _pages(world, sort=Sort.SYNCED) for row in page.rows]
    stamps = [row.last_synced_at for row in rows if row.coupled]
    assert stamps == sorted(stamps) and len(stamps) == ROWS - 5
    assert [row.coupled for row in rows] == [True] * (ROWS - 5) + [False] * 5
    newest_first = [
        row.last_synced_at for page in _pages(world, sort=Sort.SYNCED, descending=True) for row in page.rows
    ]
    assert newest_first[: ROWS - 5] == sorted(stamps, reverse=True)


def test_a_list_sorted_by_result_shows_the_failed_first(world: World) -> None:
    rows = [row for page in _pages(world, sort=Sort.RESULT) for row in page.rows]
    results = [row.result for row in rows if row.coupled]
    assert results == sorted(results, key=lambda r: r is not SyncResult.FAILURE)
    assert results[0] is SyncResult.FAILURE


@pytest.mark.parametrize("filter", [RecordFilter.COUPLED, RecordFilter.UNCOUPLED])
def test_a_sorted_list_keeps_the_filter(world: World, filter: RecordFilter) -> None:
    rows = [row for page in _pages(world, sort=Sort.NUMBER, filter=filter) for row in page.rows]
    assert len(rows) == (5 if filter is RecordFilter.UNCOUPLED else ROWS - 5)
    assert all(row.coupled is (filter is RecordFilter.COUPLED) for row in rows)
    numbers = [row.display for row in rows]
    assert numbers == sorted(numbers)


def test_a_search_sorted_by_name_finds_its_records_in_name_order(world: World) -> None:
    page = browse(world.coupler.systems, "CUSTOMER", search="name 01", sort=Sort.NAME, descending=True, limit=50)
    assert [row.name for row in page.rows] == [f"Name {n:03d}" for n in range(19, 9, -1)]


def test_a_page_link_edited_by_hand_is_a_clear_message(world: World) -> None:
    with pytest.raises(UsageError, match="not valid"):
        browse(world.coupler.systems, "CUSTOMER", sort=Sort.NUMBER, after="not-a-token")


class _CannotSort(ForwardingConnector):
    """A system that cannot sort in a query (the HTTP connectors today): the port's default."""

    def ordered(self, *args: object, **kwargs: object) -> None:
        return None


def test_a_system_that_cannot_sort_lists_in_key_order_and_says_so(world: World) -> None:
    world.coupler.systems.local = _CannotSort(world.erp)
    page = browse(world.coupler.systems, "CUSTOMER", sort=Sort.NAME, descending=True, limit=50)
    assert page.sort is Sort.KEY and not page.descending
    assert [row.key for row in page.rows] == sorted(row.key for row in page.rows) and len(page.rows) == ROWS
