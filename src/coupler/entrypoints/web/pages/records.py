"""The records pages of a table mapping: the list (with its selection actions), the record card, and the Set up
coupling and Synchronize now dialogs. Every decision is the services'; these routes read input and render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from coupler.adapters.queue.client import Work as Kind
from coupler.domain.errors import ConnectorError, CouplerError, RecordNotFound, UsageError
from coupler.domain.mapping import Direction, Side
from coupler.entrypoints.web.deps import Undo, get_state
from coupler.entrypoints.web.errors import status_of
from coupler.entrypoints.web.pages.common import Notice, coupler_of, job_redirect, queries_of, redirect, render
from coupler.entrypoints.web.pages.labels import lookup_labels
from coupler.entrypoints.web.queued import Asked
from coupler.entrypoints.web.tasks import TaskProgress
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.records import require_known, resolve_couplings, titles
from coupler.services.views.browse import BrowsePage, RecordFilter, Sort
from coupler.services.views.card import RecordCard
from coupler.services.views.integration_search import IntegrationMatch, identifying_fields, preselected
from coupler.services.views.page_queries import PageQueries
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


Scope = Annotated[str, Form(max_length=10)]
FormText = Annotated[str, Form(max_length=200)]
FormFilter = Annotated[str, Form(max_length=20)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Matching:
    """ "Select all N matching": the records list's search and filter, which an action runs on (in the background)
    instead of a list of records sent by the browser."""

    search: str | None
    filter: RecordFilter

    @classmethod
    def of(cls, scope: str, q: str, filter: str) -> Matching | None:
        if scope != "all":
            return None
        return cls(search=q.strip() or None, filter=_filter_of(filter or RecordFilter.ALL.value))

    @property
    def everything(self) -> bool:
        return self.search is None and self.filter is RecordFilter.ALL

    def keys(self, c: Coupler, mapping: str, *, coupled: bool | None) -> list[str]:
        return PageQueries(c.systems).matching_keys(mapping, search=self.search, filter=self.filter, coupled=coupled)

    def arguments(self) -> dict[str, str | None]:
        """The job's arguments that name these records (a worker finds them again when it runs the job)."""
        return {"search": self.search, "filter": self.filter.value}

    def fields(self) -> dict[str, str]:
        """The hidden fields a dialog posts to carry the scope on."""
        return {"scope": "all", "q": self.search or "", "filter": self.filter.value}


def _matching_total(request: Request, mapping: str, matching: Matching) -> int | None:
    page = queries_of(request).browse(mapping, search=matching.search, filter=matching.filter, limit=1)
    return page.total


