"""The Business Central connector, over the API v2.0 (online or on-premises).

- The client's base URL is the API root (``.../v2.0/<tenant>/<environment>/api/v2.0``); the company is chosen by
  name or id (``GET companies``) and every entity set is read under ``companies(<id>)/``.
- ``table`` is an entity set (``customers``), ``key`` ``id``, ``modified_on`` ``lastModifiedDateTime``. Columns and
  their types come from ``$metadata`` (EDMX).
- Reads as the Dataverse connector reads (maxpagesize paging up to 20,000, ``lastModifiedDateTime gt``), but text
  is compared case-sensitively by the service, so a case-insensitive search sends ``tolower(field) eq 'value'``.
- Writes: JSON ``$batch`` requests of at most 100 operations: POST (201 with the record), PATCH with ``If-Match``
  (the record's ETag when it was read, else ``*``; BC requires it) and DELETE. Each operation has its own result;
  a stale ETag (412, ``Request_EntityChanged``) is a retryable error for that record.
- The service assigns ``id`` (a GUID) itself: ``new_keys`` is None for an entity keyed by an ``Edm.Guid`` ``id``,
  and a record created there is found again by its ``number`` or ``code`` (``alternate_key``) when coupler sent one.
- Deletions: Business Central keeps no deleted-entries feed reachable here (webhooks need a public endpoint), so
  ``deletions`` is None and a deleted record is noticed as a missing partner.
- Enums: a property of an ``EnumType`` in ``$metadata`` (``blocked``: ``Microsoft.NAV.customerBlocked``) travels as
  its member's name encoded as an identifier (``_x0020_`` for the blank member " ", ``In_x0020_Progress``; see
  ``odata/enums.py`` for the sources). coupler sees the member names as Business Central's users do: rows are
  decoded when read (so filters, option mappings and comparisons see " "), values encoded when written and in
  ``$filter`` literals (``blocked eq '_x0020_'``).
- Null: AL fields have no null; a blank value stands for it. No ``$filter`` holds ``null``: a condition on null
  tests the column's blank ('' for a text, the empty GUID, the enum's blank member " "), or, where no blank is
  known, is left to the check of every returned row (docs/research/bc-sales-sources.md, "Point 9": how the real
  service answers ``eq null`` is not documented, so coupler never asks it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.batch import (
    BatchPart,
    PartResult,
    decode_json_batch,
    encode_json_batch,
    reads_only,
)
from coupler.adapters.connectors.odata.connector import ODataConnector
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.enums import decode_name, encode_name
from coupler.adapters.connectors.odata.query import is_guid
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import Condition, Operator, TableSpec
from coupler.domain.records import WriteResult
from coupler.ports.connector import ColumnInfo

__all__ = ["BusinessCentralConnector"]

HEADERS = {"Accept": "application/json"}
_TYPES = {
    "Edm.String": "string",
    "Edm.Int32": "integer",
    "Edm.Int64": "integer",
    "Edm.Int16": "integer",
    "Edm.Decimal": "decimal",
    "Edm.Double": "float",
    "Edm.Boolean": "boolean",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Date": "date",
    "Edm.Guid": "uuid",
}


ALTERNATE_KEYS = ("number", "code")
"""The fields that name a record of an API v2.0 entity besides its ``id`` (No. or Code), first found first."""

BLANK_GUID = "00000000-0000-0000-0000-000000000000"
"""A blank GUID field as the API returns it (``customers.currencyId`` of a local-currency customer: APIV2Customers'
``BlankGUID``, BCApps ``src/Apps/W1/APIV2/app/src/pages/APIV2Customers.Page.al``)."""


class BusinessCentralConnector(ODataConnector):
    fold_text = False
    nulls = False  # AL fields have no null (docs/research/bc-sales-sources.md, "Point 9")
    max_page_size = 20_000
    max_batch = 100

    def __init__(
        self,
        client: HttpClient,
        *,
        company: str,
        display_name: str = "Business Central",
        batch_size: int = 100,
        page_size: int = 20_000,
        max_filter_length: int = 8000,
    ) -> None:
        super().__init__(
            client,
            display_name=display_name,
            batch_size=batch_size,
            page_size=page_size,
            max_filter_length=max_filter_length,
        )
        self._company = company
        self._company_id: str | None = None
        self._metadata: dict[str, EntityInfo] | None = None

    # system ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        self.company_id()

    def company_id(self) -> str:
        """The id of the configured company (given by id, name or display name)."""
        if self._company_id is None:
            answer = self._known_json("companies", what="listing the companies")
            companies = answer.get("value") if isinstance(answer, dict) else None
            wanted = self._company.strip()
            for company in companies or []:
                names = {str(company.get(k) or "") for k in ("id", "name", "displayName")}
                if wanted in names or (is_guid(wanted) and wanted.lower() == str(company.get("id", "")).lower()):
                    self._company_id = str(company["id"])
                    break
            else:
                known = ", ".join(repr(str(c.get("name"))) for c in companies or []) or "none"
                raise ConfigurationError(
                    f"{self.display_name} has no company {self._company!r}; its companies are: {known}"
                )
        return self._company_id

    # metadata ----------------------------------------------------------------------------------------------
    def refresh_metadata(self) -> None:
        super().refresh_metadata()
        self._company_id = None
        self._metadata = None

    def _load_entity(self, table: str) -> EntityInfo | None:
        if self._metadata is None:
            content = self._known_text("$metadata", what="reading $metadata")
            try:
                self._metadata = _parse_edmx(content.encode("utf-8"))
            except ET.ParseError as error:
                raise PermanentConnectorError(f"{self.display_name}: $metadata is not valid XML: {error}") from None
        return self._metadata.get(table)

    # hooks -------------------------------------------------------------------------------------------------
    def _collection(self, entity: EntityInfo) -> str:
        return f"companies({self.company_id()})/{entity.entity_set}"

    def _to_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        if column in entity.enums and isinstance(value, str):
            return encode_name(value)  # " " -> "_x0020_" (learn.microsoft.com/.../business-central/power-bi-faq)
        return value

    def _from_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        if column in entity.enums and isinstance(value, str):
            return decode_name(value)
        return value

    def _blank(self, entity: EntityInfo, column: str) -> Any:
        """'' for a text, the empty GUID (as the API returns a blank GUID), an enum's blank member " " (sent as
        ``_x0020_``); None (no blank known: the check of each row decides) for numbers, dates, booleans and an enum
        without a blank member."""
        if column in entity.enums:
            return next((m for m in entity.enums[column] if not m.strip()), None)
        info = entity.columns.get(column)
        if info is None:
            return None
        return {"string": "", "uuid": BLANK_GUID}.get(info.type)

    def _term(self, entity: EntityInfo, condition: Condition) -> str:
        if condition.field in entity.enums and condition.op in (Operator.STARTSWITH, Operator.CONTAINS):
            return ""  # a part of a member name has no encoded form of its own: the check of each row decides
        return super()._term(entity, condition)

    def _send_batch(self, parts: Sequence[BatchPart], *, what: str) -> list[PartResult]:
        body = encode_json_batch(parts)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        response = self.client.request(
            "POST", "$batch", json=body, headers=headers, what=what, idempotent=reads_only(parts)
        )
        self.client.check(response, what=what)
        try:
            return decode_json_batch(response.json(), len(parts))
        except ValueError as error:
            raise PermanentConnectorError(f"{self.display_name}: {what}: {error}") from None

    # inserts -----------------------------------------------------------------------------------------------
    def alternate_key(self, spec: TableSpec) -> str | None:
        """The spec's, or for an entity whose ``id`` the service assigns its ``number`` (customers, items,
        contacts: the No.) or ``code`` (salespeople, currencies, payment terms), unique in the company."""
        if spec.alternate_key:
            return spec.alternate_key
        entity = self._entity(spec)
        if not entity.server_keys:
            return None
        return next((name for name in ALTERNATE_KEYS if name in entity.columns), None)

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for row in rows for name in row}))
        bodies = []
        for row in rows:
            values = dict(row)
            if values.get(entity.key) is None:
                values.pop(entity.key, None)
            bodies.append(self._body(entity, values))
        parts = [BatchPart(method="POST", url=self._collection(entity), body=body) for body in bodies]
        outcomes = self._batches(parts, what=f"creating records in {spec.table}")
        keys = [None if row.get(entity.key) is None else str(row[entity.key]) for row in rows]
        return self._results(entity, spec, keys, outcomes)


def _parse_edmx(content: bytes) -> dict[str, EntityInfo]:
    """Entity sets of an EDMX document: their key, columns, types, lengths and nullability, and which columns are
    of an ``EnumType`` (with its members' names, decoded)."""
    root = ET.fromstring(content)
    types: dict[str, tuple[str, dict[str, ColumnInfo], dict[str, str]]] = {}
    enum_types: dict[str, tuple[str, ...]] = {}
    sets: list[tuple[str, str]] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "EnumType":
            members = (m.get("Name") or "" for m in element if m.tag.rsplit("}", 1)[-1] == "Member")
            enum_types[element.get("Name") or ""] = tuple(decode_name(m) for m in members)
        elif tag == "EntityType":
            keys = {ref.get("Name") for ref in element.iter() if ref.tag.endswith("PropertyRef")}
            key = next(iter(keys), None) or "id"
            columns = {}
            typed: dict[str, str] = {}
            for prop in element:
                if not prop.tag.endswith("}Property") and prop.tag != "Property":
                    continue
                name = prop.get("Name") or ""
                edm = prop.get("Type") or "Edm.String"
                length = prop.get("MaxLength")
                if not edm.startswith("Edm."):
                    typed[name] = edm.rsplit(".", 1)[-1]  # Microsoft.NAV.customerBlocked: an enum, read below
                columns[name] = ColumnInfo(
                    name=name,
                    type=_TYPES.get(edm, "string"),  # an enum is read as its member's name
                    nullable=prop.get("Nullable", "true").lower() != "false" and name not in keys,
                    max_length=int(length) if length and length.isdigit() else None,
                    primary_key=name in keys,
                )
            types[element.get("Name") or ""] = (key, columns, typed)
        elif tag == "EntitySet":
            sets.append((element.get("Name") or "", (element.get("EntityType") or "").rsplit(".", 1)[-1]))
    entities = {}
    for set_name, type_name in sets:
        if type_name in types:
            key, columns, typed = types[type_name]
            server_keys = key == "id" and columns.get(key, ColumnInfo(name=key, type="")).type == "uuid"
            enums = {name: enum_types[t] for name, t in typed.items() if t in enum_types}
            entities[set_name] = EntityInfo(
                entity_set=set_name,
                key=key,
                columns=columns,
                type_name=type_name,
                server_keys=server_keys,
                enums=enums,
            )
    return entities
