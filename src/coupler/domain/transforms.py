"""Transformations of a field's value on its way from source to target (trim, case, truncate, replace, maps...).

A field mapping holds a tuple of :class:`Transform` steps, applied in order. A step whose ``direction`` is set runs
only for values flowing that way. Pure functions over values: a transform never does I/O.

Checking (once, when the configuration is read)::

    check_transform(step, field_direction=field.direction)   # raises TransformError saying what is wrong

Applying (compile once per pass and direction, then call per value; this is the fast path)::

    to_crm = compile_transforms(field.transforms, Direction.TO_INTEGRATION, max_length=100)
    to_crm("  30 days ")          # -> the target's value

``apply_transforms(steps, value, direction)`` does both at once, for a single value. Every failure is a
TransformError whose message names the step's kind and the value.

The kinds and their settings:

- ``trim``, ``upper``, ``lower``: text in, text out.
- ``truncate``: cut text to ``length`` characters, else to the target column's length (``max_length``), else no-op.
- ``replace``: regular-expression ``pattern`` -> ``replacement`` (``\\1`` and ``\\g<name>`` refer to groups);
  optional ``count`` (0: all) and ``ignore_case``.
- ``map``: table ``values`` (source value -> target value) read forwards to-integration and backwards
  from-integration; a value missing from the table passes unchanged unless ``strict = true``.
- ``options``: like ``map`` from local codes to an integration option-set's values (integers), always strict.
- ``date``: a datetime, date or ISO 8601 text (or text read with ``input_format``) written with ``format``
  (strftime). An aware datetime is written in UTC.
- ``number``: round to ``decimals`` places, giving a Decimal; ``rounding`` is ``half-up`` (ties away from zero,
  the default), ``half-even`` or ``down`` (towards zero).
- ``python``: the user-supplied function registered under ``name`` in the ``coupler.transforms`` entry point group;
  the adapter that loads it stores it in the params as ``function``.

Text transforms (trim, upper, lower, truncate, replace) change text only: None and other values pass unchanged, so
``[trim, options]`` works both ways. ``options``, ``date`` and ``number`` turn empty text into None. Steps run in
the order written, in both directions; ``map`` and ``options`` read their table backwards from-integration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

__all__ = [
    "IDENTITY",
    "KINDS",
    "ROUNDINGS",
    "Transform",
    "TransformError",
    "apply_transforms",
    "check_transform",
    "compile_transforms",
]

TO_INTEGRATION = "to-integration"
FROM_INTEGRATION = "from-integration"
_BOTH = "bidirectional"
_DIRECTIONS = (None, _BOTH, TO_INTEGRATION, FROM_INTEGRATION)


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
    "number": (("decimals",), ("rounding",)),
    "python": (("name",), ("function",)),
}
_PLAIN = (str, int, float, Decimal, date)  # what a table's value may be (TOML's scalars)
_CONTEXT = Context(prec=60)
_SHOWN = 20  # known values listed in a message

Step = Callable[[Any], Any]


# --- checking ---------------------------------------------------------------------------------------------------


def check_transform(transform: Transform, *, field_direction: str | None = None) -> None:
    """Raise TransformError naming what is wrong with a transform's kind, settings or direction.

    ``field_direction`` is the direction of the field mapping the step sits on (None: assume bidirectional); it
    decides whether a ``map``/``options`` table must also be read backwards, and so be one-to-one.
    """
    if field_direction not in _DIRECTIONS:
        raise TransformError(f"{transform.kind}: the field's direction {field_direction!r} is not a direction")
    ways = [way for way in (TO_INTEGRATION, FROM_INTEGRATION) if _runs(transform.direction, field_direction, way)]
    _prepare(transform, backwards=FROM_INTEGRATION in ways)
    if not ways:
        raise TransformError(
            f"{transform.kind}: the step runs {transform.direction} only, but its field flows {field_direction} only, "
            "so it would never run"
        )


def _runs(step_direction: str | None, field_direction: str | None, way: str) -> bool:
    return step_direction in (None, _BOTH, way) and field_direction in (None, _BOTH, way)


def _prepare(transform: Transform, *, backwards: bool) -> Any:
    """Check a step's kind, direction and settings; return what its step needs, computed once (a regex, tables)."""
    kind, params = transform.kind, transform.params
    if kind not in KINDS:
        raise TransformError(f"unknown transform {kind!r}; the kinds are: {', '.join(KINDS)}")
    if transform.direction not in _DIRECTIONS:
        raise TransformError(f"{kind}: direction {transform.direction!r} is not one of: {', '.join(_DIRECTIONS[1:])}")
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
        return Decimal(1).scaleb(-decimals), ROUNDINGS[rounding]
    if kind == "python":
        _text_setting(kind, "name", params["name"])
        function = params.get("function")
        if function is not None and not callable(function):
            raise TransformError(f"python: the function of {params['name']!r} is not callable: {_show(function)}")
        return function
    return None


