"""The record card, the Synchronize now dialog's options and the Set up coupling lookup, over in-memory fakes."""

from __future__ import annotations

import pytest

from coupler.domain.errors import RecordNotFound, UnknownMapping, UsageError
from coupler.domain.mapping import Direction, Side
from coupler.services.views.sync_options import SyncChoice
from unit.services.conftest import World, customer_mapping, make_world


def _coupled(world: World, **local: object) -> tuple[str, str]:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555", **local)
    account = world.account("Adatum", telephone1="555")
    world.coupler.couple("CUSTOMER", "C001", account, sync_after=Side.LOCAL)
    return key, account


def test_card_of_an_uncoupled_record_shows_its_fields_and_no_differences(world: World) -> None:
    world.customer("C001", displayName="Adatum", phoneNumber="555")
    card = world.queries.card("customer", "C001")
    assert not card.coupled and card.integration is None
    assert card.local_name == "C001"
    by_field = {f.local_field: f for f in card.fields}
    assert by_field["displayName"].local_value == "Adatum"
    assert by_field["phoneNumber"].direction is Direction.BIDIRECTIONAL
    assert by_field[None].local_value == 3 and by_field[None].note == "constant 3"
    assert not card.differing


def test_card_of_a_coupled_record_highlights_what_differs_and_which_side_changed(world: World) -> None:
    _key, account = _coupled(world)
    world.crm.put("account", {"accountid": account, "telephone1": "999"})
    card = world.queries.card("CUSTOMER", account)  # found by its integration key too
    assert card.coupled and card.integration_name == "Adatum"
    phone = next(f for f in card.fields if f.local_field == "phoneNumber")
    assert (phone.local_value, phone.integration_value, phone.differs) == ("555", "999", True)
    assert phone.changed == (Side.INTEGRATION,)
    assert [f.local_field for f in card.differing] == ["phoneNumber"]
    assert card.conflict is None


def test_card_compares_after_transformation_and_not_null_lookups(world: World) -> None:
    _coupled(world, creditLimit=10)
    card = world.queries.card("CUSTOMER", "C001")
    credit = next(f for f in card.fields if f.local_field == "creditLimit")
    assert credit.direction is Direction.TO_INTEGRATION
    assert (credit.local_value, credit.integration_value, credit.differs) == (10, 10, False)
    constant = next(f for f in card.fields if f.integration_field == "customertypecode")
    assert not constant.differs, "the constant was written by the sync"


def test_card_of_a_parked_conflict_carries_it(world: World) -> None:
    key, account = _coupled(world)
    world.erp.put("customers", {"id": key, "phoneNumber": "111"})
    world.crm.put("account", {"accountid": account, "telephone1": "222"})
    assert world.coupler.sync_modified()[0].job.counters.conflicts == 1
    card = world.queries.card("CUSTOMER", "C001")
    assert card.conflict is not None and card.conflict.fields[0].last_local == "555"
    phone = next(f for f in card.fields if f.local_field == "phoneNumber")
    assert set(phone.changed) == {Side.LOCAL, Side.INTEGRATION}


def test_card_of_an_unknown_record_or_mapping_says_so(world: World) -> None:
    with pytest.raises(RecordNotFound, match="'C404' names no record"):
        world.queries.card("CUSTOMER", "C404")
    with pytest.raises(UnknownMapping, match="No table mapping is named 'NOPE'"):
        world.queries.card("NOPE", "C001")


def test_sync_options_default_to_the_side_that_changed_and_warn_before_overwriting(world: World) -> None:
    _key, account = _coupled(world)
    world.crm.put("account", {"accountid": account, "telephone1": "999"})
    options = world.queries.sync_options("CUSTOMER", ["C001"])
    assert options.default is SyncChoice.FROM_INTEGRATION
    assert [o.choice for o in options.options] == [
        SyncChoice.TO_INTEGRATION,
        SyncChoice.FROM_INTEGRATION,
        SyncChoice.MERGE,
    ]
    send = options.option(SyncChoice.TO_INTEGRATION)
    assert send is not None and send.warning is not None and "Phone No. changed there" in send.warning
    get = options.option(SyncChoice.FROM_INTEGRATION)
    assert get is not None and get.warning is None
    assert options.changed_integration == ("Phone No.",) and options.records == 1


