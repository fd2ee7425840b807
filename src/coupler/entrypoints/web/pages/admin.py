"""The pages around the records: integration table mappings (with their actions), background tasks, the
synchronization log, errors, skipped records and conflicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from coupler.adapters.queue.client import Work as Kind
from coupler.config.edit import FieldChange, change_fields
from coupler.domain.errors import CouplerError, UsageError
from coupler.domain.mapping import Side, TableMapping
from coupler.entrypoints.web.deps import get_state
from coupler.entrypoints.web.pages import mapping_edit as edit
from coupler.entrypoints.web.pages.common import Notice, coupler_of, job_notice_by_id, queries_of, redirect, render
from coupler.entrypoints.web.queued import Asked
from coupler.entrypoints.web.tasks import TaskProgress
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.operations.match_rules import groups_by_priority, matchable
from coupler.services.views.page_queries import PageQueries
from coupler.services.views.review import Advice

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
TASK_NOTICES = 3
"""How many of a finished background task's jobs have their notice shown with it."""

Mapping = Annotated[str, Form(max_length=80)]
Refs = Annotated[list[str], Form(default_factory=list)]


def _failed(request: Request, error: CouplerError, back: str) -> HTMLResponse:
    from coupler.entrypoints.web.errors import status_of

    notice = Notice(kind="error", text=error.message)
    return render(
        request, "error.html", {"back": back, "status": status_of(error)}, status=status_of(error), notices=[notice]
    )


def _side(value: str) -> Side:
    try:
        return Side(value)
    except ValueError:
        raise UsageError(f"use must be 'local' or 'integration', not {value!r}.") from None


# integration table mappings ----------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def mappings_page(request: Request) -> Response:
    state = get_state(request)
    overviews, reviews, problem = [], {}, None
    try:
        coupler = state.coupler
        overviews = coupler.mappings()
        if state.connection().ok:
            reviews = {r.mapping: r for r in state.queries.review()}
    except CouplerError as error:
        problem = Notice(kind="error", text=error.message)
    context = {"nav": "mappings", "overviews": overviews, "reviews": reviews, "task": _task(request)}
    return render(request, "mappings.html", context, notices=[problem] if problem else [])


def _background(request: Request, label: str, back: str, work: object, asked: Asked) -> Response:
    task = get_state(request).background(label, work, asked)  # type: ignore[arg-type]
    return redirect(back, task=task.id)


@router.post("/mappings/{name}/sync-modified")
def sync_modified(request: Request, name: str, back: Annotated[str, Form()] = "/") -> Response:
    mapping = coupler_of(request).systems.mapping(name).name

    def work(coupler: Coupler, progress: TaskProgress) -> list[JobReport]:
        return coupler.sync_modified([mapping])

    asked = Asked(work=Kind.INCREMENTAL, mapping=mapping)
    return _background(request, f"Synchronize modified records of {mapping}", _back(back), work, asked)


@router.post("/mappings/{name}/full")
def sync_full(request: Request, name: str, force: Annotated[bool, Form()] = False) -> Response:
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    if not force:
        review = queries_of(request).review(mapping)[0]
        if review.advice is Advice.MATCH and review.couplings == 0:
            notice = Notice(
                kind="warning",
                text=f"{mapping}: {review.reason}. A full synchronization now would duplicate the records both "
                "systems share: run match-based coupling first, or confirm to create every uncoupled record anyway.",
            )
            context = {"nav": "mappings", "mapping": coupler.systems.mapping(mapping), "review": review}
            return render(request, "confirm_full.html", context, status=409, notices=[notice])

    def work(c: Coupler, progress: TaskProgress) -> JobReport:
        return c.sync_full(mapping, force=force)

    asked = Asked(work=Kind.FULL, mapping=mapping, arguments={"force": force})
    return _background(request, f"Full synchronization of {mapping}", f"/mappings/{mapping}", work, asked)


