"""The records pages of a table mapping: the list (with its selection actions), the record card, and the Set up
coupling and Synchronize now dialogs. Every decision is the services'; these routes read input and render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from coupler.domain.errors import CouplerError, UsageError
from coupler.domain.mapping import Side
from coupler.entrypoints.web.deps import Undo, get_state
from coupler.entrypoints.web.errors import status_of
from coupler.entrypoints.web.pages.common import Notice, coupler_of, job_redirect, queries_of, redirect, render
from coupler.entrypoints.web.pages.labels import lookup_labels
from coupler.entrypoints.web.tasks import TaskProgress
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.records import resolve_couplings
from coupler.services.views.browse import RecordFilter
from coupler.services.views.sync_options import SyncChoice

__all__ = ["BACKGROUND_FROM", "router"]

router = APIRouter(include_in_schema=False)

BACKGROUND_FROM = 25
"""A selection of at least this many records is synchronized in the background, with a progress bar."""
MAX_SELECTION = 10_000
Refs = Annotated[list[str], Form(default_factory=list)]
Text = Annotated[str, Query(max_length=200)]


def _records_path(mapping: str) -> str:
    return f"/mappings/{mapping}/records"


def _card_path(mapping: str, ref: str) -> str:
    return f"/mappings/{mapping}/records/{ref}"


def _problem(request: Request, error: CouplerError, back: str, template: str = "error.html") -> HTMLResponse:
    notice = Notice(kind="error", text=error.message)
    return render(
        request, template, {"back": back, "status": status_of(error)}, status=status_of(error), notices=[notice]
    )


def _selection(refs: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if not chosen:
        raise UsageError("Select at least one record first.")
    if len(chosen) > MAX_SELECTION or any(len(r) > 200 for r in chosen):
        raise UsageError(f"A selection holds at most {MAX_SELECTION} records, each named in at most 200 characters.")
    return chosen


# the records list ----------------------------------------------------------------------------------------------
@router.get("/mappings/{name}/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    name: str,
    q: Text = "",
    filter: Annotated[str, Query(max_length=20)] = "all",
    after: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    try:
        chosen = RecordFilter(filter)
    except ValueError:
        known = ", ".join(f.value for f in RecordFilter)
        raise UsageError(f"filter must be one of {known}, not {filter!r}.") from None
    page = queries.browse(mapping.name, search=q or None, filter=chosen, after=after or None, limit=limit)
    names = queries.names(mapping.name, Side.INTEGRATION, [r.integration_key for r in page.rows if r.integration_key])
    context = {
        "nav": "mappings",
        "mapping": mapping,
        "page": page,
        "q": q,
        "filter": chosen.value,
        "filters": [f.value for f in RecordFilter],
        "after": after,
        "limit": limit,
        "partners": names,
        "task": _task(request),
    }
    return render(request, "records.html", context)


def _task(request: Request) -> object:
    task_id = request.query_params.get("task")
    return get_state(request).tasks.get(task_id) if task_id and len(task_id) <= 64 else None


@router.post("/mappings/{name}/records/decouple")
def decouple_selection(
    request: Request, name: str, ref: Refs, back: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """Decouple the records (after the Decouple dialog's confirmation); the notice offers to couple them again."""
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name)
    target = back if back.startswith("/") and not back.startswith("//") else _records_path(mapping.name)
    try:
        refs = _selection(ref)
        pairs = [
            (c.coupling.local_key, c.coupling.integration_key)
            for c in resolve_couplings(coupler.systems, mapping, refs)
            if c.coupling
        ]
        report = coupler.decouple(mapping.name, refs)
    except CouplerError as error:
        return _problem(request, error, target)
    if pairs and report.job.counters.uncoupled:
        text = _decoupled_text(request, mapping.name, pairs)
        get_state(request).remember_undo(report.job.id, Undo(mapping=mapping.name, pairs=tuple(pairs), text=text))
    return job_redirect(request, target, report)


def _decoupled_text(request: Request, mapping: str, pairs: list[tuple[str, str]]) -> str:
    """ "Decoupled C00070 Fabrikam from Fabrikam, Inc." (one pair) or "Decoupled 3 CUSTOMER records"."""
    if len(pairs) != 1:
        return f"Decoupled {len(pairs):,} {mapping} records. They stay as they are in both systems."
    queries = queries_of(request)
    ((local, integration),) = pairs
    local_title = queries.names(mapping, Side.LOCAL, [local]).get(local, local)
    integration_title = queries.names(mapping, Side.INTEGRATION, [integration]).get(integration, integration)
    return f"Decoupled {local_title} from {integration_title}. Both records stay as they are."


