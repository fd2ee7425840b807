"""The record card: a local record beside its coupled integration record, field mapping by field mapping.

Values are compared the way a synchronization compares them: what the source would write (after transformations,
option mappings and lookups) against what the target holds. Which side changed a field since the last
synchronization comes from the coupling's fingerprint, so the Synchronize now dialog (``services.sync_options``) can
default to the side that changed, warn before overwriting newer data and refuse a merge that would only park a
conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.errors import RecordError, RecordNotFound
from coupler.domain.fingerprint import canonical, decode
from coupler.domain.jobs import JobError
from coupler.domain.mapping import Direction, FieldMapping, Side, TableMapping
from coupler.domain.planning import values_equal
from coupler.domain.records import Record
from coupler.domain.state import Conflict
from coupler.domain.transfer import Transfer
from coupler.domain.transforms.pipeline import TransformError
from coupler.services.context import Systems
from coupler.services.engine.lookups import LookupResolver
from coupler.services.views.queries import record_status
from coupler.services.views.record_names import record_name

__all__ = ["CardField", "RecordCard", "compare_fields", "record_card"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CardField:
    """One field mapping on the card. ``differs``: the source of the field's direction would write something other
    than what the target holds. ``changed``: the sides that changed the field since the last synchronization."""

    local_field: str | None
    integration_field: str | None
    direction: Direction
    local_value: Any
    integration_value: Any
    differs: bool
    changed: tuple[Side, ...] = ()
    note: str | None = None
    caption: str = ""
    """The field mapping as a user knows it (its caption, else its field's name)."""

    @property
    def pair(self) -> str:
        return f"{self.local_field or ''}|{self.integration_field or ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordCard:
    mapping: TableMapping
    ref: str
    local: Record | None
    integration: Record | None
    coupling: Coupling | None
    conflict: Conflict | None
    fields: tuple[CardField, ...]
    errors: tuple[JobError, ...]
    integration_url: str | None = None
    """Where the coupled integration record opens in the integration system's own application, if it has one."""

    @property
    def coupled(self) -> bool:
        return self.coupling is not None

    @property
    def local_name(self) -> str | None:
        return record_name(self.mapping, Side.LOCAL, self.local)

    @property
    def integration_name(self) -> str | None:
        return record_name(self.mapping, Side.INTEGRATION, self.integration)

    @property
    def local_title(self) -> str | None:
        """The local record's display key and name ("C00020 Trey Research")."""
        return self.mapping.title(Side.LOCAL, self.local.key, self.local.values) if self.local else None

    @property
    def integration_title(self) -> str | None:
        return (
            self.mapping.title(Side.INTEGRATION, self.integration.key, self.integration.values)
            if self.integration
            else None
        )

    @property
    def differing(self) -> tuple[CardField, ...]:
        return tuple(f for f in self.fields if f.differs)


# the card ----------------------------------------------------------------------------------------------------
def record_card(systems: Systems, name: str, ref: str) -> RecordCard:
    """The card of the record ``ref`` names (either side, primary or display key)."""
    status = record_status(systems, name, ref)
    if status.coupling is None and status.local is None and status.integration is None:
        raise RecordNotFound(f"{status.mapping}: {ref!r} names no record in {systems.either}.")
    mapping = systems.mapping(name)
    conflict = None
    if status.coupling is not None and status.coupling.in_conflict:
        conflict = systems.store.attention.conflict(mapping.name, status.coupling.local_key)
    fields = compare_fields(systems, mapping, status.local, status.integration, status.coupling)
    return RecordCard(
        mapping=mapping,
        ref=ref,
        local=status.local,
        integration=status.integration,
        coupling=status.coupling,
        conflict=conflict,
        fields=fields,
        errors=status.errors,
        integration_url=(
            systems.integration.record_url(mapping.integration, status.coupling.integration_key)
            if status.coupling is not None
            else None
        ),
    )


def compare_fields(
    systems: Systems, mapping: TableMapping, local: Record | None, integration: Record | None, coupling: Coupling | None
) -> tuple[CardField, ...]:
    """The card's fields for these records: values side by side, what differs and which side changed it."""
    return _Comparison(systems, mapping).fields(local, integration, coupling)


class _Comparison:
    """Field by field: what each direction's source would write, against what its target holds."""

    def __init__(self, systems: Systems, mapping: TableMapping) -> None:
        self.systems, self.mapping = systems, mapping

    def fields(
        self, local: Record | None, integration: Record | None, coupling: Coupling | None
    ) -> tuple[CardField, ...]:
        both = local is not None and integration is not None and coupling is not None
        wanted: dict[tuple[str, Direction], tuple[Any, str | None]] = {}
        if both:
            assert local is not None and integration is not None
            for direction in self.mapping.direction.one_way:
                wanted.update(self._wanted(direction, local if direction.source is Side.LOCAL else integration))
        old = decode(coupling.fingerprint) if coupling is not None else None
        out = []
        for field in self.mapping.fields:
            if not field.enabled:
                continue
            local_value = _get(local, field.local)
            integration_value = _get(integration, field.integration)
            differs, note = False, _note(field)
            changed: tuple[Side, ...] = ()
            if both:
                assert local is not None and integration is not None and coupling is not None
                direction = field.direction.one_way[0]  # bidirectional: compare as local -> integration
                target = integration if direction.target is Side.INTEGRATION else local
                value, error = wanted.get((field.pair, direction), (None, None))
                target_field = field.field(direction.target)
                differs = error is not None or not values_equal(value, target.get(target_field or ""))
                if value is None and field.not_null and error is None:
                    differs = False
                note = error or note
                if differs and field.local and field.integration and not field.has_constant:
                    changed = _changed(field, old, coupling, local, integration)
            out.append(
                CardField(
                    local_field=field.local,
                    integration_field=field.integration,
                    direction=field.direction,
                    local_value=field.constant if field.has_constant and field.local is None else local_value,
                    integration_value=integration_value,
                    differs=differs,
                    changed=changed,
                    note=note,
                    caption=field.title,
                )
            )
        return tuple(out)

    def _wanted(self, direction: Direction, source: Record) -> dict[tuple[str, Direction], tuple[Any, str | None]]:
        moves = Transfer.of(self.mapping, direction)
        resolved = LookupResolver(self.systems).resolve(moves, direction, [source])
        found: dict[tuple[str, Direction], tuple[Any, str | None]] = {}
        for move in moves.moves:
            try:
                found[(move.field.pair, direction)] = (move.value(source.values, resolved), None)
            except (TransformError, RecordError) as error:
                found[(move.field.pair, direction)] = (None, str(error))
        return found


def _changed(
    field: FieldMapping, old: dict[str, list[Any]] | None, coupling: Coupling, local: Record, integration: Record
) -> tuple[Side, ...]:
    """The sides that changed ``field`` since the last sync: by the fingerprint, else (never synchronized) by the
    records' modified-on, Business Central's record-level rule."""
    if old is not None and field.pair in old:
        last = old[field.pair]
        sides = []
        if canonical(local.get(field.local or "")) != last[0]:
            sides.append(Side.LOCAL)
        if canonical(integration.get(field.integration or "")) != last[1]:
            sides.append(Side.INTEGRATION)
        return tuple(sides)
    return tuple(
        side
        for side, record in ((Side.LOCAL, local), (Side.INTEGRATION, integration))
        if coupling.changed(side, record.modified_on)
    )


def _note(field: FieldMapping) -> str | None:
    if field.has_constant:
        return f"constant {field.constant!r}"
    if field.lookup is not None:
        return f"lookup through {field.lookup.mapping}"
    return None


def _get(record: Record | None, name: str | None) -> Any:
    return record.get(name) if record is not None and name else None
