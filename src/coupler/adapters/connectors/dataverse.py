"""The Dataverse (Dynamics 365 Sales) connector, over the Web API v9.2.

- ``table`` is an entity set (``accounts``), ``key`` its primary id (``accountid``), ``modified_on`` ``modifiedon``.
  Column names are attribute logical names; a lookup (``ownerid``, ``parentcustomerid``) is read from
  ``_ownerid_value`` and written as ``ownerid@odata.bind: /systemusers(<guid>)``, its targets learnt from the
  Attributes metadata (a multi-table lookup such as ``parentcustomerid`` binds to its first target, ``accounts``,
  unless the value names one: ``contacts(<guid>)``). Choice values are integers.
- Inserts: keys are chosen in advance (GUIDs); rows go in ``CreateMultiple`` requests of ``batch_size``. One bad
  row fails a whole CreateMultiple on standard tables, so a failed request is split in halves until the bad rows
  are isolated and the others land. Where CreateMultiple is not available, a ``$batch`` with continue-on-error.
- Updates and deletes: ``$batch`` of PATCH / DELETE with continue-on-error; each PATCH carries ``If-Match`` (the
  record's ETag when it was read, else ``*``, which also stops an update from creating a record).
- Deletions: change tracking. Without a cursor, a call reads the table's keys with ``Prefer: odata.track-changes``
  and answers no keys and a cursor (``<entity set>:<delta token>``, kept by the engine in the state store); a call
  with the cursor reads the delta and answers the removed ids and the next cursor. An expired token (or a cursor
  of another table) starts over: a fresh cursor and no keys. The cursor holds no URL: the delta request is always
  built against the configured service.
- Echo: every record read says whether coupler's own application user (``WhoAmI``, asked once) made its last
  change (``Record.modified_by_self``, from ``_modifiedby_value``), so the engine recognises its own writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from coupler.adapters.connectors.http_client import HttpClient, error_message
from coupler.adapters.connectors.odata.answers import detail_of
from coupler.adapters.connectors.odata.batch import (
    BatchPart,
    PartResult,
    decode_multipart,
    encode_multipart,
    reads_only,
)
from coupler.adapters.connectors.odata.connector import ODataConnector
from coupler.adapters.connectors.odata.entity import EntityInfo, Row
from coupler.adapters.connectors.odata.query import literal
from coupler.domain.errors import CouplerError, PermanentConnectorError
from coupler.domain.mapping import TableSpec
from coupler.domain.records import WriteResult
from coupler.ports.connector import ColumnInfo, Deletions

__all__ = ["API_PATH", "DataverseConnector"]

API_PATH = "/api/data/v9.2/"
HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
_LOOKUPS = {"Lookup", "Owner", "Customer"}
_TYPES = {
    "String": "string",
    "Memo": "string",
    "EntityName": "string",
    "Integer": "integer",
    "BigInt": "integer",
    "Picklist": "integer",
    "State": "integer",
    "Status": "integer",
    "Decimal": "decimal",
    "Money": "decimal",
    "Double": "float",
    "Boolean": "boolean",
    "DateTime": "datetime",
    "Uniqueidentifier": "uuid",
    "Lookup": "uuid",
    "Owner": "uuid",
    "Customer": "uuid",
}
_UNSUPPORTED = {404, 405, 501}
_MODIFIED_BY = "_modifiedby_value"


class DataverseConnector(ODataConnector):
    fold_text = True
    max_page_size = 5000
    max_batch = 1000

    def __init__(
        self,
        client: HttpClient,
        *,
        display_name: str = "Dataverse",
        batch_size: int = 1000,
        page_size: int = 5000,
        max_filter_length: int = 8000,
    ) -> None:
        super().__init__(
            client,
            display_name=display_name,
            batch_size=batch_size,
            page_size=page_size,
            max_filter_length=max_filter_length,
        )
        self._sets: dict[str, str] = {}  # logical name -> entity set name
        self._create_multiple: dict[str, bool] = {}
        self._untracked: set[str] = set()
        self._user_id: str | None = None
        self._user_unknown = False  # WhoAmI was refused: records are not marked

    # system ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        self.app_user_id()

    def record_url(self, spec: TableSpec, key: str) -> str | None:
        """The record's form in the Dynamics 365 web client: ``<org>/main.aspx?pagetype=entityrecord&etn=...``."""
        try:
            entity = self._entity(spec)
        except CouplerError:
            return None
        org = self.client.base_url.removesuffix(API_PATH.lstrip("/")).rstrip("/")
        query = urlencode({"pagetype": "entityrecord", "etn": entity.type_name, "id": key})
        return f"{org}/main.aspx?{query}"

    def app_user_id(self) -> str:
        """The id of coupler's own application user (``WhoAmI``)."""
        if self._user_id is None:
            answer = self._known_json("WhoAmI", what="asking who coupler signs in as (WhoAmI)")
            if not isinstance(answer, dict) or not answer.get("UserId"):
                raise PermanentConnectorError(f"{self.display_name}: WhoAmI gave no UserId")
            self._user_id = str(answer["UserId"]).lower()
        return self._user_id

    # metadata ----------------------------------------------------------------------------------------------
    def refresh_metadata(self) -> None:
        super().refresh_metadata()
        self._sets.clear()
        self._create_multiple.clear()
        self._user_id = None
        self._user_unknown = False

    def _load_entity(self, table: str) -> EntityInfo | None:
        params = {
            "$filter": f"EntitySetName eq {literal(table)}",
            "$select": "LogicalName,PrimaryIdAttribute,EntitySetName",
        }
        found = self._known_json("EntityDefinitions", params=params, what=f"reading the metadata of {table}")
        definitions = found.get("value") if isinstance(found, dict) else None
        if not definitions:
            return None
        definition = definitions[0]
        logical, key = str(definition["LogicalName"]), str(definition["PrimaryIdAttribute"])
        self._sets[logical] = table
        answer = self._known_json(
            f"EntityDefinitions(LogicalName={literal(logical)})/Attributes",
            what=f"reading the columns of {table}",
        )
        columns: dict[str, ColumnInfo] = {}
        wire: dict[str, str] = {}
        lookups: dict[str, tuple[str, ...]] = {}
        owners = set()
        for attribute in answer.get("value") or []:
            name = str(attribute["LogicalName"])
            kind = str(attribute.get("AttributeType") or "")
            required = (attribute.get("RequiredLevel") or {}).get("Value") in ("SystemRequired", "ApplicationRequired")
            primary = name == key or bool(attribute.get("IsPrimaryId"))
            length = attribute.get("MaxLength")
            columns[name] = ColumnInfo(
                name=name,
                type=_TYPES.get(kind, kind.lower() or "string"),
                nullable=not (required or primary),
                max_length=int(length) if isinstance(length, int) and kind in ("String", "Memo") else None,
                primary_key=primary,
            )
            if kind in _LOOKUPS:
                wire[name] = f"_{name}_value"
                lookups[name] = tuple(str(t) for t in attribute.get("Targets") or ())
                if kind == "Owner":
                    owners.add(name)
        if key not in columns:
            raise PermanentConnectorError(f"{self.display_name}: the metadata of {table} lacks its key column {key}")
        return EntityInfo(
            entity_set=table,
            key=key,
            columns=columns,
            type_name=logical,
            wire=wire,
            lookups=lookups,
            owners=frozenset(owners),
        )

    def _set_of(self, logical: str) -> str:
        """The entity set of a table's logical name (``systemuser`` -> ``systemusers``)."""
        if logical not in self._sets:
            params = {"$filter": f"LogicalName eq {literal(logical)}", "$select": "LogicalName,EntitySetName"}
            try:
                found = self._known_json("EntityDefinitions", params=params, what=f"finding the set of {logical}")
                name = (found.get("value") or [{}])[0].get("EntitySetName")
            except PermanentConnectorError:
                name = None
            self._sets[logical] = str(name) if name else _plural(logical)
        return self._sets[logical]

    # hooks -------------------------------------------------------------------------------------------------
    def _collection(self, entity: EntityInfo) -> str:
        return entity.entity_set

    def _body(self, entity: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        body = super()._body(entity, {n: v for n, v in values.items() if n not in entity.lookups})
        for name, value in values.items():
            if name in entity.lookups:
                body.update(self._bind(entity, name, value))
        return body

    def _bind(self, entity: EntityInfo, name: str, value: Any) -> dict[str, Any]:
        targets = entity.lookups[name]
        text = (None if value is None else str(value).strip().lstrip("/")) or None  # blank: no record (BC's "")
        target = targets[0] if targets else name
        if text is not None and "(" in text:  # a value naming its table: contacts(<guid>)
            set_name = text.split("(", 1)[0]
            target = next((t for t in targets if self._set_of(t) == set_name), target)
        nav = f"{name}_{target}" if len(targets) > 1 and name not in entity.owners else name
        if text is None:
            return {f"{nav}@odata.bind": None}
        reference = text if "(" in text else f"{self._set_of(target)}({text})"
        return {f"{nav}@odata.bind": f"/{reference}"}

    def _by_self(self, entity: EntityInfo, rows: Sequence[Row]) -> Callable[[Row], bool] | None:
        """Rows whose ``_modifiedby_value`` is coupler's application user (asked of WhoAmI once, when a read first
        holds rows with a modifier; a refused WhoAmI only means that no record is marked)."""
        if "modifiedby" not in entity.columns or self._user_unknown or not any(r.get(_MODIFIED_BY) for r in rows):
            return None
        try:
            me = self.app_user_id()
        except PermanentConnectorError:
            self._user_unknown = True
            return None
        return lambda row: str(row.get(_MODIFIED_BY) or "").lower() == me

    def _params(self, entity: EntityInfo, spec: TableSpec, *args: Any, **kwargs: Any) -> dict[str, str]:
        params = super()._params(entity, spec, *args, **kwargs)
        if "modifiedby" in entity.columns and _MODIFIED_BY not in params["$select"].split(","):
            params["$select"] += f",{_MODIFIED_BY}"
        return params

    def _send_batch(self, parts: Sequence[BatchPart], *, what: str) -> list[PartResult]:
        root = self.client.base_url
        absolute = [BatchPart(method=p.method, url=root + p.url, headers=p.headers, body=p.body) for p in parts]
        content_type, body = encode_multipart(absolute)
        headers = {"Content-Type": content_type, "Prefer": "odata.continue-on-error"}
        response = self.client.request(
            "POST", "$batch", content=body, headers=headers, what=what, idempotent=reads_only(parts)
        )
        self.client.check(response, what=what)
        try:
            return decode_multipart(response.headers.get("content-type", ""), response.content)
        except ValueError as error:
            raise PermanentConnectorError(f"{self.display_name}: {what}: {error}") from None

    # inserts -----------------------------------------------------------------------------------------------
    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for row in rows for name in row}))
        keyed = [dict(row) for row in rows]
        for row, key in zip(keyed, self.new_keys(spec, len(keyed)) or [], strict=True):
            if row.get(entity.key) is None:
                row[entity.key] = key
        keys = [str(row[entity.key]) for row in keyed]
        errors: dict[int, tuple[str, str]] = {}
        what = f"creating records in {spec.table}"
        for start in range(0, len(keyed), self._batch_size):
            indexes = list(range(start, min(start + self._batch_size, len(keyed))))
            if self._create_multiple.get(spec.table, True):
                self._create_isolating(entity, spec, keyed, indexes, errors, what=what)
            else:
                self._create_batched(entity, spec, keyed, indexes, errors, what=what)
        results = [
            WriteResult(index=i, key=keys[i], error=errors[i][0], detail=errors[i][1])
            if i in errors
            else WriteResult(index=i, key=keys[i])
            for i in range(len(keyed))
        ]
        return self._restamp(spec, results, [i for i in range(len(keyed)) if i not in errors])

    def _create_isolating(
        self,
        entity: EntityInfo,
        spec: TableSpec,
        rows: Sequence[Mapping[str, Any]],
        indexes: list[int],
        errors: dict[int, tuple[str, str]],
        *,
        what: str,
    ) -> None:
        """CreateMultiple; a refused request is split in halves until each bad row stands alone."""
        targets = [
            {**self._body(entity, rows[i]), "@odata.type": f"Microsoft.Dynamics.CRM.{entity.type_name}"}
            for i in indexes
        ]
        response = self.client.request(
            "POST",
            f"{entity.entity_set}/Microsoft.Dynamics.CRM.CreateMultiple",
            json={"Targets": targets},
            what=what,
            idempotent=True,  # the keys are chosen in advance: a repeat fails as a duplicate, never creates twice
        )
        if response.is_success:
            return
        if response.status_code in _UNSUPPORTED:  # no CreateMultiple for this table: $batch from now on
            self._create_multiple[spec.table] = False
            self._create_batched(entity, spec, rows, indexes, errors, what=what)
            return
        if response.status_code >= 500:
            raise PermanentConnectorError(
                f"{self.display_name}: {what} failed: {response.status_code} {error_message(response)}"
            )
        if len(indexes) == 1:
            errors[indexes[0]] = (_reason(response, self.display_name), _detail(response))
            return
        middle = len(indexes) // 2
        self._create_isolating(entity, spec, rows, indexes[:middle], errors, what=what)
        self._create_isolating(entity, spec, rows, indexes[middle:], errors, what=what)

    def _create_batched(
        self,
        entity: EntityInfo,
        spec: TableSpec,
        rows: Sequence[Mapping[str, Any]],
        indexes: list[int],
        errors: dict[int, tuple[str, str]],
        *,
        what: str,
    ) -> None:
        parts = [BatchPart(method="POST", url=entity.entity_set, body=self._body(entity, rows[i])) for i in indexes]
        for index, outcome in zip(indexes, self._batches(parts, what=what), strict=True):
            if not outcome.ok:
                errors[index] = (self._part_error(spec, None, outcome), detail_of(outcome.status, outcome.body))

    # deletions ---------------------------------------------------------------------------------------------
    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        entity = self._entity(spec)
        if spec.table in self._untracked:
            return None
        headers = {"Prefer": "odata.track-changes, odata.maxpagesize=5000"}
        what = f"reading the changes of {spec.table}"
        params = {"$select": entity.prop(entity.key)}
        set_name, _, token = (cursor or "").partition(":")
        if token and set_name == entity.entity_set:
            delta = {**params, "$deltatoken": token}
            response = self.client.request("GET", entity.entity_set, params=delta, headers=headers, what=what)
            if response.status_code in (401, 403):
                self.client.check(response, what=what)  # not an expired token: coupler may not read the table
            if response.is_success:
                removed, link = self._follow(response, headers, what)
                return Deletions(keys=tuple(removed), cursor=_cursor(entity, link))
            # the token expired (or tracking was turned off and on): start over
        response = self.client.request("GET", entity.entity_set, params=params, headers=headers, what=what)
        if not response.is_success:
            self._untracked.add(spec.table)  # change tracking is not enabled for the table
            return None
        _, link = self._follow(response, headers, what)
        return Deletions(cursor=_cursor(entity, link), restarted=True)

    def _follow(self, response: httpx.Response, headers: Mapping[str, str], what: str) -> tuple[list[str], str | None]:
        """Page through a change-tracking answer: the ids of removed records and the delta link."""
        removed: list[str] = []
        delta: str | None = None
        answer = response.json()
        while True:
            for row in answer.get("value") or []:
                deleted = "$deletedEntity" in str(row.get("@odata.context", "")) or row.get("reason") == "deleted"
                if deleted and row.get("id"):
                    removed.append(str(row["id"]))
            if answer.get("@odata.deltaLink"):
                delta = str(answer["@odata.deltaLink"])
            link = answer.get("@odata.nextLink")
            if not link:
                return removed, delta
            answer = self.client.get_json(str(link), headers=headers, what=what)


def _cursor(entity: EntityInfo, delta_link: str | None) -> str | None:
    """``<entity set>:<delta token>`` from a delta link (None when the answer had none: the next call starts over)."""
    token = httpx.URL(delta_link).params.get("$deltatoken") if delta_link else None
    return f"{entity.entity_set}:{token}" if token else None


def _reason(response: httpx.Response, system: str) -> str:
    return f"{error_message(response)} ({system}, {response.status_code})"


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return detail_of(response.status_code, body)


def _plural(logical: str) -> str:
    if logical.endswith("y") and not logical.endswith(("ay", "ey", "oy", "uy")):
        return logical[:-1] + "ies"
    return logical + ("es" if logical.endswith(("s", "x", "ch", "sh")) else "s")