@router.post("/mappings/{name}/match")
def match(
    request: Request,
    name: str,
    match_field: Refs,
    match_priority: Refs,
    create_missing: Annotated[bool, Form()] = False,
    sync_after: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form()] = "",
    save_match: Annotated[bool, Form()] = False,
) -> Response:
    """Match-based coupling: on the match fields and priorities chosen in the dialog (else the configuration's),
    saved to the configuration when asked; then creating the records left unmatched, synchronizing, as chosen."""
    state = get_state(request)
    mapping = coupler_of(request).systems.mapping(name).name
    choices = {"": None, "local": Side.LOCAL, "integration": Side.INTEGRATION, "both": "both"}
    if sync_after not in choices:
        return _failed(
            request,
            UsageError(f"sync_after must be local, integration or both, not {sync_after!r}."),
            f"/mappings/{mapping}",
        )
    after = choices[sync_after]
    groups: tuple[tuple[str, ...], ...] | None = None
    label = f"Match-based coupling of {mapping}"
    if match_field:
        table_mapping = coupler_of(request).systems.mapping(mapping)
        try:
            priorities = _priorities(table_mapping, match_field, match_priority)
            groups = groups_by_priority(table_mapping, priorities)
            label += f" on {_matched_on(table_mapping, priorities)}"
            if save_match:
                changes: dict[str | int, FieldChange] = {i: FieldChange(match=p or 0) for i, p in priorities.items()}
                state.change_config(lambda path, check: change_fields(path, mapping, changes, check=check))
                label += " (saved as its match fields)"
        except CouplerError as error:
            return edit.show_mapping(request, mapping, notices=[Notice(kind="error", text=error.message)], status=422)

    def work(c: Coupler, progress: TaskProgress) -> JobReport:
        return c.match(mapping, groups=groups, create_missing=create_missing, sync_after=after)  # type: ignore[arg-type]

    arguments = {"groups": [list(g) for g in groups] if groups else None, "create_missing": create_missing}
    asked = Asked(work=Kind.MATCH, mapping=mapping, arguments={**arguments, "sync_after": sync_after or None})
    return _background(request, label, _back(back or f"/mappings/{mapping}"), work, asked)


def _priorities(mapping: TableMapping, fields: list[str], priorities: list[str]) -> dict[int, int | None]:
    """The match priority chosen for each field mapping the dialog lists (by position; None: not matched on)."""
    if len(fields) != len(priorities):
        raise UsageError("The match fields were sent incomplete: reload the page and try again.")
    chosen: dict[int, int | None] = {}
    for position, priority in zip(fields, priorities, strict=True):
        index = int(position) if position.isdigit() else -1
        if not 0 <= index < len(mapping.fields) or not matchable(mapping.fields[index]):
            raise UsageError(f"{mapping.name} cannot match on the field mapping at position {position!r}.")
        text = priority.strip()
        if text and not (text.isdigit() and 1 <= int(text) <= 99):
            title = mapping.fields[index].title
            raise UsageError(f"{title}: the match priority is a number from 1 (tried first) to 99, not {text!r}.")
        chosen[index] = int(text) if text else None
    if not any(chosen.values()):
        raise UsageError("Choose at least one match field: give it a priority (1 is tried first).")
    return chosen


def _matched_on(mapping: TableMapping, priorities: dict[int, int | None]) -> str:
    """The chosen match fields in words, by priority: "E-Mail, then Name and Phone No."."""
    chosen = sorted((p, i) for i, p in priorities.items() if p)
    groups: dict[int, list[str]] = {}
    for priority, index in chosen:
        groups.setdefault(priority, []).append(mapping.fields[index].title)
    return ", then ".join(" and ".join(titles) for titles in groups.values())


@router.post("/mappings/{name}/decouple-all")
def decouple_all(request: Request, name: str, confirm: Annotated[str, Form(max_length=80)] = "") -> Response:
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    if confirm.strip().upper() != mapping:
        error = UsageError(f"To decouple every record of {mapping}, type its name ({mapping}) in the confirmation box.")
        return _failed(request, error, f"/mappings/{mapping}")

    def work(c: Coupler, progress: TaskProgress) -> JobReport:
        return c.decouple_all(mapping)

    asked = Asked(work=Kind.DECOUPLE, mapping=mapping, arguments={"everything": True})
    return _background(request, f"Decouple all records of {mapping}", f"/mappings/{mapping}", work, asked)


