"""How many records a system's table holds (within a mapping's filter, optionally a search): counted by the system,
and kept when counting cost a scan.

A count that took longer than ``SLOW`` is kept and served again, with the time it was counted (the pages show its
age: "1,000,000 records, counted 3 minutes ago"), until coupler writes something (any job starts or ends: the
newest job in the log is part of the key) or ``MAX_AGE`` passes (a change made in the system itself). A count that
is cheap is made afresh every time and has no age. So a page of the records list at 1,000,000 rows does not scan
the table on every load, and nothing shown is older than a job or a few minutes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from coupler.domain.timeutil import utcnow

__all__ = ["MAX_AGE", "SLOW", "Counted", "TableCounts"]

SLOW = 0.05
"""Seconds: a count that took longer is kept."""
MAX_AGE = timedelta(minutes=5)
"""A kept count is made again after this long, whatever coupler wrote meanwhile."""
_KEPT = 256


@dataclass(frozen=True, slots=True)
class Counted:
    """A count, and when it was made if it is a kept one (None: counted just now)."""

    value: int | None
    counted_at: datetime | None = None


class TableCounts:
    """Counts kept per key (side, table, filter, search) while ``version()`` (the newest job) stays the same."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow, timer: Callable[[], float] = time.perf_counter):
        self._clock = clock
        self._timer = timer
        self._kept: OrderedDict[Hashable, tuple[Hashable, datetime, int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, key: Hashable, version: Hashable, counter: Callable[[], int | None]) -> Counted:
        """The count under ``key``: the kept one while ``version`` is unchanged and it is younger than MAX_AGE,
        else ``counter()`` (kept if it was slow)."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == version and now - kept[1] < MAX_AGE:
            return Counted(kept[2], kept[1])
        started = self._timer()
        value = counter()
        slow = self._timer() - started > SLOW
        with self._lock:
            if slow:
                self._kept[key] = (version, now, value)
                self._kept.move_to_end(key)
                while len(self._kept) > _KEPT:
                    self._kept.popitem(last=False)
            else:
                self._kept.pop(key, None)
        return Counted(value)
