"""What needs a user: skipped records (retry, retry all, restore, decouple) and parked conflicts (resolve per
record or per field)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from coupler.domain.errors import CouplerError, UsageError
from coupler.domain.mapping import Side
from coupler.entrypoints.web.errors import status_of
from coupler.entrypoints.web.pages.common import Notice, coupler_of, job_redirect, queries_of, render
from coupler.services.views.page_queries import PageQueries

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(max_length=80)]
Key = Annotated[str, Form(max_length=200)]


def _problem(request: Request, error: CouplerError, back: str) -> HTMLResponse:
    notice = Notice(kind="error", text=error.message)
    status = status_of(error)
    return render(request, "error.html", {"back": back, "status": status}, status=status, notices=[notice])


def _names(queries: PageQueries, rows: list[tuple[str, str | None, str | None]]) -> dict[tuple[str, str], str]:
    """(mapping, key) -> how a user knows the record, for the local and integration keys of the rows."""
    named: dict[tuple[str, str], str] = {}
    for side in (Side.LOCAL, Side.INTEGRATION):
        by_mapping: dict[str, list[str]] = {}
        for mapping, local, integration in rows:
            key = local if side is Side.LOCAL else integration
            if key:
                by_mapping.setdefault(mapping, []).append(key)
        for mapping, keys in by_mapping.items():
            for key, name in queries.names(mapping, side, keys).items():
                named[(mapping, key)] = name
    return named


# skipped records -----------------------------------------------------------------------------------------------
@router.get("/skipped", response_class=HTMLResponse)
def skipped_page(request: Request, mapping: Annotated[str, Query(max_length=80)] = "") -> Response:
    coupler = coupler_of(request)
    skipped = coupler.skipped(mapping or None)
    names = _names(queries_of(request), [(s.mapping, s.local_key, s.integration_key) for s in skipped])
    context = {
        "nav": "skipped",
        "skipped": skipped,
        "names": names,
        "mapping": mapping,
        "mappings": [m.name for m in coupler.systems.mappings],
    }
    return render(request, "skipped.html", context)


@router.post("/skipped/{action}")
def skipped_action(request: Request, action: str, mapping: Name, key: Key = "") -> Response:
    coupler = coupler_of(request)
    try:
        name = coupler.systems.mapping(mapping).name
        if action == "retry-all":
            report = coupler.retry(name, everything=True)
        elif not key:
            raise UsageError("Name the skipped record to act on.")
        elif action == "retry":
            report = coupler.retry(name, [key])
        elif action == "restore":
            report = coupler.restore(name, [key])
        elif action == "decouple":
            report = coupler.decouple(name, [key])
        else:
            raise UsageError(f"Unknown action {action!r}: use retry, retry-all, restore or decouple.")
    except CouplerError as error:
        return _problem(request, error, "/skipped")
    return job_redirect(request, "/skipped", report)


# conflicts -----------------------------------------------------------------------------------------------------
@router.get("/conflicts", response_class=HTMLResponse)
def conflicts_page(request: Request, mapping: Annotated[str, Query(max_length=80)] = "") -> Response:
    coupler = coupler_of(request)
    conflicts = coupler.conflicts(mapping or None)
    names = _names(queries_of(request), [(c.mapping, c.local_key, c.integration_key) for c in conflicts])
    context = {
        "nav": "conflicts",
        "conflicts": conflicts,
        "names": names,
        "mapping_of": {m.name: m for m in coupler.systems.mappings},
        "mapping": mapping,
        "mappings": [m.name for m in coupler.systems.mappings],
    }
    return render(request, "conflicts.html", context)


@router.post("/conflicts/resolve")
def resolve(
    request: Request,
    mapping: Name,
    key: Key,
    use: Annotated[str, Form(max_length=20)],
    field: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=500)] = "/conflicts",
) -> Response:
    coupler = coupler_of(request)
    target = back if back.startswith("/") and not back.startswith("//") else "/conflicts"
    try:
        try:
            side = Side(use)
        except ValueError:
            raise UsageError(f"Choose which side wins: local or integration, not {use!r}.") from None
        report = coupler.resolve(mapping, key, use=side, fields=[field] if field else ())
    except CouplerError as error:
        return _problem(request, error, target)
    return job_redirect(request, target, report)
