"""Choices (option sets) of picklist columns: read through the attribute's metadata, extended and relabelled by the
``InsertOptionValue`` and ``UpdateOptionValue`` actions. The options live in the table ``_optionsets`` of the
database (entity, attribute, value, label, languagecode), which a tenant seeds (``seed``).

- Read: ``EntityDefinitions(LogicalName='account')/Attributes(LogicalName='paymenttermscode')/
  Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet`` answers the attribute
  with ``OptionSet.Options`` (``Value``, ``Label.LocalizedLabels``, ``Label.UserLocalizedLabel``), as in
  learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api ("Retrieve attributes",
  PicklistAttributeMetadata with ``$expand=OptionSet``).
- ``InsertOptionValue`` (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/insertoptionvalue):
  ``EntityLogicalName``, ``AttributeLogicalName``, ``Label`` (Label: ``LocalizedLabels`` of ``Label`` and
  ``LanguageCode``), optional ``Value``; answers ``InsertOptionValueResponse`` with ``NewOptionValue``. Without a
  value the new one is the publisher's option value prefix times 10,000 plus a number: the default publisher's
  prefix is 10,000, so 100000000, 100000001, ... (learn.microsoft.com/power-apps/maker/data-platform/
  create-solution-publisher-prefix, "Choice value prefix").
- ``UpdateOptionValue`` (.../webapi/reference/updateoptionvalue): ``Value``, ``Label``, ``MergeLabels``; 204.
- A picklist column accepts only a value of its choices; another is out of range (the platform's message).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from coupler.testing.odata.http import ODataError, Request, Response, json_response

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["ACTIONS", "PICKLIST", "check_values", "handle_action", "handle_read", "install", "seed"]

PICKLIST = re.compile(
    r"^EntityDefinitions\(LogicalName='(?P<entity>\w+)'\)/Attributes\(LogicalName='(?P<attribute>\w+)'\)"
    r"/Microsoft\.Dynamics\.CRM\.PicklistAttributeMetadata$"
)
ACTIONS = ("InsertOptionValue", "UpdateOptionValue")
_FIRST_CUSTOM = 100_000_000
_TABLE = sa.table(
    "_optionsets",
    sa.column("entity"),
    sa.column("attribute"),
    sa.column("value"),
    sa.column("label"),
    sa.column("languagecode"),
)


def install(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS _optionsets (entity TEXT NOT NULL, attribute TEXT NOT NULL, value INTEGER "
            "NOT NULL, label TEXT NOT NULL, languagecode INTEGER NOT NULL, PRIMARY KEY (entity, attribute, value))"
        )


def seed(conn: sa.Connection, entity: str, attribute: str, options: Sequence[tuple[int, str]], language: int) -> None:
    for value, label in options:
        row = {"entity": entity, "attribute": attribute, "value": value, "label": label, "languagecode": language}
        conn.execute(sa.insert(_TABLE).values(row))


def options(conn: sa.Connection, entity: str, attribute: str) -> list[tuple[int, str, int]]:
    query = (
        sa.select(_TABLE.c.value, _TABLE.c.label, _TABLE.c.languagecode)
        .where(_TABLE.c.entity == entity, _TABLE.c.attribute == attribute)
        .order_by(_TABLE.c.value)
    )
    return [(int(v), str(label), int(lang)) for v, label, lang in conn.execute(query)]


def check_values(conn: sa.Connection, entity_set: EntitySet, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if value is None or entity_set.config.attribute_types.get(name) != "Picklist":
            continue
        known = options(conn, entity_set.logical, name)
        if known and value not in {v for v, _, _ in known}:
            raise ODataError(
                400,
                "0x80044331",
                f"A validation error occurred. The value {value} of '{name}' on record of type "
                f"'{entity_set.logical}' is outside the valid range.",
            )


def _picklist(server: DataverseOps, entity: str, attribute: str) -> EntitySet:
    entity_set = next((s for s in server.sets.values() if s.logical == entity), None)
    if entity_set is None:
        raise ODataError(404, "0x80040217", f"Could not find an entity with the logical name '{entity}'.")
    if attribute not in entity_set.meta.columns:
        raise ODataError(404, "0x80040217", f"Could not find an attribute with the logical name '{attribute}'.")
    if entity_set.config.attribute_types.get(attribute) != "Picklist":
        raise ODataError(
            400, "0x80060888", f"The attribute '{attribute}' of '{entity}' is not a PicklistAttributeMetadata."
        )
    return entity_set


def _label(text: str, language: int) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": language, "IsManaged": False, "MetadataId": None}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def handle_read(server: DataverseOps, request: Request, entity: str, attribute: str) -> Response:
    _picklist(server, entity, attribute)
    with server.store.transaction() as conn:
        found = options(conn, entity, attribute)
    answer: dict[str, Any] = {
        "@odata.context": f"{request.root}$metadata#EntityDefinitions('{entity}')/Attributes/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata(LogicalName,OptionSet)/$entity",
        "LogicalName": attribute,
        "MetadataId": None,
    }
    if "OptionSet" in request.query.get("$expand", ""):
        answer["OptionSet"] = {
            "Name": f"{entity}_{attribute}",
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": [{"Value": v, "Label": _label(label, lang)} for v, label, lang in found],
        }
    return json_response(200, answer)


def _label_text(payload: Mapping[str, Any]) -> tuple[str, int]:
    label = payload.get("Label")
    localized = (label or {}).get("LocalizedLabels") if isinstance(label, dict) else None
    if not localized or not isinstance(localized[0], dict) or not str(localized[0].get("Label") or "").strip():
        raise ODataError(400, "0x80048d19", "Label must hold LocalizedLabels with a Label and a LanguageCode.")
    return str(localized[0]["Label"]), int(localized[0].get("LanguageCode") or 1033)


def handle_action(server: DataverseOps, request: Request, action: str) -> Response:
    if request.method != "POST":
        raise ODataError(405, "0x80060888", f"{action} is an action: POST it.")
    payload = request.json()
    if not isinstance(payload, dict):
        raise ODataError(400, "0x80048d19", "The body must be a JSON object.")
    entity, attribute = str(payload.get("EntityLogicalName") or ""), str(payload.get("AttributeLogicalName") or "")
    _picklist(server, entity, attribute)
    text, language = _label_text(payload)
    where = (_TABLE.c.entity == entity, _TABLE.c.attribute == attribute)
    with server.store.transaction(server.app_user_id) as conn:
        known = {v: label for v, label, _ in options(conn, entity, attribute)}
        if action == "InsertOptionValue":
            value = payload.get("Value")
            if value is None:
                value = max([v + 1 for v in known if v >= _FIRST_CUSTOM], default=_FIRST_CUSTOM)
            if value in known:
                raise ODataError(400, "0x80047013", f"An option with the value {value} already exists.")
            seed(conn, entity, attribute, [(int(value), text)], language)
            context = f"{request.root}$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse"
            return json_response(200, {"@odata.context": context, "NewOptionValue": int(value)})
        value = payload.get("Value")
        if value not in known:
            raise ODataError(400, "0x80047013", f"There is no option with the value {value} in {entity}.{attribute}.")
        conn.execute(sa.update(_TABLE).where(*where, _TABLE.c.value == value).values(label=text, languagecode=language))
    return Response(status=204, headers={"odata-version": "4.0"})
