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
- The local currency: ``currencies`` holds one more, read-only row for the LCY (``currency.py``), so that a
  local-currency customer's ``currencyCode`` finds a currency like any other.
- Computed columns (``computed.py``): ``currencies.exchangeRate`` (``currency.py``) and ``contacts.customerNumber`` /
  ``vendorNumber`` (``contacts.py``) are described and read like the entity's own, never sent to the service.
- A salesperson created without a code gets Business Central's next ``SP NO. 0000n`` (``salespeople.py``).
- ``preflight()`` says what the environment lacks (``preflight.py``).
- Webhooks (``SendsNotifications``: subscriptions, the handshake, notifications) are in ``webhooks.py``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from itertools import chain
from typing import Any

from coupler.adapters.connectors.business_central.computed import ComputedColumn, Kept, NotWritable
from coupler.adapters.connectors.business_central.contacts import RelatedNumber, Relations
from coupler.adapters.connectors.business_central.currency import (
    ExchangeRate,
    LocalCurrency,
    lcy_row,
    rates_per_lcy,
)
from coupler.adapters.connectors.business_central.edmx import parse_edmx
from coupler.adapters.connectors.business_central.preflight import findings
from coupler.adapters.connectors.business_central.salespeople import next_codes
from coupler.adapters.connectors.business_central.webhooks import BusinessCentralWebhooks
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.answers import rows_of
from coupler.adapters.connectors.odata.batch import (
    BatchPart,
    PartResult,
    decode_json_batch,
    encode_json_batch,
    reads_only,
)
from coupler.adapters.connectors.odata.connector import ODataConnector, only_columns, same_value
from coupler.adapters.connectors.odata.entity import EntityInfo, Row
from coupler.adapters.connectors.odata.enums import decode_name, encode_name
from coupler.adapters.connectors.odata.query import is_guid, with_blank
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import Condition, Operator, TableSpec
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult
from coupler.ports.connector import Finding

__all__ = ["BusinessCentralConnector"]

HEADERS = {"Accept": "application/json"}
ALTERNATE_KEYS = ("number", "code")
"""The fields that name a record of an API v2.0 entity besides its ``id`` (No. or Code), first found first."""

BLANK_GUID = "00000000-0000-0000-0000-000000000000"
"""A blank GUID field as the API returns it (``customers.currencyId`` of a local-currency customer: APIV2Customers'
``BlankGUID``, BCApps ``src/Apps/W1/APIV2/app/src/pages/APIV2Customers.Page.al``)."""


