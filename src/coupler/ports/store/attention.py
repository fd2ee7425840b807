"""The attention port: what waits for a user. Parked conflicts, failures of uncoupled records (whose counterpart
could not be created) and deletions waiting for approval. They are written by ``StateStore.save``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion, RecordFailure

__all__ = ["Attention"]


class Attention(ABC):
    # parked conflicts ----------------------------------------------------------------------------------------
    @abstractmethod
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        """Parked conflicts ordered by mapping and local key, starting after local key ``after``."""

    @abstractmethod
    def conflict(self, mapping: str, local_key: str) -> Conflict | None: ...

    # failures of uncoupled records -----------------------------------------------------------------------------
    @abstractmethod
    def failures_of(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        """The failures of these uncoupled ``side`` records, by key."""

    @abstractmethod
    def failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[RecordFailure]:
        """Failures ordered by mapping, side and key, starting after key ``after``."""

    # pending deletions -----------------------------------------------------------------------------------------
    @abstractmethod
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        """Deletions waiting for approval, oldest first."""

    @abstractmethod
    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        """Remove these deletions of ``side`` records (approved, or withdrawn); the number removed."""
