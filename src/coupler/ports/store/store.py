"""The state store: coupler's own state as five aggregates, and the unit of work that saves across them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from coupler.domain.jobs import Job, JobError
from coupler.domain.state import NO_CHANGES, StateChanges
from coupler.ports.store.attention import Attention
from coupler.ports.store.couplings import Couplings
from coupler.ports.store.cursors import Cursors
from coupler.ports.store.jobs import Jobs
from coupler.ports.store.metadata import Metadata

__all__ = ["CouplingStats", "StateStore"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CouplingStats:
    couplings: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    conflicts: int = 0
    pending_deletions: int = 0


class StateStore(ABC):
    """Reads and single-purpose writes go to an aggregate: ``store.couplings``, ``store.attention`` (conflicts,
    failures of uncoupled records, pending deletions), ``store.jobs`` (jobs and their errors) and
    ``store.cursors`` (watermarks, deleted-entries feeds' cursors, intents to create, locks) and ``store.metadata``
    (what connectors learnt about their systems' schemas, per connection). What a chunk of records changes across
    them is saved at once by ``save``."""

    couplings: Couplings
    attention: Attention
    jobs: Jobs
    cursors: Cursors
    metadata: Metadata

    @abstractmethod
    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        """The unit of work: apply ``changes`` (see ``StateChanges``), add the job ``errors`` and store the ``job``'s
        progress (adding it if it was not). Either all of it is written or none: AlreadyCoupled, naming the keys, if
        a new coupling takes a key or an update takes another coupling's integration key; ValueError if an error
        belongs to no known job."""

    @abstractmethod
    def stats(self, mapping: str) -> CouplingStats:
        """Counts of couplings, failed and skipped couplings (and skipped failed creations), job errors, parked
        conflicts and pending deletions of a mapping."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
