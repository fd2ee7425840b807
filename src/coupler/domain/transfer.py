"""Moving a source record's values to its target: field pairs, constants, transformations and lookups.

Resolved once per pass (``Transfer.of``), then applied per record. Lookups are translated through another
mapping's couplings; the service resolves a page's lookup values in batches and passes them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coupler.domain.errors import RecordError
from coupler.domain.mapping import Direction, FieldMapping, TableMapping
from coupler.domain.transforms.pipeline import IDENTITY, TransformError, compile_transforms

__all__ = ["Limit", "MissingReference", "Move", "Transfer", "ValueTooLong", "transfer"]

Resolved = Mapping[str, Mapping[Any, Any]]
"""pair name -> {source value: target value, or None when the referenced record is not coupled}."""


class MissingReference(RecordError):
    """The record refers to a record of another mapping that is not coupled yet."""


class ValueTooLong(TransformError):
    """A text value is longer than its target column holds: the record is not sent (the system would refuse it)."""


@dataclass(frozen=True, slots=True)
class Limit:
    """A target text column's maximum length, with how a user knows the field and both systems."""

    target: str
    length: int
    title: str
    source_system: str
    target_system: str

    def check(self, value: Any) -> None:
        if isinstance(value, str) and len(value) > self.length:
            raise ValueTooLong(
                f"{self.title} is {len(value)} characters; {self.target_system} allows {self.length}. Shorten it in "
                f"{self.source_system}, then synchronize the record again."
            )


@dataclass(frozen=True, slots=True)
class Move:
    """One target field: where its value comes from and what happens to it on the way."""

    field: FieldMapping
    target: str
    source: str | None
    constant: Any
    convert: Callable[[Any], Any] | None

    def value(self, record: Mapping[str, Any], resolved: Resolved | None) -> Any:
        if self.source is None:
            return self.constant
        value = record.get(self.source)
        if self.convert is not None:
            try:
                value = self.convert(value)
            except TransformError as error:
                raise TransformError(f"{self.field.title}: {error}") from None
        lookup = self.field.lookup
        if lookup is None or value is None or value == "":
            return value
        translated = (resolved or {}).get(self.field.pair, {}).get(_hashable(value))
        if translated is None and not self.field.clear_on_failed_lookup:
            raise MissingReference(
                f"{self.field.title} {value!r} refers to a {lookup.mapping} record that is not coupled yet: couple "
                f"it, or synchronize {lookup.mapping} first; this record is retried on the next run."
            )
        return translated


@dataclass(frozen=True, slots=True)
class Transfer:
    """The moves of one direction. ``lookups`` are the field mappings whose values a service must resolve."""

    moves: tuple[Move, ...]
    plain: bool
    limits: tuple[Limit, ...] = ()

    @classmethod
    def of(
        cls,
        mapping: TableMapping,
        direction: Direction,
        *,
        lengths: Mapping[str, int] | None = None,
        systems: tuple[str, str] | None = None,
    ) -> Transfer:
        """``lengths``: the target columns' maximum lengths, for ``truncate`` transformations and, with ``systems``
        (the source's and the target's names), to refuse a value too long before it is sent (``check``)."""
        source_side, target_side = direction.source, direction.target
        moves, limits = [], []
        for field in mapping.fields_for(direction):
            target = field.field(target_side)
            assert target is not None
            source = None if field.has_constant else field.field(source_side)
            length = (lengths or {}).get(target)
            convert = None
            if field.transforms and source is not None:
                compiled = compile_transforms(field.transforms, direction.value, max_length=length)
                convert = None if compiled is IDENTITY else compiled
            moves.append(Move(field=field, target=target, source=source, constant=field.constant, convert=convert))
            if length and systems is not None and field.lookup is None:
                limits.append(Limit(target, length, field.title, *systems))
        plain = all(m.convert is None and m.field.lookup is None and not m.field.not_null for m in moves)
        return cls(tuple(moves), plain, tuple(limits))

    @property
    def lookups(self) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.field.lookup is not None and m.source is not None)

    def __call__(self, source: Mapping[str, Any], resolved: Resolved | None = None) -> dict[str, Any]:
        """The target's values for a source record. Raises TransformError or MissingReference for that record."""
        if self.plain:
            values = {m.target: (source.get(m.source) if m.source is not None else m.constant) for m in self.moves}
        else:
            values = {}
            for move in self.moves:
                value = move.value(source, resolved)
                if value is None and move.field.not_null:
                    continue  # never write a null into this field
                values[move.target] = value
        return values

    def check(self, values: Mapping[str, Any]) -> None:
        """Refuse (``ValueTooLong``) values about to be written that are longer than their target columns hold: the
        system would refuse the record, in its own words. Only what is written is checked: a long value that does
        not change is not sent."""
        for limit in self.limits:
            if limit.target in values:
                limit.check(values[limit.target])


def transfer(mapping: TableMapping, direction: Direction, source: Mapping[str, Any]) -> dict[str, Any]:
    """The target's values for a source record: every enabled field mapping flowing in ``direction``."""
    return Transfer.of(mapping, direction)(source)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return str(value)
    return value
