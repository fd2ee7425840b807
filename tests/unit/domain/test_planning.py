from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, FieldMapping, TableMapping, TableSpec
from coupler.domain.planning import Action, differences, plan_pair, transfer, values_equal
from coupler.domain.records import Record

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def mapping(direction: Direction = Direction.BIDIRECTIONAL) -> TableMapping:
    return TableMapping(
        name="CUSTOMER",
        local=TableSpec(table="customers", key="id", modified_on="mod"),
        integration=TableSpec(table="account", key="accountid", modified_on="modifiedon"),
        direction=direction,
        fields=(
            FieldMapping(local="displayName", integration="name", direction=direction),
            FieldMapping(local="phone", integration="telephone1", direction=direction),
            FieldMapping(
                local="creditLimit",
                integration="creditlimit",
                direction=Direction.TO_INTEGRATION,
            ),
            FieldMapping(
                local=None,
                integration="customertypecode",
                direction=Direction.TO_INTEGRATION,
                constant=3,
                has_constant=True,
            ),
            FieldMapping(local="number", integration="accountnumber", direction=direction, enabled=False),
        ),
    )


def coupling(**changes: object) -> Coupling:
    base = Coupling(
        mapping="CUSTOMER",
        local_key="L1",
        integration_key="I1",
        coupled_at=T0,
        local_modified_on=T0,
        integration_modified_on=T0,
    )
    from dataclasses import replace

    return replace(base, **changes)  # type: ignore[arg-type]


def local(modified: datetime, **values: object) -> Record:
    return Record(key="L1", modified_on=modified, values={"displayName": "Adatum", "phone": "1", **values})


def account(modified: datetime, **values: object) -> Record:
    return Record(key="I1", modified_on=modified, values={"name": "Adatum", "telephone1": "1", **values})


def test_transfer_maps_enabled_fields_of_the_direction_and_constants() -> None:
    values = transfer(mapping(), Direction.TO_INTEGRATION, {"displayName": "A", "phone": "2", "creditLimit": 5})
    assert values == {"name": "A", "telephone1": "2", "creditlimit": 5, "customertypecode": 3}
    back = transfer(mapping(), Direction.FROM_INTEGRATION, {"name": "B", "telephone1": "3", "creditlimit": 9})
    assert back == {"displayName": "B", "phone": "3"}


def test_values_equal_treats_empty_as_null_and_numbers_by_value() -> None:
    assert values_equal(None, "")
    assert values_equal(1, 1.0)
    assert values_equal(True, 1)
    assert not values_equal("a", "A")
    assert differences({"a": 1, "b": "x"}, {"a": 1.0, "b": "y"}) == {"b": "x"}


def test_unchanged_source_is_not_written() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T0, displayName="changed"),
        target=account(T0),
    )
    assert plan.action is Action.IN_SYNC


def test_changed_source_whose_values_the_target_holds_is_unchanged() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T1),
        target=account(T0, customertypecode=3),
    )
    assert plan.action is Action.UNCHANGED


def test_changed_source_writes_only_differing_values() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T1, displayName="Adatum Corp", creditLimit=None),
        target=account(T0, customertypecode=3),
    )
    assert plan.action is Action.WRITE
    assert dict(plan.values) == {"name": "Adatum Corp"}


def test_both_changed_with_differing_bidirectional_field_is_a_conflict() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T1, displayName="Local name"),
        target=account(T1, name="CRM name"),
    )
    assert plan.action is Action.CONFLICT
    message = plan.message(mapping())
    assert "Both records changed displayName to different values" in message, "the field as the user knows it"
    assert "coupler" not in message, "no command line: each interface says how to resolve it"


def test_both_changed_to_the_same_values_is_no_conflict() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T1, displayName="Same", creditLimit=1),
        target=account(T1, name="Same", customertypecode=3),
    )
    assert plan.action is Action.WRITE
    assert dict(plan.values) == {"creditlimit": 1}
    assert plan.pending, "the target changed too: the reverse pass looks at it"


def test_one_way_mapping_never_conflicts() -> None:
    plan = plan_pair(
        mapping=mapping(Direction.TO_INTEGRATION),
        coupling=coupling(),
        direction=Direction.TO_INTEGRATION,
        source=local(T1, displayName="Local"),
        target=account(T1, name="CRM"),
    )
    assert plan.action is Action.WRITE


def test_forced_direction_overwrites_whatever_changed() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(),
        direction=Direction.FROM_INTEGRATION,
        source=account(T1, name="CRM"),
        target=local(T1, displayName="Local"),
        forced=True,
    )
    assert plan.action is Action.WRITE
    assert dict(plan.values) == {"displayName": "CRM"}


def test_failed_last_time_is_retried_even_if_unchanged() -> None:
    plan = plan_pair(
        mapping=mapping(),
        coupling=coupling(to_integration_result=SyncResult.FAILURE),
        direction=Direction.TO_INTEGRATION,
        source=local(T0, displayName="X"),
        target=account(T0),
    )
    assert plan.action is Action.WRITE


def test_missing_target_and_skipped_records() -> None:
    common = {"mapping": mapping(), "direction": Direction.TO_INTEGRATION, "source": local(T1)}
    assert plan_pair(coupling=coupling(), target=None, **common).action is Action.TARGET_MISSING  # type: ignore[arg-type]
    skipped = coupling(skipped=True)
    assert plan_pair(coupling=skipped, target=account(T0), **common).action is Action.SKIPPED  # type: ignore[arg-type]


def test_never_synchronized_coupling_counts_both_sides_as_changed() -> None:
    fresh = coupling(local_modified_on=None, integration_modified_on=None)
    plan = plan_pair(
        mapping=mapping(),
        coupling=fresh,
        direction=Direction.TO_INTEGRATION,
        source=local(T0, displayName="A"),
        target=account(T0, name="B"),
    )
    assert plan.action is Action.CONFLICT
