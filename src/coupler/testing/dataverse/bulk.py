"""CreateMultiple, UpdateMultiple and UpsertMultiple: one request, one transaction; a bad row fails them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from coupler.testing.dataverse.messages import refuse_unsupported
from coupler.testing.odata.http import ODataError, Request, Response, json_response

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["handle"]

_ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


def handle(
    server: DataverseOps, entity_set: EntitySet, action: str, request: Request, conn: sa.Connection | None
) -> Response:
    name = action.removeprefix("Microsoft.Dynamics.CRM.")
    if name not in _ACTIONS:
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{action}'.")
    refuse_unsupported(entity_set, name)
    targets = _targets(entity_set, request.json())
    ids: list[str] = []
    with server.transaction(conn) as tx:
        for target in targets:
            values = {k: v for k, v in target.items() if k != "@odata.type"}
            key = values.get(entity_set.meta.key)
            if name == "CreateMultiple":
                ids.append(server.insert(tx, entity_set, values))
                continue
            if key is None:
                raise ODataError(400, "0x80040203", f"Each target of {name} needs its '{entity_set.meta.key}'.")
            key = str(key).lower()
            exists = server.store.get(tx, entity_set.meta.name, key) is not None
            if exists:
                server.update(tx, entity_set, key, {k: v for k, v in values.items() if k != entity_set.meta.key})
            elif name == "UpdateMultiple":
                raise ODataError(404, "0x80040217", f"{entity_set.logical} With Id = {key} Does Not Exist")
            else:
                server.insert(tx, entity_set, {**values, entity_set.meta.key: key})
            ids.append(key)
    if name == "UpdateMultiple":
        return Response(status=204, headers={"odata-version": "4.0"})
    context = f"{request.root}$metadata#Microsoft.Dynamics.CRM.{name}Response"
    return json_response(200, {"@odata.context": context, "Ids": ids})


def _targets(entity_set: EntitySet, payload: Any) -> list[dict[str, Any]]:
    targets = payload.get("Targets") if isinstance(payload, dict) else None
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ODataError(400, "0x80048d19", 'The body must be {"Targets": [ {...}, ... ]}.')
    for index, target in enumerate(targets):
        if target.get("@odata.type") != entity_set.type_name:
            raise ODataError(
                400,
                "0x80048d19",
                f'Targets[{index}] needs "@odata.type": "{entity_set.type_name}".',
            )
    return targets
