"""Sync planning: which way a coupled pair flows, which values move, and when both sides are in conflict.

Pure functions over records and couplings; the services do the reading and writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.fingerprint import Fingerprint, canonical, decode, tracked_pairs
from coupler.domain.fingerprint import of_mapping as fingerprint_of_mapping
from coupler.domain.mapping import Direction, FieldMapping, Side, TableMapping
from coupler.domain.records import Record
from coupler.domain.state import ConflictField
from coupler.domain.transfer import Resolved, Transfer, transfer

__all__ = [
    "Action",
    "Plan",
    "Transfer",
    "conflicting_fields",
    "differences",
    "echo",
    "plan_pair",
    "source_changed",
    "transfer",
    "values_equal",
]


def source_changed(coupling: Coupling, direction: Direction, modified_on: datetime | None) -> bool:
    """Whether the source of ``direction`` needs synchronizing: it changed since the last sync, or failed last time
    (Business Central's rule)."""
    return coupling.changed(direction.source, modified_on) or coupling.result(direction) in _LOOK_AGAIN


_LOOK_AGAIN = (SyncResult.FAILURE, SyncResult.PENDING)


def echo(mapping: TableMapping, coupling: Coupling, direction: Direction, source: Record) -> Coupling | None:
    """The coupling as it is once ``source`` is recognised as an echo of coupler's own write, or None.

    An echo: the source's system says coupler's own user made its last change (``modified_by_self``), and every
    tracked field pair still holds, on the source's side, the value the fingerprint stored at the last
    synchronization, so nothing changed that could flow. Its new modified-on is then stored, and the pair costs
    no read of its partner and no write. Anything else is looked at as usual: a change by any other user, a value
    that differs from the fingerprint (a plugin that rewrote a field under coupler's user), a pair without a full
    fingerprint, and a pair that failed, waits to carry changes back, is parked or skipped."""
    if not source.modified_by_self or source.modified_on is None or coupling.skipped or coupling.in_conflict:
        return None
    if coupling.result(direction) in _LOOK_AGAIN or not coupling.changed(direction.source, source.modified_on):
        return None
    old = decode(coupling.fingerprint)
    if not old:
        return None
    side = 0 if direction.source is Side.LOCAL else 1
    for pair in tracked_pairs(mapping):
        name, last = pair.field(direction.source) or "", old.get(pair.pair)
        if last is None or name not in source.values or canonical(source.values[name]) != last[side]:
            return None
    if direction.source is Side.LOCAL:
        return replace(coupling, local_modified_on=source.modified_on)
    return replace(coupling, integration_modified_on=source.modified_on)


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
    UNCHANGED: the source changed but the target already holds its values. CONFLICT: the same bidirectional field
    changed to different values on both sides (and no policy picks a winner): park it."""

    WRITE = "write"
    IN_SYNC = "in-sync"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    SKIPPED = "skipped"
    TARGET_MISSING = "target-missing"


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """What to do with one coupled pair in one direction.

    ``values``: what to write to the target. ``fingerprint``: the pair's fingerprint once written. ``pending``: the
    target holds changes of its own that the reverse pass must still carry back (so its modified-on is not stored).
    ``overwritten``: pairs a forced sync overwrote although they had changed on the target since the last sync.
    """

    action: Action
    values: Mapping[str, Any]
    conflicts: tuple[ConflictField, ...] = ()
    pending: bool = False
    fingerprint: Fingerprint | None = None
    overwritten: tuple[str, ...] = ()

    def message(self, mapping: TableMapping) -> str:
        """What a parked conflict of this plan says (empty without conflicts)."""
        return conflict_message(mapping, self.conflicts) if self.conflicts else ""


def conflict_message(mapping: TableMapping, conflicts: Sequence[ConflictField]) -> str:
    """A parked conflict in the user's words, fields by caption and no command line: each interface adds how to
    resolve it (the CLI its command, the web app a link to the Conflicts page)."""
    names = ", ".join(mapping.pair_title(f.pair) for f in conflicts)
    return (
        f"Both records changed {names} to different values since the last synchronization: nothing of the pair is "
        "written until you choose which values win."
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
    winners: Mapping[str, Side] | None = None,
    reconsider: bool = False,
    resolved: Resolved | None = None,
) -> Plan:
    """Plan one coupled pair in one one-way ``direction``.

    Not forced: nothing happens unless the source changed since the last sync (or failed last time), or
    ``reconsider`` asks to look again (resolving a conflict). Field by field, using the coupling's fingerprint: a
    field the source changed flows to the target; a field only the target changed stays for the reverse pass; a
    bidirectional field both changed to different values is a conflict, settled by ``winners`` (per pair), else by
    the mapping's update-conflict policy, else parked. Without a fingerprint (coupled but never synchronized),
    Business Central's record-level rule applies. Forced (a user's explicit direction): every differing value is
    written, and the fields that had changed on the target are reported. Only differing values are written.
    ``resolved`` holds the page's translated lookup values. Raises TransformError or MissingReference when the
    source's values cannot be moved.
    """
    if not forced and not reconsider and not source_changed(coupling, direction, source.modified_on):
        return Plan(action=Action.IN_SYNC, values={})
    if coupling.skipped and not forced and not reconsider:
        return Plan(action=Action.SKIPPED, values={})
    if target is None:
        return Plan(action=Action.TARGET_MISSING, values={})
    planner = _Planner(mapping, coupling, direction, source, target, moves, winners or {})
    return planner.plan(forced, resolved)


class _Planner:
    def __init__(
        self,
        mapping: TableMapping,
        coupling: Coupling,
        direction: Direction,
        source: Record,
        target: Record,
        moves: Transfer | None,
        winners: Mapping[str, Side],
    ) -> None:
        self.mapping, self.direction, self.source, self.target = mapping, direction, source, target
        self.moves = moves or Transfer.of(mapping, direction)
        self.winners = winners
        self.old = decode(coupling.fingerprint)
        self.target_changed = coupling.changed(direction.target, target.modified_on)
        self.src = 0 if direction.source is Side.LOCAL else 1
        self.forced = False

    def plan(self, forced: bool, resolved: Resolved | None) -> Plan:
        self.forced = forced
        wanted = self.moves(self.source.values, resolved)
        values = differences(wanted, self.target.values)
        if forced or self.mapping.direction is not Direction.BIDIRECTIONAL:
            overwritten = self._changed_on_target(values) if forced else ()
            return self._done(values, keep=(), conflicts=(), overwritten=overwritten)
        keep: list[str] = []  # pairs whose fingerprint must not move: pending or parked
        conflicts: list[ConflictField] = []
        for field in self.mapping.fields_for(self.direction):
            name = field.field(self.direction.target)
            if name not in values or field.direction is not Direction.BIDIRECTIONAL or field.has_constant:
                continue
            source_changed_it, target_changed_it = self._changes(field)
            if not target_changed_it:
                continue  # the source's value flows as planned
            if source_changed_it:  # both changed it, to different values
                winner = self.winners.get(field.pair) or self.mapping.update_conflict.winner
                if winner is self.direction.source:
                    continue
                if winner is None:
                    conflicts.append(self._conflict(field))
            del values[name]  # the target's own change (or winning value) flows back in the reverse pass
            keep.append(field.pair)
        return self._done(values, keep=keep, conflicts=tuple(conflicts), overwritten=())

    def _changes(self, field: FieldMapping) -> tuple[bool, bool]:
        """(the source changed the field, the target changed it) since the last sync."""
        if self.old is None or field.pair not in self.old:
            # never synchronized: both changed if the target changed at all (Business Central's rule)
            return True, self.target_changed
        last = self.old[field.pair]
        source_field, target_field = field.field(self.direction.source), field.field(self.direction.target)
        source_changed_it = canonical(self.source.get(source_field or "")) != last[self.src]
        target_changed_it = self.target_changed and canonical(self.target.get(target_field or "")) != last[1 - self.src]
        return source_changed_it, target_changed_it

    def _conflict(self, field: FieldMapping) -> ConflictField:
        local, integration = self._sides(self.source.values, self.target.values)
        last = (self.old or {}).get(field.pair) or [None, None]
        return ConflictField(
            pair=field.pair,
            local_field=field.local or "",
            integration_field=field.integration or "",
            local_value=canonical(local.get(field.local or "")),
            integration_value=canonical(integration.get(field.integration or "")),
            last_local=last[0],
            last_integration=last[1],
        )

    def _changed_on_target(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """Pairs a forced write overwrites that the target changed since the last sync (a pair never synchronized
        has no last sync to compare with: nothing is claimed about it)."""
        if not self.target_changed or self.old is None:
            return ()
        changed = (
            f.pair
            for f in tracked_pairs(self.mapping)
            if f.pair in self.old and f.field(self.direction.target) in values and self._changes(f)[1]
        )
        return tuple(dict.fromkeys(changed))

    def _sides(
        self, source: Mapping[str, Any], target: Mapping[str, Any]
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        return (source, target) if self.direction.source is Side.LOCAL else (target, source)

    def _done(
        self,
        values: dict[str, Any],
        *,
        keep: Sequence[str],
        conflicts: tuple[ConflictField, ...],
        overwritten: tuple[str, ...],
    ) -> Plan:
        if conflicts and not self.winners:
            return Plan(action=Action.CONFLICT, values={}, conflicts=conflicts, pending=True)
        local, integration = self._sides(self.source.values, {**self.target.values, **values})
        fingerprint = dict(self.old or {})
        fingerprint.update(fingerprint_of_mapping(self.mapping, local, integration))
        for pair in keep:
            if self.old is not None and pair in self.old:
                fingerprint[pair] = self.old[pair]
            else:
                fingerprint.pop(pair, None)
        action = Action.CONFLICT if conflicts else Action.WRITE if values else Action.UNCHANGED
        # whatever the target changed itself (in any field flowing back) waits for the reverse pass
        reverse = self.mapping.direction is Direction.BIDIRECTIONAL and not self.forced
        return Plan(
            action=action,
            values=values,
            conflicts=conflicts,
            pending=bool(keep) or (reverse and self.target_changed),
            fingerprint=fingerprint,
            overwritten=overwritten,
        )
