"""The functions that transform values, one per kind of step, built from a step's prepared settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from coupler.domain.transforms.kinds import FROM_INTEGRATION, Transform, TransformError, as_text, show

__all__ = ["Step", "build_step"]

Step = Callable[[Any], Any]

_CONTEXT = Context(prec=60)
_SHOWN = 20  # known values listed in a message


def build_step(step: Transform, prepared: Any, direction: str, max_length: int | None) -> Step | None:
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
            raise TransformError(f"{kind}: cannot transform {show(value)}: {error}") from None

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
            found = by_text.get(as_text(value), missing)
        if found is not missing:
            return found
        if not strict or value == "":
            return value
        known = list(exact.items())
        listed = ", ".join(f"{show(k)} ({show(v)})" if backwards else show(k) for k, v in known[:_SHOWN])
        if len(known) > _SHOWN:
            listed += f" and {len(known) - _SHOWN} more"
        raise TransformError(f"{kind}: {show(value)} is not a value the mapping knows; the known ones are: {listed}")

    return step


def _date_step(output: str, input_format: str | None) -> Step:
    def step(value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str | date):
            raise TransformError(f"date: {show(value)} is not a date, a datetime or text")
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
            raise TransformError(f"date: cannot read {show(value)} as {expected}: {error}") from None

    return step


def _parse_iso(text: str) -> date:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _number_step(quantum: Decimal, rounding: str, minimum: Decimal | None, maximum: Decimal | None) -> Step:
    """Round to ``quantum``, then hold the result between ``minimum`` and ``maximum`` (Business Central sends a
    negative inventory or price to Sales as 0: ``CRMIntTableSubscriber``, "If less then zero, it will later be set to
    zero", whose product columns have a minimum of 0)."""

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
                raise TransformError(f"number: {show(value)} is not a number") from None
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
        else:
            raise TransformError(f"number: {show(value)} is not a number ({type(value).__name__})")
        try:
            if not number.is_finite():
                raise TransformError(f"number: {show(value)} is not a finite number")
            rounded = number.quantize(quantum, rounding=rounding, context=_CONTEXT)
        except InvalidOperation:
            raise TransformError(f"number: {show(value)} is too large to round to {quantum}") from None
        if minimum is not None and rounded < minimum:
            return minimum.quantize(quantum, context=_CONTEXT)
        if maximum is not None and rounded > maximum:
            return maximum.quantize(quantum, context=_CONTEXT)
        return rounded

    return step


def _python_step(name: str, function: Callable[[Any], Any]) -> Step:
    def step(value: Any) -> Any:
        try:
            return function(value)
        except TransformError:
            raise
        except Exception as error:  # a user's function: any failure fails the value, named
            raise TransformError(f"python: the transform {name!r} failed on {show(value)}: {error!r}") from error

    return step
