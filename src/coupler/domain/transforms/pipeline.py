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

from collections.abc import Sequence
from typing import Any

from coupler.domain.transforms.kinds import (
    DIRECTIONS,
    FROM_INTEGRATION,
    KINDS,
    ROUNDINGS,
    TO_INTEGRATION,
    Transform,
    TransformError,
    prepare,
    step_runs,
)
from coupler.domain.transforms.steps import Step, build_step

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


def check_transform(transform: Transform, *, field_direction: str | None = None) -> None:
    """Raise TransformError naming what is wrong with a transform's kind, settings or direction.

    ``field_direction`` is the direction of the field mapping the step sits on (None: assume bidirectional); it
    decides whether a ``map``/``options`` table must also be read backwards, and so be one-to-one.
    """
    if field_direction not in DIRECTIONS:
        raise TransformError(f"{transform.kind}: the field's direction {field_direction!r} is not a direction")
    ways = [way for way in (TO_INTEGRATION, FROM_INTEGRATION) if step_runs(transform.direction, field_direction, way)]
    prepare(transform, backwards=FROM_INTEGRATION in ways)
    if not ways:
        raise TransformError(
            f"{transform.kind}: the step runs {transform.direction} only, but its field flows {field_direction} only, "
            "so it would never run"
        )


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
        runs = step_runs(step.direction, None, direction)
        prepared = prepare(step, backwards=runs and direction == FROM_INTEGRATION)  # checks every step
        function = build_step(step, prepared, direction, max_length) if runs else None
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
