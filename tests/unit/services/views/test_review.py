"""The full-synchronization review: what to run first for a mapping, from cheap record counts and the couplings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coupler.services.views.review import Advice, SideCount
from unit.services.conftest import World, customer_mapping, make_world


def test_both_sides_empty_needs_nothing(world: World) -> None:
    [recommendation] = world.queries.review()

    assert recommendation.advice is Advice.NOTHING
    assert recommendation.reason == "there is no ERP Customer and no CRM Account"
    assert recommendation.command is None


def test_one_empty_side_calls_for_a_full_synchronization(world: World) -> None:
    world.customer("C001")

    [recommendation] = world.queries.review()

    assert recommendation.advice is Advice.FULL_SYNC
    assert recommendation.reason == "there is no CRM Account yet"
    assert recommendation.command == "coupler sync CUSTOMER --full"
    assert (recommendation.local, recommendation.integration) == (SideCount(count=1), SideCount(count=0))


def test_data_on_both_sides_calls_for_match_based_coupling_first(world: World) -> None:
    for number in range(5):
        world.customer(f"C{number:03d}", displayName=f"Company {number}")
        world.account(f"Company {number}")
    world.account("Statecode one", statecode=1)  # outside the integration filter: not counted
    world.customer("C999", blocked="All")  # outside the local filter

    [recommendation] = world.queries.review("customer")

    assert recommendation.advice is Advice.MATCH
    assert recommendation.reason == "both systems hold records and none is coupled"
    assert recommendation.command == "coupler match CUSTOMER --on FIELD", "no match fields are configured"
    assert (str(recommendation.local), str(recommendation.integration)) == ("5", "5"), "counted by the systems"


def test_fewer_couplings_than_the_smaller_side_still_calls_for_matching(world: World) -> None:
    keys = [world.customer(f"C{n}", displayName=f"Company {n}") for n in range(5)]
    accounts = [world.account(f"Company {n}") for n in range(5)]
    world.coupler.couple("CUSTOMER", keys[0], accounts[0])

    [recommendation] = world.queries.review()

    assert recommendation.advice is Advice.MATCH
    assert recommendation.reason == "both systems hold more records than the 1 coupling"


@pytest.mark.parametrize("extra_accounts", [0, 2])
def test_once_matched_only_records_of_one_side_are_left(world: World, extra_accounts: int) -> None:
    for n in range(7):
        world.customer(f"C{n}", displayName=f"Company {n}")
        world.account(f"Company {n}")
    for n in range(extra_accounts):
        world.account(f"Only in the CRM {n}")
    assert world.coupler.match("CUSTOMER", groups=[["displayName"]]).job.counters.coupled == 7

    [recommendation] = world.queries.review()

    assert recommendation.couplings == 7
    assert recommendation.local == SideCount(count=7), "read on while the records do not outnumber the couplings"
    if extra_accounts:
        assert recommendation.advice is Advice.FULL_SYNC
        assert recommendation.reason == "only CRM Account records are uncoupled"
    else:
        assert recommendation.advice is Advice.NOTHING
        assert recommendation.reason == "every record is coupled"


def test_the_command_uses_the_configured_match_fields() -> None:
    mapping = customer_mapping()
    fields = tuple(replace(f, match_priority=1) if f.local == "displayName" else f for f in mapping.fields)
    world = make_world(replace(mapping, fields=fields))
    world.customer("C001")
    world.account("Customer C001")

    [recommendation] = world.queries.review()

    assert recommendation.advice is Advice.MATCH
    assert recommendation.command == "coupler match CUSTOMER"
    assert world.coupler.match("CUSTOMER").job.counters.coupled == 1


def test_records_a_one_way_mapping_never_copies_call_for_nothing() -> None:
    from coupler.domain.mapping import Direction

    mapping = customer_mapping()
    fields = tuple(replace(f, direction=None) for f in mapping.fields)
    world = make_world(replace(mapping, direction=Direction.FROM_INTEGRATION, fields=fields))
    world.customer("C001")  # only the local side holds records; the mapping only copies integration records

    [recommendation] = world.queries.review()

    assert recommendation.advice is Advice.NOTHING
    assert recommendation.reason == "there is no CRM Account and the mapping never copies records into it"
    assert recommendation.command is None