def _selection(refs: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if not chosen:
        raise UsageError("Select at least one record first.")
    if len(chosen) > MAX_SELECTION or any(len(r) > 200 for r in chosen):
        raise UsageError(f"A selection holds at most {MAX_SELECTION} records, each named in at most 200 characters.")
    return chosen


# the records list ----------------------------------------------------------------------------------------------
SORTS = {s.value for s in Sort} - {Sort.KEY.value}
"""The columns the list sorts by (its links name them); ``key`` is the order of the attention filters."""


def _filter_of(filter: str) -> RecordFilter:
    try:
        return RecordFilter(filter)
    except ValueError:
        known = ", ".join(f.value for f in RecordFilter)
        raise UsageError(f"filter must be one of {known}, not {filter!r}.") from None


def _sort_of(sort: str) -> Sort:
    if sort not in SORTS and sort != Sort.KEY.value:
        raise UsageError(f"sort must be one of {', '.join(sorted(SORTS))}, not {sort!r}.")
    return Sort(sort)


@router.get("/mappings/{name}/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    name: str,
    q: Text = "",
    filter: Annotated[str, Query(max_length=20)] = "all",
    after: Annotated[str, Query(max_length=1000)] = "",
    before: Annotated[str, Query(max_length=1000)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Annotated[str, Query(max_length=20)] = Sort.NUMBER.value,
    desc: bool = False,
) -> Response:
    """The list, sorted by the display key unless a column header says otherwise, paged both ways. While one
    system does not answer the other's part is still shown: the local records without the partners' names when
    the integration system is down, an empty list saying so when the local system is."""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    chosen, order = _filter_of(filter), _sort_of(sort)
    notices: list[Notice] = []
    try:
        page: BrowsePage | None = queries.browse(
            mapping.name,
            search=q or None,
            filter=chosen,
            after=after or None,
            before=before or None,
            limit=limit,
            sort=order,
            descending=desc,
        )
    except ConnectorError as error:
        page = None
        system = queries.systems.name(Side.LOCAL)
        notices.append(
            Notice(
                kind="error",
                text=f"{system} does not answer, so its records cannot be listed now.",
                items=(error.message,),
            )
        )
    names: dict[str, str] = {}
    partners_down = False
    if page is not None:
        try:
            keys = [r.integration_key for r in page.rows if r.integration_key]
            names = queries.names(mapping.name, Side.INTEGRATION, keys)
        except ConnectorError:  # the other system does not answer: the banner says so; the list stays
            partners_down = True

    def url(**changes: Any) -> str:
        """This list's address with ``changes`` (a new sort starts from the first page)."""
        params = {"q": q, "filter": chosen.value, "limit": limit, "sort": order.value, "desc": desc, **changes}
        shown = {k: ("1" if v is True else v) for k, v in params.items() if v not in ("", None, False)}
        if shown.get("limit") == 50:
            del shown["limit"]
        return f"{_records_path(mapping.name)}?{urlencode(shown)}"

    context = {
        "nav": "mappings",
        "mapping": mapping,
        "page": page,
        "q": q,
        "filter": chosen.value,
        "filters": [f.value for f in RecordFilter],
        "after": after,
        "before": before,
        "limit": limit,
        "sort": order.value,
        "desc": desc,
        "url": url,
        "partners": names,
        "partners_down": partners_down,
        "task": _task(request),
    }
    return render(request, "records.html", context, notices=notices)


def _task(request: Request) -> object:
    return get_state(request).task(request.query_params.get("task"))


@router.post("/mappings/{name}/records/decouple")
def decouple_selection(
    request: Request,
    name: str,
    ref: Refs,
    back: Annotated[str, Form(max_length=500)] = "",
    scope: Scope = "",
    q: FormText = "",
    filter: FormFilter = "",
) -> Response:
    """Decouple the records (after the Decouple dialog's confirmation); the notice offers to couple them again.
    With every matching record chosen, in the background (one job)."""
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name)
    target = back if back.startswith("/") and not back.startswith("//") else _records_path(mapping.name)
    try:
        matching = Matching.of(scope, q, filter)
        if matching is not None:
            return _decouple_matching(request, mapping.name, matching, target)
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
        get_state(request).remember_undo(report.job.id, Undo(mapping=mapping.name, pairs=tuple(pairs)))
    return job_redirect(request, target, report)


def _decouple_matching(request: Request, mapping: str, matching: Matching, target: str) -> Response:
    def work(c: Coupler, progress: TaskProgress) -> JobReport:
        if matching.everything or (matching.search is None and matching.filter is RecordFilter.COUPLED):
            return c.decouple_all(mapping)
        return c.decouple(mapping, matching.keys(c, mapping, coupled=True))

    asked = Asked(work=Kind.DECOUPLE, mapping=mapping, arguments=matching.arguments())
    task = get_state(request).background(f"Decouple every matching {mapping} record", work, asked)
    return redirect(target, task=task.id)


@router.get("/mappings/{name}/decouple", response_class=HTMLResponse)
def decouple_dialog(
    request: Request,
    name: str,
    ref: Annotated[list[str], Query(default_factory=list)],
    scope: Annotated[str, Query(max_length=10)] = "",
    q: Text = "",
    filter: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The Decouple dialog: which records would be decoupled from which, and a confirmation."""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    template = "_decouple_dialog.html" if request.headers.get("hx-request") == "true" else "decouple.html"
    matching = Matching.of(scope, q, filter)
    if matching is not None:
        total = _matching_total(request, mapping.name, matching)
        context = {
            "nav": "mappings",
            "mapping": mapping,
            "refs": [],
            "count": total,
            "pairs": [],
            "uncoupled": [],
            "back": _records_path(mapping.name),
            "matching": matching.fields(),
        }
        return render(request, template, context)
    refs = _selection(ref)
    resolved = resolve_couplings(queries.systems, mapping, refs)
    require_known(queries.systems, mapping, resolved)
    coupled = [c.coupling for c in resolved if c.coupling is not None]
    local = queries.names(mapping.name, Side.LOCAL, [c.local_key for c in coupled[:10]])
    integration = queries.names(mapping.name, Side.INTEGRATION, [c.integration_key for c in coupled[:10]])
    pairs = [
        (local.get(c.local_key, c.local_key), integration.get(c.integration_key, c.integration_key))
        for c in coupled[:10]
    ]
    back = _card_path(mapping.name, refs[0]) if len(refs) == 1 else _records_path(mapping.name)
    context = {
        "nav": "mappings",
        "mapping": mapping,
        "refs": refs,
        "count": len(coupled),
        "pairs": pairs,
        "uncoupled": titles(mapping, [c for c in resolved if c.coupling is None]),
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
            state.remember_coupled(reports[-1].job.id, [(local, integration)])
    except CouplerError as error:
        return _problem(request, error, target)
    state.forget_undo(job_id)
    state.remember_redone(reports[-1].job.id, done)  # its notice tells of every pair coupled again
    return job_redirect(request, target, *reports)


@router.post("/mappings/{name}/records/match")
def match_selection(
    request: Request, name: str, ref: Refs, scope: Scope = "", q: FormText = "", filter: FormFilter = ""
) -> Response:
    """Match-based coupling of the selected records, in the background (the coupled ones are left out); every
    uncoupled record is matched from the table mapping's page. With every matching record chosen, the uncoupled
    ones among them."""
    mapping = coupler_of(request).systems.mapping(name).name
    try:
        matching = Matching.of(scope, q, filter)
    except CouplerError as error:
        return _problem(request, error, _records_path(mapping))
    if matching is not None:

        def match_all(c: Coupler, progress: TaskProgress) -> JobReport:
            if matching.search is None and matching.filter in (RecordFilter.ALL, RecordFilter.UNCOUPLED):
                return c.match(mapping)
            return c.match(mapping, refs=matching.keys(c, mapping, coupled=False))

        asked = Asked(work=Kind.MATCH, mapping=mapping, arguments=matching.arguments())
        label = f"Match-based coupling of every matching {mapping} record"
        task = get_state(request).background(label, match_all, asked)
        return redirect(_records_path(mapping), task=task.id)
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
    asked = Asked(work=Kind.MATCH, mapping=mapping, arguments={"refs": refs})
    task = get_state(request).background(f"Match-based coupling of {count}", work, asked)
    return redirect(_records_path(mapping), task=task.id)


# the record card ---------------------------------------------------------------------------------------------
@router.get("/mappings/{name}/records/{ref}", response_class=HTMLResponse)
def card_page(request: Request, name: str, ref: str) -> Response:
    queries = queries_of(request)
    card = queries.card(name, ref)
    labels = lookup_labels(queries, card.mapping, {Side.LOCAL: [card.local], Side.INTEGRATION: [card.integration]})
    context = {"nav": "mappings", "card": card, "mapping": card.mapping, "labels": labels}
    context["factbox"] = queries.factbox(card)
    return render(request, "card.html", context)


@router.post("/mappings/{name}/records/{ref}/decouple")
def decouple_one(request: Request, name: str, ref: str) -> Response:
    return decouple_selection(request, name, [ref], _card_path(name.upper(), ref))


# the Set up coupling dialog ----------------------------------------------------------------------------------
@router.get("/mappings/{name}/records/{ref}/couple", response_class=HTMLResponse)
def couple_dialog(request: Request, name: str, ref: str) -> Response:
    """The Set up coupling dialog, looking up the record's name among the integration records not coupled yet."""
    queries = queries_of(request)
    card = queries.card(name, ref)
    if card.local is None:
        local = card.mapping.records_of(Side.LOCAL, queries.systems.name(Side.LOCAL))
        raise UsageError(f"{card.mapping.name}: {ref!r} is not a {local}: open the {local}'s card to couple it.")
    query = _first_search(card)
    matches = queries.search_integration(card.mapping.name, query, hide_coupled=True)
    return _couple_page(request, card, q=query, hide_coupled=True, matches=matches)


def _first_search(card: RecordCard) -> str:
    """What the dialog looks up first: the record's value of the field mapped to the integration records' display
    name (a customer's name for an account's), else its display key. One search: the lookup answers at once."""
    display = card.mapping.integration.display_key
    named = (f.local_value for f in card.fields if display and f.integration_field == display)
    return str(next((v for v in named if v not in (None, "")), None) or card.local_name or "")[:200]


def _couple_page(
    request: Request,
    card: RecordCard,
    *,
    q: str,
    hide_coupled: bool,
    picked: str = "",
    problem: CouplerError | None = None,
    matches: list[IntegrationMatch] | None = None,
) -> HTMLResponse:
    """The dialog (a fragment for htmx, else a page), with the lookup's results for ``q``, the record ``picked``
    (else the one the lookup preselects) and the ``problem`` the last action ran into, inside the dialog."""
    context = _lookup_context(
        request, card, q=q, hide_coupled=hide_coupled, picked=picked, keep_picked=True, matches=matches
    )
    context.update({"nav": "mappings", "problem": problem.message if problem else None})
    template = "_couple_dialog.html" if request.headers.get("hx-request") == "true" else "couple.html"
    return render(request, template, context, status=status_of(problem) if problem else 200)


def _lookup_context(
    request: Request,
    card: RecordCard,
    *,
    q: str,
    hide_coupled: bool,
    picked: str,
    keep_picked: bool = False,
    matches: list[IntegrationMatch] | None = None,
) -> dict[str, Any]:
    """What the lookup's results show: ``matches`` (else those of ``q``) and the record chosen: the one ``picked``
    while the search finds it (with ``keep_picked``, even when it does not), else a single exact match."""
    queries = queries_of(request)
    mapping = card.mapping
    if matches is None:
        matches = queries.search_integration(mapping.name, q, hide_coupled=hide_coupled)
    chosen = next((m for m in matches if m.key == picked), None) if picked else None
    if picked and chosen is None and keep_picked:  # picked, then the search changed: kept, so that the user sees it
        found = queries.search_integration(mapping.name, picked, limit=1)
        chosen = found[0] if found and found[0].key == picked else None
        matches = [chosen, *matches] if chosen else matches
    if chosen is None:
        chosen = preselected(matches)
    return {
        "card": card,
        "mapping": mapping,
        "matches": matches,
        "chosen": chosen,
        "columns": identifying_fields(mapping, matches),
        "q": q,
        "hide_coupled": hide_coupled,
        "local_ref": card.local_name,
    }


@router.get("/mappings/{name}/lookup", response_class=HTMLResponse)
def lookup(
    request: Request,
    name: str,
    q: Text = "",
    ref: Text = "",
    hide_coupled: bool = False,
    integration: Text = "",
) -> Response:
    """The Set up coupling lookup's results as the user types (an htmx fragment): the record picked stays picked
    while the search finds it, else a single exact match is; with ``ref`` (the local record), the dialog's field
    comparison and its count of results follow (out of band)."""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    if ref:
        card = queries.card(mapping.name, ref)
        context = _lookup_context(request, card, q=q, hide_coupled=hide_coupled, picked=integration)
        return render(request, "_lookup_results.html", {**context, "oob": True})
    matches = queries.search_integration(mapping.name, q, hide_coupled=hide_coupled)
    context = {
        "mapping": mapping,
        "matches": matches,
        "chosen": None,
        "columns": identifying_fields(mapping, matches),
        "q": q,
        "hide_coupled": hide_coupled,
        "local_ref": "",
    }
    return render(request, "_lookup_results.html", context)


@router.get("/mappings/{name}/records/{ref}/couple/fields", response_class=HTMLResponse)
def couple_fields(request: Request, name: str, ref: str, integration: Text = "") -> Response:
    """The Set up coupling dialog's fields part for the integration record picked (an htmx fragment)."""
    queries = queries_of(request)
    card = queries.card(name, ref)
    found = queries.search_integration(card.mapping.name, integration, limit=1) if integration else []
    chosen = found[0] if found and found[0].key == integration else None
    return render(request, "_couple_fields.html", {"card": card, "chosen": chosen})


@router.post("/mappings/{name}/records/{ref}/couple")
def couple(
    request: Request,
    name: str,
    ref: str,
    integration: Annotated[str, Form(max_length=200)] = "",
    sync_after: Annotated[str, Form(max_length=20)] = "no",
    create: Annotated[bool, Form()] = False,
    q: Annotated[str, Form(max_length=200)] = "",
    hide_coupled: Annotated[bool, Form()] = False,
) -> Response:
    """Couple (or Create new and couple); a refusal is shown inside the dialog, with the search kept."""
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    back = _card_path(mapping, ref)
    after = {"no": None, "local": Side.LOCAL, "integration": Side.INTEGRATION}
    picked = integration.strip()
    try:
        if create:
            report = coupler.create(mapping, ref, source=Side.LOCAL)
        elif sync_after not in after:
            raise UsageError(f"Synchronize after coupling must be No or Yes, not {sync_after!r}.")
        elif not picked:
            system = coupler.systems.name(Side.INTEGRATION)
            raise UsageError(f"Pick the {system} record to couple with, or choose Create new.")
        else:
            report = coupler.couple(mapping, ref, picked, sync_after=after[sync_after])
    except CouplerError as error:
        if isinstance(error, RecordNotFound):  # no record to show the dialog of: the message alone
            return _problem(request, error, back)
        card = queries_of(request).card(mapping, ref)
        return _couple_page(request, card, q=q, hide_coupled=hide_coupled, picked=picked, problem=error)
    if not create:
        _remember_coupled(request, mapping, ref, report)
    done = job_redirect(request, back, report)  # keeps what the job wrote for its notice
    if request.headers.get("hx-request") == "true":  # the dialog posted it: the whole card shows the job's notice
        return Response(headers={"HX-Redirect": done.headers["location"]})
    return done


def _remember_coupled(request: Request, mapping: str, ref: str, report: JobReport) -> None:
    """Keep the pair Set up coupling coupled (``ref``'s coupling), for its notice to link both records."""
    coupler = coupler_of(request)
    try:
        found = resolve_couplings(coupler.systems, coupler.systems.mapping(mapping), [ref])
    except CouplerError:  # the record cannot be read again: the notice names the pair without links
        return
    pairs = [(c.coupling.local_key, c.coupling.integration_key) for c in found if c.coupling]
    get_state(request).remember_coupled(report.job.id, pairs)


# the Synchronize now dialog ----------------------------------------------------------------------------------
@router.get("/mappings/{name}/sync", response_class=HTMLResponse)
def sync_dialog(
    request: Request,
    name: str,
    ref: Annotated[list[str], Query(default_factory=list)],
    scope: Annotated[str, Query(max_length=10)] = "",
    q: Text = "",
    filter: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The Synchronize now dialog; for records not coupled, Business Central's question: create them in the other
    system?"""
    queries = queries_of(request)
    mapping = queries.systems.mapping(name)
    template = "_sync_dialog.html" if request.headers.get("hx-request") == "true" else "sync.html"
    matching = Matching.of(scope, q, filter)
    if matching is not None:
        total = _matching_total(request, mapping.name, matching)
        options = queries.sync_options_unread(mapping.name, total or 0)
        context = {
            "nav": "mappings",
            "mapping": mapping,
            "options": options,
            "refs": [],
            "names": {},
            "back": _records_path(mapping.name),
            "matching": matching.fields(),
            "total": total,
        }
        return render(request, template, context)
    refs = _selection(ref)
    options = queries.sync_options(mapping.name, refs)
    back = _card_path(mapping.name, refs[0]) if len(refs) == 1 else _records_path(mapping.name)
    names = queries.names(mapping.name, Side.LOCAL, refs) if len(refs) == 1 else {}
    context = {"nav": "mappings", "mapping": mapping, "options": options, "refs": refs, "back": back, "names": names}
    return render(request, template, context)


@router.post("/mappings/{name}/sync")
def sync_now(
    request: Request,
    name: str,
    ref: Refs,
    offered: Refs,
    choice: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
    create_offered: Annotated[bool, Form()] = False,
    scope: Scope = "",
    q: FormText = "",
    filter: FormFilter = "",
) -> Response:
    """Synchronize now: the coupled records in the direction chosen; the records not coupled that the dialog
    offered to create (``offered``), when the user accepted (``create_offered``), are created in the other system
    and coupled, as Business Central's Synchronize now does; declined, they are left out."""
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name).name
    target = back if back.startswith("/") and not back.startswith("//") else _records_path(mapping)
    try:
        matching = Matching.of(scope, q, filter)
        offered_keys = list(dict.fromkeys(r.strip() for r in offered if r.strip()))
        to_create = offered_keys if create_offered else []
        refs = [r for r in dict.fromkeys(r.strip() for r in ref if r.strip()) if r not in to_create]
        if matching is None and not refs and not to_create:
            raise UsageError("Select at least one record first.")
        direction = _direction(choice) if (refs or matching is not None) else None
        if matching is not None:

            def sync_all(c: Coupler, progress: TaskProgress) -> JobReport:
                return c.sync(mapping, matching.keys(c, mapping, coupled=True), direction=direction)

            arguments = {**matching.arguments(), "direction": direction.value if direction else None}
            asked = Asked(work=Kind.SYNC_NOW, mapping=mapping, arguments=arguments)
            task = get_state(request).background(f"Synchronize every matching {mapping} record", sync_all, asked)
            return redirect(target, task=task.id)
        if len(refs) + len(to_create) >= BACKGROUND_FROM:

            def work(c: Coupler, progress: TaskProgress) -> JobReport:
                created = c.create_many(mapping, to_create) if to_create else None
                if refs or created is None:
                    return c.sync(mapping, refs, direction=direction)
                return created

            count = len(refs) + len(to_create)
            chosen = {"refs": refs, "create": to_create, "direction": direction.value if direction else None}
            asked = Asked(work=Kind.SYNC_NOW, mapping=mapping, arguments=chosen)
            task = get_state(request).background(f"Synchronize {count} {mapping} records", work, asked)
            return redirect(target, task=task.id)
        reports = []
        if to_create:
            reports.append(coupler.create_many(mapping, to_create))
        if refs:
            reports.append(coupler.sync(mapping, refs, direction=direction))
    except CouplerError as error:
        return _problem(request, error, target)
    get_state(request).remember_reports(reports)
    created = reports[0].job.id if len(reports) > 1 else None
    return redirect(target, job=reports[-1].job.id, created=created)


def _direction(choice: str) -> Direction | None:
    try:
        return SyncChoice(choice).direction
    except ValueError:
        known = ", ".join(c.value for c in SyncChoice)
        raise UsageError(f"Choose a direction: {known} (not {choice!r}).") from None
