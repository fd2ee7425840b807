"""How the web app shows values: amounts with thousands separators, option values by label, lookups by the other
record's name, dates as dates, UTC times with a relative time beside them. Installed as the templates' filters
(``install``); every function is pure, ``now`` given for tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment

from coupler.config.filters import EMPTY as EMPTY_VALUE
from coupler.config.filters import OPERATOR_WORDS
from coupler.domain.mapping import Condition, FieldMapping, Operator, Side, TableMapping
from coupler.domain.timeutil import utcnow

__all__ = [
    "EMPTY",
    "Labels",
    "ago",
    "amount",
    "condition_words",
    "count",
    "field_value",
    "install",
    "option_labels",
    "outside_filter",
    "shown",
    "stored",
    "when",
]

EMPTY = "—"
Labels = Mapping[tuple[str, Side], Mapping[str, str]]
"""Names of values, by field mapping (its ``pair``) and side: an option's value -> its label, a lookup's key -> the
other record's name."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def ago(value: datetime, now: datetime | None = None) -> str:
    """How long ago (or from now) ``value`` is, in words: "just now", "5 minutes ago", "in 2 hours", "3 days ago"."""
    seconds = ((now or utcnow()) - value).total_seconds()
    later, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    seconds = round(seconds / 60) * 60  # to the minute: 59 min 59 s is "1 hour", not "60 minutes"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size or unit == "minute":
            n = max(1, round(seconds / size)) if unit == "minute" else int(seconds // size)
            text = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"in {text}" if later else f"{text} ago"
    raise AssertionError("unreachable")  # pragma: no cover


def when(value: datetime | None, now: datetime | None = None) -> str:
    """A UTC time to the minute with how long ago it is: "2026-12-07 19:01 UTC, 5 minutes ago"; "" for None."""
    if value is None:
        return ""
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC, {ago(moment, now)}"


def count(value: int | None) -> str:
    """A count with thousands separators: 100000 -> "100,000"."""
    return f"{value or 0:,}"


def amount(value: float | Decimal | int) -> str:
    """A number with thousands separators: whole numbers as they are, others with 2 decimals or as many as they
    need (up to 5): 1234567.5 -> "1,234,567.50"."""
    if isinstance(value, int):
        return f"{value:,}"
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    exponent = number.normalize().as_tuple().exponent
    places = min(5, max(2, -exponent if isinstance(exponent, int) else 2))
    return f"{number:,.{places}f}"


def shown(value: Any, now: datetime | None = None) -> str:
    """Any value as a user reads it: "—" for nothing, Yes/No, amounts with separators, dates as dates, times in UTC
    with a relative time."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        return amount(value)
    if isinstance(value, datetime):
        return when(value, now)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
            return moment.date().isoformat()
        return when(moment, now)
    return str(value)


def stored(value: Any) -> Any:
    """A value as coupler stores it for comparison (fingerprints, conflicts: ``#`` before a number, ``@`` before an
    ISO date or time) back as the value: "#5000" -> Decimal 5000."""
    if isinstance(value, str) and len(value) > 1 and value[0] in "#@":
        try:
            return Decimal(value[1:]) if value[0] == "#" else datetime.fromisoformat(value[1:])
        except (ArithmeticError, ValueError):
            return value
    return value


def option_labels(field: FieldMapping) -> dict[str, str]:
    """The labels of an option mapping's integration values (its ``options``: local code -> integration value)."""
    labels: dict[str, str] = {}
    for step in field.transforms:
        if step.kind == "options":
            for code, value in dict(step.params.get("values", {})).items():
                labels.setdefault(str(value), str(code))
    return labels


def field_value(value: Any, field: FieldMapping, side: Side, labels: Labels | None = None) -> str:
    """A field's value on ``side`` as a user reads it: an option by its label, a lookup by the other record's name
    (from ``labels``), else as ``shown``."""
    if value is None or value == "":
        return EMPTY
    named = (labels or {}).get((field.pair, side), {}).get(str(value))
    if named is not None:
        return named
    if side is Side.INTEGRATION:
        label = option_labels(field).get(str(value))
        if label is not None:
            return label
    return shown(value)


def condition_words(mapping: TableMapping, side: Side, condition: Condition) -> str:
    """A filter's condition as a user reads it: the field's caption, the condition in words and the value as the
    record shows it ("Blocked is \"\"", "Customer Type is one of Customer, (empty)", "Name starts with A")."""
    name = mapping.caption_of(side, condition.field)
    words = OPERATOR_WORDS[condition.op]
    if condition.op in (Operator.IS_NULL, Operator.NOT_NULL):
        return f"{name} {words}"
    field = next((f for f in mapping.fields if f.field(side) == condition.field), None)
    values = condition.value if isinstance(condition.value, list | tuple) else [condition.value]
    return f"{name} {words} {', '.join(_filter_value(v, field, side) for v in values)}"


def _filter_value(value: Any, field: FieldMapping | None, side: Side) -> str:
    """A value of a condition: an option by its label, nothing as (empty), the empty text as \"\"."""
    if value is None:
        return EMPTY_VALUE
    if value == "":
        return '""'
    return field_value(value, field, side) if field is not None else shown(value)


def _condition(mapping: TableMapping, side: Side, condition: Condition, actual: Any) -> str:
    name = mapping.caption_of(side, condition.field)
    return f"{name} is empty" if actual in (None, "") else f"{name} is {shown(actual)}"


def outside_filter(mapping: TableMapping, side: Side, values: Mapping[str, Any] | None) -> str | None:
    """Why a record is outside the mapping's filter on its side ("Blocked is All"): the values of the conditions it
    fails; None when it is inside (or not read)."""
    if values is None:
        return None
    failed = mapping.spec(side).failed(values)
    if not failed:
        return None
    return "; ".join(_condition(mapping, side, c, values.get(c.field)) for c in failed)


def install(env: Environment) -> None:
    """Register the filters: ``when``, ``ago``, ``count``, ``shown``, ``field_value``; and ``outside_filter``,
    ``condition_words`` and ``Side`` as globals."""
    env.filters["when"] = when
    env.filters["ago"] = ago
    env.filters["count"] = count
    env.filters["shown"] = shown
    env.filters["field_value"] = field_value
    env.filters["stored"] = stored
    env.globals["outside_filter"] = outside_filter
    env.globals["condition_words"] = condition_words
    env.globals["Side"] = Side
