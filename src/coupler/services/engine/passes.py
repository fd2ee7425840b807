"""One one-way pass of a synchronization, and what one page of it decides to write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.planning import Plan, Transfer
from coupler.domain.records import Record, RecordUpdate
from coupler.domain.state import Conflict, PendingDeletion, RecordFailure
from coupler.domain.transfer import Resolved
from coupler.services.engine.recorder import JobRecorder

__all__ = ["CREATED_MEMORY", "Batch", "Pass", "stamps"]

CREATED_MEMORY = 250_000
"""How many created records a pass remembers for the job's other pass (about 25 MB per 100,000)."""


@dataclass(kw_only=True)
class Pass:
    """How one one-way pass runs.

    ``create``: uncoupled source records get a counterpart. ``forced``: a user's explicit direction, written
    whatever changed. ``manual``: synchronize now (skipped records included). ``reconsider``: plan even what did
    not change (resolving a conflict). ``winners``: who wins which conflicting field pair.
    """

    mapping: TableMapping
    direction: Direction
    recorder: JobRecorder
    create: bool = False
    forced: bool = False
    manual: bool = False
    reconsider: bool = False
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
    moves: Transfer = field(init=False)

    def __post_init__(self) -> None:
        self.moves = Transfer.of(self.mapping, self.direction, lengths=self.lengths)

    @property
    def source(self) -> Side:
        return self.direction.source

    @property
    def target(self) -> Side:
        return self.direction.target

    @property
    def job_id(self) -> str:
        return self.recorder.job.id

    def label(self, record: Record) -> str:
        return self.mapping.label(self.source, record.key, record.values)


@dataclass(kw_only=True)
class Batch:
    """Everything one page decided: the writes to the target, then the state to save in one transaction."""

    updates: list[RecordUpdate] = field(default_factory=list)
    updated: list[tuple[Coupling, Record, Plan]] = field(default_factory=list)
    creations: list[Record] = field(default_factory=list)
    restorations: list[tuple[Coupling, Record]] = field(default_factory=list)
    couplings: list[Coupling] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    settled: list[tuple[str, str]] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)
    cleared: list[tuple[str, Side, str]] = field(default_factory=list)
    deletions: list[PendingDeletion] = field(default_factory=list)
    decoupled: list[str] = field(default_factory=list)
    recoupled: list[Coupling] = field(default_factory=list)
    created: list[Coupling] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    done_intents: list[tuple[str, Direction, str]] = field(default_factory=list)
    resolved: Resolved = field(default_factory=dict)


def stamps(
    source: Side, source_on: datetime | None, target_on: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(local, integration) modified-on from a pass's (source, target) ones."""
    return (source_on, target_on) if source is Side.LOCAL else (target_on, source_on)
