"""What every page shares: the templates, rendering with the connection banner and notices, and turning a job into
a notice a user reads ("3 synchronized, 1 failed: ...")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from coupler.domain.errors import ConnectorError, CouplerError, RecordNotFound
from coupler.domain.jobs import FieldChange, Job, JobError, Written
from coupler.domain.mapping import Side, TableMapping
from coupler.entrypoints.web.deps import FALLBACK_NAMES, Connection, csrf_token, get_state
from coupler.entrypoints.web.formatting import install as install_formatting
from coupler.entrypoints.web.tasks import summarize
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.views.page_queries import PageQueries

__all__ = [
    "Link",
    "Notice",
    "Phrase",
    "WrittenItem",
    "coupler_of",
    "job_notice",
    "job_notice_by_id",
    "job_redirect",
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
class Link:
    """A text that opens a page: a record's card, the Conflicts page..."""

    text: str
    href: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Phrase:
    """A sentence whose records open their cards: "Coupled <C00070 Fabrikam> with <Fabrikam, Inc.>." is ``parts``
    ("Coupled ", Link, " with ", Link, ".")."""

    parts: tuple[str | Link, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class WrittenItem:
    """A record a job wrote, as a notice lists it: "Dynamics 365 Sales Account <Trey Research> updated: City Odense
    -> Aalborg", the record linked to its card."""

    what: str
    record: Link
    created: bool
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    """A message at the top of a page after an action: ``kind`` is ok, warning or error; ``items`` say why (a
    ``Link`` to the record an item names); ``written`` lists what a job wrote, ``actions`` what to do next."""

    kind: str
    text: str | Phrase
    items: tuple[str | Link | Phrase, ...] = ()
    job_id: str | None = None
    more: int = 0
    undo: str | None = None
    """The job whose work the notice offers to undo (``POST /jobs/{undo}/undo``)."""
    written: tuple[WrittenItem, ...] = ()
    written_more: int = 0
    """How many more records the job wrote than ``written`` lists."""
    actions: tuple[Link, ...] = ()


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


def job_redirect(request: Request, path: str, *reports: JobReport) -> RedirectResponse:
    """Back to a page with the notice of the last job: what the jobs wrote is kept for it (the log keeps counters,
    not values)."""
    get_state(request).remember_reports(reports)
    return redirect(path, job=reports[-1].job.id)


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


def card_href(mapping: str, ref: str) -> str:
    """Where the card of the record ``ref`` (either side, key or display key) opens."""
    return f"/mappings/{mapping}/records/{quote(ref, safe='')}"


def job_notice(
    job: Job,
    errors: Sequence[JobError],
    *,
    total_errors: int | None = None,
    written: Sequence[Written] = (),
    systems: Mapping[str, str] | None = None,
    mapping: TableMapping | None = None,
    refs: Mapping[str, str] | None = None,
) -> Notice:
    """'Synchronize now (CUSTOMER), Business Central to Dynamics 365 Sales: 1 modified' with what was written (each
    record linked to its card, with its fields' old and new values), the first errors saying why (linked to the
    records they name: ``refs`` gives the display key of a local key), and what to do next (resolve the conflicts,
    open the errors)."""
    counters = job.counters
    summary = summarize([JobReport(job=job)])
    title = _KIND_TITLE.get(job.kind.value, job.kind.value)
    bad = counters.failed or counters.conflicts or counters.unmatched
    kind = "error" if counters.failed and not (counters.modified or counters.coupled) else "warning" if bad else "ok"
    items: list[str | Link] = [_error_item(job.mapping, e, refs or {}) for e in errors[:NOTICE_ERRORS]]
    if job.message and not errors:
        items.insert(0, job.message)
    count = total_errors if total_errors is not None else len(errors)
    names = systems or {}
    way = _DIRECTIONS.get(job.direction)
    heading = f"{title} ({job.mapping})"
    if way is not None and names:
        heading += f", {names[way[0].value]} to {names[way[1].value]}"
    return Notice(
        kind=kind,
        text=f"{heading}: {summary}.",
        items=tuple(items),
        job_id=job.id,
        more=max(0, count - NOTICE_ERRORS),
        written=tuple(_written_item(job.mapping, w, names, mapping) for w in written),
        written_more=max(0, counters.inserted + counters.modified - len(written)),
        actions=_next_steps(job),
    )


_DIRECTIONS = {
    "to-integration": (Side.LOCAL, Side.INTEGRATION),
    "from-integration": (Side.INTEGRATION, Side.LOCAL),
}


def _written_item(name: str, written: Written, names: Mapping[str, str], mapping: TableMapping | None) -> WrittenItem:
    system = names.get(written.side.value, "")
    table = mapping.spec(written.side).title if mapping is not None else ""
    what = " ".join(part for part in (system, table) if part)
    record = Link(text=written.title, href=card_href(name, written.ref))
    return WrittenItem(what=what, record=record, created=written.created, changes=written.changes)


def _error_item(mapping: str, error: JobError, refs: Mapping[str, str]) -> str | Link:
    """An error, linked to the card of the record it names (when it names one)."""
    if error.local_key:
        return Link(text=error.message, href=card_href(mapping, refs.get(error.local_key, error.local_key)))
    if error.integration_key:
        return Link(text=error.message, href=card_href(mapping, error.integration_key))
    return error.message


def _next_steps(job: Job) -> tuple[Link, ...]:
    """The pages that deal with what the job left: its parked conflicts, its failed records."""
    steps = []
    if job.counters.conflicts:
        steps.append(Link(text="Resolve the conflicts", href=f"/conflicts?{urlencode({'mapping': job.mapping})}"))
    if job.counters.failed:
        steps.append(Link(text="Open the errors", href=f"/errors?{urlencode({'mapping': job.mapping})}"))
    return tuple(steps)


def job_notice_by_id(request: Request, job_id: str) -> Notice | None:
    try:
        coupler = coupler_of(request)
        errors = coupler.errors(job_id, limit=NOTICE_ERRORS + 1)
    except (RecordNotFound, ConnectorError):
        return None
    job = coupler.systems.store.jobs.get(job_id)
    if job is None:
        return None
    state = get_state(request)
    notice = job_notice(
        job,
        errors,
        total_errors=len(errors),
        written=state.written_of(job_id),
        systems=state.system_names(),
        mapping=_mapping(coupler, job.mapping),
        refs=_refs(request, job.mapping, errors[:NOTICE_ERRORS]),
    )
    undo = state.undo_of(job_id)
    if undo is not None and job.counters.uncoupled:
        return replace(notice, undo=job_id, **_decoupled(request, undo.mapping, undo.pairs))
    decoupled = state.decoupled_of(job_id)
    if decoupled and job.counters.uncoupled and not errors:  # every matching record: the first pairs are known
        return replace(notice, **_decoupled(request, job.mapping, decoupled, total=job.counters.uncoupled))
    redone = state.redone_of(job_id)
    if redone is not None and not errors:
        return replace(notice, **_coupled_again(request, redone.mapping, redone.pairs))
    coupled = state.coupled_of(job_id)
    named = _pairs(request, job.mapping, coupled, ("Coupled ", " with ", ".")) if coupled else ()
    if named and job.message and not errors:  # the job's message names the pairs: the same words, linked
        return replace(notice, items=named)
    return notice


PAIRS_NAMED = 10
"""How many of the records a decoupling left a notice names (the others are counted)."""


def _decoupled(
    request: Request, mapping: str, pairs: Sequence[tuple[str, str]], *, total: int | None = None
) -> dict[str, Any]:
    """The notice of a decoupling: "Decoupled <C00070 Fabrikam> from <Fabrikam, Inc.>. Both records stay as they
    are." (one pair) or "Decoupled 3 CUSTOMER records." with the pairs, each record linked to its card; ``total``:
    how many the job decoupled when ``pairs`` are its first ones only ("and 1,234 more")."""
    return _pairs_notice(
        request,
        mapping,
        pairs,
        one=("Decoupled ", " from ", ". Both records stay as they are."),
        many="Decoupled {records}. They stay as they are in both systems.",
        total=total,
    )


def _coupled_again(request: Request, mapping: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The notice of an undone decoupling: "Coupled <C00070 Fabrikam> with <Fabrikam, Inc.> again." (one pair) or
    "Coupled 3 CUSTOMER records again." with the pairs, each record linked to its card."""
    return _pairs_notice(
        request, mapping, pairs, one=("Coupled ", " with ", " again."), many="Coupled {records} again."
    )


def _pairs_notice(
    request: Request,
    mapping: str,
    pairs: Sequence[tuple[str, str]],
    *,
    one: tuple[str, str, str],
    many: str,
    total: int | None = None,
) -> dict[str, Any]:
    """A notice about pairs of records: one pair named in a sentence (``one``: before, between and after its two
    records), or ``many`` (``{records}``: "3 CUSTOMER records") with every pair listed and linked."""
    count = len(pairs) if total is None else max(total, len(pairs))
    if count == 1:
        named = _pairs(request, mapping, pairs, one)
        if named:
            return {"text": named[0], "items": ()}
    records = f"{count:,} {mapping} record{'' if count == 1 else 's'}"
    return {"text": many.format(records=records), "items": _named(request, mapping, pairs, count, ("", one[1], ""))}


def _named(
    request: Request, mapping: str, pairs: Sequence[tuple[str, str]], count: int, words: tuple[str, str, str]
) -> tuple[Phrase | str, ...]:
    """The first PAIRS_NAMED pairs as phrases, then "and N more" for the rest of ``count``."""
    named = _pairs(request, mapping, pairs[:PAIRS_NAMED], words)
    rest = count - len(named)
    return (*named, f"and {rest:,} more") if named and rest else named


def _pairs(
    request: Request, mapping: str, pairs: Sequence[tuple[str, str]], words: tuple[str, str, str]
) -> tuple[Phrase, ...]:
    """Each (local key, integration key) pair as a sentence naming both records, each linked to its card: with
    ``words`` ("Coupled ", " with ", "."), "Coupled <C00070 Fabrikam> with <Fabrikam, Inc.>."; none when the
    records cannot be read."""
    queries = queries_of(request)
    local_keys = [local for local, _ in pairs]
    try:
        local = queries.names(mapping, Side.LOCAL, local_keys)
        refs = queries.refs(mapping, Side.LOCAL, local_keys)
        integration = queries.names(mapping, Side.INTEGRATION, [key for _, key in pairs])
    except CouplerError:
        return ()
    before, between, after = words
    return tuple(
        Phrase(
            parts=(
                before,
                Link(text=local.get(l_key, l_key), href=card_href(mapping, refs.get(l_key, l_key))),
                between,
                Link(text=integration.get(i_key, i_key), href=card_href(mapping, i_key)),
                after,
            )
        )
        for l_key, i_key in pairs
    )


def _mapping(coupler: Coupler, name: str) -> TableMapping | None:
    """The job's mapping, if the configuration still has it."""
    return next((m for m in coupler.systems.mappings if m.name == name), None)


def _refs(request: Request, mapping: str, errors: Sequence[JobError]) -> dict[str, str]:
    """The display keys of the local records these errors name (their keys when they cannot be read)."""
    keys = [e.local_key for e in errors if e.local_key]
    if not keys:
        return {}
    try:
        return queries_of(request).refs(mapping, Side.LOCAL, keys)
    except CouplerError:
        return {}
