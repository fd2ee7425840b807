"""Sync planning: which way a coupled pair flows, which values move, and when both sides are in conflict.

Pure functions over records and couplings; the services do the reading and writing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, FieldMapping, Side, TableMapping
from coupler.domain.records import Record

__all__ = [
    "Action",
    "Plan",
    "Transfer",
    "conflicting_fields",
    "differences",
    "plan_pair",
    "source_changed",
    "transfer",
    "values_equal",
]


@dataclass(frozen=True, slots=True)
class Transfer:
    """The field pairs of one direction, resolved once per pass: (target field, source field or None, constant)."""

    pairs: tuple[tuple[str, str | None, Any], ...]

    @classmethod
    def of(cls, mapping: TableMapping, direction: Direction) -> Transfer:
        source_side, target_side = direction.source, direction.target
        pairs = []
        for field in mapping.fields_for(direction):
            target_field = field.field(target_side)
            assert target_field is not None
            source_field = None if field.has_constant else field.field(source_side)
            pairs.append((target_field, source_field, field.constant))
        return cls(tuple(pairs))

    def __call__(self, source: Mapping[str, Any]) -> dict[str, Any]:
        return {
            target: (source.get(field) if field is not None else constant) for target, field, constant in self.pairs
        }


def transfer(mapping: TableMapping, direction: Direction, source: Mapping[str, Any]) -> dict[str, Any]:
    """The target's values for a source record: every enabled field mapping flowing in ``direction``."""
    return Transfer.of(mapping, direction)(source)


def source_changed(coupling: Coupling, direction: Direction, modified_on: datetime | None) -> bool:
    """Whether the source of ``direction`` needs synchronizing: it changed since the last sync, or failed last time
    (Business Central's rule)."""
    return coupling.changed(direction.source, modified_on) or coupling.result(direction) is SyncResult.FAILURE


def _normal(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float | int | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def values_equal(a: Any, b: Any) -> bool:
    """Equality as a user sees it: empty text equals null, 1 equals 1.0, True equals 1."""
    if a is b:
        return True
    if a == b and type(a) is type(b):
        return True
    return bool(_normal(a) == _normal(b))


def differences(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the target's current ones: a write of nothing is no write."""
    return {name: value for name, value in wanted.items() if not values_equal(value, current.get(name))}


def conflicting_fields(mapping: TableMapping, local: Record, integration: Record) -> tuple[FieldMapping, ...]:
    """Bidirectional field mappings whose values differ between the two records."""
    return tuple(
        f
        for f in mapping.bidirectional_fields
        if not values_equal(local.get(f.local or ""), integration.get(f.integration or ""))
    )


class Action(StrEnum):
    """WRITE: values differ and flow to the target. IN_SYNC: the source did not change since the last sync.
    UNCHANGED: the source changed but the target already holds its values."""

    WRITE = "write"
    IN_SYNC = "in-sync"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    SKIPPED = "skipped"
    TARGET_MISSING = "target-missing"


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """What to do with one coupled pair in one direction."""

    action: Action
    values: Mapping[str, Any]
    conflicts: tuple[FieldMapping, ...] = ()
    target_changed: bool = False

    @property
    def message(self) -> str:
        return conflict_message(self.conflicts) if self.action is Action.CONFLICT else ""


def conflict_message(conflicts: tuple[FieldMapping, ...]) -> str:
    names = ", ".join(f"{f.local}/{f.integration}" for f in conflicts)
    return (
        "Both records changed since the last synchronization and these bidirectional fields differ: "
        f"{names}. Choose the direction to synchronize (--direction to-integration or from-integration)."
    )


def plan_pair(
    *,
    mapping: TableMapping,
    coupling: Coupling,
    direction: Direction,
    source: Record,
    target: Record | None,
    forced: bool = False,
    moves: Transfer | None = None,
) -> Plan:
    """Plan one coupled pair in one one-way ``direction``, following Business Central's rules.

    Not forced: the source must have changed since the last sync (or failed last time); when the target changed too
    on a bidirectional mapping and a bidirectional field differs, it is a conflict. Forced (a user's explicit
    direction): the source's values are written whatever changed. Only differing values are written.
    """
    if not forced and not source_changed(coupling, direction, source.modified_on):
        return Plan(action=Action.IN_SYNC, values={})
    if coupling.skipped and not forced:
        return Plan(action=Action.SKIPPED, values={})
    if target is None:
        return Plan(action=Action.TARGET_MISSING, values={})
    source_side = direction.source
    target_changed = coupling.changed(direction.target, target.modified_on)
    if not forced and target_changed and mapping.direction is Direction.BIDIRECTIONAL:
        local, integration = (source, target) if source_side is Side.LOCAL else (target, source)
        conflicts = conflicting_fields(mapping, local, integration)
        if conflicts:
            return Plan(action=Action.CONFLICT, values={}, conflicts=conflicts, target_changed=True)
    values = differences((moves or Transfer.of(mapping, direction))(source.values), target.values)
    action = Action.WRITE if values else Action.UNCHANGED
    return Plan(action=action, values=values, target_changed=target_changed)
