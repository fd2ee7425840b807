"""Which tables support the bulk messages: ``sdkmessagefilters`` answered as learn.microsoft.com/power-apps/
developer/data-platform/bulk-operations shows ("Availability with standard tables"):

``GET sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and primaryobjecttypecode
eq @table&@message='CreateMultiple'&@table='account'`` -- "If the table supports the message, an
``sdkmessagefilterid`` value is returned. Otherwise, the value is an empty array." ``DataverseTable.create_multiple``
says which tables support CreateMultiple, UpdateMultiple and UpsertMultiple. Every table has the filters of Create,
Update and Delete, on which webhook steps are registered (``webhooks.py``; register-web-hook.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from coupler.testing.dataverse.webhooks import CHANGES, filter_id
from coupler.testing.odata.http import ODataError, Request, Response, json_response

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["BULK", "handle", "refuse_unsupported"]

BULK = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
_TERM = re.compile(r"^\s*(sdkmessageid/name|primaryobjecttypecode)\s+eq\s+('[^']*'|@\w+)\s*$", re.IGNORECASE)


def handle(server: DataverseOps, request: Request) -> Response:
    if request.method != "GET":
        raise ODataError(405, "0x80060888", "sdkmessagefilters is read-only here.")
    wanted: dict[str, str] = {}
    for term in re.split(r"\s+and\s+", request.query.get("$filter", "")):
        match = _TERM.match(term)
        if match is None:
            raise ODataError(
                400, "0x80060888", "Filter sdkmessagefilters by sdkmessageid/name and primaryobjecttypecode (eq)."
            )
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith("@"):
            value = request.query.get(value, "")
        wanted[name] = value.strip("'")
    message, table = wanted.get("sdkmessageid/name"), wanted.get("primaryobjecttypecode")
    found = []
    entity_set = next((s for s in server.sets.values() if s.logical == table), None)
    if entity_set is not None and (message in CHANGES or (message in BULK and entity_set.config.create_multiple)):
        found.append({"sdkmessagefilterid": filter_id(str(message), str(table))})
    context = f"{request.root}$metadata#sdkmessagefilters(sdkmessagefilterid)"
    return json_response(200, {"@odata.context": context, "value": found})


def refuse_unsupported(entity_set: EntitySet, message: str) -> None:
    """A bulk message on a table without it. The shape is the Web API's error; its exact words are not documented
    (bulk-operations only says "You should test whether individual standard tables support these messages"), so
    this message is chosen to say what happened."""
    if not entity_set.config.create_multiple:
        raise ODataError(
            400,
            "0x80040265",
            f"The message {message} is not supported for the entity '{entity_set.logical}'.",
        )