def _back(path: str) -> str:
    """Only a path of this site to go back to."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


# background tasks --------------------------------------------------------------------------------------------
def _task(request: Request) -> object:
    return get_state(request).task(request.query_params.get("task"))


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: str) -> Response:
    task = get_state(request).task(task_id)
    if task is None:
        return render(
            request,
            "error.html",
            {"status": 404},
            status=404,
            notices=[Notice(kind="error", text=f"No background task has the id {task_id!r}.")],
        )
    polled = request.headers.get("hx-request") == "true"
    found = [job_notice_by_id(request, job_id) for job_id in task.job_ids[:TASK_NOTICES]] if task.finished else []
    context = {"task": task, "task_notices": [n for n in found if n is not None]}
    response = render(request, "_task.html" if polled else "task.html", context)
    if polled and task.finished:  # the page refreshes what the work changed (e.g. a mapping's coupling counts)
        response.headers["HX-Trigger"] = "task-finished"
    return response


# the synchronization log, errors ------------------------------------------------------------------------------
@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    mapping: Annotated[str, Query(max_length=80)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    problems: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    coupler = coupler_of(request)
    jobs = coupler.jobs(limit=limit, mapping=mapping or None)
    if kind:
        jobs = [j for j in jobs if j.kind.value == kind]
    if problems:
        jobs = [j for j in jobs if j.counters.failed or j.counters.conflicts or j.counters.unmatched]
    context = {
        "nav": "jobs",
        "jobs": jobs,
        "mapping": mapping,
        "kind": kind,
        "problems": problems,
        "limit": limit,
        "mappings": [m.name for m in coupler.systems.mappings],
        "kinds": [
            "incremental",
            "full",
            "manual",
            "couple",
            "create",
            "decouple",
            "match",
            "resolve",
            "restore",
            "delete",
        ],
    }
    return render(request, "jobs.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> Response:
    coupler = coupler_of(request)
    errors = coupler.errors(job_id, limit=500)
    job = coupler.systems.store.jobs.get(job_id)
    named = _named_errors(queries_of(request), errors)
    return render(request, "job.html", {"nav": "jobs", "job": job, "errors": named})


@router.get("/errors", response_class=HTMLResponse)
def errors_page(
    request: Request,
    mapping: Annotated[str, Query(max_length=80)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    coupler = coupler_of(request)
    errors = coupler.errors(mapping=mapping or None, limit=limit)
    context = {
        "nav": "errors",
        "errors": _named_errors(queries_of(request), errors),
        "mapping": mapping,
        "limit": limit,
        "mappings": [m.name for m in coupler.systems.mappings],
        "can_delete": hasattr(coupler, "delete_errors"),
    }
    return render(request, "errors.html", context)


@router.post("/errors/delete")
def delete_errors(request: Request, days: Annotated[int, Form(ge=0, le=36500)]) -> Response:
    coupler = coupler_of(request)
    remover = getattr(coupler, "delete_errors", None)
    if remover is None:
        return _failed(request, UsageError("Deleting old entries is not available in this version."), "/errors")
    try:
        removed = remover(older_than_days=days)
    except CouplerError as error:
        return _failed(request, error, "/errors")
    notice = Notice(kind="ok", text=f"Deleted {removed} entries older than {days} days.")
    return render(
        request,
        "errors.html",
        {"nav": "errors", "errors": [], "mappings": [], "mapping": "", "limit": 100, "can_delete": True},
        notices=[notice],
    )


def _named_errors(queries: PageQueries, errors: list) -> list[tuple[object, str | None, str | None]]:  # type: ignore[type-arg]
    """Each error with how a user knows its local and integration records."""
    names: dict[tuple[str, Side], dict[str, str]] = {}
    for side in (Side.LOCAL, Side.INTEGRATION):
        by_mapping: dict[str, list[str]] = {}
        for error in errors:
            key = error.local_key if side is Side.LOCAL else error.integration_key
            if key:
                by_mapping.setdefault(error.mapping, []).append(key)
        for mapping, keys in by_mapping.items():
            try:
                names[(mapping, side)] = queries.names(mapping, side, keys)
            except CouplerError:
                names[(mapping, side)] = {}
    return [
        (
            e,
            names.get((e.mapping, Side.LOCAL), {}).get(e.local_key or "", e.local_key),
            names.get((e.mapping, Side.INTEGRATION), {}).get(e.integration_key or "", e.integration_key),
        )
        for e in errors
    ]
