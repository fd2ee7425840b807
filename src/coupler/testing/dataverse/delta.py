"""Dataverse change tracking: ``Prefer: odata.track-changes`` returns every row (paged) and a delta link; the
delta link returns the rows changed since, then ``$deletedEntity`` entries, and the next delta link.

A token is ``<version>!<MM/dd/yyyy HH:mm:ss>`` like Dataverse's; it expires after ``RETENTION`` or when the
test calls ``Faults.expire_delta_tokens``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from coupler.testing.dataverse.paging import MAX_PAGE_SIZE, next_link, skiptoken_values
from coupler.testing.odata.http import ODataError, Request, Response, json_response, prefer
from coupler.testing.odata.query import Query, fetch_page

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["RETENTION", "handle"]

RETENTION = timedelta(days=7)
_FORMAT = "%m/%d/%Y %H:%M:%S"
_REJECTED = ("$filter", "$orderby", "$top", "$expand", "$count")


def handle(server: DataverseOps, entity_set: EntitySet, request: Request) -> Response:
    if not entity_set.config.change_tracking:
        raise ODataError(400, "0x80072491", f"Change tracking is not enabled for the entity '{entity_set.logical}'.")
    rejected = [name for name in _REJECTED if name in request.query]
    if rejected:
        raise ODataError(
            400, "0x80060888", f"{', '.join(rejected)} cannot be used with change tracking (odata.track-changes)."
        )
    query = server.query(entity_set, {"$select": request.query.get("$select", "")})
    if server.faults.take_token_expiry():
        with server.store.transaction() as conn:
            server.expired_below = server.store.bump_clock(conn)
    with server.store.transaction() as conn:
        if "$deltatoken" in request.query:
            return _changes(server, entity_set, request, query, conn)
        return _initial(server, entity_set, request, query, conn)


def _initial(
    server: DataverseOps, entity_set: EntitySet, request: Request, query: Query, conn: sa.Connection
) -> Response:

    preferences = prefer(request)
    size = min(int(preferences.get("odata.maxpagesize") or MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    after, page, baseline = None, 1, server.store.clock(conn)
    if "$skiptoken" in request.query:
        after, page = skiptoken_values(request.query["$skiptoken"])
        baseline = int(request.query.get("$baseline", baseline))
    rows, last = fetch_page(conn, server.store, entity_set.meta.name, query, size=size, after=after)
    payload: dict[str, Any] = {
        "@odata.context": server.context(request, entity_set, query.select),
        "value": [server.to_json(entity_set, row, query.select, request) for row in rows],
    }
    if last is not None:
        options = {**request.query, "$baseline": str(baseline)}
        payload["@odata.nextLink"] = next_link(request, entity_set.name, options, last, page + 1)
    else:
        payload["@odata.deltaLink"] = _delta_link(request, entity_set, baseline)
    return json_response(200, payload, {"preference-applied": "odata.track-changes"})


def _changes(
    server: DataverseOps, entity_set: EntitySet, request: Request, query: Query, conn: sa.Connection
) -> Response:
    version, issued = _parse_token(request.query["$deltatoken"])
    if version < server.expired_below or datetime.now(UTC) - issued > RETENTION:
        raise ODataError(
            400,
            "0x80044352",
            "The delta token has expired: changes are kept for a limited time (ExpireChangeTrackingInDays). "
            "Read the table again with Prefer: odata.track-changes and no $deltatoken.",
        )
    now = server.store.clock(conn)
    rows_table = server.store.rows
    statement = (
        server.store.select(entity_set.meta.name).where(rows_table.c.version > version).order_by(rows_table.c.version)
    )
    changed = [dict(row) for row in conn.execute(statement).mappings()]
    deleted = server.store.deleted_since(conn, entity_set.meta.name, version)
    value = [server.to_json(entity_set, row, query.select, request) for row in changed]
    value += [
        {"@odata.context": f"{request.root}$metadata#{entity_set.name}/$deletedEntity", "id": key, "reason": "deleted"}
        for key in deleted
    ]
    payload = {
        "@odata.context": server.context(request, entity_set, query.select),
        "value": value,
        "@odata.deltaLink": _delta_link(request, entity_set, now),
    }
    return json_response(200, payload, {"preference-applied": "odata.track-changes"})


def _delta_link(request: Request, entity_set: EntitySet, version: int) -> str:
    options = {k: v for k, v in request.query.items() if k in ("$select",)}
    options["$deltatoken"] = f"{version}!{datetime.now(UTC).strftime(_FORMAT)}"
    return f"{request.root}{entity_set.name}?{urlencode(options, quote_via=quote, safe='$,')}"


def _parse_token(token: str) -> tuple[int, datetime]:
    version, _, issued = token.partition("!")
    try:
        return int(version), datetime.strptime(issued, _FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ODataError(400, "0x80060888", f"'{token}' is not a delta token this server issued.") from None
