"""Field value transformations: checking a step's settings, and applying steps in each direction."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from coupler.domain.mapping import Direction
from coupler.domain.transforms.pipeline import (
    IDENTITY,
    KINDS,
    Transform,
    TransformError,
    apply_transforms,
    check_transform,
    compile_transforms,
)

TO = Direction.TO_INTEGRATION
FROM = Direction.FROM_INTEGRATION
TERMS = {"30 DAYS": 1, "14 DAYS": 2}


def step(kind: str, direction: str | None = None, **params: Any) -> Transform:
    return Transform(kind=kind, params=params, direction=direction)


def to(value: Any, *steps: Transform, max_length: int | None = None) -> Any:
    return apply_transforms(steps, value, TO, max_length=max_length)


def back(value: Any, *steps: Transform) -> Any:
    return apply_transforms(steps, value, FROM)


def refused(transform: Transform, match: str, *, field_direction: str | None = None) -> None:
    with pytest.raises(TransformError, match=match):
        check_transform(transform, field_direction=field_direction)


# --- checking ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "transform",
    [
        step("trim"),
        step("upper", "to-integration"),
        step("lower", "from-integration"),
        step("lower", "bidirectional"),
        step("truncate"),
        step("truncate", length=30),
        step("replace", pattern=r"(\d+)-(?P<b>\d+)", replacement=r"\2/\g<b>/\1", count=1, ignore_case=True),
        step("map", values={"A": "x"}, strict=True),
        step("options", values={"30 DAYS": 1, "14 DAYS": "2"}),
        step("date", format="%d.%m.%Y", input_format="%Y%m%d"),
        step("number", decimals=2, rounding="half-even"),
        step("number", decimals=0),
        step("python", name="vat"),
        step("python", name="vat", function=str.upper),
    ],
)
def test_valid_steps_pass_the_check(transform: Transform) -> None:
    check_transform(transform)
    check_transform(transform, field_direction=Direction.BIDIRECTIONAL)


def test_every_kind_is_known_and_an_unknown_one_is_named() -> None:
    assert set(KINDS) == {"trim", "upper", "lower", "truncate", "replace", "map", "options", "date", "number", "python"}
    refused(step("capitalize"), r"unknown transform 'capitalize'; the kinds are: trim, upper, lower, truncate")


def test_a_bad_direction_is_refused() -> None:
    refused(step("trim", "sideways"), r"trim: direction 'sideways' is not one of: bidirectional, to-integration")
    refused(step("trim"), r"trim: the field's direction 'up' is not a direction", field_direction="up")


def test_a_step_that_could_never_run_on_its_field_is_refused() -> None:
    refused(
        step("upper", "to-integration"),
        r"upper: the step runs to-integration only, but its field flows from-integration only, so it would never run",
        field_direction=FROM,
    )
    check_transform(step("upper", "to-integration"), field_direction=TO)
    refused(step("uppr", "to-integration"), r"^unknown transform 'uppr'", field_direction=FROM)


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (step("trim", chars=" "), r"trim: unknown setting 'chars'; it takes no settings"),
        (step("truncate", size=3), r"truncate: unknown setting 'size'; it takes length"),
        (step("replace", pattern="a"), r"replace: the setting replacement is required"),
        (step("replace", replacement="a"), r"replace: the setting pattern is required"),
        (step("map"), r"map: the setting values is required"),
        (step("options"), r"options: the setting values is required"),
        (step("options", values=TERMS, strict=True), r"options: unknown setting 'strict'; it takes values"),
        (step("date"), r"date: the setting format is required"),
        (step("number"), r"number: the setting decimals is required"),
        (
            step("number", decimals=2, places=2),
            r"number: unknown setting 'places'; it takes decimals, rounding, minimum",
        ),
        (step("python"), r"python: the setting name is required"),
    ],
)
def test_missing_and_unknown_settings_are_named(transform: Transform, message: str) -> None:
    refused(transform, message)


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (step("truncate", length=0), r"truncate: length must be a positive whole number, not 0"),
        (step("truncate", length=-3), r"truncate: length must be a positive whole number, not -3"),
        (step("truncate", length="30"), r"truncate: length must be a positive whole number, not '30'"),
        (step("truncate", length=True), r"truncate: length must be a positive whole number, not True"),
        (step("truncate", length=2.5), r"truncate: length must be a positive whole number, not 2.5"),
        (step("replace", pattern="(", replacement=""), r"replace: pattern '\(' is not a valid regular expression"),
        (step("replace", pattern="", replacement=""), r"replace: pattern must be a non-empty regular expression"),
        (step("replace", pattern=1, replacement=""), r"replace: pattern must be a non-empty regular expression, not 1"),
        (step("replace", pattern="a", replacement=None), r"replace: replacement must be text, not None"),
        (step("replace", pattern="(a)", replacement=r"\2"), r"replace: replacement '\\\\2' does not fit the pattern"),
        (step("replace", pattern="a", replacement=r"\g<x>"), r"replace: replacement .* does not fit the pattern"),
        (
            step("replace", pattern="a", replacement="b", count=-1),
            r"replace: count must be a whole number of at least 0",
        ),
        (step("replace", pattern="a", replacement="b", ignore_case="yes"), r"replace: ignore_case must be true or"),
        (step("map", values=["A", "B"]), r"map: values must be a non-empty table, like \{ \"30 DAYS\" = 1 \}"),
        (step("map", values={}), r"map: values must be a non-empty table"),
        (
            step("map", values={"A": [1]}),
            r"map: the value of 'A' must be a plain value \(text, number, date\), not \[1\]",
        ),
        (step("map", values={"A": 1}, strict="no"), r"map: strict must be true or false, not 'no'"),
        (step("options", values={"A": 1.5}), r"options: the value of 'A' must be an option value .*, not 1.5"),
        (step("options", values={"A": True}), r"options: the value of 'A' must be an option value .*, not True"),
        (step("date", format=""), r"date: format must be non-empty text, not ''"),
        (step("date", format="%Y", input_format=3), r"date: input_format must be non-empty text, not 3"),
        (step("number", decimals=-1), r"number: decimals must be a whole number of at least 0, not -1"),
        (step("number", decimals="2"), r"number: decimals must be a whole number of at least 0, not '2'"),
        (step("number", decimals=2, rounding="up"), r"number: rounding 'up' is not one of: half-up, half-even, down"),
        (step("number", decimals=2, minimum="0"), r"number: minimum must be a number, not '0'"),
        (step("number", decimals=2, minimum=5, maximum=1), r"number: minimum 5 is greater than maximum 1"),
        (step("python", name=""), r"python: name must be non-empty text, not ''"),
        (step("python", name="vat", function="vat"), r"python: the function of 'vat' is not callable: 'vat'"),
    ],
)
def test_badly_typed_settings_are_named(transform: Transform, message: str) -> None:
    refused(transform, message)


def test_a_table_read_both_ways_must_be_one_to_one_and_the_collisions_are_named() -> None:
    table = {"A": 1, "B": 1, "C": 2, "D": "2", "E": 3, "F": 3, "G": 3}
    with pytest.raises(TransformError) as caught:
        check_transform(step("map", values=table))
    message = str(caught.value)
    assert message.startswith("map: the table is read backwards from-integration, so each value may appear only once")
    assert "'A' and 'B' both give 1" in message
    assert "'C' and 'D' both give 2" in message  # 2 and "2" cannot be told apart when read back
    assert "'E' and 'F' and 'G' all give 3" in message
    assert 'direction = "to-integration"' in message
    refused(step("options", values={"NET30": 1, "30 DAYS": 1}), r"options: .*'NET30' and '30 DAYS' both give 1")


def test_a_table_read_one_way_only_may_be_many_to_one() -> None:
    many_to_one = {"A": 1, "B": 1}
    check_transform(step("map", "to-integration", values=many_to_one))
    check_transform(step("options", values=many_to_one), field_direction=TO)
    refused(step("map", "from-integration", values=many_to_one), "read backwards")
    refused(step("map", values=many_to_one), "read backwards", field_direction=FROM)
    refused(step("map", values=many_to_one), "read backwards", field_direction=Direction.BIDIRECTIONAL)


# --- text kinds -------------------------------------------------------------------------------------------------


def test_trim_upper_lower() -> None:
    assert to("  Adatum \t", step("trim")) == "Adatum"
    assert to("Adatum", step("upper")) == "ADATUM"
    assert to("Adatum", step("lower")) == "adatum"
    assert back("straße", step("upper")) == "STRASSE"


def test_steps_apply_in_order() -> None:
    assert to("  ab  ", step("trim"), step("upper"), step("truncate", length=1)) == "A"
    assert to("  ab  ", step("truncate", length=3), step("trim")) == "a"


@pytest.mark.parametrize(
    "transform",
    [
        step("trim"),
        step("upper"),
        step("lower"),
        step("truncate", length=1),
        step("replace", pattern="1", replacement=""),
    ],
)
def test_text_kinds_change_only_text(transform: Transform) -> None:
    assert to(None, transform) is None
    assert back(None, transform) is None
    assert to("", transform) == ""
    assert to(12, transform) == 12
    assert back(Decimal("1.5"), transform) == Decimal("1.5")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    assert to(stamp, transform) is stamp


def test_truncate_uses_its_length_else_the_target_length_else_nothing() -> None:
    assert to("abcdef", step("truncate", length=3), max_length=5) == "abc"
    assert to("abcdef", step("truncate"), max_length=4) == "abcd"
    assert to("abc", step("truncate"), max_length=10) == "abc"
    assert to("abcdef", step("truncate")) == "abcdef"
    assert to(12, step("truncate")) == 12  # nothing to cut to: a no-op, whatever the value


def test_replace_with_groups_count_and_case() -> None:
    assert to("+49 (0) 30-1234", step("replace", pattern=r"[^\d+]", replacement="")) == "+49030" + "1234"
    assert to("2026-01-31", step("replace", pattern=r"(\d+)-(\d+)-(?P<d>\d+)", replacement=r"\g<d>.\2.\1")) == (
        "31.01.2026"
    )
    assert to("a-a-a", step("replace", pattern="a", replacement="b", count=2)) == "b-b-a"
    assert to("Ltd. LTD ltd", step("replace", pattern="ltd", replacement="Limited", ignore_case=True)) == (
        "Limited. Limited Limited"
    )
    assert to("LTD", step("replace", pattern="ltd", replacement="x")) == "LTD"
    assert to(None, step("replace", pattern="a", replacement="b")) is None


def test_replace_checks_a_verbose_pattern_too() -> None:
    check_transform(step("replace", pattern=r"(?x) (\d+)  # digits", replacement=r"<\1>"))
    assert to("a12", step("replace", pattern=r"(?x) (\d+)  # digits", replacement=r"<\1>")) == "a<12>"


# --- map and options ----------------------------------------------------------------------------------------------


def test_map_reads_forwards_to_integration_and_backwards_from_integration() -> None:
    colors = step("map", values={"RED": "Red", "BLUE": "Blue"})
    assert to("RED", colors) == "Red"
    assert back("Blue", colors) == "BLUE"


def test_map_passes_a_missing_value_unless_strict() -> None:
    loose = step("map", values={"RED": "Red"})
    assert to("GREEN", loose) == "GREEN"
    assert back("Green", loose) == "Green"
    assert to(None, loose) is None
    strict = step("map", values={"RED": "Red", "BLUE": "Blue"}, strict=True)
    with pytest.raises(
        TransformError, match=r"^map: 'GREEN' is not a value the mapping knows; the known ones are: 'RED', 'BLUE'$"
    ):
        to("GREEN", strict)
    with pytest.raises(
        TransformError,
        match=r"^map: 'Green' is not a value the mapping knows; the known ones are: "
        r"'Red' \('RED'\), 'Blue' \('BLUE'\)$",
    ):
        back("Green", strict)
    assert to(None, strict) is None
    assert to("", strict) == ""


def test_map_finds_numbers_by_their_text_and_returns_typed_values() -> None:
    status = step("map", values={"1": True, "0": False})
    assert to(1, status) is True
    assert to(Decimal("0"), status) is False
    assert back(True, status) == "1"
    priorities = step("map", values={"HIGH": 1, "LOW": 3})
    assert back(Decimal("3"), priorities) == "LOW"
    assert back(1.0, priorities) == "HIGH"
    assert back("1", priorities) == "HIGH"
    assert to(["unhashable"], priorities) == ["unhashable"]


def test_options_translate_codes_and_option_set_integers() -> None:
    terms = step("options", values=TERMS)
    assert to("30 DAYS", terms) == 1
    assert to("14 DAYS", terms) == 2
    assert back(2, terms) == "14 DAYS"
    assert back(Decimal(1), terms) == "30 DAYS"
    assert back("1", terms) == "30 DAYS"  # an option value stored as text


def test_options_pass_empty_as_none_and_refuse_an_unknown_value_naming_the_known_ones() -> None:
    terms = step("options", values=TERMS)
    for empty in (None, ""):
        assert to(empty, terms) is None
        assert back(empty, terms) is None
    with pytest.raises(
        TransformError,
        match=r"^options: 'NET 45' is not a value the mapping knows; the known ones are: '30 DAYS', '14 DAYS'$",
    ):
        to("NET 45", terms)
    with pytest.raises(
        TransformError,
        match=r"^options: 7 is not a value the mapping knows; the known ones are: 1 \('30 DAYS'\), 2 \('14 DAYS'\)$",
    ):
        back(7, terms)


def test_a_long_list_of_known_values_is_cut_short() -> None:
    many = step("options", values={f"C{n:02}": n for n in range(30)})
    with pytest.raises(TransformError, match=r"'C19' and 10 more$"):
        to("X", many)


def test_options_applied_after_text_steps() -> None:
    steps = (step("trim"), step("upper", "to-integration"), step("options", values=TERMS))
    assert to(" 30 days ", *steps) == 1
    assert back(2, *steps) == "14 DAYS"


# --- dates and numbers ------------------------------------------------------------------------------------------


def test_date_formats_dates_datetimes_and_iso_text() -> None:
    german = step("date", format="%d.%m.%Y")
    assert to(date(2026, 1, 31), german) == "31.01.2026"
    assert to(datetime(2026, 1, 31, 23, 0, tzinfo=UTC), german) == "31.01.2026"
    assert back("2026-01-31", german) == "31.01.2026"
    assert to(" 2026-01-31T10:00:00Z ", step("date", format="%H:%M")) == "10:00"
    assert to(datetime(2026, 1, 31, 10, 0), step("date", format="%H:%M")) == "10:00"  # naive: as it is


def test_date_writes_an_aware_datetime_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    assert to(datetime(2026, 2, 1, 0, 30, tzinfo=berlin), step("date", format="%Y-%m-%d %H:%M")) == "2026-01-31 23:30"
    assert to("2026-02-01T00:30:00+01:00", step("date", format="%Y-%m-%d %H:%M")) == "2026-01-31 23:30"


def test_date_reads_text_with_an_input_format() -> None:
    assert to("20260131", step("date", format="%Y-%m-%d", input_format="%Y%m%d")) == "2026-01-31"
    with pytest.raises(TransformError, match=r"^date: cannot read '31/01/2026' as the input_format '%Y%m%d'"):
        to("31/01/2026", step("date", format="%Y-%m-%d", input_format="%Y%m%d"))


def test_date_passes_empty_as_none_and_names_what_it_cannot_read() -> None:
    german = step("date", format="%d.%m.%Y")
    assert to(None, german) is None
    assert to("", german) is None
    with pytest.raises(TransformError, match=r"^date: cannot read 'soon' as ISO 8601 \(like 2026-01-31\)"):
        to("soon", german)
    with pytest.raises(TransformError, match=r"^date: 20260131 is not a date, a datetime or text$"):
        to(20260131, german)


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        (2.345, "half-up", Decimal("2.35")),
        (Decimal("2.345"), "half-even", Decimal("2.34")),
        ("2.355", "half-even", Decimal("2.36")),
        (Decimal("-2.345"), "half-up", Decimal("-2.35")),  # ties away from zero
        (2.349, "down", Decimal("2.34")),
        (-2.349, "down", Decimal("-2.34")),  # towards zero
        (7, "half-up", Decimal("7.00")),
        (" 1e3 ", "half-up", Decimal("1000.00")),
    ],
)
def test_number_rounds_to_decimals(value: Any, rounding: str, expected: Decimal) -> None:
    result = to(value, step("number", decimals=2, rounding=rounding))
    assert isinstance(result, Decimal)
    assert result == expected
    assert str(result) == str(expected)


def test_number_defaults_to_half_up_and_whole_numbers() -> None:
    assert to(2.5, step("number", decimals=0)) == Decimal(3)
    assert str(to("12345678901234567890123456789.5", step("number", decimals=0))) == "12345678901234567890123456790"
    assert str(to(Decimal("9" * 40 + ".5"), step("number", decimals=1))) == "9" * 40 + ".5"


def test_number_holds_the_result_between_minimum_and_maximum() -> None:
    at_least_zero = step("number", decimals=2, minimum=0)
    assert to(-5, at_least_zero) == Decimal("0.00"), "Business Central sends a negative inventory as 0"
    assert to("-0.004", at_least_zero) == Decimal("0.00")
    assert to(12.5, at_least_zero) == Decimal("12.50")
    capped = step("number", decimals=0, minimum=-1.5, maximum=100)
    assert (to(-7, capped), to(250, capped), to(None, capped)) == (Decimal("-2"), Decimal("100"), None)


def test_number_names_a_value_too_large_to_round() -> None:
    with pytest.raises(TransformError, match=r"^number: Decimal\('1E\+100'\) is too large to round to 0.01$"):
        to(Decimal("1E100"), step("number", decimals=2))


def test_number_passes_empty_as_none_and_names_what_is_not_a_number() -> None:
    rounded = step("number", decimals=2)
    assert to(None, rounded) is None
    assert to("", rounded) is None
    for bad in ("12,5", True, [1], (0, (1,), 1), "NaN", float("inf"), date(2026, 1, 1)):
        with pytest.raises(TransformError, match=rf"^number: {re.escape(repr(bad))} is not "):
            to(bad, rounded)


# --- python -----------------------------------------------------------------------------------------------------


def test_python_calls_the_loaded_function() -> None:
    vat = step("python", name="vat", function=lambda value: f"DE{value}")
    assert to("123", vat) == "DE123"
    assert back(None, vat) == "DENone"  # the function decides about None


def test_python_without_its_loaded_function_cannot_compile() -> None:
    with pytest.raises(TransformError, match=r"^python: the transform 'vat' is not loaded \(no function\)$"):
        compile_transforms([step("python", name="vat")], TO)
    assert compile_transforms([step("python", "from-integration", name="vat")], TO)("x") == "x"


def test_a_failing_function_becomes_a_transform_error_naming_it_and_the_value() -> None:
    def boom(value: Any) -> Any:
        raise KeyError(value)

    with pytest.raises(
        TransformError, match=r"^python: the transform 'boom' failed on 'x': KeyError\('x'\)$"
    ) as caught:
        to("x", step("python", name="boom", function=boom))
    assert isinstance(caught.value.__cause__, KeyError)

    def refuse(value: Any) -> Any:
        raise TransformError(f"no VAT number: {value}")

    with pytest.raises(TransformError, match=r"^no VAT number: x$"):
        to("x", step("python", name="refuse", function=refuse))


# --- directions and compiling -----------------------------------------------------------------------------------


def test_a_step_with_a_direction_runs_only_that_way() -> None:
    steps = (step("upper", "to-integration"), step("lower", "from-integration"))
    assert to("Adatum", *steps) == "ADATUM"
    assert back("Adatum", *steps) == "adatum"
    assert back("Adatum", step("upper", "bidirectional")) == "ADATUM"


def test_compile_needs_a_one_way_direction() -> None:
    with pytest.raises(TransformError, match=r"one-way direction, not <Direction.BIDIRECTIONAL"):
        compile_transforms([step("trim")], Direction.BIDIRECTIONAL)
    assert compile_transforms([step("trim")], "to-integration")(" a ") == "a"


def test_compile_checks_every_step_even_those_of_the_other_direction() -> None:
    with pytest.raises(TransformError, match="unknown transform 'nope'"):
        compile_transforms([step("nope", "from-integration")], TO)
    with pytest.raises(TransformError, match="replace: the setting replacement is required"):
        compile_transforms([step("replace", pattern="a")], TO)
    with pytest.raises(TransformError, match="direction 'up'"):
        compile_transforms([step("trim", "up")], TO)
    with pytest.raises(TransformError, match="read backwards"):
        compile_transforms([step("map", values={"A": 1, "B": 1})], FROM)
    assert compile_transforms([step("map", values={"A": 1, "B": 1})], TO)("B") == 1


def test_compile_returns_the_identity_without_steps_and_is_reusable() -> None:
    nothing = compile_transforms([], TO)
    value = object()
    assert nothing is IDENTITY
    assert nothing(value) is value
    assert compile_transforms([step("truncate"), step("upper", "from-integration")], TO) is IDENTITY
    terms = compile_transforms([step("trim"), step("options", values=TERMS)], FROM)
    assert [terms(v) for v in (1, 2, None, 1)] == ["30 DAYS", "14 DAYS", None, "30 DAYS"]


def test_every_error_names_the_kind_and_the_value() -> None:
    cases: list[tuple[Transform, Any]] = [
        (step("map", values={"A": "B"}, strict=True), "Z"),
        (step("options", values=TERMS), "Z"),
        (step("date", format="%Y"), "Z"),
        (step("number", decimals=1), "Z"),
        (step("python", name="p", function=lambda v: 1 / 0), "Z"),
    ]
    for transform, value in cases:
        with pytest.raises(TransformError) as caught:
            to(value, transform)
        assert str(caught.value).startswith(f"{transform.kind}: ")
        assert repr(value) in str(caught.value)


def test_a_long_value_is_shortened_in_a_message() -> None:
    with pytest.raises(TransformError) as caught:
        to("x" * 500, step("options", values=TERMS))
    assert "xxx..." in str(caught.value)
    assert len(str(caught.value)) < 200
