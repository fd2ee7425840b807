"""One one-way run of a job (a *pass*: local -> integration, or back), its mode, and what one chunk of its source
records decides to write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import FieldChange, Written
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.planning import Plan, Transfer
from coupler.domain.records import Record, RecordUpdate
from coupler.domain.state import (
    Conflict,
    ConflictKey,
    FailureKey,
    IntentKey,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)
from coupler.domain.transfer import Resolved
from coupler.services.engine.recorder import JobRecorder

__all__ = ["CREATED_MEMORY", "FIELDS_KEPT", "ChunkWork", "Mode", "OneWayRun", "stamps"]

CREATED_MEMORY = 250_000
"""How many created records a pass remembers for the job's other pass (about 25 MB per 100,000)."""
FIELDS_KEPT = 10
"""How many changed fields of a written record the job keeps for the notice."""


class Mode(Enum):
    """What a one-way run is for. Each mode answers the engine's questions (does it create counterparts? does it
    write whatever changed? does it include skipped records? does it plan pairs that did not change?) in one place,
    instead of flags combined by hand at each call site."""

    CHANGES = "changes"
    """Incremental: what changed since the last run; uncoupled records get a counterpart unless the mapping
    synchronizes coupled records only."""
    FULL = "full"
    """Every record; uncoupled records get a counterpart."""
    CREATE = "create"
    """Create the counterparts of the given uncoupled records (failed creations retried, match --create-missing)."""
    SYNC_NOW = "sync-now"
    """A user's Synchronize now by the change rules, skipped records included."""
    FORCED = "forced"
    """A user's Synchronize now in a chosen direction: written whatever changed, skipped records included."""
    RESOLVE = "resolve"
    """Resolving parked conflicts field by field: the pair is planned even if nothing changed since."""

    def creates(self, mapping: TableMapping) -> bool:
        """Whether uncoupled source records get a counterpart."""
        if self is Mode.CHANGES:
            return not mapping.sync_only_coupled
        return self in (Mode.FULL, Mode.CREATE)

    @property
    def forced(self) -> bool:
        """Written whatever changed on either side (the user chose the direction)."""
        return self is Mode.FORCED

    @property
    def manual(self) -> bool:
        """A user asked for these very records: skipped ones are included."""
        return self in (Mode.SYNC_NOW, Mode.FORCED, Mode.RESOLVE)

    @property
    def reconsider(self) -> bool:
        """Pairs are planned even when neither side changed since the last synchronization."""
        return self is Mode.RESOLVE


