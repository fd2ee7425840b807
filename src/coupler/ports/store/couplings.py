"""The couplings port: which local record is coupled to which integration record, per mapping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Direction, Side
from coupler.domain.ordering import Bookmark, CouplingOrder

__all__ = ["Couplings"]


class Couplings(ABC):
    """Couplings are strictly 1:1 per mapping: one local key and one integration key each at most once. Updates
    go through ``StateStore.save`` with the rest of a chunk's changes."""

    @abstractmethod
    def find(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        """The couplings of these ``side`` keys, by that key (one query per batch)."""

    def coupled(self, mapping: str, side: Side, keys: Sequence[str]) -> set[str]:
        """Which of these ``side`` keys are coupled: keys only, for scans that need no more (a store may answer it
        more cheaply than ``find``)."""
        return set(self.find(mapping, side, keys))

    def get(self, mapping: str, side: Side, key: str) -> Coupling | None:
        return self.find(mapping, side, [key]).get(key)

    @abstractmethod
    def failed(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        """Couplings whose last result in ``direction`` was a failure (or that it must still carry back: pending)
        and that are not skipped, ordered by local key, starting after local key ``after``."""

    @abstractmethod
    def page(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        """Couplings of a mapping ordered by local key, starting after local key ``after``."""

    @abstractmethod
    def ordered(
        self,
        mapping: str,
        by: CouplingOrder,
        *,
        descending: bool = False,
        after: Bookmark | None = None,
        limit: int = 100,
    ) -> list[Coupling]:
        """Couplings of a mapping ordered by local key, last synchronized or result (``Coupling.order_value``),
        then by local key, strictly after ``after`` (see ``coupler.domain.ordering``): one indexed query a page."""

    @abstractmethod
    def add(self, couplings: Sequence[Coupling]) -> None:
        """Insert new couplings atomically; raise AlreadyCoupled (naming the record) if either key is taken."""

    @abstractmethod
    def remove(self, mapping: str, local_keys: Sequence[str]) -> int:
        """Delete couplings by local key, with their parked conflicts; the number deleted."""
