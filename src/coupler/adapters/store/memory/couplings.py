"""The couplings in dictionaries, per mapping by local key with an index by integration key. Every write checks
the 1:1 rule first and then applies, as the SQL store's unique constraints do."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC

from coupler.adapters.store.memory.attention import MemoryAttention
from coupler.adapters.store.taken_keys import TakenKey, already_coupled, duplicates_within
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, Side
from coupler.domain.ordering import Bookmark, CouplingOrder, coupling_value, ordered_page
from coupler.domain.state import StateChanges
from coupler.domain.timeutil import to_utc
from coupler.ports.store import Couplings

__all__ = ["MemoryCouplings"]


class _Mapping:
    """The couplings of one mapping, by local key, with the integration key index."""

    __slots__ = ("by_integration", "by_local")

    def __init__(self) -> None:
        self.by_local: dict[str, Coupling] = {}
        self.by_integration: dict[str, str] = {}

    def put(self, coupling: Coupling) -> None:
        coupling = _utc_coupling(coupling)
        old = self.by_local.get(coupling.local_key)
        if old is not None:
            del self.by_integration[old.integration_key]
        self.by_local[coupling.local_key] = coupling
        self.by_integration[coupling.integration_key] = coupling.local_key


class MemoryCouplings(Couplings):
    """``attention`` holds the parked conflicts, which go with their couplings."""

    def __init__(self, lock: threading.RLock, attention: MemoryAttention) -> None:
        self._lock = lock
        self._attention = attention
        self._mappings: dict[str, _Mapping] = {}

    def _of(self, mapping: str) -> _Mapping:
        return self._mappings.setdefault(mapping, _Mapping())

    def find(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return {}
            found: dict[str, Coupling] = {}
            for key in keys:
                local_key = key if Side(side) is Side.LOCAL else state.by_integration.get(key)
                coupling = state.by_local.get(local_key) if local_key is not None else None
                if coupling is not None:
                    found[key] = coupling
            return found

    def failed(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        directions = Direction(direction).one_way

        def failed(c: Coupling) -> bool:
            look_again = (SyncResult.FAILURE, SyncResult.PENDING)
            return not c.skipped and any(c.result(d) in look_again for d in directions)

        return self._page(mapping, failed, after, limit)

    def page(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        return self._page(mapping, lambda c: skipped is None or c.skipped is skipped, after, limit)

    def _page(self, mapping: str, keep: Callable[[Coupling], bool], after: str | None, limit: int) -> list[Coupling]:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return []
            keys = sorted(k for k in state.by_local if after is None or k > after)
            page: list[Coupling] = []
            for key in keys:
                if len(page) >= limit:
                    break
                coupling = state.by_local[key]
                if keep(coupling):
                    page.append(coupling)
            return page

    def ordered(
        self,
        mapping: str,
        by: CouplingOrder,
        *,
        descending: bool = False,
        after: Bookmark | None = None,
        limit: int = 100,
    ) -> list[Coupling]:
        with self._lock:
            state = self._mappings.get(mapping)
            couplings = list(state.by_local.values()) if state is not None else []
        return ordered_page(
            couplings,
            lambda c: coupling_value(c, by),
            lambda c: c.local_key,
            descending=descending,
            after=after,
            limit=limit,
        )

    def add(self, couplings: Sequence[Coupling]) -> None:
        with self._lock:
            self._check_new(couplings)
            for c in couplings:
                self._of(c.mapping).put(c)

    def remove(self, mapping: str, local_keys: Sequence[str]) -> int:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return 0
            removed = 0
            for key in dict.fromkeys(local_keys):
                coupling = state.by_local.pop(key, None)
                if coupling is not None:
                    del state.by_integration[coupling.integration_key]
                    removed += 1
            self._attention.settle(mapping, local_keys)  # a parked conflict goes with its coupling
            return removed

    # in the unit of work ---------------------------------------------------------------------------------------
    def check(self, changes: StateChanges) -> None:
        """AlreadyCoupled, naming the keys, if ``changes`` would break the 1:1 rule."""
        with self._lock:
            self._check_new(changes.new_couplings)
            self._check_updates(changes.couplings)

    def write(self, changes: StateChanges) -> None:
        """Add the new couplings and update the changed ones that are still stored (``check`` first)."""
        with self._lock:
            for c in changes.new_couplings:
                self._of(c.mapping).put(c)
            for c in changes.couplings:
                state = self._mappings.get(c.mapping)
                if state is not None and c.local_key in state.by_local:
                    state.put(c)

    def _check_new(self, couplings: Sequence[Coupling]) -> None:
        """AlreadyCoupled, naming the keys, if any key of these new couplings is taken."""
        if couplings:
            taken = duplicates_within(couplings)
            for c in couplings:
                state = self._mappings.get(c.mapping)
                if state is None:
                    continue
                if c.local_key in state.by_local:
                    taken.append((c.mapping, Side.LOCAL, c.local_key))
                if c.integration_key in state.by_integration:
                    taken.append((c.mapping, Side.INTEGRATION, c.integration_key))
            if taken:
                raise already_coupled(taken)

    def _check_updates(self, couplings: Sequence[Coupling]) -> None:
        """Refuse what the database refuses: updates applied one by one, none may take another's integration key."""
        clashes: list[TakenKey] = []
        owners: dict[tuple[str, str], str | None] = {}  # (mapping, integration key) -> local key, as updated
        current: dict[tuple[str, str], str] = {}  # (mapping, local key) -> its integration key, as updated
        for c in couplings:
            state = self._mappings.get(c.mapping)
            stored = state.by_local.get(c.local_key) if state is not None else None
            if state is None or stored is None:
                continue  # gone: nothing to update
            taken = (c.mapping, c.integration_key)
            owner = owners[taken] if taken in owners else state.by_integration.get(c.integration_key)
            if owner is not None and owner != c.local_key:
                clashes.append((c.mapping, Side.INTEGRATION, c.integration_key))
                continue
            owners[(c.mapping, current.get((c.mapping, c.local_key), stored.integration_key))] = None
            owners[taken] = c.local_key
            current[(c.mapping, c.local_key)] = c.integration_key
        if clashes:
            raise already_coupled(clashes)


def _utc_coupling(c: Coupling) -> Coupling:
    """The coupling with its timestamps in UTC (a copy only when one is not)."""
    stamps = (c.coupled_at, c.local_modified_on, c.integration_modified_on, c.last_synced_at)
    if all(t is None or t.tzinfo is UTC for t in stamps):
        return c
    return replace(
        c,
        coupled_at=to_utc(c.coupled_at),
        local_modified_on=None if c.local_modified_on is None else to_utc(c.local_modified_on),
        integration_modified_on=None if c.integration_modified_on is None else to_utc(c.integration_modified_on),
        last_synced_at=None if c.last_synced_at is None else to_utc(c.last_synced_at),
    )
