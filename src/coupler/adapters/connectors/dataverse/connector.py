"""The Dataverse (Dynamics 365 Sales) connector, over the Web API v9.2.

- ``table`` is an entity set (``accounts``), ``key`` its primary id (``accountid``), ``modified_on`` ``modifiedon``.
  Column names are attribute logical names; a lookup (``ownerid``, ``parentcustomerid``) is read from
  ``_ownerid_value`` and written as ``<nav>@odata.bind: /systemusers(<guid>)``, ``<nav>`` learnt from the table's
  ManyToOneRelationships (``schema.py``). A multi-table lookup ``X`` has the column ``Xtype`` (its table's logical
  name, from the ``lookuplogicalname`` annotation): a row that sets it binds to that table; a value naming its
  table (``contacts(<guid>)``) does too; otherwise the lookup's first target. Choice values are integers (a
  choice's value as text, ``"100000001"``, is sent as the integer).
- A table ``<entity>.<attribute>`` (``account.paymenttermscode``) is that choice column's options
  (``option_sets.py``).
- Inserts: keys are chosen in advance (GUIDs). Whether a table has ``CreateMultiple`` is asked once
  (``sdkmessagefilters``); where it has, rows go in CreateMultiple requests of at most ``batch_size``, sent in
  parallel up to the requests allowed in flight (``ODataConnector._spread``), and since one bad row
  fails a whole request on standard tables, a refused request is split in halves until the bad rows stand alone.
  Where it has not, a ``$batch`` of POSTs with continue-on-error. A row's ``statecode``/``statuscode`` are set by
  a PATCH after the create (``rows.py``); a product's missing default unit is its unit group's base unit; a
  currency gets Business Central's symbol and precision defaults.
- Updates and deletes: ``$batch`` of PATCH / DELETE with continue-on-error; each PATCH carries ``If-Match`` (the
  record's ETag when it was read, else ``*``, which also stops an update from creating a record).
- Deletions: change tracking (``<entity set>:<delta token>`` cursors), see ``deletions``.
- Webhooks: ``SendsNotifications`` (``webhooks.py``): a webhook endpoint and steps on Create/Update/Delete.
- Echo: every record read says whether coupler's own application user (``WhoAmI``, asked once) made its last
  change (``Record.modified_by_self``, from ``_modifiedby_value``), so the engine recognises its own writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from coupler.adapters.connectors.dataverse import preflight as checks
from coupler.adapters.connectors.dataverse.option_sets import OptionSetTable, is_option_set, option_set_entity
from coupler.adapters.connectors.dataverse.rows import STATE, currency_row, guid_of, split_state
from coupler.adapters.connectors.dataverse.schema import (
    ANNOTATION,
    entity_of,
    navigation_names,
    navigation_of,
    type_columns,
)
from coupler.adapters.connectors.dataverse.webhooks import DataverseWebhooks
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
from coupler.domain.errors import ConfigurationError, CouplerError, PermanentConnectorError
from coupler.domain.mapping import Condition, TableSpec
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult
from coupler.ports.connector import Deletions, Finding

__all__ = ["API_PATH", "HEADERS", "DataverseConnector"]

API_PATH = "/api/data/v9.2/"
HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
_UNSUPPORTED = {404, 405, 501}
_MODIFIED_BY = "_modifiedby_value"
_INTEGER = re.compile(r"^-?\d+$")
_ORGANIZATION = (
    "organizationid,_basecurrencyid_value,currencydecimalprecision,languagecode,"
    "createproductswithoutparentinactivestate"
)


class DataverseConnector(DataverseWebhooks, ODataConnector):
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
        self._navigations: dict[str, dict[tuple[str, str], str]] = {}  # logical name -> (attribute, target) -> nav
        self._untracked: set[str] = set()
        self._user_id: str | None = None
        self._user_unknown = False  # WhoAmI was refused: records are not marked

    # system ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        self.app_user_id()

    def record_url(self, spec: TableSpec, key: str) -> str | None:
        """The record's form in the Dynamics 365 web client: ``<org>/main.aspx?pagetype=entityrecord&etn=...``."""
        if is_option_set(spec.table):
            return None
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

    def organization(self) -> Mapping[str, Any]:
        """The organization's settings: base currency, currency precision, language, how products start."""
        answer = self._known_json(
            "organizations", params={"$select": _ORGANIZATION}, what="reading the organization's settings"
        )
        rows = answer.get("value") if isinstance(answer, dict) else None
        return dict(rows[0]) if rows else {}

    def _setting(self, name: str) -> Any:
        """One of the organization's settings, or None when the organization cannot be read (a service without
        ``organizations``: Business Central's defaults are then left to the service)."""
        try:
            return self.organization().get(name)
        except PermanentConnectorError:
            return None

    def preflight(self, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
        """Sign-in, base currency, how products start, CreateMultiple for the mapped ``tables``, Business Central's
        company table (needed where a mapping names ``bcbi_companyid``)."""
        return checks.findings(self, tables)

    # metadata ----------------------------------------------------------------------------------------------
    def refresh_metadata(self) -> None:
        super().refresh_metadata()
        self._sets.clear()
        self._create_multiple.clear()
        self._navigations.clear()
        self._user_id = None
        self._user_unknown = False

    def _load_entity(self, table: str) -> EntityInfo | None:
        if is_option_set(table):
            return option_set_entity(table)
        params = {
            "$filter": f"EntitySetName eq {literal(table)}",
            "$select": "LogicalName,PrimaryIdAttribute,EntitySetName",
        }
        found = self._known_json("EntityDefinitions", params=params, what=f"reading the metadata of {table}")
        definitions = found.get("value") if isinstance(found, dict) else None
        if not definitions:
            return None
        logical, key = str(definitions[0]["LogicalName"]), str(definitions[0]["PrimaryIdAttribute"])
        self._sets[logical] = table
        answer = self._known_json(
            f"EntityDefinitions(LogicalName={literal(logical)})/Attributes", what=f"reading the columns of {table}"
        )
        entity = entity_of(table, logical, key, list(answer.get("value") or []))
        if key not in entity.columns:
            raise PermanentConnectorError(f"{self.display_name}: the metadata of {table} lacks its key column {key}")
        return entity

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

    def _navigation(self, entity: EntityInfo) -> dict[tuple[str, str], str]:
        """The table's navigation properties, learnt once from its ManyToOneRelationships."""
        if entity.type_name not in self._navigations:
            answer = self._known_json(
                f"EntityDefinitions(LogicalName={literal(entity.type_name)})/ManyToOneRelationships",
                params={"$select": "ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName"},
                what=f"reading the relationships of {entity.entity_set}",
            )
            self._navigations[entity.type_name] = navigation_names(answer)
        return self._navigations[entity.type_name]

    def _supports_create_multiple(self, entity: EntityInfo) -> bool | None:
        """Whether the table has CreateMultiple (learn.microsoft.com/power-apps/developer/data-platform/
        bulk-operations, "Availability with standard tables"); None when the service does not say."""
        if entity.entity_set not in self._create_multiple:
            params = {
                "$select": "sdkmessagefilterid",
                "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
                "@message": "'CreateMultiple'",
                "@table": literal(entity.type_name),
            }
            try:
                answer = self._known_json(
                    "sdkmessagefilters", params=params, what=f"asking whether {entity.entity_set} has CreateMultiple"
                )
            except PermanentConnectorError:
                return None
            self._create_multiple[entity.entity_set] = bool(answer.get("value")) if isinstance(answer, dict) else False
        return self._create_multiple[entity.entity_set]

    # hooks -------------------------------------------------------------------------------------------------
    def _collection(self, entity: EntityInfo) -> str:
        return entity.entity_set

    def _virtual(self, entity: EntityInfo) -> dict[str, str]:
        """The type columns (``parentcustomeridtype`` -> ``parentcustomerid``): read from an annotation, checked
        per row, never selected nor sent in a ``$filter``."""
        return {kind: lookup for lookup, kind in type_columns(entity.lookups).items()}

    def _to_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        info = entity.columns.get(column)
        if info is not None and info.type == "integer" and isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value)  # a choice's value as text ("100000001", the key of an option-set table)
        return value

    def _term(self, entity: EntityInfo, condition: Condition) -> str:
        return "" if condition.field in self._virtual(entity) else super()._term(entity, condition)

    def _equals(self, entity: EntityInfo, name: str, values: Sequence[Any], case_sensitive: bool) -> str:
        return "" if name in self._virtual(entity) else super()._equals(entity, name, values, case_sensitive)

    def _params(self, entity: EntityInfo, spec: TableSpec, *args: Any, **kwargs: Any) -> dict[str, str]:
        params = super()._params(entity, spec, *args, **kwargs)
        selected = params["$select"].split(",")
        if "modifiedby" in entity.columns and _MODIFIED_BY not in selected:
            selected.append(_MODIFIED_BY)
        for kind, lookup in self._virtual(entity).items():  # the annotation comes with the lookup
            if entity.prop(kind) in selected:
                selected[selected.index(entity.prop(kind))] = entity.prop(lookup)
        params["$select"] = ",".join(dict.fromkeys(selected))
        return params

    def _prefer(self, params: Mapping[str, str], page_size: int) -> str:
        prefer = super()._prefer(params, page_size)
        selected = set(params.get("$select", "").split(","))
        multi = any(
            f"_{lookup}_value" in selected
            for entity in self._entities.values()
            if entity is not None
            for lookup in type_columns(entity.lookups)
        )
        return f'{prefer},odata.include-annotations="{ANNOTATION}"' if multi else prefer

    def _body(self, entity: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        virtual = self._virtual(entity)
        plain = {n: v for n, v in values.items() if n not in entity.lookups and n not in virtual}
        body = super()._body(entity, plain)
        for name, value in values.items():
            if name in entity.lookups:
                body.update(self._bind(entity, name, value, values.get(f"{name}type")))
        return body

    def _bind(self, entity: EntityInfo, name: str, value: Any, kind: Any = None) -> dict[str, Any]:
        targets = entity.lookups[name]
        text = (None if value is None else str(value).strip().lstrip("/")) or None  # blank: no record (BC's "")
        target = str(kind) if kind and str(kind) in targets else (targets[0] if targets else name)
        if text is not None and "(" in text:  # a value naming its table: contacts(<guid>)
            set_name = text.split("(", 1)[0]
            target = next((t for t in targets if self._set_of(t) == set_name), target)
        nav = navigation_of(self._navigation(entity), name, target)
        if nav is None:
            raise ConfigurationError(
                f"{self.display_name} declares no relationship for the lookup {name!r} of {entity.entity_set} to "
                f"{target!r} (ManyToOneRelationships): it cannot be written"
            )
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

    # option sets -------------------------------------------------------------------------------------------
    def _options(self, spec: TableSpec) -> OptionSetTable | None:
        if not is_option_set(spec.table):
            return None
        self._entity(spec)
        language = self._setting("languagecode")
        return OptionSetTable(
            self.client, spec.table, display_name=self.display_name, language=lambda: int(language or 1033)
        )

    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        options = self._options(spec)
        if options is None:
            return super().read(spec, keys, columns=columns)
        found = {r.key: r for r in options.records(TableSpec(table=spec.table, key="value"), columns)}
        return [found[k] for k in dict.fromkeys(keys) if k in found]

    def changed_since(
        self, spec: TableSpec, since: ChangeCursor | None, *, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        """An option set has no modified-on: every read answers all its options (a cursor changes nothing; the
        engine writes nothing for the options already synchronized)."""
        options = self._options(spec)
        if options is None:
            return super().changed_since(spec, since, columns=columns, page_size=page_size)
        records = options.records(spec, columns)
        return iter([records[i : i + page_size] for i in range(0, len(records), max(page_size, 1))])

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        options = self._options(spec)
        if options is None:
            return super().find(spec, criteria, columns=columns, limit=limit, case_sensitive=case_sensitive)
        return options.find(spec, criteria, columns, limit)

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        options = self._options(spec)
        if options is None:
            return super().find_any(spec, field, values, columns=columns, case_sensitive=case_sensitive)
        fold = field == "label"
        wanted = {str(v).casefold() if fold else str(v) for v in values if v is not None}
        records = options.records(spec, [*columns, field])
        chosen = [r for r in records if (str(r.values.get(field) or "").casefold() if fold else r.key) in wanted]
        return [Record(key=r.key, modified_on=None, values={c: r.values.get(c) for c in columns}) for r in chosen]

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        options = self._options(spec)
        return super().delete(spec, keys) if options is None else options.delete(keys)

    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        if is_option_set(spec.table):
            return None
        return self._deletions(spec, cursor)

    # inserts -----------------------------------------------------------------------------------------------
    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        options = self._options(spec)
        if options is not None:
            return options.insert(rows)
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for row in rows for name in row}))
        keyed: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        for row in self._prepared(entity, rows, creating=True):
            sent, state = split_state(row)
            keyed.append(sent)
            states.append(state)
        for row, key in zip(keyed, self.new_keys(spec, len(keyed)) or [], strict=True):
            if row.get(entity.key) is None:
                row[entity.key] = key
        keys = [str(row[entity.key]) for row in keyed]
        errors: dict[int, tuple[str, str]] = {}
        what = f"creating records in {spec.table}"
        if self._supports_create_multiple(entity) is not False:  # CreateMultiple requests in parallel (``_spread``)
            size = self._spread(len(keyed))
            chunks = [list(range(start, min(start + size, len(keyed)))) for start in range(0, len(keyed), size)]

            def create(indexes: list[int]) -> dict[int, tuple[str, str]]:
                refused: dict[int, tuple[str, str]] = {}
                self._create_isolating(entity, spec, keyed, indexes, refused, what=what)
                return refused

            for refused in self.client.parallel(create, chunks):
                errors.update(refused)
        else:
            self._create_batched(entity, spec, keyed, list(range(len(keyed))), errors, what=what)
        created = [i for i in range(len(keyed)) if i not in errors]
        self._set_states(entity, spec, {keys[i]: (i, states[i]) for i in created if states[i]}, errors)
        results = [
            WriteResult(index=i, key=keys[i], error=errors[i][0], detail=errors[i][1])
            if i in errors
            else WriteResult(index=i, key=keys[i])
            for i in range(len(keyed))
        ]
        return self._restamp(spec, results, [i for i in range(len(keyed)) if i not in errors])

    def _set_states(
        self,
        entity: EntityInfo,
        spec: TableSpec,
        wanted: Mapping[str, tuple[int, Mapping[str, Any]]],
        errors: dict[int, tuple[str, str]],
    ) -> None:
        """PATCH the state the rows asked for where the service chose another (SetState through the Web API)."""
        if not wanted:
            return
        names = [n for n in STATE if n in entity.columns]
        current = {r.key: r.values for r in super().read(spec, list(wanted), columns=names)}
        updates, indexes = [], []
        for key, (index, state) in wanted.items():
            if any(current.get(key, {}).get(n) != v for n, v in state.items()):
                updates.append(RecordUpdate(key=key, values=dict(state)))
                indexes.append(index)
        for index, result in zip(indexes, super().update(spec, updates), strict=True):
            if result.error:
                errors[index] = (f"created, but its state could not be set: {result.error}", result.detail or "")

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
        if response.status_code in _UNSUPPORTED:  # the service said nothing and has no CreateMultiple here
            self._create_multiple[entity.entity_set] = False
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

    # updates -----------------------------------------------------------------------------------------------
    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        options = self._options(spec)
        if options is not None:
            return options.update(updates)
        entity = self._entity(spec)
        isos = self._iso_codes(entity, spec, updates)
        prepared = self._prepared(entity, [u.values for u in updates], creating=False, isos=isos)
        fresh = [
            RecordUpdate(key=u.key, values=values, version=u.version)
            for u, values in zip(updates, prepared, strict=True)
        ]
        return super().update(spec, fresh)

    def _prepared(
        self,
        entity: EntityInfo,
        rows: Sequence[Mapping[str, Any]],
        *,
        creating: bool,
        isos: Sequence[str | None] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows with what Business Central's subscribers add (``rows.py``) and a product's base unit."""
        prepared = [dict(r) for r in rows]
        if entity.type_name == "transactioncurrency":
            precision = self._setting("currencydecimalprecision")
            prepared = [
                currency_row(r, precision=precision, creating=creating, iso=isos[i] if isos else None)
                for i, r in enumerate(prepared)
            ]
        if "defaultuomid" in entity.lookups and "defaultuomscheduleid" in entity.lookups:
            for row in prepared:
                group = guid_of(row.get("defaultuomscheduleid"))
                if group and row.get("defaultuomid") is None:
                    row["defaultuomid"] = self._base_unit(group)
        return prepared

    def _iso_codes(self, entity: EntityInfo, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[str | None]:
        """The ISO code of each currency whose update blanks its symbol without naming its code."""
        if entity.type_name != "transactioncurrency":
            return [None] * len(updates)
        missing = [
            u.key
            for u in updates
            if "currencysymbol" in u.values
            and not str(u.values["currencysymbol"] or "").strip()
            and not u.values.get("isocurrencycode")
        ]
        codes = {
            r.key: r.values.get("isocurrencycode") for r in super().read(spec, missing, columns=["isocurrencycode"])
        }
        return [codes.get(u.key) for u in updates] if missing else [None] * len(updates)

    def _base_unit(self, group: str) -> str | None:
        """The base unit of a unit group (Business Central's ITEM-PRODUCT writes both, BCApps
        ``CRMSynchHelper.GetValidCRMUnitOfMeasureRecords``)."""
        params = {
            "$select": "uomid",
            "$filter": f"_uomscheduleid_value eq {group} and isschedulebaseuom eq true",
        }
        answer = self.client.get_json("uoms", params=params, what="finding the base unit of a unit group")
        found = answer.get("value") if isinstance(answer, dict) else None
        return str(found[0]["uomid"]) if found else None

    # deletions ---------------------------------------------------------------------------------------------
    def _deletions(self, spec: TableSpec, cursor: str | None) -> Deletions | None:
        """Change tracking. Without a cursor, the table's keys are read with ``Prefer: odata.track-changes``: no
        keys, a cursor (``<entity set>:<delta token>``, kept by the engine). With the cursor, the delta: the removed
        ids and the next cursor. An expired token (or another table's cursor) starts over. The cursor holds no URL:
        the delta request is always built against the configured service."""
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
