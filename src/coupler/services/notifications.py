"""From notifications to targeted synchronizations: gathering a burst of changes per mapping (``Coalescer``).

A system that notifies coupler (``ports.webhooks``) tells of changes one record at a time, often many within a second
(an import, a batch posting) and each record more than once. The coalescer gathers what it is told per mapping for a
short ``window`` after the first change, then hands over one ``Targeted`` per mapping: the records' keys to
synchronize in one job, or, when the system named no record (``Change.MANY``) or more than ``max_keys`` changed, an
incremental run of the mapping (its watermark finds the changes). A table is found in the mappings by the table
name of the notifying side; only mappings that synchronize from that side are concerned.

Pure logic over a clock: the caller feeds it (``add``) and asks what is ``due`` (a web app's loop, a test's fake
clock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coupler.domain.mapping import Side, TableMapping
from coupler.domain.timeutil import utcnow
from coupler.ports.webhooks import Change, Notified

__all__ = ["Coalescer", "Targeted"]

WINDOW = timedelta(seconds=1)
MAX_KEYS = 1000
"""More changed records than this in one window: an incremental run reads them more cheaply than one by one."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Targeted:
    """One synchronization to run: ``keys`` of ``side``'s records of ``mapping``, or ``everything`` changed since
    the last run (an incremental run)."""

    mapping: str
    side: Side
    keys: tuple[str, ...] = ()
    everything: bool = False


@dataclass(kw_only=True)
class _Gathering:
    since: datetime
    keys: dict[str, None] = field(default_factory=dict)
    everything: bool = False


class Coalescer:
    """Gathers notifications per (mapping, side) for ``window`` after the first; thread-safe."""

    def __init__(
        self,
        mappings: Sequence[TableMapping],
        *,
        window: timedelta = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.mappings = tuple(mappings)
        self.window, self.max_keys, self.clock = window, max_keys, clock
        self._gathering: dict[tuple[str, Side], _Gathering] = {}
        self._lock = threading.Lock()

    def concerned(self, side: Side, table: str) -> list[TableMapping]:
        """The mappings that synchronize ``side``'s ``table`` to the other side."""
        return [
            m
            for m in self.mappings
            if m.spec(side).table.lower() == table.lower() and any(d.source is side for d in m.direction.one_way)
        ]

    def add(self, side: Side, notified: Sequence[Notified]) -> int:
        """Take in what one notification told of; how many of its changes concern a mapping."""
        now, taken = self.clock(), 0
        with self._lock:
            for change in notified:
                for mapping in self.concerned(side, change.table):
                    taken += 1
                    gathering = self._gathering.setdefault((mapping.name, side), _Gathering(since=now))
                    if change.change is Change.MANY or change.key is None:
                        gathering.everything = True
                    elif not gathering.everything:
                        gathering.keys[change.key] = None
                        if len(gathering.keys) > self.max_keys:
                            gathering.everything, gathering.keys = True, {}
        return taken

    def due(self) -> list[Targeted]:
        """The synchronizations whose window has passed (handed over once), in the mappings' order."""
        now = self.clock()
        with self._lock:
            ready = [key for key, g in self._gathering.items() if now - g.since >= self.window]
            taken = [(key, self._gathering.pop(key)) for key in ready]
        order = {m.name: i for i, m in enumerate(self.mappings)}
        taken.sort(key=lambda item: order.get(item[0][0], len(order)))
        return [
            Targeted(mapping=name, side=side, everything=True)
            if g.everything
            else Targeted(mapping=name, side=side, keys=tuple(g.keys))
            for (name, side), g in taken
        ]

    def next_due(self) -> datetime | None:
        """When the first gathering's window ends; None when nothing is gathered."""
        with self._lock:
            starts = [g.since for g in self._gathering.values()]
        return min(starts) + self.window if starts else None
