"""The lock a job holds on its mapping while it runs: taken at the start, renewed by a heartbeat, checked before
every write, released at the end.

Two runs never write one mapping at once: the second is refused (MappingBusy). A run that dies stops renewing its
lock, which expires after its time to live; the next run takes it over. A live run keeps it whatever it is doing:
a daemon thread renews it every fifth of its time to live (on a connection of its own from the store's pool), also
while the job waits on a 429's ``Retry-After`` or on a slow page. Before each write to either system and each save
of a page the job renews the lock once more, which proves it still holds it; a run whose lock another run took over
(its renewals failed for longer than the time to live) or an administrator released stops with LockLost instead of
writing beside the run that holds it now.

The check sits in one place for the systems: while a job runs, ``Systems.connector`` hands out its connectors
wrapped in ``LeasedConnector``, whose inserts, updates and deletes check the job's lease first (the lease is bound to
the job's context, so jobs on other threads are not affected); the recorder checks it before saving a page.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from contextvars import ContextVar, Token
from datetime import datetime, timedelta
from typing import Any

from coupler.domain.errors import LockLost, MappingBusy
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate, WriteResult
from coupler.domain.state import Lock
from coupler.domain.timeutil import format_iso
from coupler.ports.connector import Connector, ForwardingConnector
from coupler.ports.store import Cursors
from coupler.services.wording import plural

__all__ = ["LOCK_TTL", "Lease", "LeasedConnector", "guarded", "lock_name"]

LOCK_TTL = timedelta(minutes=5)
"""How long a lock lasts without renewal: a run that died holds its mapping this long at most."""

_HELD: ContextVar[tuple[Lease, ...]] = ContextVar("coupler_leases", default=())


def lock_name(mapping: str) -> str:
    return f"mapping:{mapping}"


class Lease:
    """``owner``'s (a job id's) lock on ``mapping`` in the state store's ``cursors``, for ``ttl`` at a time, timed
    by ``clock``."""

    def __init__(
        self, cursors: Cursors, *, mapping: str, owner: str, clock: Callable[[], datetime], ttl: timedelta = LOCK_TTL
    ) -> None:
        self.cursors, self.mapping, self.owner, self.ttl = cursors, mapping, owner, ttl
        self.name = lock_name(mapping)
        self._clock = clock
        self._mutex = threading.Lock()  # one renewal at a time: the heartbeat's or the job's own
        self._until = self._renewed_at = clock()
        self._lost: str | None = None
        self._failure: str | None = None
        self._stop = threading.Event()
        self._token: Token[tuple[Lease, ...]] | None = None

    # the job's side --------------------------------------------------------------------------------------------
    def take(self) -> Lock | None:
        """Take the lock (MappingBusy when another run holds it), start the heartbeat and bind the lease to this
        context. Returns the expired lock of another owner it took over (a run that died), else None."""
        now = self._clock()
        previous = self._current()
        host, pid = socket.gethostname(), os.getpid()
        if not self.cursors.acquire_lock(self.name, self.owner, until=now + self.ttl, now=now, host=host, pid=pid):
            raise MappingBusy(self._busy(self._current()), mapping=self.mapping)
        self._until, self._renewed_at = now + self.ttl, now
        threading.Thread(target=self._beat, name=f"coupler lock {self.name}", daemon=True).start()
        self._token = _HELD.set((*_HELD.get(), self))
        if previous is not None and previous.owner != self.owner and previous.expired(now):
            return previous
        return None

    def check(self) -> None:
        """Raise LockLost unless this run still holds the lock without a break: proven before each write by a
        renewal (one conditional update: the lock still names this run), never assumed from the heartbeat's last
        beat, so a lock taken over or released (``coupler unlock --force``) stops the run at its next write."""
        if self._stop.is_set():  # released, or abandoned by a job that was dropped: it guards nothing any more
            return
        with self._mutex:
            if self._lost is None:
                self._renew()
            if self._lost is None and self._clock() > self._until:
                self._lost = (
                    f"the lock on {self.mapping} expired: it could not be renewed for {_duration(self.ttl)} "
                    f"({self._failure or 'no renewal ran'}), so another run may hold it now"
                )
            if self._lost is not None:
                raise LockLost(f"{self._lost}; this run stopped before writing anything more.")

    def stop_renewing(self) -> None:
        """Stop the heartbeat without releasing the lock, which then expires (a job dropped without finishing)."""
        self._stop.set()

    def release(self) -> None:
        """Stop the heartbeat, unbind the lease and release the lock (if this run still holds it)."""
        self._stop.set()
        if self._token is not None:
            with suppress(ValueError):  # released from another context than it was taken in: nothing bound here
                _HELD.reset(self._token)
            self._token = None
        with suppress(Exception):  # a failed release only leaves the lock to expire
            self.cursors.release_lock(self.name, self.owner)

    # the heartbeat ---------------------------------------------------------------------------------------------
    def _beat(self) -> None:
        interval = self.ttl.total_seconds() / 5
        while not self._stop.wait(interval):
            with self._mutex:
                if self._stop.is_set():
                    return
                self._renew()
                if self._lost is not None:
                    return  # the job stops at its next write

    def _renew(self) -> None:
        """Extend the lock if it is still this run's (the caller holds the mutex)."""
        now = self._clock()
        try:
            held = self.cursors.renew_lock(self.name, self.owner, until=now + self.ttl)
        except Exception as error:  # the store did not answer: the next beat or check tries again
            self._failure = f"{type(error).__name__}: {error}"
            return
        if held:
            self._until, self._renewed_at, self._failure = now + self.ttl, now, None
        else:
            self._lost = f"the lock on {self.mapping} was taken by another run (or released by an administrator)"

    # messages --------------------------------------------------------------------------------------------------
    def _current(self) -> Lock | None:
        return next((lock for lock in self.cursors.locks() if lock.name == self.name), None)

    def _busy(self, holder: Lock | None) -> str:
        who = ""
        if holder is not None:
            where = f", on host {holder.host} as process {holder.pid}" if holder.host else ""
            who = f" (job {holder.owner}{where}, until {format_iso(holder.until)} unless renewed)"
        return (
            f"{self.mapping} is being synchronized by another run{who}; try again when it has finished (the lock "
            f"of a run that died is released after {_duration(self.ttl)})."
        )


def guarded(connector: Connector) -> Connector:
    """``connector`` as the job running in this context may write to it: checked against the job's lease."""
    leases = tuple(lease for lease in _HELD.get() if not lease._stop.is_set())
    return LeasedConnector(connector, leases) if leases else connector


class LeasedConnector(ForwardingConnector):
    """A connector whose writes first check that the job still holds its mapping's lock; the rest passes through."""

    def __init__(self, inner: Connector, leases: Sequence[Lease]) -> None:
        super().__init__(inner)
        self.leases = tuple(leases)

    def _check(self) -> None:
        for lease in self.leases:
            lease.check()

    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        self._check()  # keys for records about to be created: their intents are written next
        return self.inner.new_keys(spec, count)

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        self._check()
        return self.inner.insert(spec, rows)

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        self._check()
        return self.inner.update(spec, updates)

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        self._check()
        return self.inner.delete(spec, keys)

    def __getattr__(self, name: str) -> Any:  # what a connector offers beyond the port (a test fake's helpers)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _duration(ttl: timedelta) -> str:
    seconds = ttl.total_seconds()
    if seconds >= 60 and seconds % 60 == 0:
        return plural(int(seconds // 60), "minute")
    return plural(int(seconds), "second") if seconds.is_integer() else f"{seconds:g} seconds"
