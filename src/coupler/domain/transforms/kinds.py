"""The kinds of transformation step: the ``Transform`` value, the settings each kind takes, and checking and preparing
a step's settings once (a compiled regex, a table read backwards). See ``transforms`` for the kinds described."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "BOTH",
    "DIRECTIONS",
    "FROM_INTEGRATION",
    "KINDS",
    "ROUNDINGS",
    "TO_INTEGRATION",
    "Transform",
    "TransformError",
    "as_text",
    "prepare",
    "show",
    "step_runs",
]

TO_INTEGRATION = "to-integration"
FROM_INTEGRATION = "from-integration"
BOTH = "bidirectional"
DIRECTIONS = (None, BOTH, TO_INTEGRATION, FROM_INTEGRATION)


class TransformError(ValueError):
    """A value could not be transformed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Transform:
    """One step: ``kind`` names it, ``params`` holds its settings; ``direction`` limits it to one way (None: both)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    direction: str | None = None


KINDS = ("trim", "upper", "lower", "truncate", "replace", "map", "options", "date", "number", "python")
ROUNDINGS = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN, "down": ROUND_DOWN}

# kind -> (required settings, optional settings)
_SETTINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "trim": ((), ()),
    "upper": ((), ()),
    "lower": ((), ()),
    "truncate": ((), ("length",)),
    "replace": (("pattern", "replacement"), ("count", "ignore_case")),
    "map": (("values",), ("strict",)),
    "options": (("values",), ()),
    "date": (("format",), ("input_format",)),
    "number": (("decimals",), ("rounding", "minimum", "maximum")),
    "python": (("name",), ("function",)),
}
_PLAIN = (str, int, float, Decimal, date)  # what a table's value may be (TOML's scalars)


def step_runs(step_direction: str | None, field_direction: str | None, way: str) -> bool:
    return step_direction in (None, BOTH, way) and field_direction in (None, BOTH, way)


def prepare(transform: Transform, *, backwards: bool) -> Any:
    """Check a step's kind, direction and settings; return what its step needs, computed once (a regex, tables)."""
    kind, params = transform.kind, transform.params
    if kind not in KINDS:
        raise TransformError(f"unknown transform {kind!r}; the kinds are: {', '.join(KINDS)}")
    if transform.direction not in DIRECTIONS:
        raise TransformError(f"{kind}: direction {transform.direction!r} is not one of: {', '.join(DIRECTIONS[1:])}")
    required, optional = _SETTINGS[kind]
    unknown = [name for name in params if name not in required and name not in optional]
    if unknown:
        takes = ", ".join((*required, *optional)) or "no settings"
        raise TransformError(f"{kind}: unknown setting {', '.join(map(repr, unknown))}; it takes {takes}")
    missing = [name for name in required if name not in params]
    if missing:
        raise TransformError(f"{kind}: the setting {', '.join(missing)} is required")
    if kind == "truncate":
        length = params.get("length")
        if length is not None:
            _integer(kind, "length", length, minimum=1)
        return length
    if kind == "replace":
        return _prepare_replace(params)
    if kind in ("map", "options"):
        return _prepare_table(kind, params, backwards=backwards)
    if kind == "date":
        _text_setting(kind, "format", params["format"])
        if params.get("input_format") is not None:
            _text_setting(kind, "input_format", params["input_format"])
        return params["format"], params.get("input_format")
    if kind == "number":
        decimals = _integer(kind, "decimals", params["decimals"], minimum=0)
        rounding = params.get("rounding", "half-up")
        if rounding not in ROUNDINGS:
            raise TransformError(f"{kind}: rounding {rounding!r} is not one of: {', '.join(ROUNDINGS)}")
        minimum, maximum = (_bound(kind, name, params.get(name)) for name in ("minimum", "maximum"))
        if minimum is not None and maximum is not None and minimum > maximum:
            raise TransformError(f"{kind}: minimum {minimum} is greater than maximum {maximum}")
        return Decimal(1).scaleb(-decimals), ROUNDINGS[rounding], minimum, maximum
    if kind == "python":
        _text_setting(kind, "name", params["name"])
        function = params.get("function")
        if function is not None and not callable(function):
            raise TransformError(f"python: the function of {params['name']!r} is not callable: {show(function)}")
        return function
    return None


def _integer(kind: str, name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise TransformError(f"{kind}: {name} must be {wanted}, not {show(value)}")
    return value


def _bound(kind: str, name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformError(f"{kind}: {name} must be a number, not {show(value)}")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _text_setting(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TransformError(f"{kind}: {name} must be non-empty text, not {show(value)}")
    return value


def _prepare_replace(params: Mapping[str, Any]) -> tuple[re.Pattern[str], str, int]:
    pattern, replacement = params["pattern"], params["replacement"]
    if not isinstance(pattern, str) or not pattern:
        raise TransformError(f"replace: pattern must be a non-empty regular expression, not {show(pattern)}")
    if not isinstance(replacement, str):
        raise TransformError(f"replace: replacement must be text, not {show(replacement)}")
    count = _integer("replace", "count", params.get("count", 0), minimum=0)
    ignore_case = params.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise TransformError(f"replace: ignore_case must be true or false, not {show(ignore_case)}")
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = re.compile(pattern, flags)
    except re.error as error:
        raise TransformError(f"replace: pattern {pattern!r} is not a valid regular expression: {error}") from None
    # Check the replacement's group references against a pattern with the same groups that matches anything.
    probe = re.compile(pattern + "\n|", flags).match("")
    if probe is not None:
        try:
            probe.expand(replacement)
        except (re.error, IndexError) as error:
            raise TransformError(f"replace: replacement {replacement!r} does not fit the pattern: {error}") from None
    return compiled, replacement, count


def _prepare_table(kind: str, params: Mapping[str, Any], *, backwards: bool) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The table the way it is read (backwards: from integration values to local ones), and the same keyed by text."""
    values, strict = params["values"], params.get("strict", False)
    if not isinstance(values, Mapping) or not values:
        example = '{ "30 DAYS" = 1 }'
        raise TransformError(f"{kind}: values must be a non-empty table, like {example}, not {show(values)}")
    if not isinstance(strict, bool):
        raise TransformError(f"{kind}: strict must be true or false, not {show(strict)}")
    options = kind == "options"
    for key, value in values.items():
        if (options and isinstance(value, bool)) or not isinstance(value, (int, str) if options else _PLAIN):
            wanted = "an option value (a whole number or a code)" if options else "a plain value (text, number, date)"
            raise TransformError(f"{kind}: the value of {show(key)} must be {wanted}, not {show(value)}")
    inverse: dict[str, list[Any]] = {}
    for key, value in values.items():
        inverse.setdefault(as_text(value), []).append(key)
    collisions = {text: keys for text, keys in inverse.items() if len(keys) > 1}
    if backwards and collisions:
        described = "; ".join(
            f"{' and '.join(map(show, keys))} {'both' if len(keys) == 2 else 'all'} give {show(values[keys[0]])}"
            for keys in collisions.values()
        )
        raise TransformError(
            f"{kind}: the table is read backwards from-integration, so each value may appear only once: {described}. "
            'Limit the step to direction = "to-integration" or make the table one-to-one.'
        )
    if backwards:
        return {value: key for key, value in values.items()}, {text: keys[0] for text, keys in inverse.items()}
    return dict(values), {as_text(key): value for key, value in values.items()}


def as_text(value: Any) -> str:
    """A table entry's value as text, so that 1, 1.0, Decimal("1.00") and "1" find the same entry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if number.is_finite():
            return str(int(number)) if number == number.to_integral_value() else str(number.normalize())
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