@router.get("/mappings/{name}/decouple", response_class=HTMLResponse)
def decouple_dialog(request: Request, name: str, ref: Annotated[list[str], Query(default_factory=list)]) -> Response:
    """The Decouple dialog: which records would be decoupled from which, and a confirmation."""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    refs = _selection(ref)
    resolved = resolve_couplings(queries.systems, mapping, refs)
    coupled = [c.coupling for c in resolved if c.coupling is not None]
    local = queries.names(mapping.name, Side.LOCAL, [c.local_key for c in coupled[:10]])
    integration = queries.names(mapping.name, Side.INTEGRATION, [c.integration_key for c in coupled[:10]])
    pairs = [
        (local.get(c.local_key, c.local_key), integration.get(c.integration_key, c.integration_key))
        for c in coupled[:10]
    ]
    back = _card_path(mapping.name, refs[0]) if len(refs) == 1 else _records_path(mapping.name)
    template = "_decouple_dialog.html" if request.headers.get("hx-request") == "true" else "decouple.html"
    context = {
        "nav": "mappings",
        "mapping": mapping,
        "refs": refs,
        "count": len(coupled),
        "pairs": pairs,
        "uncoupled": [c.ref for c in resolved if c.coupling is None],
        "back": back,
    }
    return render(request, template, context)


