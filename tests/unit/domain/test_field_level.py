"""Field-level change detection: merges, conflicts, policies and fingerprints (pure planning)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from coupler.domain.coupling import Coupling
from coupler.domain.fingerprint import canonical, decode, encode, encoded_of_mapping, of_mapping, tracked_pairs
from coupler.domain.fingerprint import of as fingerprint_of
from coupler.domain.mapping import ConflictPolicy, Direction, FieldMapping, Side, TableMapping, TableSpec
from coupler.domain.planning import Action, plan_pair
from coupler.domain.records import Record

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
BI = Direction.BIDIRECTIONAL
TO, FROM = Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION

MAPPING = TableMapping(
    name="CUSTOMER",
    local=TableSpec(table="customers", key="id", modified_on="m"),
    integration=TableSpec(table="account", key="accountid", modified_on="m"),
    direction=BI,
    fields=(
        FieldMapping(local="name", integration="name", direction=BI),
        FieldMapping(local="city", integration="address1_city", direction=BI),
        FieldMapping(local="phone", integration="telephone1", direction=BI),
        FieldMapping(local="limit", integration="creditlimit", direction=TO),
    ),
)
BASE_LOCAL = {"name": "Adatum", "city": "Oslo", "phone": "1", "limit": 10}
BASE_CRM = {"name": "Adatum", "address1_city": "Oslo", "telephone1": "1", "creditlimit": 10}


def synced(mapping: TableMapping = MAPPING) -> Coupling:
    fingerprint = fingerprint_of(tracked_pairs(mapping), BASE_LOCAL, BASE_CRM)
    return Coupling(
        mapping="CUSTOMER",
        local_key="L",
        integration_key="I",
        coupled_at=T0,
        local_modified_on=T0,
        integration_modified_on=T0,
        fingerprint=encode(fingerprint),
    )


def local(**changes: object) -> Record:
    return Record(key="L", modified_on=T1 if changes else T0, values={**BASE_LOCAL, **changes})


def crm(**changes: object) -> Record:
    return Record(key="I", modified_on=T1 if changes else T0, values={**BASE_CRM, **changes})


def plan(direction: Direction, source: Record, target: Record, **options: object):  # type: ignore[no-untyped-def]
    mapping = options.pop("mapping", MAPPING)
    coupling = options.pop("coupling", synced())
    return plan_pair(
        mapping=mapping,  # type: ignore[arg-type]
        coupling=coupling,  # type: ignore[arg-type]
        direction=direction,
        source=source,
        target=target,
        **options,  # type: ignore[arg-type]
    )


def test_changes_to_different_fields_merge_instead_of_conflicting() -> None:
    edited_local, edited_crm = local(city="Bergen"), crm(telephone1="2")
    first = plan(TO, edited_local, edited_crm)
    assert first.action is Action.WRITE
    assert dict(first.values) == {"address1_city": "Bergen"}, "the CRM's own phone change is not overwritten"
    assert first.pending, "the CRM's change still has to flow back"
    assert first.fingerprint is not None
    assert first.fingerprint["phone|telephone1"] == [canonical("1"), canonical("1")], "kept for the reverse pass"
    coupling = replace(synced(), fingerprint=encode(first.fingerprint), local_modified_on=T1)
    after_write = crm(telephone1="2", address1_city="Bergen")
    second = plan(FROM, after_write, edited_local, coupling=coupling)
    assert dict(second.values) == {"phone": "2"}
    assert not second.pending


def test_the_same_field_changed_to_different_values_is_a_conflict_with_the_last_values() -> None:
    result = plan(TO, local(city="Bergen"), crm(address1_city="Trondheim"))
    assert result.action is Action.CONFLICT and result.values == {}
    [field] = result.conflicts
    assert (field.local_field, field.integration_field) == ("city", "address1_city")
    assert (field.local_value, field.integration_value) == ("Bergen", "Trondheim")
    assert (field.last_local, field.last_integration) == ("Oslo", "Oslo")
    assert result.message(MAPPING).startswith("Both records changed city to different values")
    captioned = replace(MAPPING, fields=tuple(replace(f, caption=f"{f.local} caption") for f in MAPPING.fields))
    assert "Both records changed city caption to" in result.message(captioned)
    assert "coupler" not in result.message(MAPPING)


def test_both_changed_to_the_same_value_is_no_conflict() -> None:
    result = plan(TO, local(city="Bergen"), crm(address1_city="Bergen"))
    assert result.action is Action.UNCHANGED
    assert result.fingerprint is not None and result.fingerprint["city|address1_city"] == ["Bergen", "Bergen"]


def test_policies_pick_a_winner() -> None:
    local_wins = replace(MAPPING, update_conflict=ConflictPolicy.LOCAL_WINS)
    result = plan(TO, local(city="Bergen"), crm(address1_city="Trondheim"), mapping=local_wins)
    assert dict(result.values) == {"address1_city": "Bergen"}
    crm_wins = replace(MAPPING, update_conflict=ConflictPolicy.INTEGRATION_WINS)
    result = plan(TO, local(city="Bergen", name="X"), crm(address1_city="Trondheim"), mapping=crm_wins)
    assert dict(result.values) == {"name": "X"}, "the losing field waits for the reverse pass"
    assert result.pending


def test_winners_resolve_field_by_field_and_the_rest_stays_parked() -> None:
    source, target = local(city="Bergen", phone="9"), crm(address1_city="Trondheim", telephone1="8")
    result = plan(TO, source, target, winners={"city|address1_city": Side.LOCAL}, reconsider=True)
    assert result.action is Action.CONFLICT
    assert dict(result.values) == {"address1_city": "Bergen"}
    assert [f.pair for f in result.conflicts] == ["phone|telephone1"]
    assert result.fingerprint is not None
    assert result.fingerprint["city|address1_city"] == ["Bergen", "Bergen"]
    assert result.fingerprint["phone|telephone1"] == [canonical("1"), canonical("1")]


def test_one_way_fields_always_follow_their_source() -> None:
    result = plan(TO, local(limit=20), crm(creditlimit=99))
    assert dict(result.values) == {"creditlimit": 20}


def test_without_a_fingerprint_business_centrals_record_level_rule_applies() -> None:
    fresh = replace(synced(), fingerprint=None, local_modified_on=None, integration_modified_on=None)
    result = plan(TO, local(phone="5"), crm(address1_city="Bergen"), coupling=fresh)
    assert result.action is Action.CONFLICT
    assert {f.pair for f in result.conflicts} == {"city|address1_city", "phone|telephone1"}


def test_a_forced_direction_reports_what_it_overwrote() -> None:
    result = plan(FROM, crm(address1_city="Trondheim"), local(city="Bergen", phone="9"), forced=True)
    assert dict(result.values) == {"city": "Trondheim", "phone": "1"}
    assert set(result.overwritten) == {"city|address1_city", "phone|telephone1"}


def test_modified_on_moved_but_values_did_not() -> None:
    touched = Record(key="L", modified_on=T1, values=BASE_LOCAL)
    result = plan(TO, touched, crm())
    assert result.action is Action.UNCHANGED


def test_fingerprints_round_trip_and_tolerate_garbage() -> None:
    fingerprint = fingerprint_of(tracked_pairs(MAPPING), BASE_LOCAL, BASE_CRM)
    assert decode(encode(fingerprint)) == fingerprint
    assert decode("not json") is None and decode(None) is None and decode("[1]") is None
    assert canonical(1) == canonical(1.0) == canonical(Decimal("1.00")) == "#1"
    assert canonical("") is None and canonical(True) == 1


def test_the_one_step_fingerprint_of_a_creation_is_the_general_one_to_the_byte() -> None:
    """``encoded_of_mapping`` joins the JSON of text values itself: escapes, non-ASCII text, empty values, values that
    differ between the sides and values that are not text (which take the general way) give the same text."""
    odd = ['say "hi"\\ \n\t', "Øresund 😀", "", None, "plain"]
    values: list[object] = [*odd, 3, 2.50, True, Decimal("1.10"), T0]
    for index, value in enumerate(values):
        other = values[(index * 7 + 3) % len(values)]
        for local_values, crm_values in (
            ({**BASE_LOCAL, "city": value}, {**BASE_CRM, "address1_city": value}),  # the same on both sides
            ({**BASE_LOCAL, "name": value}, {**BASE_CRM, "name": other}),  # differing
            ({**BASE_LOCAL, "phone": value}, {"name": "Adatum"}),  # missing on one side
        ):
            expected = encode(of_mapping(MAPPING, local_values, crm_values))
            assert encoded_of_mapping(MAPPING, local_values, crm_values) == expected
            assert decode(expected) == of_mapping(MAPPING, local_values, crm_values)
