"""How a table mapping names things to a user: records by display key and name, columns by caption, and the
conditions of the filter a record does not meet."""

from __future__ import annotations

from coupler.domain.mapping import (
    Condition,
    Direction,
    FieldMapping,
    Operator,
    Side,
    TableMapping,
    TableSpec,
    words,
)

CUSTOMER = TableMapping(
    name="CUSTOMER",
    local=TableSpec(
        table="customers",
        key="id",
        display_key="number",
        name_field="displayName",
        caption="Customer",
        filter=(Condition(field="blocked", value=""), Condition(field="balance", op=Operator.LT, value=100)),
    ),
    integration=TableSpec(table="account", key="accountid", display_key="name"),
    direction=Direction.BIDIRECTIONAL,
    fields=(
        FieldMapping(local="displayName", integration="name", direction=Direction.BIDIRECTIONAL, caption="Name"),
        FieldMapping(local="postalCode", integration="address1_postalcode", direction=Direction.BIDIRECTIONAL),
    ),
)


def test_a_record_is_named_by_its_display_key_and_its_name() -> None:
    values = {"number": "C00020", "displayName": "Trey Research"}
    assert CUSTOMER.title(Side.LOCAL, "guid-1", values) == "C00020 Trey Research"
    assert CUSTOMER.title(Side.LOCAL, "guid-1", {"number": "C00020"}) == "C00020"
    assert CUSTOMER.title(Side.LOCAL, "guid-1", {}) == "guid-1"
    assert CUSTOMER.title(Side.INTEGRATION, "guid-2", {"name": "Trey Research"}) == "Trey Research"


def test_the_name_field_is_read_with_the_mapped_columns() -> None:
    assert "displayName" in CUSTOMER.columns(Side.LOCAL)


def test_a_column_is_named_by_its_caption_else_in_words() -> None:
    assert CUSTOMER.caption_of(Side.LOCAL, "displayName") == "Name"
    assert CUSTOMER.caption_of(Side.INTEGRATION, "name") == "Name"
    assert CUSTOMER.caption_of(Side.LOCAL, "blocked") == "Blocked"
    assert CUSTOMER.fields[1].title == "postalCode"
    assert words("customerNumber") == "Customer number" and words("address1_city") == "Address1 city"


def test_the_conditions_a_record_fails_are_named() -> None:
    failed = CUSTOMER.local.failed({"blocked": "All", "balance": 20})
    assert [c.field for c in failed] == ["blocked"]
    assert CUSTOMER.local.failed({"blocked": "", "balance": 20}) == ()
    assert (CUSTOMER.local.title, CUSTOMER.integration.title) == ("Customer", "account")
