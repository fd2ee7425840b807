"""What every page shares: the templates, rendering with the connection banner and notices, and turning a job into
a notice a user reads ("3 synchronized, 1 failed: ...")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from coupler.domain.errors import ConnectorError, RecordNotFound
from coupler.domain.jobs import Job, JobError
from coupler.entrypoints.web.deps import FALLBACK_NAMES, Connection, csrf_token, get_state
from coupler.entrypoints.web.formatting import install as install_formatting
from coupler.entrypoints.web.tasks import summarize
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.views.page_queries import PageQueries

__all__ = [
    "Notice",
    "coupler_of",
    "job_notice",
    "kind_title",
    "queries_of",
    "redirect",
    "render",
    "render_error",
    "templates",
]

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["csrf_token"] = csrf_token


install_formatting(templates.env)


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    """A message at the top of a page after an action: ``kind`` is ok, warning or error; ``items`` say why."""

    kind: str
    text: str
    items: tuple[str, ...] = ()
    job_id: str | None = None
    more: int = 0
    undo: str | None = None
    """The job whose work the notice offers to undo (``POST /jobs/{undo}/undo``)."""


def connection_of(request: Request) -> Connection:
    return get_state(request).connection()


def coupler_of(request: Request) -> Coupler:
    return get_state(request).coupler


def queries_of(request: Request) -> PageQueries:
    return get_state(request).queries


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    notices: Sequence[Notice] = (),
) -> HTMLResponse:
    """A page (or, for an htmx request asking for a fragment, the template as it is) with the connection banner and
    the notices: those given and the one a ``job`` query parameter names."""
    found = list(notices)
    jobs = [request.query_params.get("created"), request.query_params.get("job")]  # created: before a sync
    for job_id in reversed(jobs):
        notice = job_notice_by_id(request, job_id) if job_id and len(job_id) <= 64 else None
        if notice is not None:
            found.insert(0, notice)
    values = {
        "request": request,
        "connection": connection_of(request),
        "paused": not get_state(request).enabled(),
        "systems": get_state(request).system_names(),
        "notices": found,
        "hx": request.headers.get("hx-request") == "true",
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, values, status_code=status)


def render_error(request: Request, status: int, message: str, problems: Sequence[str]) -> Response:
    """The HTML answer to an error anywhere in the pages (app.py installs it): never a traceback."""
    items = tuple(p for p in problems if p != message)
    notice = Notice(kind="error", text=message, items=items)
    try:
        connection = connection_of(request)
    except Exception:  # the error page must render even when the app state is not there
        connection = Connection(ok=False, problems=[message])
    try:
        systems = get_state(request).system_names()
    except Exception:  # as above
        systems = dict(FALLBACK_NAMES)
    try:
        paused = not get_state(request).enabled()
    except Exception:  # as above
        paused = False
    values = {
        "request": request,
        "connection": connection,
        "paused": paused,
        "systems": systems,
        "notices": [notice],
        "status": status,
        "hx": False,
    }
    return templates.TemplateResponse(request, "error.html", values, status_code=status)


def redirect(path: str, **params: str | None) -> RedirectResponse:
    """Post/redirect/get: back to a page, with e.g. ``job=`` so that it shows the job's notice."""
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


# job notices ---------------------------------------------------------------------------------------------------
_KIND_TITLE = {
    "manual": "Synchronize now",
    "couple": "Set up coupling",
    "create": "Create and couple",
    "decouple": "Decouple",
    "match": "Match-based coupling",
    "resolve": "Conflict resolved",
    "restore": "Restore",
    "incremental": "Synchronize modified records",
    "full": "Full synchronization",
    "delete": "Deletions",
}
NOTICE_ERRORS = 5


def kind_title(job: Job) -> str:
    """What a job was, as the notices name it ("Synchronize now", "Full synchronization")."""
    return _KIND_TITLE.get(job.kind.value, job.kind.value)


def job_notice(job: Job, errors: Sequence[JobError], *, total_errors: int | None = None) -> Notice:
    """'Synchronize now (CUSTOMER): 3 synchronized, 1 failed' with the first errors saying why."""
    counters = job.counters
    summary = summarize([JobReport(job=job)])
    title = _KIND_TITLE.get(job.kind.value, job.kind.value)
    bad = counters.failed or counters.conflicts or counters.unmatched
    kind = "error" if counters.failed and not (counters.modified or counters.coupled) else "warning" if bad else "ok"
    items = [e.message for e in errors[:NOTICE_ERRORS]]
    if job.message and not errors:
        items.insert(0, job.message)
    count = total_errors if total_errors is not None else len(errors)
    return Notice(
        kind=kind,
        text=f"{title} ({job.mapping}): {summary}.",
        items=tuple(items),
        job_id=job.id,
        more=max(0, count - NOTICE_ERRORS),
    )


def job_notice_by_id(request: Request, job_id: str) -> Notice | None:
    try:
        coupler = coupler_of(request)
        errors = coupler.errors(job_id, limit=NOTICE_ERRORS + 1)
    except (RecordNotFound, ConnectorError):
        return None
    job = coupler.systems.store.jobs.get(job_id)
    if job is None:
        return None
    notice = job_notice(job, errors, total_errors=len(errors))
    undo = get_state(request).undo_of(job_id)
    if undo is not None and job.counters.uncoupled:
        return replace(notice, text=undo.text, items=(), undo=job_id)
    return notice
