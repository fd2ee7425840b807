"""Pages read what they show: a page of the records list reads at most ``limit + 1`` records of each system with
their fields, whatever the filter or search, and never the whole table; the review counts records without reading
them. Counted through a wrapper around the in-memory connectors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, RecordFailure, StateChanges
from coupler.services.views.browse import RecordFilter, browse
from reads import ReadCounter, Uncountable
from unit.services.conftest import World, customer_mapping, make_world

ROWS = 400
LIMIT = 10
AT = datetime(2024, 1, 1, tzinfo=UTC)


def _coupling(key: str, n: int) -> Coupling:
    """Every 9th coupling failed to the integration side, every 13th is skipped, every 50th is in conflict, the
    others succeeded."""
    failed = n % 9 == 0
    result = SyncResult.FAILURE if failed else SyncResult.CONFLICT if n % 50 == 5 else SyncResult.SUCCESS
    return Coupling(
        mapping="CUSTOMER",
        local_key=key,
        integration_key=f"account-{n}",
        coupled_at=AT,
        to_integration_result=result,
        from_integration_result=SyncResult.SUCCESS,
        last_error="failed" if failed else None,
        skipped=n % 13 == 0,
    )


@pytest.fixture
def world() -> World:
    """ROWS customers, one in 40 of them not coupled (one of those with a failed creation), some failed, skipped
    and in conflict; both connectors counted (``world.coupler.systems.local`` and ``.integration``)."""
    world = make_world(customer_mapping())
    keys = [world.customer(f"C{n:04d}", displayName=f"Customer {n:04d}") for n in range(ROWS)]
    couplings = [_coupling(key, n) for n, key in enumerate(keys) if n % 40 != 7]
    world.store.couplings.add(couplings)
    world.store.save(
        StateChanges(
            conflicts=tuple(
                Conflict(
                    mapping="CUSTOMER",
                    local_key=c.local_key,
                    integration_key=c.integration_key,
                    fields=(),
                    detected_at=AT,
                    job_id="job",
                )
                for c in couplings
                if c.to_integration_result is SyncResult.CONFLICT
            ),
            failures=(
                RecordFailure(mapping="CUSTOMER", side=Side.LOCAL, key=keys[7], message="no", job_id="job", at=AT),
            ),
        )
    )
    world.coupler.systems.local = ReadCounter(world.erp)
    world.coupler.systems.integration = ReadCounter(world.crm)
    return world


def _counters(world: World) -> tuple[ReadCounter, ReadCounter]:
    local, integration = world.coupler.systems.local, world.coupler.systems.integration
    assert isinstance(local, ReadCounter) and isinstance(integration, ReadCounter)
    return local, integration


@pytest.mark.parametrize("search", [None, "c0", "customer"])
@pytest.mark.parametrize("filter", list(RecordFilter))
def test_a_page_reads_at_most_a_page_of_records_of_each_system(
    world: World, filter: RecordFilter, search: str | None
) -> None:
    local, integration = _counters(world)
    page = browse(world.coupler.systems, "CUSTOMER", filter=filter, search=search, limit=LIMIT, max_scan=ROWS // 2)
    assert page.rows, "every filter has records on its first page"

    # a search within a state few records are in reads the searched fields of those records (at most max_scan),
    # then the page's rows with all their fields
    few = search is not None and filter in (RecordFilter.FAILED, RecordFilter.SKIPPED, RecordFilter.CONFLICT)
    bound = LIMIT + 1 + (ROWS // 2 if few else 0)
    assert local.records <= bound, f"{filter}: {local.records} local records read with their fields"
    assert integration.records + integration.keys == 0
    assert local.keys <= ROWS // 2, "a scan reads at most max_scan keys"
    assert local.records + local.keys < ROWS, "never the whole table"


@pytest.mark.parametrize("search", [None, "customer"])
def test_not_coupled_pages_read_keys_then_the_page_and_walk_the_whole_list(world: World, search: str | None) -> None:
    local, _ = _counters(world)
    keys = [row["id"] for row in world.erp.rows("customers")]
    uncoupled = sorted(k for k in keys if world.store.couplings.get("CUSTOMER", Side.LOCAL, k) is None)
    seen: list[str] = []
    after = None
    while True:
        local.reset()
        page = world.queries.browse("CUSTOMER", filter=RecordFilter.UNCOUPLED, search=search, after=after, limit=3)
        assert local.records <= 3, "only the rows shown are read with their fields"
        assert all(not row.coupled and row.record is not None and row.display for row in page.rows)
        seen += [row.key for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == uncoupled
    rows = browse(world.coupler.systems, "CUSTOMER", filter=RecordFilter.UNCOUPLED, limit=50).rows
    failed = next(row for row in rows if row.display == "C0007")
    assert failed.last_error == "no", "an uncoupled record's failed creation shows on its row"


def test_a_scan_stops_at_max_scan_keys_and_goes_on_from_there(world: World) -> None:
    local, _ = _counters(world)
    first_keys = sorted(row["id"] for row in world.erp.rows("customers"))[:100]
    expected = [k for k in first_keys if world.store.couplings.get("CUSTOMER", Side.LOCAL, k) is None]
    page = browse(world.coupler.systems, "CUSTOMER", filter=RecordFilter.UNCOUPLED, limit=LIMIT, max_scan=100)
    assert local.keys == 100 and local.records == len(page.rows)
    assert [row.key for row in page.rows] == expected
    assert page.next_after == first_keys[-1], "the next call goes on after the last key read"
    rest = browse(world.coupler.systems, "CUSTOMER", filter=RecordFilter.UNCOUPLED, after=page.next_after, limit=LIMIT)
    assert len(page.rows) + len(rest.rows) == ROWS // 40


def test_the_review_counts_records_without_reading_them(world: World) -> None:
    local, integration = _counters(world)
    [recommendation] = world.queries.review()
    assert local.records + local.keys + integration.records + integration.keys == 0
    assert (local.counts, integration.counts) == (1, 1)
    assert recommendation.local.count == ROWS and not recommendation.local.more


def test_the_review_of_a_system_that_cannot_count_reads_keys_only_while_they_do_not_outnumber_the_couplings(
    world: World,
) -> None:
    world.coupler.systems.local = counter = Uncountable(world.erp)
    [recommendation] = world.queries.review()
    assert counter.records == 0, "keys only"
    assert counter.keys == ROWS - ROWS // 40 + 3, "one batch past the couplings (batch_size is 3)"
    assert recommendation.local.more


@pytest.mark.parametrize("filter", [RecordFilter.FAILED, RecordFilter.SKIPPED, RecordFilter.CONFLICT])
def test_a_search_within_a_rare_state_pages_through_exactly_its_matches(world: World, filter: RecordFilter) -> None:
    everything = []
    after = None
    while True:  # the state's whole list, page by page, without a search
        page = browse(world.coupler.systems, "CUSTOMER", filter=filter, after=after, limit=50)
        everything += page.rows
        if page.next_after is None:
            break
        after = page.next_after
    expected = [row.key for row in everything if row.display and row.display.lower().startswith("c01")]
    assert expected, "the search matches some records in that state"

    seen: list[str] = []
    after = None
    while True:
        page = browse(world.coupler.systems, "CUSTOMER", filter=filter, search="C01", after=after, limit=3)
        assert all(row.record is not None for row in page.rows), "the page's rows come with their records"
        seen += [row.key for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == expected