@router.post("/jobs/{job_id}/undo")
def undo(request: Request, job_id: str, back: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Undo a decoupling: couple the pairs again, through Set up coupling (one job per pair)."""
    state = get_state(request)
    done = state.undo_of(job_id)
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    if done is None:
        error = UsageError("There is nothing to undo for this job any more: couple the records from their card.")
        return _problem(request, error, target)
    coupler = coupler_of(request)
    reports = []
    try:
        for local, integration in done.pairs:
            reports.append(coupler.couple(done.mapping, local, integration))
    except CouplerError as error:
        return _problem(request, error, target)
    state.forget_undo(job_id)
    return job_redirect(request, target, *reports)


@router.post("/mappings/{name}/records/match")
def match_selection(request: Request, name: str, ref: Refs) -> Response:
    """Match-based coupling of the selected records, in the background (the coupled ones are left out); every
    uncoupled record is matched from the table mapping's page."""
    mapping = coupler_of(request).systems.mapping(name).name
    if not any(r.strip() for r in ref):
        return _problem(
            request,
            UsageError(
                f"Select the records to match first, or run match-based coupling of every uncoupled record from the "
                f"{mapping} table mapping page."
            ),
            _records_path(mapping),
        )
    try:
        refs = _selection(ref)
    except CouplerError as error:
        return _problem(request, error, _records_path(mapping))

    def work(c: Coupler, progress: TaskProgress) -> JobReport:
        return c.match(mapping, refs=refs)

    count = f"{len(refs)} {mapping} record{'' if len(refs) == 1 else 's'}"
    task = get_state(request).tasks.submit(f"Match-based coupling of {count}", work)
    return redirect(_records_path(mapping), task=task.id)


# the record card ---------------------------------------------------------------------------------------------
@router.get("/mappings/{name}/records/{ref}", response_class=HTMLResponse)
def card_page(request: Request, name: str, ref: str) -> Response:
    queries = queries_of(request)
    card = queries.card(name, ref)
    labels = lookup_labels(queries, card.mapping, {Side.LOCAL: [card.local], Side.INTEGRATION: [card.integration]})
    context = {"nav": "mappings", "card": card, "mapping": card.mapping, "labels": labels}
    return render(request, "card.html", context)


@router.post("/mappings/{name}/records/{ref}/decouple")
def decouple_one(request: Request, name: str, ref: str) -> Response:
    return decouple_selection(request, name, [ref], _card_path(name.upper(), ref))


# the Set up coupling dialog ----------------------------------------------------------------------------------
@router.get("/mappings/{name}/records/{ref}/couple", response_class=HTMLResponse)
def couple_dialog(request: Request, name: str, ref: str) -> Response:
    queries = queries_of(request)
    card = queries.card(name, ref)
    if card.local is None:
        local = card.mapping.records_of(Side.LOCAL, queries.systems.name(Side.LOCAL))
        raise UsageError(f"{card.mapping.name}: {ref!r} is not a {local}: open the {local}'s card to couple it.")
    query = card.local_name or ""
    matches = queries.search_integration(card.mapping.name, query)
    if not matches and card.fields:  # the number names nothing there: try the first mapped value (the name)
        query = str(next((f.local_value for f in card.fields if f.local_value not in (None, "")), ""))[:200]
        matches = queries.search_integration(card.mapping.name, query)
    template = "_couple_dialog.html" if request.headers.get("hx-request") == "true" else "couple.html"
    context = {"nav": "mappings", "card": card, "mapping": card.mapping, "matches": matches, "q": query}
    return render(request, template, context)


@router.get("/mappings/{name}/lookup", response_class=HTMLResponse)
def lookup(request: Request, name: str, q: Text = "", ref: Text = "") -> Response:
    """The Set up coupling lookup's results as the user types (an htmx fragment)."""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    matches = queries.search_integration(mapping.name, q)
    context = {"matches": matches, "mapping": mapping, "q": q, "local_ref": ref}
    return render(request, "_lookup_results.html", context)


@router.get("/mappings/{name}/records/{ref}/couple/fields", response_class=HTMLResponse)
def couple_fields(request: Request, name: str, ref: str, integration: Text = "") -> Response:
    """The Set up coupling dialog's fields part for the integration record picked (an htmx fragment)."""
    queries = queries_of(request)
    card = queries.card(name, ref)
    found = queries.search_integration(card.mapping.name, integration, limit=1) if integration else []
    chosen = found[0] if found and found[0].key == integration else None
    return render(request, "_couple_fields.html", {"card": card, "matches": found, "chosen": chosen})


@router.post("/mappings/{name}/records/{ref}/couple")
def couple(
    request: Request,
    name: str,
    ref: str,
    integration: Annotated[str, Form(max_length=200)] = "",
    sync_after: Annotated[str, Form(max_length=20)] = "no",
    create: Annotated[bool, Form()] = False,
) -> Response:
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    back = _card_path(mapping, ref)
    after = {"no": None, "local": Side.LOCAL, "integration": Side.INTEGRATION}
    action: Callable[[], JobReport]
    if create:
        action = lambda: coupler.create(mapping, ref, source=Side.LOCAL)  # noqa: E731
    elif sync_after not in after:
        return _problem(
            request,
            UsageError(f"Synchronize after coupling must be No or Yes, not {sync_after!r}."),
            back,
        )
    elif not integration.strip():
        system = coupler.systems.name(Side.INTEGRATION)
        return _problem(request, UsageError(f"Pick the {system} record to couple with, or choose Create new."), back)
    else:
        action = lambda: coupler.couple(mapping, ref, integration.strip(), sync_after=after[sync_after])  # noqa: E731
    try:
        report = action()
    except CouplerError as error:
        return _problem(request, error, back)
    return job_redirect(request, back, report)


# the Synchronize now dialog ----------------------------------------------------------------------------------
@router.get("/mappings/{name}/sync", response_class=HTMLResponse)
def sync_dialog(request: Request, name: str, ref: Annotated[list[str], Query(default_factory=list)]) -> Response:
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    refs = _selection(ref)
    options = queries.sync_options(mapping.name, refs)
    back = _card_path(mapping.name, refs[0]) if len(refs) == 1 else _records_path(mapping.name)
    template = "_sync_dialog.html" if request.headers.get("hx-request") == "true" else "sync.html"
    names = queries.names(mapping.name, Side.LOCAL, refs) if len(refs) == 1 else {}
    context = {"nav": "mappings", "mapping": mapping, "options": options, "refs": refs, "back": back, "names": names}
    return render(request, template, context)


@router.post("/mappings/{name}/sync")
def sync_now(
    request: Request,
    name: str,
    ref: Refs,
    choice: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    target = back if back.startswith("/") and not back.startswith("//") else _records_path(mapping)
    try:
        refs = _selection(ref)
        try:
            direction = SyncChoice(choice).direction
        except ValueError:
            known = ", ".join(c.value for c in SyncChoice)
            raise UsageError(f"Choose a direction: {known} (not {choice!r}).") from None
        if len(refs) >= BACKGROUND_FROM:

            def work(c: Coupler, progress: TaskProgress) -> JobReport:
                return c.sync(mapping, refs, direction=direction)

            task = get_state(request).tasks.submit(f"Synchronize {len(refs)} {mapping} records", work)
            return redirect(target, task=task.id)
        report = coupler.sync(mapping, refs, direction=direction)
    except CouplerError as error:
        return _problem(request, error, target)
    return job_redirect(request, target, report)
