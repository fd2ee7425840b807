"""What every route works with: the app's WebState, its shared Coupler and page queries, and the CSRF check for unsafe
requests."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from coupler.bootstrap import open_coupler, reconfigured, schema_check
from coupler.config import default_config_path, load_config
from coupler.config.edit import Check, enabled_in
from coupler.domain.errors import ConnectorError, CouplerError
from coupler.domain.jobs import Job, Written
from coupler.domain.schedules import QueueSettings
from coupler.entrypoints.web.queued import PREFIX, Asked, QueuedTasks
from coupler.entrypoints.web.security import CSRF_COOKIE, SAFE_METHODS, SESSION_COOKIE
from coupler.entrypoints.web.tasks import Task, TaskRunner, Work
from coupler.ports.telemetry import Telemetry
from coupler.services.api import Coupler
from coupler.services.context import Progress, Systems
from coupler.services.engine.recorder import JobReport
from coupler.services.views.check import SystemStatus
from coupler.services.views.page_queries import PageQueries

__all__ = [
    "FALLBACK_NAMES",
    "Connection",
    "CouplerDep",
    "QueriesDep",
    "StateDep",
    "Undo",
    "WebState",
    "csrf_token",
    "get_coupler",
    "get_queries",
    "get_state",
    "verify_csrf",
]

CONNECTION_TTL_SECONDS = 5.0
UNDO_KEPT = 200
"""How many decouplings the app remembers how to undo."""
NOTICES_KEPT = 200
"""How many notices of changes to the configuration the app keeps for the page shown after the change."""
WRITTEN_JOBS_KEPT = 200
"""How many jobs' written records the app remembers for their notices."""
FALLBACK_NAMES = {"local": "the ERP", "integration": "the CRM"}
"""What the pages call the systems when the configuration cannot be read."""
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, kw_only=True, slots=True)
class Undo:
    """How to undo a decoupling: couple these (local key, integration key) ``pairs`` of ``mapping`` again (the
    notice that offers it names them: "Decoupled C00070 Fabrikam from Fabrikam, Inc.")."""

    mapping: str
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Connection:
    """Whether both systems and the state store answer and the mapped tables exist; what is wrong if not."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    systems: tuple[SystemStatus, ...] = ()
    """Each system and the state store, whether it answered and why not; empty when coupler could not be opened."""


class WebState:
    """The app's state: the configuration, the Coupler shared by requests, the background tasks."""

    def __init__(self, config_path: Path | None, *, workers: int = 2, telemetry: Telemetry | None = None) -> None:
        self.config_path = config_path
        self.telemetry = telemetry  # told of the jobs of every Coupler the app opens (metrics)
        self.tasks = TaskRunner(self._open, workers=workers, on_done=self.remember_reports)
        self._coupler: Coupler | None = None
        self._problem: str | None = None
        self._lock = threading.Lock()
        self._editing = threading.Lock()
        self._checked: tuple[float, Connection] | None = None
        self._names: dict[str, str] | None = None
        self._enabled: tuple[tuple[str, int, int], bool] | None = None
        self._queue: tuple[QueueSettings | None] | None = None
        self._queued: tuple[QueuedTasks | None] | None = None
        self._undo: OrderedDict[str, Undo] = OrderedDict()
        self._notices: OrderedDict[str, object] = OrderedDict()
        self._written: OrderedDict[str, tuple[Written, ...]] = OrderedDict()
        self._coupled: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
        self._decoupled: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
        self._redone: OrderedDict[str, Undo] = OrderedDict()

    def _open(self, progress: Progress | None = None) -> Coupler:
        try:
            return open_coupler(self.config_path, progress=progress, telemetry=self.telemetry)
        except ConnectorError:
            # A system does not answer, so its tables cannot be checked: open without the check, so that the pages
            # still list what the other system and the state store hold. ``connection()`` checks both systems and
            # the mapped tables and columns before actions needing both are offered; the banner names the one
            # that does not answer.
            return open_coupler(self.config_path, progress=progress, telemetry=self.telemetry, validate=False)

    def start(self) -> None:
        """Open the shared Coupler; when that fails the app still starts and ``connection()`` says why."""
        with self._lock:
            self._connect()

    def _connect(self) -> Coupler | None:
        if self._coupler is None:
            try:
                self._coupler = self._open()
                self._problem = None
            except CouplerError as error:
                self._problem = error.message
        return self._coupler

    @property
    def coupler(self) -> Coupler:
        """The shared Coupler; ConnectorError (503) naming the problem while the systems cannot be opened."""
        with self._lock:
            coupler = self._connect()
            if coupler is None:
                raise ConnectorError(f"coupler cannot reach its systems: {self._problem}")
            return coupler

    def opened(self) -> Systems | None:
        """The shared Coupler's systems if it is open, without trying to open it (None then)."""
        coupler = self._coupler
        return coupler.systems if coupler is not None else None

    @property
    def queries(self) -> PageQueries:
        """The pages' read models over the shared Coupler's systems; ConnectorError (503) as for ``coupler``."""
        return PageQueries(self.coupler.systems)

    def change_config(self, change: Callable[[Path, Check], Path]) -> Path:
        """Make ``change`` to the configuration file (given the file and the check opening the systems makes), then
        work with the changed mappings from the next request on, over the same connections; returns the backup.
        Changes are made one at a time; requests under way finish with the mappings they started with."""
        with self._editing:
            coupler = self.coupler
            backup = change(Path(coupler.origin), schema_check(coupler))
            changed = reconfigured(coupler)
            with self._lock:
                self._coupler, self._checked = changed, None
            return backup

    def remember_notice(self, notice: object) -> str:
        """Keep a notice for the page shown next (post/redirect/get); returns the id that page is given."""
        notice_id = secrets.token_urlsafe(12)
        with self._lock:
            self._notices[notice_id] = notice
            while len(self._notices) > NOTICES_KEPT:
                self._notices.popitem(last=False)
        return notice_id

    def notice_of(self, notice_id: str) -> object | None:
        with self._lock:
            return self._notices.get(notice_id)

    def remember_undo(self, job_id: str, undo: Undo) -> None:
        """Keep how to undo the job ``job_id`` (the last UNDO_KEPT jobs, while the app runs)."""
        with self._lock:
            self._undo[job_id] = undo
            while len(self._undo) > UNDO_KEPT:
                self._undo.popitem(last=False)

    def remember_reports(self, reports: Sequence[JobReport]) -> None:
        """Keep what these jobs wrote (their first records, with old and new values) for their notices: the log
        keeps counters, not values (the last WRITTEN_JOBS_KEPT jobs, while the app runs)."""
        with self._lock:
            for report in reports:
                _keep(self._written, report.job.id, report.written)
                if report.decoupled:
                    _keep(self._decoupled, report.job.id, report.decoupled)

    def remember_coupled(self, job_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Keep the (local key, integration key) pairs the job ``job_id`` coupled, for its notice to name and link
        them (the last WRITTEN_JOBS_KEPT jobs, while the app runs)."""
        with self._lock:
            self._coupled[job_id] = tuple(pairs)
            while len(self._coupled) > WRITTEN_JOBS_KEPT:
                self._coupled.popitem(last=False)

    def remember_redone(self, job_id: str, undone: Undo) -> None:
        """Keep that the job ``job_id`` ended the undo of a decoupling: the jobs up to it coupled ``undone``'s pairs
        again, which its notice tells of, all of them (the last WRITTEN_JOBS_KEPT undos, while the app runs)."""
        with self._lock:
            _keep(self._redone, job_id, undone)

    def redone_of(self, job_id: str) -> Undo | None:
        with self._lock:
            return self._redone.get(job_id)

    def decoupled_of(self, job_id: str) -> tuple[tuple[str, str], ...]:
        """The first pairs the job ``job_id`` decoupled (as its report gave them)."""
        with self._lock:
            return self._decoupled.get(job_id, ())

    def coupled_of(self, job_id: str) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return self._coupled.get(job_id, ())

    def written_of(self, job_id: str) -> tuple[Written, ...]:
        with self._lock:
            return self._written.get(job_id, ())

    def undo_of(self, job_id: str) -> Undo | None:
        with self._lock:
            return self._undo.get(job_id)

    def forget_undo(self, job_id: str) -> Undo | None:
        with self._lock:
            return self._undo.pop(job_id, None)

    def system_names(self) -> dict[str, str]:
        """The systems as the configuration names them (``[local] name``, ``[integration] name``), by side: what the
        pages call them, connected or not."""
        if self._names is None:
            coupler = self._coupler
            if coupler is not None:
                systems = coupler.systems
                names = {"local": systems.local.display_name, "integration": systems.integration.display_name}
            else:
                try:
                    config = load_config(self.config_path)
                except CouplerError:
                    return dict(FALLBACK_NAMES)
                names = {"local": config.local.name, "integration": config.integration.name}
            self._names = names
        return self._names

    def connection(self) -> Connection:
        """Both systems answer and every mapped table and column exists (checked at most every few seconds)."""
        now = time.monotonic()
        with self._lock:
            if self._checked is not None and now - self._checked[0] < CONNECTION_TTL_SECONDS:
                return self._checked[1]
            coupler = self._connect()
            if coupler is None:
                result = Connection(ok=False, problems=[self._problem or "coupler cannot reach its systems"])
            else:
                try:
                    report = coupler.check()
                except CouplerError as error:
                    result = Connection(ok=False, problems=[error.message])
                else:
                    problems = [f"{s.name}: {s.message}" for s in report.systems if not s.ok]
                    result = Connection(ok=report.ok, problems=problems + list(report.problems), systems=report.systems)
            self._checked = (now, result)
            return result

    def config_file(self) -> Path:
        """The configuration file the app runs on: the one the Enabled switch writes."""
        return self.config_path or default_config_path()

    def enabled(self) -> bool:
        """Whether the connection is switched on (``enabled`` in the configuration file, read again only when the
        file changes); True when the file cannot be read (the banner then says what is wrong)."""
        path = self.config_file()
        try:
            stat = path.stat()
        except OSError:
            return True
        stamp = (str(path), stat.st_mtime_ns, stat.st_size)
        kept = self._enabled
        if kept is not None and kept[0] == stamp:
            return kept[1]
        value = enabled_in(path, otherwise=True)
        self._enabled = (stamp, value)
        return value

    def queue(self) -> QueueSettings | None:
        """The job queue's schedules (``[queue]``), read from the configuration once; None without a queue (or
        when the file cannot be read)."""
        if self._queue is None:
            try:
                self._queue = (load_config(self.config_path).queue,)
            except CouplerError:
                return None
        return self._queue[0]

    def queued(self) -> QueuedTasks | None:
        """The job queue the background work is deferred to (``[queue]`` in the configuration, read once), or None:
        the thread pool runs it."""
        if self._queued is None:
            try:
                config = load_config(self.config_path)
            except CouplerError:
                return None
            found = None
            if config.queue is not None:
                found = QueuedTasks(
                    config.state_url,
                    connection=config.queue.connection,
                    job_of=self._job_of,
                    remember=self.remember_reports,
                )
            self._queued = (found,)
        return self._queued[0]

    def _job_of(self, job_id: str) -> Job | None:
        return self.coupler.systems.store.jobs.get(job_id)

    def background(self, label: str, work: Work, asked: Asked) -> Task:
        """Run ``work`` in the background: as a job ``asked`` of the queue when one is configured (a worker runs
        it), else on the thread pool."""
        queued = self.queued()
        return queued.submit(label, asked) if queued is not None else self.tasks.submit(label, work)

    def task(self, task_id: str | None) -> Task | None:
        """A background task, from the queue or the thread pool."""
        if not task_id or len(task_id) > 64:
            return None
        queued = self.queued() if task_id.startswith(PREFIX) else None
        return queued.get(task_id) if queued is not None else self.tasks.get(task_id)

    def recent_tasks(self, limit: int = 20) -> list[Task]:
        """The latest background tasks, newest first, from the queue and the thread pool."""
        queued = self.queued()
        found = self.tasks.recent(limit) + (queued.recent(limit) if queued is not None else [])
        return sorted(found, key=lambda t: t.started_at, reverse=True)[:limit]

    def close(self) -> None:
        self.tasks.shutdown(wait=True)
        with self._lock:
            if self._coupler is not None:
                self._coupler.close()
                self._coupler = None


def _keep(kept: OrderedDict[str, Any], job_id: str, value: Any) -> None:
    """Keep ``value`` for the job as the latest, forgetting the oldest beyond WRITTEN_JOBS_KEPT."""
    kept[job_id] = value
    kept.move_to_end(job_id)
    while len(kept) > WRITTEN_JOBS_KEPT:
        kept.popitem(last=False)


def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def get_coupler(request: Request) -> Coupler:
    return get_state(request).coupler


def get_queries(request: Request) -> PageQueries:
    return get_state(request).queries


StateDep = Annotated[WebState, Depends(get_state)]
CouplerDep = Annotated[Coupler, Depends(get_coupler)]
QueriesDep = Annotated[PageQueries, Depends(get_queries)]


def csrf_token(request: Request) -> str:
    """The token a form sends back as the field ``csrf_token`` (or htmx as the header ``X-CSRF-Token``)."""
    token: str = request.state.csrf
    return token


def _exempt(request: Request) -> bool:
    """A script's call to the JSON API: a bearer token, or no cookie of coupler's at all."""
    if not request.url.path.startswith("/api"):
        return False
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return True
    return SESSION_COOKIE not in request.cookies and CSRF_COOKIE not in request.cookies


async def verify_csrf(request: Request) -> None:
    """Refuse (403) an unsafe request whose CSRF token is missing or does not match the cookie."""
    if request.method in SAFE_METHODS or _exempt(request):
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            status_code=403, detail="The form's CSRF token is missing or out of date: reload the page and try again."
        )