def test_sync_options_merge_when_both_changed_different_fields(world: World) -> None:
    key, account = _coupled(world)
    world.erp.put("customers", {"id": key, "displayName": "Adatum Ltd"})
    world.crm.put("account", {"accountid": account, "telephone1": "999"})
    options = world.queries.sync_options("CUSTOMER", ["C001"])
    assert options.default is SyncChoice.MERGE and options.merge_refused is None


def test_sync_options_refuse_merge_when_both_changed_the_same_field(world: World) -> None:
    key, account = _coupled(world)
    world.erp.put("customers", {"id": key, "phoneNumber": "111"})
    world.crm.put("account", {"accountid": account, "telephone1": "222"})
    options = world.queries.sync_options("CUSTOMER", ["C001"])
    assert options.option(SyncChoice.MERGE) is None
    assert options.merge_refused is not None and "both systems changed Phone No." in options.merge_refused
    assert options.default is SyncChoice.TO_INTEGRATION
    assert all(o.warning for o in options.options), "each direction overwrites the other side's change"


def test_sync_options_nothing_changed_defaults_to_sending_local_data(world: World) -> None:
    _coupled(world)
    options = world.queries.sync_options("CUSTOMER", ["C001"])
    assert options.default is SyncChoice.TO_INTEGRATION and not any(o.warning for o in options.options)


def test_sync_options_for_a_selection_name_the_uncoupled_and_reject_an_empty_one(world: World) -> None:
    _coupled(world)
    world.customer("C002")
    options = world.queries.sync_options("CUSTOMER", ["C001", "C002"])
    assert (options.records, options.uncoupled) == (1, ("C002",))
    with pytest.raises(UsageError, match="at least one record"):
        world.queries.sync_options("CUSTOMER", [])


def test_sync_options_of_a_one_way_mapping_offer_its_direction_only() -> None:
    world = make_world(customer_mapping(Direction.TO_INTEGRATION))
    _coupled(world)
    options = world.queries.sync_options("CUSTOMER", ["C001"])
    assert [o.choice for o in options.options] == [SyncChoice.TO_INTEGRATION]
    assert options.default is SyncChoice.TO_INTEGRATION and options.merge_refused is None
    assert SyncChoice.MERGE.direction is None and SyncChoice.TO_INTEGRATION.direction is Direction.TO_INTEGRATION


def test_search_integration_exact_first_then_prefix_within_the_filter(world: World) -> None:
    world.account("Adatum")
    world.account("Adatum Corporation")
    world.account("adatum lower")
    world.account("Adatum Closed", statecode=1)  # outside the integration filter
    world.account("Fabrikam")
    found = world.queries.search_integration("CUSTOMER", "adatum")
    assert [m.name for m in found] == ["Adatum", "Adatum Corporation", "adatum lower"]
    assert [m.exact for m in found] == [True, False, False]
    assert world.queries.search_integration("CUSTOMER", "Fab")[0].name == "Fabrikam"
    assert world.queries.search_integration("CUSTOMER", "zzz") == []


def test_search_integration_by_key_names_the_coupled_partner(world: World) -> None:
    _, account = _coupled(world)
    found = world.queries.search_integration("CUSTOMER", account)
    assert len(found) == 1 and found[0].key == account and found[0].coupled_to == "C001"


def test_search_integration_empty_text_lists_the_first_records_and_limits_apply(world: World) -> None:
    for n in range(5):
        world.account(f"Account {n}")
    assert len(world.queries.search_integration("CUSTOMER", "", limit=3)) == 3
    with pytest.raises(UsageError, match="longer than 200"):
        world.queries.search_integration("CUSTOMER", "x" * 201)
    with pytest.raises(UsageError, match="between 1 and 100"):
        world.queries.search_integration("CUSTOMER", "x", limit=0)


def test_card_links_the_coupled_record_where_the_integration_system_has_a_page_for_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _key, account = _coupled(world)
    assert world.queries.card("CUSTOMER", "C001").integration_url is None, "the in-memory CRM has no pages"
    monkeypatch.setattr(world.crm, "record_url", lambda spec, key: f"https://crm.example/{spec.table}/{key}")
    assert world.queries.card("CUSTOMER", "C001").integration_url == f"https://crm.example/account/{account}"
    world.customer("C002")
    assert world.queries.card("CUSTOMER", "C002").integration_url is None, "nothing to open before coupling"
