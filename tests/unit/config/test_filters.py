"""A table filter's conditions as a user writes them (the CLI's options, the page's rows) and as coupler.toml
keeps them."""

from __future__ import annotations

import pytest

from coupler.config.filters import condition, parse_condition, shown_value
from coupler.domain.errors import UsageError


@pytest.mark.parametrize(
    ("line", "written"),
    [
        ('blocked=""', {"field": "blocked", "op": "eq", "value": ""}),
        ("blocked=", {"field": "blocked", "op": "eq", "value": ""}),
        ("statecode = 0", {"field": "statecode", "op": "eq", "value": 0}),
        ('code="30"', {"field": "code", "op": "eq", "value": "30"}),
        ("type=Person", {"field": "type", "op": "eq", "value": "Person"}),
        ("creditLimit>=1000.5", {"field": "creditLimit", "op": "ge", "value": 1000.5}),
        ("blocked!=true", {"field": "blocked", "op": "ne", "value": True}),
        ("name startswith Ad", {"field": "name", "op": "startswith", "value": "Ad"}),
        ('code in 1, 2, "a,b"', {"field": "code", "op": "in", "value": [1, 2, "a,b"]}),
        ("code is_null", {"field": "code", "op": "is_null"}),
        ("companyid in A, (empty)", {"field": "companyid", "op": "in", "value": ["A"], "or_null": True}),
    ],
)
def test_a_condition_in_a_line(line: str, written: dict[str, object]) -> None:
    assert parse_condition(line) == written


def test_what_does_not_fit_says_what_to_write_naming_the_field_by_its_caption() -> None:
    with pytest.raises(UsageError, match="'blocked' is not a filter condition: write FIELD=VALUE"):
        parse_condition("blocked")
    with pytest.raises(UsageError, match="'bigger' is not a filter operator"):
        parse_condition("x bigger 1")
    with pytest.raises(UsageError, match=r"^Credit Limit \(LCY\): is more than needs a value\.$"):
        condition("creditLimit", "gt", " ", caption="Credit Limit (LCY)")
    with pytest.raises(UsageError, match="Type: is one of needs values separated by commas"):
        condition("type", "in", "", caption="Type")
    with pytest.raises(UsageError, match=r"Type: \(empty\) goes with 'is one of' only"):
        condition("type", "not_in", "A, (empty)", caption="Type")


def test_an_in_list_with_empty_values_reads_back_with_them() -> None:
    """The domain keeps ``or_null`` as a None among the values; the form shows it as (empty)."""
    assert shown_value(["A", None]) == "A, (empty)"
    assert condition("f", "in", shown_value(["A", None])) == {"field": "f", "op": "in", "value": ["A"], "or_null": True}


@pytest.mark.parametrize("value", ["", "Person", "30", "true", "a,b", 0, 1.5, True, [1, "2", "x"]])
def test_a_value_shown_reads_back_as_the_same_value(value: object) -> None:
    op = "in" if isinstance(value, list) else "eq"
    assert condition("f", op, shown_value(value))["value"] == value
