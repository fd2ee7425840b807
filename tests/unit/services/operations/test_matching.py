"""Match-based coupling over in-memory fakes: groups, priorities, letter case, empty values, ambiguity, couplings
made before or earlier in the same job, create-missing, sync-after, filters and paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from coupler.domain.coupling import SyncResult
from coupler.domain.errors import NoMatchFields, RetryableConnectorError, UsageError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Lookup, Side, TableMapping
from coupler.domain.records import Record
from coupler.services.engine.recorder import JobReport
from unit.services.conftest import World, customer_mapping, make_world

ON_NAME = [["displayName"]]


def with_fields(mapping: TableMapping, **settings: dict[str, Any]) -> TableMapping:
    """The mapping with some field mappings (by local field) changed, e.g. displayName={"match_priority": 1}."""
    fields = tuple(replace(f, **settings.get(f.local or "", {})) for f in mapping.fields)
    return replace(mapping, fields=fields)


def coupled_pairs(world: World) -> set[tuple[str, str]]:
    return {(c.local_key, c.integration_key) for c in world.store.couplings.page("CUSTOMER")}


def messages(report: JobReport) -> list[str]:
    return [e.message for e in report.errors]


# matching on fields ---------------------------------------------------------------------------------------------
def test_one_field_couples_the_single_matches_ignoring_letter_case(world: World) -> None:
    adatum, fabrikam = world.customer("C001", displayName="Adatum"), world.customer("C002", displayName="Fabrikam")
    contoso = world.customer("C003", displayName="Contoso")
    accounts = world.account("ADATUM"), world.account("fabrikam"), world.account("Northwind")
    rows = (world.erp.rows("customers"), world.crm.rows("account"))

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert report.job.kind is JobKind.MATCH and report.job.direction == "-"
    counters = report.job.counters
    assert (counters.coupled, counters.unmatched, counters.failed) == (2, 1, 0)
    assert coupled_pairs(world) == {(adatum, accounts[0]), (fabrikam, accounts[1])}
    assert messages(report) == ["ERP Customer C003: no match in CRM"]
    assert report.errors[0].local_key == contoso
    assert (world.erp.rows("customers"), world.crm.rows("account")) == rows, "matching alone writes no record"
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, adatum)
    assert coupling is not None
    assert (coupling.local_modified_on, coupling.integration_modified_on, coupling.last_synced_at) == (None, None, None)
    assert report.job.message == "CUSTOMER: 2 matched and coupled, 1 unmatched of 3 uncoupled ERP records."


def test_case_sensitive_fields_compare_letter_case() -> None:
    world = make_world(with_fields(customer_mapping(), displayName={"case_sensitive": True}))
    world.customer("C001", displayName="Adatum")
    exact = world.customer("C002", displayName="Fabrikam")
    world.account("ADATUM")
    account = world.account("Fabrikam")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert coupled_pairs(world) == {(exact, account)}
    assert messages(report) == ["ERP Customer C001: no match in CRM"]


def test_a_group_ignores_case_unless_every_field_is_case_sensitive() -> None:
    world = make_world(with_fields(customer_mapping(), displayName={"case_sensitive": True}))
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    account = world.account("ADATUM", telephone1="555")

    report = world.coupler.match("CUSTOMER", groups=[["displayName", "phoneNumber"]])

    assert report.job.counters.coupled == 1
    assert coupled_pairs(world) == {(key, account)}


def test_priority_groups_come_from_the_field_mappings_in_ascending_order() -> None:
    mapping = with_fields(
        customer_mapping(),
        displayName={"match_priority": 2},
        phoneNumber={"match_priority": 1},
        website={"match_priority": 1},  # flows from the integration only: still a pair to match on
    )
    world = make_world(mapping)
    by_phone = world.customer("C001", displayName="Adatum", phoneNumber="555", website="adatum.example")
    by_name = world.customer("C002", displayName="Fabrikam", phoneNumber="111", website="fabrikam.example")
    phone_match = world.account("Adatum Corporation", telephone1="555", websiteurl="adatum.example")
    world.account("Adatum", telephone1="000", websiteurl="adatum.example")
    name_match = world.account("Fabrikam", telephone1="999", websiteurl="other.example")

    report = world.coupler.match("CUSTOMER")

    assert report.job.counters.coupled == 2
    assert coupled_pairs(world) == {(by_phone, phone_match), (by_name, name_match)}


def test_a_local_field_mapped_twice_matches_on_the_pair_with_a_priority() -> None:
    """UNIT OF MEASURE maps its code to a group's name ('NAV ' and the code) and to its base unit; only the second
    is a match field, wherever the two stand in the list."""
    from coupler.domain.mapping import FieldMapping
    from coupler.services.operations.match_rules import match_groups

    def field(integration: str, priority: int | None) -> FieldMapping:
        return FieldMapping(local="code", integration=integration, direction=Direction.TO_INTEGRATION,
                            match_priority=priority)  # fmt: skip

    for fields in ([field("baseuomname", 1), field("name", None)], [field("name", None), field("baseuomname", 1)]):
        mapping = replace(customer_mapping(), fields=tuple(fields))
        (group,) = match_groups(mapping, None, system="ERP")
        assert group.pairs == (("code", "baseuomname"),)


def test_without_match_fields_or_with_unknown_ones_nothing_runs_and_the_error_explains(world: World) -> None:
    world.customer("C001")

    with pytest.raises(NoMatchFields, match=r"no fields to match on: .*`match = 1`") as raised:
        world.coupler.match("CUSTOMER")
    assert "--on" not in raised.value.message and raised.value.example == "displayName", "the CLI adds --on"
    known = r"the ERP fields of the mapping: displayName \(Name\), phoneNumber \(Phone No\.\)"
    with pytest.raises(UsageError, match=rf"no field mapping of the ERP field 'colour' to match on.*{known}"):
        world.coupler.match("CUSTOMER", groups=[["displayName", "colour"]])
    with pytest.raises(UsageError, match="at least one field"):
        world.coupler.match("CUSTOMER", groups=[[]])
    assert world.coupler.jobs() == []


def test_local_field_names_are_found_whatever_their_letter_case(world: World) -> None:
    key = world.customer("C001", displayName="Adatum")
    account = world.account("Adatum")

    world.coupler.match("CUSTOMER", groups=[["DISPLAYNAME"]])

    assert coupled_pairs(world) == {(key, account)}


# empty values ---------------------------------------------------------------------------------------------------
def test_empty_local_values_are_left_out_of_the_comparison(world: World) -> None:
    no_phone = world.customer("C001", displayName="Adatum", phoneNumber=None)
    no_name = world.customer("C002", displayName="", phoneNumber="777")
    world.customer("C003", displayName=" ", phoneNumber=None)
    adatum = world.account("Adatum", telephone1="555")
    by_phone = world.account("Fabrikam", telephone1="777")
    world.account("Contoso", telephone1=None)

    report = world.coupler.match("CUSTOMER", groups=[["displayName", "phoneNumber"]])

    assert coupled_pairs(world) == {(no_phone, adatum), (no_name, by_phone)}
    assert messages(report) == ["ERP Customer C003: no match: nothing to match on (Name, Phone No. empty)"]


def test_an_empty_integration_value_does_not_match_a_local_one(world: World) -> None:
    world.customer("C001", displayName="Adatum", phoneNumber="555")
    world.account("Adatum", telephone1=None)

    report = world.coupler.match("CUSTOMER", groups=[["displayName", "phoneNumber"]])

    assert report.job.counters.unmatched == 1 and coupled_pairs(world) == set()


# ambiguity and couplings --------------------------------------------------------------------------------------
def test_several_matches_are_ambiguous_and_the_next_group_decides(world: World) -> None:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    world.customer("C002", displayName="Adatum", phoneNumber="000")
    world.account("adatum", telephone1="777")
    exact = world.account("ADATUM", telephone1="555")

    report = world.coupler.match("CUSTOMER", groups=[["displayName"], ["displayName", "phoneNumber"]])

    assert coupled_pairs(world) == {(key, exact)}
    assert messages(report) == ["ERP Customer C002: ambiguous: 2 CRM Account records match on Name 'Adatum'"]


def test_a_match_coupled_before_leaves_the_record_unmatched(world: World) -> None:
    first = world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="ADATUM")
    account = world.account("Adatum")
    world.coupler.couple("CUSTOMER", first, account)

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert report.job.counters.unmatched == 1 and report.job.counters.coupled == 0
    assert messages(report) == [
        "ERP Customer C002: the matching CRM Account Adatum is already coupled to ERP Customer C001"
    ]


def test_the_one_uncoupled_match_couples_beside_coupled_ones(world: World) -> None:
    first = world.customer("C001", displayName="Adatum")
    second = world.customer("C002", displayName="Adatum")
    coupled = world.account("Adatum")
    free = world.account("adatum")
    world.coupler.couple("CUSTOMER", first, coupled)

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert report.job.counters.coupled == 1
    assert coupled_pairs(world) == {(first, coupled), (second, free)}


@pytest.mark.parametrize("batch_size", [1, 10], ids=["other-page", "same-page"])
def test_a_match_taken_earlier_in_the_same_job_leaves_the_record_unmatched(world: World, batch_size: int) -> None:
    world.coupler.systems.batch_size = batch_size
    first = world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="ADATUM")
    account = world.account("Adatum")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert coupled_pairs(world) == {(first, account)}
    owner = "ERP Customer C001"
    assert messages(report) == [f"ERP Customer C002: the matching CRM Account Adatum is already coupled to {owner}"]


def test_coupled_local_records_are_left_alone_and_a_second_run_only_reports(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Contoso")
    world.account("Adatum")
    world.coupler.match("CUSTOMER", groups=ON_NAME)

    again = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert (again.job.counters.coupled, again.job.counters.unmatched) == (0, 1)
    assert messages(again) == ["ERP Customer C002: no match in CRM"]
    assert "of 1 uncoupled ERP record." in (again.job.message or "")


# filters and paging ---------------------------------------------------------------------------------------------
def test_both_sides_filters_apply(world: World) -> None:
    active = world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Fabrikam", blocked="All")
    world.account("Adatum", statecode=1)
    account = world.account("Adatum")
    world.account("Fabrikam")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert coupled_pairs(world) == {(active, account)}
    assert report.job.counters.unmatched == 0, "a blocked customer is not a candidate for matching"


def test_matching_looks_up_once_per_page_and_group(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = world.crm.find_any

    def counting(spec: Any, field: str, values: Sequence[Any], **kwargs: Any) -> list[Record]:
        calls.append(len(values))
        return original(spec, field, values, **kwargs)

    monkeypatch.setattr(world.crm, "find_any", counting)
    monkeypatch.setattr(world.crm, "find", lambda *a, **k: pytest.fail("matching must not look up one by one"))
    keys = [world.customer(f"C{i:03d}", displayName=f"Company {i}", phoneNumber=str(i)) for i in range(10)]
    accounts = [world.account(f"COMPANY {i}", telephone1=str(i)) for i in range(8)]

    report = world.coupler.match("CUSTOMER", groups=[["displayName", "phoneNumber"], ["phoneNumber"]])

    assert report.job.counters.coupled == 8 and report.job.counters.unmatched == 2
    assert coupled_pairs(world) == set(zip(keys, accounts, strict=False))
    assert calls == [3, 3, 3, 1, 1, 1], "4 pages: one lookup per page, and on the last two one more for the unmatched"


# create missing ---------------------------------------------------------------------------------------------------
def test_create_missing_creates_and_couples_the_unmatched_records(world: World) -> None:
    matched = world.customer("C001", displayName="Adatum")
    lonely = world.customer("C002", displayName="Contoso", phoneNumber="555", creditLimit=10)
    world.customer("C003", displayName="")
    account = world.account("Adatum")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, create_missing=True)

    counters = report.job.counters
    assert (counters.coupled, counters.inserted, counters.unmatched, counters.failed) == (2, 1, 0, 1)
    assert report.job.direction == "to-integration"
    created = world.store.couplings.get("CUSTOMER", Side.LOCAL, lonely)
    assert created is not None and created.to_integration_result is SyncResult.SUCCESS
    row = world.account_row(created.integration_key)
    assert (row["name"], row["telephone1"], row["creditlimit"], row["customertypecode"]) == ("Contoso", "555", 10, 3)
    assert (matched, account) in coupled_pairs(world)
    assert len(report.errors) == 1
    assert "nothing to match on" in messages(report)[0] and "cannot be empty" in messages(report)[0]
    assert report.job.message == "CUSTOMER: 1 matched and coupled, 1 created, 1 failed of 3 uncoupled ERP records."


def test_create_missing_needs_a_mapping_that_flows_to_the_integration() -> None:
    world = make_world(customer_mapping(Direction.FROM_INTEGRATION))

    with pytest.raises(UsageError, match="cannot synchronize to-integration"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, create_missing=True)


# synchronize after -----------------------------------------------------------------------------------------------
def test_sync_after_local_writes_the_local_values_to_the_integration(world: World) -> None:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    account = world.account("ADATUM", telephone1="777")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after=Side.LOCAL)

    assert report.job.direction == "to-integration"
    assert (report.job.counters.coupled, report.job.counters.modified) == (1, 1)
    assert (world.account_row(account)["name"], world.account_row(account)["telephone1"]) == ("Adatum", "555")
    assert world.local_row(key)["displayName"] == "Adatum"
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_sync_after_integration_writes_the_integration_values_locally(world: World) -> None:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    account = world.account("ADATUM", telephone1="777", websiteurl="adatum.example")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after=Side.INTEGRATION)

    assert report.job.direction == "from-integration"
    row = world.local_row(key)
    assert (row["displayName"], row["phoneNumber"], row["website"]) == ("ADATUM", "777", "adatum.example")
    assert world.account_row(account)["name"] == "ADATUM"


def test_sync_after_both_follows_the_usual_rules(world: World) -> None:
    same = world.customer("C001", displayName="Adatum", creditLimit=10)
    world.customer("C002", displayName="Fabrikam")
    account = world.account("Adatum")
    differs = world.account("FABRIKAM")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after="both")

    assert report.job.direction == "bidirectional"
    assert report.job.counters.coupled == 2
    assert world.account_row(account)["creditlimit"] == 10, "the local side's one-way field flows"
    assert world.local_row(same)["displayName"] == "Adatum"
    assert report.job.counters.conflicts == 1, "a bidirectional field differs on a pair never synchronized"
    assert world.account_row(differs)["name"] == "FABRIKAM"


def test_sync_after_against_the_mapping_direction_is_refused() -> None:
    world = make_world(customer_mapping(Direction.TO_INTEGRATION))

    with pytest.raises(UsageError, match="cannot synchronize from-integration"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after=Side.INTEGRATION)
    assert world.coupler.jobs() == []


def test_only_the_new_couplings_are_synchronized_after(world: World) -> None:
    old = world.customer("C001", displayName="Adatum", phoneNumber="555")
    old_account = world.account("Adatum", telephone1="000")
    world.coupler.couple("CUSTOMER", old, old_account)
    world.customer("C002", displayName="Fabrikam", phoneNumber="111")
    new_account = world.account("Fabrikam", telephone1="999")

    world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after=Side.LOCAL)

    assert world.account_row(new_account)["telephone1"] == "111"
    assert world.account_row(old_account)["telephone1"] == "000"


def test_lookup_fields_cannot_be_matched_on() -> None:
    world = make_world(with_fields(customer_mapping(), phoneNumber={"lookup": Lookup(mapping="SALESPEOPLE")}))

    with pytest.raises(UsageError, match="phoneNumber is a lookup field"):
        world.coupler.match("CUSTOMER", groups=[["phoneNumber"]])


def test_a_system_failing_half_way_stops_the_job_with_the_reason(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.crm.down = True

    with pytest.raises(RetryableConnectorError):
        world.coupler.match("CUSTOMER", groups=ON_NAME)

    [job] = world.coupler.jobs()
    assert job.kind is JobKind.MATCH and job.finished_at is not None
    assert job.message == "Stopped before the end: CRM is unavailable"


def test_priorities_chosen_for_a_run_make_the_groups_the_configuration_would() -> None:
    from coupler.services.operations.match_rules import groups_by_priority, matchable

    mapping = customer_mapping()  # displayName, phoneNumber, creditLimit, a constant, website
    assert [matchable(f) for f in mapping.fields] == [True, True, True, False, True]
    groups = groups_by_priority(mapping, {0: 2, 1: 1, 2: None, 4: 1})
    assert groups == (("phoneNumber", "website"), ("displayName",))
    world = make_world(mapping)
    by_phone = world.customer("C001", displayName="Adatum", phoneNumber="555", website="adatum.example")
    phone_match = world.account("Adatum Corporation", telephone1="555", websiteurl="adatum.example")
    assert world.coupler.match("CUSTOMER", groups=groups).job.counters.coupled == 1
    assert coupled_pairs(world) == {(by_phone, phone_match)}