@dataclass(kw_only=True)
class OneWayRun:
    """How one one-way run goes: its ``mode`` (see ``Mode``); ``winners``: who wins which conflicting field pair
    (``Mode.RESOLVE``)."""

    mapping: TableMapping
    direction: Direction
    recorder: JobRecorder
    mode: Mode = Mode.CHANGES
    winners: Mapping[str, Side] = field(default_factory=dict)
    lengths: Mapping[str, int] = field(default_factory=dict)
    earlier_failures: bool = True
    """Whether uncoupled records of this source may have failed creations on record (else no need to look)."""
    counted: bool = True
    """Whether the records this pass handles advance the progress shown (False when the caller counts them)."""
    created: dict[str, datetime] = field(default_factory=dict)
    """Records this pass created in its target (key -> modified-on as written), up to ``CREATED_MEMORY`` of them."""
    just_created: Mapping[str, datetime] = field(default_factory=dict)
    """Source records the job's other pass created a moment ago: read back unchanged, they need no look at all."""
    to_stamp: list[str] = field(default_factory=list)
    """Source records whose counterparts this pass created, to get the constants sent their way when the job's
    passes are done (``Creator.stamp``); kept only where the mapping sends constants that way."""
    moves: Transfer = field(init=False)

    def __post_init__(self) -> None:
        names = (self.system(self.source), self.system(self.target))
        self.moves = Transfer.of(self.mapping, self.direction, lengths=self.lengths, systems=names)

    @property
    def create(self) -> bool:
        return self.mode.creates(self.mapping)

    @property
    def forced(self) -> bool:
        return self.mode.forced

    @property
    def manual(self) -> bool:
        return self.mode.manual

    @property
    def reconsider(self) -> bool:
        return self.mode.reconsider

    @property
    def source(self) -> Side:
        return self.direction.source

    @property
    def target(self) -> Side:
        return self.direction.target

    @property
    def job_id(self) -> str:
        return self.recorder.job.id

    def system(self, side: Side) -> str:
        """The ``side`` system's configured name ("Business Central")."""
        return self.recorder.systems.name(side)

    def label(self, record: Record) -> str:
        """The source record as a user knows it ("Business Central Customer C00020 Trey Research")."""
        return self.mapping.label(self.source, record.key, record.values, system=self.system(self.source))

    def wrote(self, source: Record, values: Mapping[str, Any], *, key: str, before: Record | None) -> None:
        """Keep for the notice what was written to the target record ``key`` from ``source`` (``before``: the
        target as read; None for a record created): its fields by caption, old and new values. A lookup's value is
        shown as the source holds it (the salesperson's code, not the other system's id)."""
        if not self.recorder.writes_wanted:
            return
        mapping, target = self.mapping, self.target
        old = before.values if before is not None else {}
        changes = []
        for move in self.moves.moves:
            if move.target not in values:
                continue
            new, was = values[move.target], old.get(move.target)
            if (before is None and new in (None, "")) or (before is not None and was == new):
                continue
            if move.field.lookup is not None and move.source is not None:
                new, was = source.get(move.source), None
            changes.append(FieldChange(field=mapping.caption_of(target, move.target), old=was, new=new))
        after = {**old, **values}
        local_key, local = (source.key, source.values) if self.source is Side.LOCAL else (key, after)
        display = mapping.local.display_key
        shown = local.get(display) if display else None
        self.recorder.wrote(
            Written(
                side=target,
                title=mapping.title(target, key, after),
                ref=str(shown) if shown not in (None, "") else local_key,
                created=before is None,
                changes=tuple(changes[:FIELDS_KEPT]),
            )
        )

    @property
    def target_records(self) -> str:
        """The target table as a user knows it ("Dynamics 365 Sales Account")."""
        return self.mapping.records_of(self.target, self.system(self.target))


@dataclass(kw_only=True)
class ChunkWork:
    """Everything one chunk of source records decided: the writes to the target, then the state to save in one
    transaction (``changes``)."""

    updates: list[RecordUpdate] = field(default_factory=list)
    updated: list[tuple[Coupling, Record, Plan]] = field(default_factory=list)
    targets: Mapping[str, Record] = field(default_factory=dict)
    """The coupled targets as read before the writes (for the notice's old values)."""
    creations: list[Record] = field(default_factory=list)
    restorations: list[tuple[Coupling, Record]] = field(default_factory=list)
    couplings: list[Coupling] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    settled: list[ConflictKey] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)
    cleared: list[FailureKey] = field(default_factory=list)
    deletions: list[PendingDeletion] = field(default_factory=list)
    decoupled: list[str] = field(default_factory=list)
    recoupled: list[Coupling] = field(default_factory=list)
    created: list[Coupling] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    done_intents: list[IntentKey] = field(default_factory=list)
    resolved: Resolved = field(default_factory=dict)

    def changes(self, *, with_created: bool = True) -> StateChanges:
        """What this chunk changes in the state store; without the couplings of the records it created (and the
        intents they settle) when those are coupled one by one instead."""
        return StateChanges(
            couplings=tuple(self.couplings),
            new_couplings=tuple(self.created) if with_created else (),
            conflicts=tuple(self.conflicts),
            settled=tuple(self.settled),
            failures=tuple(self.failures),
            cleared=tuple(self.cleared),
            deletions=tuple(self.deletions),
            done_intents=tuple(self.done_intents) if with_created else (),
        )


def stamps(
    source: Side, source_on: datetime | None, target_on: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(local, integration) modified-on from a pass's (source, target) ones."""
    return (source_on, target_on) if source is Side.LOCAL else (target_on, source_on)
