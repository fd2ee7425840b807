"""The web app's formatting of values: amounts, options, lookups, dates, UTC times with a relative time, and why a
record is outside the filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from coupler.domain.mapping import Condition, Direction, FieldMapping, Operator, Side, TableMapping, TableSpec
from coupler.domain.transforms.pipeline import Transform
from coupler.entrypoints.web.formatting import (
    ago,
    amount,
    condition_words,
    count,
    field_value,
    outside_filter,
    shown,
    stored,
    when,
)

NOW = datetime(2026, 12, 7, 19, 6, tzinfo=UTC)
TERMS = FieldMapping(
    local="paymentTermsCode",
    integration="paymenttermscode",
    direction=Direction.BIDIRECTIONAL,
    transforms=(Transform(kind="options", params={"values": {"30 DAYS": 1, "CM": 3}}),),
    caption="Payment Terms Code",
)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=5), "5 minutes ago"),
        (timedelta(hours=2, minutes=10), "2 hours ago"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(hours=-2), "in 2 hours"),
        (timedelta(minutes=-59, seconds=-59), "in 1 hour"),
        (timedelta(minutes=59, seconds=40), "1 hour ago"),
    ],
)
def test_a_relative_time(delta: timedelta, words: str) -> None:
    assert ago(NOW - delta, NOW) == words


def test_a_utc_time_has_its_relative_time_beside_it() -> None:
    assert when(datetime(2026, 12, 7, 19, 1, 20, tzinfo=UTC), NOW) == "2026-12-07 19:01 UTC, 5 minutes ago"
    assert when(datetime(2026, 12, 7, 19, 1), NOW) == "2026-12-07 19:01 UTC, 5 minutes ago", "naive is UTC"
    assert when(None) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        ("", "—"),
        (True, "Yes"),
        (1234567, "1,234,567"),
        (5000.0, "5,000"),
        (1234.5, "1,234.50"),
        (Decimal("0.12345"), "0.12345"),
        (date(2026, 1, 5), "2026-01-05"),
        ("2026-01-05T00:00:00Z", "2026-01-05"),
        ("2026-12-07T19:01:00Z", "2026-12-07 19:01 UTC, 5 minutes ago"),
        ("Trey Research", "Trey Research"),
        ("2026-13-45T00:00:00Z", "2026-13-45T00:00:00Z"),
    ],
)
def test_values_are_shown_as_a_user_reads_them(value: object, text: str) -> None:
    assert shown(value, NOW) == text


def test_amounts_and_counts_have_thousands_separators() -> None:
    assert (amount(100000), count(100000), count(None)) == ("100,000", "100,000", "0")


def test_stored_values_are_read_back() -> None:
    assert stored("#5000") == Decimal(5000) and shown(stored("#5000")) == "5,000"
    assert stored("@2026-01-05") == datetime(2026, 1, 5)
    assert stored("#not a number") == "#not a number" and stored("Odense") == "Odense"


def test_an_option_is_shown_by_its_label_and_a_lookup_by_the_other_records_name() -> None:
    assert field_value(3, TERMS, Side.INTEGRATION) == "CM"
    assert field_value("CM", TERMS, Side.LOCAL) == "CM"
    assert field_value(9, TERMS, Side.INTEGRATION) == "9", "an unknown option value as it is"
    owner = FieldMapping(local="salespersonCode", integration="ownerid", direction=Direction.TO_INTEGRATION)
    labels = {(owner.pair, Side.INTEGRATION): {"6f1c-guid": "Jim Olive"}}
    assert field_value("6f1c-guid", owner, Side.INTEGRATION, labels) == "Jim Olive"
    assert field_value(None, owner, Side.INTEGRATION, labels) == "—"


def test_a_record_outside_the_filter_says_which_values_put_it_there() -> None:
    mapping = TableMapping(
        name="CUSTOMER",
        local=TableSpec(table="customers", key="id", filter=(Condition(field="blocked", value=""),)),
        integration=TableSpec(table="account", key="accountid"),
        direction=Direction.BIDIRECTIONAL,
        fields=(TERMS,),
    )
    assert outside_filter(mapping, Side.LOCAL, {"blocked": "All"}) == "Blocked is All"
    assert outside_filter(mapping, Side.LOCAL, {"blocked": ""}) is None
    assert outside_filter(mapping, Side.LOCAL, None) is None


def test_a_filter_condition_is_shown_in_words_with_the_fields_caption_and_its_value_as_a_record_shows_it() -> None:
    mapping = TableMapping(
        name="CUSTOMER",
        local=TableSpec(table="customers", key="id"),
        integration=TableSpec(table="account", key="accountid"),
        direction=Direction.BIDIRECTIONAL,
        fields=(TERMS,),
    )

    def words(side: Side, field: str, op: Operator, value: object = None) -> str:
        return condition_words(mapping, side, Condition(field=field, op=op, value=value))

    assert words(Side.LOCAL, "blocked", Operator.EQ, "") == 'Blocked is ""'
    assert words(Side.LOCAL, "blocked", Operator.NE, "All") == "Blocked is not All"
    assert words(Side.LOCAL, "balance", Operator.GT, 1500) == "Balance is more than 1,500"
    assert words(Side.LOCAL, "displayName", Operator.STARTSWITH, "A") == "Display name starts with A"
    assert words(Side.LOCAL, "paymentTermsCode", Operator.IS_NULL) == "Payment Terms Code is empty"
    assert words(Side.INTEGRATION, "paymenttermscode", Operator.IN, [1, 3, None]) == (
        "Payment Terms Code is one of 30 DAYS, CM, (empty)"
    )
    assert words(Side.INTEGRATION, "statecode", Operator.EQ, None) == "Statecode is (empty)"
