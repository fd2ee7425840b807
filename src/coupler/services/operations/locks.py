"""The mapping locks as an administrator sees them (``coupler locks``), and releasing the lock of a run that is gone
(``coupler unlock``).

Every job holds its mapping's lock while it runs and renews it every minute or so (see ``lease``). A run that died
(killed, its machine lost) holds it until it expires; when its owner process ran on this machine and no longer
exists, or the administrator knows it is gone (``force``), the lock can be released at once. Its job, left open by
the dead run, is closed as stopped.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from coupler.domain.errors import MappingBusy
from coupler.domain.jobs import Job
from coupler.domain.state import Lock
from coupler.domain.timeutil import format_iso
from coupler.services.context import Systems
from coupler.services.engine.recorder import close_dead_job
from coupler.services.lease import lock_name

__all__ = ["LockStatus", "list_locks", "process_alive", "unlock"]

_PREFIX = lock_name("")


@dataclass(frozen=True, kw_only=True, slots=True)
class LockStatus:
    """A mapping's lock: who holds it (the job, and the process that runs it), until when, and whether it is
    expired. ``alive`` says whether the owner process still exists: known only on the machine it runs on (None
    elsewhere, or for a lock taken before coupler recorded its owner)."""

    mapping: str
    lock: Lock
    expired: bool
    alive: bool | None
    job: Job | None

    @property
    def state(self) -> str:
        """held, expired, or owner gone (on this machine, its process no longer exists)."""
        if self.expired:
            return "expired"
        return "owner gone" if self.alive is False else "held"


def list_locks(systems: Systems) -> list[LockStatus]:
    """The mapping locks on record, by mapping."""
    return [_status(systems, lock) for lock in systems.store.cursors.locks() if lock.name.startswith(_PREFIX)]


def unlock(systems: Systems, mapping: str, *, force: bool = False) -> LockStatus | None:
    """Release the mapping's lock (and close its owner's job, left open, as stopped); the lock released, or None
    when the mapping was not locked. A lock that is live and whose owner may be alive (a process of this machine
    that exists, or one on another machine, which cannot be checked from here) is refused (MappingBusy) unless
    ``force``: releasing the lock of a live run lets a second run write beside it."""
    name = systems.mapping(mapping).name
    found = next((lock for lock in systems.store.cursors.locks() if lock.name == lock_name(name)), None)
    if found is None:
        return None
    status = _status(systems, found)
    if not force and status.state == "held":
        raise MappingBusy(_refusal(name, found, status), mapping=name)
    systems.store.cursors.release_lock(
        found.name, found.owner
    )  # only this owner's: a run that took it meanwhile keeps it
    why = "its lock expired" if status.expired else "its lock was released by an administrator"
    at = min(found.until, systems.clock())
    closed = close_dead_job(systems.store, found, at=at, reason=f"{why} at {format_iso(at)}")
    return LockStatus(
        mapping=status.mapping, lock=found, expired=status.expired, alive=status.alive, job=closed or status.job
    )


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """Whether the process ``pid`` of machine ``host`` exists: known for this machine only (None otherwise)."""
    if host is None or pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    except OSError:  # a system where signal 0 cannot probe a process
        return None
    return True


def _status(systems: Systems, lock: Lock) -> LockStatus:
    return LockStatus(
        mapping=lock.name.removeprefix(_PREFIX),
        lock=lock,
        expired=lock.expired(systems.clock()),
        alive=process_alive(lock.host, lock.pid),
        job=systems.store.jobs.get(lock.owner),
    )


def _refusal(mapping: str, lock: Lock, status: LockStatus) -> str:
    if status.alive:
        where = f"process {lock.pid} on this machine ({lock.host}), which is still running"
        advice = "stop it (it releases the lock as it ends), or use --force if it is not a coupler run any more"
    elif lock.host is not None:
        where = f"process {lock.pid} on {lock.host}"
        advice = (
            "coupler cannot tell from here whether it is still running: make sure it is not, then use --force "
            f"(or wait: the lock expires at {format_iso(lock.until)} unless that run renews it)"
        )
    else:
        where = "a run that did not record its process"
        advice = f"wait until it expires at {format_iso(lock.until)} unless renewed, or use --force"
    return f"{mapping} is locked by job {lock.owner}, {where}: {advice}."