def _integer(kind: str, name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise TransformError(f"{kind}: {name} must be {wanted}, not {_show(value)}")
    return value


def _text_setting(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TransformError(f"{kind}: {name} must be non-empty text, not {_show(value)}")
    return value


def _prepare_replace(params: Mapping[str, Any]) -> tuple[re.Pattern[str], str, int]:
    pattern, replacement = params["pattern"], params["replacement"]
    if not isinstance(pattern, str) or not pattern:
        raise TransformError(f"replace: pattern must be a non-empty regular expression, not {_show(pattern)}")
    if not isinstance(replacement, str):
        raise TransformError(f"replace: replacement must be text, not {_show(replacement)}")
    count = _integer("replace", "count", params.get("count", 0), minimum=0)
    ignore_case = params.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise TransformError(f"replace: ignore_case must be true or false, not {_show(ignore_case)}")
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
        raise TransformError(f"{kind}: values must be a non-empty table, like {example}, not {_show(values)}")
    if not isinstance(strict, bool):
        raise TransformError(f"{kind}: strict must be true or false, not {_show(strict)}")
    options = kind == "options"
    for key, value in values.items():
        if (options and isinstance(value, bool)) or not isinstance(value, (int, str) if options else _PLAIN):
            wanted = "an option value (a whole number or a code)" if options else "a plain value (text, number, date)"
            raise TransformError(f"{kind}: the value of {_show(key)} must be {wanted}, not {_show(value)}")
    inverse: dict[str, list[Any]] = {}
    for key, value in values.items():
        inverse.setdefault(_text(value), []).append(key)
    collisions = {text: keys for text, keys in inverse.items() if len(keys) > 1}
    if backwards and collisions:
        described = "; ".join(
            f"{' and '.join(map(_show, keys))} {'both' if len(keys) == 2 else 'all'} give {_show(values[keys[0]])}"
            for keys in collisions.values()
        )
        raise TransformError(
            f"{kind}: the table is read backwards from-integration, so each value may appear only once: {described}. "
            'Limit the step to direction = "to-integration" or make the table one-to-one.'
        )
    if backwards:
        return {value: key for key, value in values.items()}, {text: keys[0] for text, keys in inverse.items()}
    return dict(values), {_text(key): value for key, value in values.items()}


def _text(value: Any) -> str:
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


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


# --- applying ---------------------------------------------------------------------------------------------------


def compile_transforms(steps: Sequence[Transform], direction: str, *, max_length: int | None = None) -> Step:
    """One function applying ``steps`` in order to a value flowing ``direction`` (a one-way Direction).

    Checks and precomputes everything once (regexes, tables read backwards, the truncation length), so call this
    once per pass and the result once per value. ``max_length`` is the target column's length, used by ``truncate``
    steps without a ``length``. With no step to run, the result is :data:`IDENTITY` (test ``result is IDENTITY``).
    """
    if direction not in (TO_INTEGRATION, FROM_INTEGRATION):
        raise TransformError(f"transforms apply in a one-way direction, not {direction!r}")
    functions: list[Step] = []
    for step in steps:
        runs = _runs(step.direction, None, direction)
        prepared = _prepare(step, backwards=runs and direction == FROM_INTEGRATION)  # checks every step
        function = _build(step, prepared, direction, max_length) if runs else None
        if function is not None:
            functions.append(function)
    if not functions:
        return _identity
    if len(functions) == 1:
        return functions[0]
    chain = tuple(functions)

    def run(value: Any) -> Any:
        for function in chain:
            value = function(value)
        return value

    return run


def apply_transforms(steps: Sequence[Transform], value: Any, direction: str, *, max_length: int | None = None) -> Any:
    """Apply ``steps`` to one value flowing ``direction``. For many values, use :func:`compile_transforms`."""
    return compile_transforms(steps, direction, max_length=max_length)(value)


def _identity(value: Any) -> Any:
    return value


IDENTITY: Step = _identity


def _build(step: Transform, prepared: Any, direction: str, max_length: int | None) -> Step | None:
    kind = step.kind
    if kind == "trim":
        return _text_step(kind, str.strip)
    if kind == "upper":
        return _text_step(kind, str.upper)
    if kind == "lower":
        return _text_step(kind, str.lower)
    if kind == "truncate":
        length = prepared if prepared is not None else max_length
        return None if length is None else _text_step(kind, lambda text: text[:length])
    if kind == "replace":
        pattern, replacement, count = prepared
        return _text_step(kind, lambda text: pattern.sub(replacement, text, count))
    if kind in ("map", "options"):
        strict = kind == "options" or step.params.get("strict", False)
        return _table_step(kind, *prepared, strict=strict, backwards=direction == FROM_INTEGRATION)
    if kind == "date":
        return _date_step(*prepared)
    if kind == "number":
        return _number_step(*prepared)
    if prepared is None:
        raise TransformError(f"python: the transform {step.params['name']!r} is not loaded (no function)")
    return _python_step(step.params["name"], prepared)


def _text_step(kind: str, change: Callable[[str], str]) -> Step:
    def step(value: Any) -> Any:
        if not isinstance(value, str):  # None, and values of other kinds: an option-set integer read back...
            return value
        try:
            return change(value)
        except (re.error, IndexError) as error:
            raise TransformError(f"{kind}: cannot transform {_show(value)}: {error}") from None

    return step


def _table_step(kind: str, exact: dict[Any, Any], by_text: dict[str, Any], *, strict: bool, backwards: bool) -> Step:
    missing = object()
    is_options = kind == "options"

    def step(value: Any) -> Any:
        if value is None or (is_options and value == ""):
            return None
        try:
            found = exact.get(value, missing)
        except TypeError:  # unhashable
            found = missing
        if found is missing:
            found = by_text.get(_text(value), missing)
        if found is not missing:
            return found
        if not strict or value == "":
            return value
        known = list(exact.items())
        listed = ", ".join(f"{_show(k)} ({_show(v)})" if backwards else _show(k) for k, v in known[:_SHOWN])
        if len(known) > _SHOWN:
            listed += f" and {len(known) - _SHOWN} more"
        way = "integration" if backwards else "local"
        raise TransformError(f"{kind}: {_show(value)} is not a known {way} value; the known ones are: {listed}")

    return step


def _date_step(output: str, input_format: str | None) -> Step:
    def step(value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str | date):
            raise TransformError(f"date: {_show(value)} is not a date, a datetime or text")
        try:
            if isinstance(value, str):
                text = value.strip()
                parsed: date = datetime.strptime(text, input_format) if input_format else _parse_iso(text)
            else:
                parsed = value
            if isinstance(parsed, datetime) and parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC)
            return parsed.strftime(output)
        except ValueError as error:
            expected = f"the input_format {input_format!r}" if input_format else "ISO 8601 (like 2026-01-31)"
            raise TransformError(f"date: cannot read {_show(value)} as {expected}: {error}") from None

    return step


def _parse_iso(text: str) -> date:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _number_step(quantum: Decimal, rounding: str) -> Step:
    def step(value: Any) -> Any:
        kind = type(value)
        if kind is Decimal or kind is int:  # the common cases first
            number = Decimal(value)
        elif value is None or value == "":
            return None
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise TransformError(f"number: {_show(value)} is not a number") from None
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
        else:
            raise TransformError(f"number: {_show(value)} is not a number ({type(value).__name__})")
        try:
            if not number.is_finite():
                raise TransformError(f"number: {_show(value)} is not a finite number")
            return number.quantize(quantum, rounding=rounding, context=_CONTEXT)
        except InvalidOperation:
            raise TransformError(f"number: {_show(value)} is too large to round to {quantum}") from None

    return step


def _python_step(name: str, function: Callable[[Any], Any]) -> Step:
    def step(value: Any) -> Any:
        try:
            return function(value)
        except TransformError:
            raise
        except Exception as error:  # a user's function: any failure fails the value, named
            raise TransformError(f"python: the transform {name!r} failed on {_show(value)}: {error!r}") from error

    return step