class BusinessCentralConnector(BusinessCentralWebhooks, ODataConnector):
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
        local_currency: str | None = None,
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
        self._lcy_setting = (local_currency or "").strip().upper() or None
        self._lcy: LocalCurrency | None = None
        self._lcy_learnt = False
        self.today: Callable[[], date] = lambda: datetime.now(UTC).date()
        """The work date exchange rates are taken at (tests set it)."""
        self._rates = Kept(self._load_rates)
        self._relations: dict[str, Kept[Relations]] = {
            kind: Kept(partial(self._load_relations, kind)) for kind in ("customer", "vendor")
        }
        self._computed: dict[str, dict[str, ComputedColumn]] = {
            "currencies": {"exchangeRate": ExchangeRate(self._rates.get, self.local_currency)},
            "contacts": {
                kind + "Number": RelatedNumber(kind, self._relations[kind].get, self._company_of)
                for kind in ("customer", "vendor")
            },
        }

    # system ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        """One request to the service, whatever is kept about it: the company (found by name once)."""
        self.client.get_json(f"companies({self.company_id()})", params={"$select": "id"}, what="reaching the company")

    @property
    def company(self) -> str:
        """The company as the settings name it."""
        return self._company

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
        self._lcy, self._lcy_learnt = None, False
        self._rates.forget()
        for kept in self._relations.values():
            kept.forget()

    def entity_sets(self) -> Mapping[str, EntityInfo]:
        """The entity sets ``$metadata`` declares (API v2.0 of this environment's version)."""
        if self._metadata is None:
            content = self._known_text("$metadata", what="reading $metadata")
            try:
                self._metadata = parse_edmx(content.encode("utf-8"))
            except ET.ParseError as error:
                raise PermanentConnectorError(f"{self.display_name}: $metadata is not valid XML: {error}") from None
        return self._metadata

    def _load_entity(self, table: str) -> EntityInfo | None:
        entity = self.entity_sets().get(table)
        computed = self._computed.get(table)
        if entity is None or not computed:
            return entity
        return replace(entity, columns={**entity.columns, **{n: c.info for n, c in computed.items()}})

    # the company's set-up ------------------------------------------------------------------------------------
    @property
    def setting_lcy(self) -> str | None:
        """The LCY code the settings give (``local_currency``), or None."""
        return self._lcy_setting

    def local_currency(self) -> LocalCurrency | None:
        """The LCY (``currency.py``): General Ledger Setup's, else Company Information's; the settings'
        ``local_currency`` wins. None when none can be learnt."""
        if not self._lcy_learnt:
            self._lcy, self._lcy_learnt = self._learn_lcy(), True
        return self._lcy

    def _learn_lcy(self) -> LocalCurrency | None:
        sets = self.entity_sets()
        learnt: LocalCurrency | None = None
        for name, code_field, source in (
            ("generalLedgerSetup", "localCurrencyCode", "General Ledger Setup"),
            ("companyInformation", "currencyCode", "Company Information"),
        ):
            if name not in sets:
                continue
            answer = self._known_json(f"companies({self.company_id()})/{name}", what=f"reading the {source}")
            rows = rows_of(answer, self.display_name) if isinstance(answer, dict) and "value" in answer else [answer]
            row = rows[0] if rows and isinstance(rows[0], dict) else {}
            code = str(row.get(code_field) or "").strip()
            if code:
                learnt = LocalCurrency(code=code, symbol=str(row.get("localCurrencySymbol") or ""), source=source)
                break
        if self._lcy_setting is None:
            return learnt
        symbol = learnt.symbol if learnt is not None and learnt.code == self._lcy_setting else ""
        return LocalCurrency(code=self._lcy_setting, symbol=symbol, source="coupler's settings")

    def _load_rates(self) -> dict[str, float]:
        entity = self._entity_or_none("currencyExchangeRates")
        if entity is None:
            return {}
        names = "currencyCode,startingDate,exchangeRateAmount,relationalCurrencyCode,relationalExchangeRateAmount"
        params = {"$select": names, "$filter": "relationalCurrencyCode eq ''"}
        rows = chain.from_iterable(
            self._pages(self._collection(entity), params, self.max_page_size, what="reading currencyExchangeRates")
        )
        return rates_per_lcy(rows, self.today())

    def _load_relations(self, kind: str) -> Relations:
        """Every customer's (or vendor's) ``contactsInformation``, in ``$batch``es of up to 100 GETs."""
        relations = Relations(kind=kind)
        entity = self._entity_or_none(kind + "s")
        if entity is None:
            return relations
        what = f"reading the contacts of each {kind}"
        params = {"$select": "id,number"}
        related = [
            r for page in self._pages(self._collection(entity), params, self.max_page_size, what=what) for r in page
        ]
        parts = [
            BatchPart(method="GET", url=f"{self._collection(entity)}({r['id']})/contactsInformation") for r in related
        ]
        for row, outcome in zip(related, self._batches(parts, what=what), strict=True):
            if outcome.ok and isinstance(outcome.body, dict):
                relations.add(str(row.get("number") or ""), rows_of(outcome.body, self.display_name))
        return relations

    def _company_of(self, contact: str) -> str | None:
        entity = self._entity_or_none("contacts")
        if entity is None:
            return None
        params = {"$select": "number,companyNumber", "$filter": f"number eq '{contact.replace(chr(39), chr(39) * 2)}'"}
        for page in self._pages(self._collection(entity), params, 1, what="reading a contact's company"):
            for row in page:
                return str(row.get("companyNumber") or "") or None
        return None

    # hooks -------------------------------------------------------------------------------------------------
    def _collection(self, entity: EntityInfo) -> str:
        return f"companies({self.company_id()})/{entity.entity_set}"

    def _to_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        if column in entity.enums and isinstance(value, str):
            return encode_name(value)  # " " -> "_x0020_" (learn.microsoft.com/.../business-central/power-bi-faq)
        if value is None and self._is_reference(entity, column):
            return BLANK_GUID
        return value

    def _from_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        if column in entity.enums and isinstance(value, str):
            return decode_name(value)
        if value == BLANK_GUID and self._is_reference(entity, column):
            return None  # no record: a blank paymentTermsId is a Dataverse lookup's null, and null is written blank
        return value

    def _is_reference(self, entity: EntityInfo, column: str) -> bool:
        """A GUID column other than the key: an id that refers to another record (``paymentTermsId``)."""
        info = entity.columns.get(column)
        return info is not None and info.type == "uuid" and column != entity.key

    def _row_conditions(self, entity: EntityInfo, spec: TableSpec) -> tuple[Condition, ...]:
        """A reference's blank GUID is read as null, so each row is checked against the filter as written."""
        return tuple(
            c if self._is_reference(entity, c.field) else with_blank(c, self._blank(entity, c.field))
            for c in spec.filter
        )

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
        if condition.field in self._computed.get(entity.entity_set, {}):
            return ""  # a computed column is not the service's: the check of each row decides
        return super()._term(entity, condition)

    def _equals(self, entity: EntityInfo, name: str, values: Sequence[Any], case_sensitive: bool) -> str:
        if name in self._computed.get(entity.entity_set, {}):
            return ""
        return super()._equals(entity, name, values, case_sensitive)

    def _params(
        self,
        entity: EntityInfo,
        spec: TableSpec,
        columns: Sequence[str],
        extra: Sequence[str],
        *,
        order: Sequence[str],
        filtered: bool = True,
    ) -> dict[str, str]:
        params = super()._params(entity, spec, columns, extra, order=order, filtered=filtered)
        computed = self._computed.get(entity.entity_set, {})
        if computed:
            selected = params["$select"].split(",")
            needs = [n for c in computed.values() if c.name in selected for n in c.needs]
            params["$select"] = ",".join(dict.fromkeys([n for n in selected if n not in computed] + needs))
        return params

    def _records(
        self, entity: EntityInfo, spec: TableSpec, rows: Sequence[Row], columns: Sequence[str], *, apply_filter: bool
    ) -> list[Record]:
        computed = self._computed.get(entity.entity_set, {})
        wanted = {*columns, *(c.field for c in spec.filter)}
        filling = [c for name, c in computed.items() if name in wanted]
        if filling and rows:
            rows = [dict(row) for row in rows]
            for column in filling:
                column.fill(rows)  # type: ignore[arg-type]
        return super()._records(entity, spec, rows, columns, apply_filter=apply_filter)

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
        """POSTs in ``$batch``es. A computed column written becomes the entity's own (``customerNumber`` ->
        ``companyNumber``); a salesperson without a code gets the next ``SP NO. 0000n`` (``salespeople.py``)."""
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for row in rows for name in row}))
        prepared = [self._own_values(entity, row) for row in rows]
        if entity.entity_set == "salespeoplePurchasers":
            self._give_codes(entity, [values for values in prepared if isinstance(values, dict)])
        sent = [index for index, values in enumerate(prepared) if isinstance(values, dict)]
        parts = []
        for index in sent:
            values = dict(prepared[index])  # type: ignore[arg-type]
            if values.get(entity.key) is None:
                values.pop(entity.key, None)
            parts.append(BatchPart(method="POST", url=self._collection(entity), body=self._body(entity, values)))
        outcomes = self._batches(parts, what=f"creating records in {spec.table}") if parts else []
        keys = [None if rows[i].get(entity.key) is None else str(rows[i][entity.key]) for i in sent]
        results = self._results(entity, spec, keys, outcomes)
        refused = {i: _refused(i, spec, None, v) for i, v in enumerate(prepared) if isinstance(v, str)}
        self._written(entity, rows)
        return _merged(len(rows), refused, sent, results)

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for u in updates for name in u.values}))
        virtual = {r.key.lower(): r for r in self._virtual_records(entity, spec, [], apply_filter=False)}
        refused: dict[int, WriteResult] = {}
        sent: list[int] = []
        own: list[RecordUpdate] = []
        for index, change in enumerate(updates):
            values = (
                self._read_only(entity) if change.key.lower() in virtual else self._own_values(entity, change.values)
            )
            if isinstance(values, str):
                refused[index] = _refused(index, spec, change.key, values)
            else:
                sent.append(index)
                own.append(replace(change, values=values))
        results = super().update(spec, own) if own else []
        self._written(entity, [u.values for u in updates])
        return _merged(len(updates), refused, sent, results)

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        entity = self._entity(spec)
        virtual = {r.key.lower() for r in self._virtual_records(entity, spec, [], apply_filter=False)}
        refused = {i: _refused(i, spec, k, self._read_only(entity)) for i, k in enumerate(keys) if k.lower() in virtual}
        sent = [i for i in range(len(keys)) if i not in refused]
        results = super().delete(spec, [keys[i] for i in sent]) if sent else []
        return _merged(len(keys), refused, sent, results)

    def _own_values(self, entity: EntityInfo, row: Mapping[str, Any]) -> dict[str, Any] | str:
        """The row with its computed columns turned into the entity's own, or why it cannot be written."""
        computed = self._computed.get(entity.entity_set, {})
        values = {name: value for name, value in row.items() if name not in computed}
        for name in computed.keys() & row.keys():
            try:
                values.update(computed[name].written(row[name], row))
            except NotWritable as refusal:
                return str(refusal)
        return values

    def _read_only(self, entity: EntityInfo) -> str:
        lcy = self.local_currency()
        return lcy.read_only_message() if lcy is not None else f"this {entity.entity_set} record is read-only"

    def _written(self, entity: EntityInfo, rows: Sequence[Mapping[str, Any]]) -> None:
        """Forget the contacts' relations once a write may have changed them (a contact put under a customer)."""
        if entity.entity_set == "contacts" and any("customerNumber" in r or "vendorNumber" in r for r in rows):
            for kept in self._relations.values():
                kept.forget()

    def _give_codes(self, entity: EntityInfo, rows: list[dict[str, Any]]) -> None:
        without = [row for row in rows if not str(row.get("code") or "").strip()]
        if not without:
            return
        params = {"$select": "code", "$filter": "startswith(code,'SP NO. 0')"}
        pages = self._pages(self._collection(entity), params, self.max_page_size, what="reading salesperson codes")
        existing = [str(r.get("code") or "") for page in pages for r in page]
        for row, code in zip(without, next_codes(existing, len(without)), strict=True):
            row["code"] = code

    # rows the service does not hold ------------------------------------------------------------------------
    def _virtual_records(
        self, entity: EntityInfo, spec: TableSpec, columns: Sequence[str], *, apply_filter: bool = True
    ) -> list[Record]:
        """The LCY's row of ``currencies`` (``currency.py``), as a record of ``spec`` (filtered unless not
        ``apply_filter``)."""
        if entity.entity_set != "currencies":
            return []
        lcy = self.local_currency()
        if lcy is None:
            return []
        return self._records(entity, spec, [lcy_row(lcy, BLANK_GUID)], columns, apply_filter=apply_filter)

    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        entity = self._entity(spec)
        virtual = {r.key.lower(): r for r in self._virtual_records(entity, spec, columns, apply_filter=False)}
        real = [key for key in keys if key.lower() not in virtual]
        found = {r.key: r for r in (super().read(spec, real, columns=columns) if real else [])}
        out = []
        for key in dict.fromkeys(keys):
            record = virtual.get(key.lower()) or found.get(key)
            if record is not None:
                out.append(record)
        return out

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        found = super().find(spec, criteria, columns=columns, limit=limit, case_sensitive=case_sensitive)
        entity = self._entity(spec)
        wanted = {name: self._blank(entity, name) if v is None else v for name, v in criteria.items()}
        for record in self._virtual_records(entity, spec, [*columns, *wanted]):
            if len(found) < limit and all(
                same_value(record.values.get(n), v, case_sensitive) for n, v in wanted.items()
            ):
                found.append(only_columns(record, columns))
        return found

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        found = super().find_any(spec, field, values, columns=columns, case_sensitive=case_sensitive)
        entity = self._entity(spec)
        virtual = [
            only_columns(record, columns)
            for record in self._virtual_records(entity, spec, [*columns, field])
            if any(same_value(record.values.get(field), v, case_sensitive) for v in values if v is not None)
        ]
        return sorted([*found, *virtual], key=lambda r: r.key) if virtual else found

    def changed_since(
        self, spec: TableSpec, since: ChangeCursor | None, *, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        """The service's changed records, after the LCY's row of ``currencies`` on a full read (it is stamped
        2000-01-01, before any cursor), in pages of ``page_size`` as the service's (a short page is the last)."""
        pages = super().changed_since(spec, since, columns=columns, page_size=page_size)
        entity = self._entity(spec)
        first = [
            record
            for record in self._virtual_records(entity, spec, columns)
            if since is None or (record.modified_on is not None and record.modified_on > since.stamp)
        ]
        return _repaged(first, pages, page_size) if first else pages

    # preflight -----------------------------------------------------------------------------------------------
    def preflight(self, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
        """The tenant's API version, entities and set-up, in a Business Central administrator's words
        (``preflight.py``); ``tables``: entity set -> the properties the configuration maps."""
        return findings(self, tables)


def _repaged(first: list[Record], pages: Iterator[list[Record]], size: int) -> Iterator[list[Record]]:
    """``first`` and then the records of ``pages``, in pages of ``size`` (only the last one shorter)."""
    buffer = list(first)
    for page in pages:
        buffer.extend(page)
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer


def _refused(index: int, spec: TableSpec, key: str | None, message: str) -> WriteResult:
    return WriteResult(index=index, key=key, error=f"{message} ({spec.table})", retryable=False)


def _merged(
    total: int, refused: Mapping[int, WriteResult], sent: Sequence[int], results: Sequence[WriteResult]
) -> list[WriteResult]:
    """One result per row, in order: the refused ones and those of the rows sent (re-indexed)."""
    out = dict(refused)
    for index, result in zip(sent, results, strict=True):
        out[index] = replace(result, index=index)
    return [out[index] for index in range(total)]
