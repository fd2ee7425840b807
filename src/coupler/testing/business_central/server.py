"""A local Business Central API v2.0 over a SQLite database (the demo's erp.db, for instance).

``business_central_app(db_url, companies=[BcCompany(...)], tables={"customers": BcTable(...), ...})`` serves
``/v2.0/<tenant>/<environment>/api/v2.0/companies(<id>)/<entityset>`` (and ``/<instance>/api/v2.0/...`` as
on-premises does): reads with $select/$filter/$orderby/$top and server-driven paging, POST/PATCH (If-Match
required)/DELETE with ETags, JSON ``$batch``, ``$metadata`` and the faults of ``Faults``. All companies share
the one database. Enum values travel encoded (``_x0020_``) and ``null`` is refused in ``$filter``, as
``values.py`` says and why.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from coupler.testing.auth import Authenticator, check_auth
from coupler.testing.business_central import batch as business_central_batch
from coupler.testing.business_central import metadata as business_central_metadata
from coupler.testing.business_central.rules import BcRules, TenantRules
from coupler.testing.business_central.values import StrictFilter, served, stored
from coupler.testing.business_central.webhooks import BcHooks, HookSettings, subscription_key
from coupler.testing.faults import Faults, fault_middleware
from coupler.testing.odata.http import ODataError, Request, Response, asgi_app, json_response, prefer
from coupler.testing.odata.keys import parse_path
from coupler.testing.odata.query import decode_cookie, encode_cookie, fetch_page, parse_query
from coupler.testing.odata.store import Store, StoreError, TableMeta
from coupler.testing.odata.tables import BcCompany, BcTable
from coupler.testing.service_model import ServiceModel

__all__ = ["BusinessCentralServer", "business_central_app"]

MAX_PAGE_SIZE = 20000
ROOT = re.compile(r"^(?:/v2\.0/[^/]+/[^/]+|/[^/]+)?/api/v2\.0(?=/|$)")
_COMPANY = re.compile(r"^companies\((?P<id>[^)]*)\)(?:/(?P<rest>.*))?$")


def business_central_app(
    db_url: str,
    *,
    companies: Sequence[BcCompany],
    tables: Mapping[str, BcTable],
    faults: Faults | None = None,
    auth: Authenticator | None = None,
    rules: BcRules | None = None,
    hooks: HookSettings | None = None,
    model: ServiceModel | None = None,
) -> Any:
    """The ASGI app; ``hooks`` sets how its webhook notifications are sent (``webhooks.py``: the service's delays
    by default); ``auth`` (a ``TokenIssuer``, ``BasicAuth`` or ``AnyOf``) makes it require credentials;
    ``rules`` turns on what a real company does beyond storing rows (``rules.py``: the LCY on customers, number
    series, table relations, ``contactsInformation``), as the seeded tenant does; ``model`` (see ``service_model.py``)
    gives it service time and the service-protection limits, none by default."""
    logging.getLogger("odata_query").setLevel(logging.ERROR)
    server = BusinessCentralServer(
        db_url, companies=companies, tables=tables, faults=faults or Faults(), auth=auth, rules=rules, hooks=hooks
    )
    app = fault_middleware(asgi_app(server.handle, prefix=ROOT), server.faults, flavour="business-central")
    if model is not None:
        app = model.wrap(app)
    app.server = server  # type: ignore[attr-defined]
    return app


class BusinessCentralServer:
    def __init__(
        self,
        db_url: str,
        *,
        companies: Sequence[BcCompany],
        tables: Mapping[str, BcTable],
        faults: Faults,
        auth: Authenticator | None,
        rules: BcRules | None = None,
        hooks: HookSettings | None = None,
    ) -> None:
        self.store = Store(db_url, {t.table: (t.key, t.modified_on) for t in tables.values()})
        self.tables = dict(tables)
        self.companies = {c.id.lower(): c for c in companies}
        self.faults = faults
        self.auth = auth
        self.rules = TenantRules(self.store, rules) if rules is not None else None
        self.hooks = BcHooks(companies=[c.id for c in companies], tables=list(tables), settings=hooks)

    def handle(self, request: Request) -> Response:
        check_auth(self.auth, request)
        return self.execute(request, None)

    def execute(self, request: Request, conn: sa.Connection | None) -> Response:
        path = request.path
        if path == "$metadata":
            return business_central_metadata.handle(self, request)
        if path == "$batch":
            return business_central_batch.handle(self, request, "")
        subscriptions, key = subscription_key(path)
        if subscriptions:  # webhook subscriptions live at the API root, beside companies
            return self.hooks.handle(request, key)
        if path == "companies":
            return json_response(200, {"value": [self.company_json(c) for c in self.companies.values()]})
        match = _COMPANY.match(path)
        if match is None:
            raise ODataError(404, "BadRequest_NotFound", f"The request URI is not valid: '{path}'.")
        company = self.company(match.group("id"))
        rest = match.group("rest")
        if not rest:
            return json_response(200, self.company_json(company))
        if rest == "$batch":
            return business_central_batch.handle(self, request, f"companies({company.id})/")
        target = parse_path(rest)
        entity = self.tables.get(target.entity_set)
        if entity is not None and target.alternate is not None and set(target.alternate) == {entity.key}:
            # a named segment on the entity's own key (``customer(no='k1')``) names the record like its bare key
            target = replace(target, key=str(target.alternate[entity.key]), alternate=None)
        if (
            entity is not None
            and target.rest is not None
            and target.key is not None
            and target.alternate is None
            and self.rules is not None
        ):
            return self.read_navigation(target.entity_set, entity, target.key, target.rest, request)
        if entity is None or target.rest is not None or target.alternate is not None:
            raise ODataError(404, "BadRequest_NotFound", f"The request URI is not valid: '{rest}'.")
        meta = self.store.tables[entity.table]
        if entity.read_only and request.method in ("POST", "PATCH", "PUT", "DELETE"):
            # InsertAllowed/ModifyAllowed/DeleteAllowed = false on the API page (APIV2CurrencyExchangeRates,
            # APIV2GLSetup: microsoft/ALAppExtensions Apps/W1/APIV2/app/src/pages/); the wording is the one
            # Business Central's OData layer answers for a method its page does not allow [not verified on a tenant]
            raise ODataError(
                405,
                "BadRequest_MethodNotAllowed",
                f"'{request.method}' requests for '{target.entity_set}' of EdmType 'Entity' are not allowed within "
                "Dynamics 365 Business Central OData web services.",
            )
        if target.key is None:
            if request.method == "GET":
                return self.read_collection(target.entity_set, entity, meta, request)
            if request.method == "POST":
                return self.create(entity, meta, request, conn)
            raise ODataError(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed on a collection.")
        if request.method == "GET":
            return self.read_one(entity, meta, target.key, request)
        if request.method == "PATCH":
            return self.patch(entity, meta, target.key, request, conn)
        if request.method == "DELETE":
            return self.delete(entity, meta, target.key, request, conn)
        raise ODataError(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed on an entity.")

    def company(self, text: str) -> BcCompany:
        found = self.companies.get(text.strip("'{}").lower())
        if found is None:
            raise ODataError(404, "BadRequest_NotFound", f"The company '{text}' does not exist.")
        return found

    @staticmethod
    def company_json(company: BcCompany) -> dict[str, Any]:
        return {"id": company.id, "name": company.name, "displayName": company.display_name or company.name}

    @contextmanager
    def transaction(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        if conn is not None:
            yield conn
        else:
            with self.store.transaction() as own:
                yield own

    # -- reads -----------------------------------------------------------------------------------------------
    def read_navigation(self, name: str, entity: BcTable, key: str, nav: str, request: Request) -> Response:
        """A read-only subpage of one record (``customers(<id>)/contactsInformation``: ``rules.py``)."""
        assert self.rules is not None
        if request.method != "GET":
            raise ODataError(
                405,
                "BadRequest_MethodNotAllowed",
                f"'{request.method}' requests for '{nav}' of EdmType 'Entity' are not allowed within "
                "Dynamics 365 Business Central OData web services.",
            )
        meta = self.store.tables[entity.table]
        with self.store.transaction() as conn:
            row = self.store.get(conn, meta.name, key)
            if row is None:
                raise not_found(entity, key)
            rows = self.rules.navigation(conn, name, row, nav)
        context = f"{request.root}$metadata#companies({_company_id(request)})/{name}({key})/{nav}"
        return json_response(200, {"@odata.context": context, "value": rows})

    def read_collection(self, name: str, entity: BcTable, meta: TableMeta, request: Request) -> Response:
        options = dict(request.query)
        if "$skip" in options:
            raise ODataError(400, "BadRequest", "$skip is not supported by this test server; follow @odata.nextLink.")
        query = parse_query(
            options,
            meta.table,
            resolve=lambda n: n if n in meta.columns else None,
            entity=_type(entity),
            rewrite=StrictFilter(entity).visit,
        )
        preferences, headers = prefer(request), {}
        size = MAX_PAGE_SIZE
        if "odata.maxpagesize" in preferences:
            try:
                size = max(1, min(int(preferences["odata.maxpagesize"]), MAX_PAGE_SIZE))
            except ValueError:
                raise ODataError(400, "BadRequest", "odata.maxpagesize must be an integer.") from None
            headers["preference-applied"] = f"odata.maxpagesize={size}"
        remaining = query.top
        after = None
        if "$skiptoken" in options:
            cookie = decode_cookie(options["$skiptoken"])
            after, remaining = cookie.get("after"), cookie.get("remaining", remaining)
        if remaining is not None:
            size = min(size, remaining)
        with self.store.transaction() as conn:
            rows, last = fetch_page(conn, self.store, meta.name, query, size=size, after=after)
        payload: dict[str, Any] = {
            "@odata.context": f"{request.root}$metadata#companies({_company_id(request)})/{name}",
            "value": [self.to_json(entity, meta, row, query.select) for row in rows],
        }
        left = None if remaining is None else remaining - len(rows)
        if last is not None and (left is None or left > 0):
            rest = {k: v for k, v in options.items() if k != "$skiptoken"}
            rest["$skiptoken"] = encode_cookie({"after": last, "remaining": left})
            payload["@odata.nextLink"] = f"{request.root}{request.path}?{urlencode(rest, quote_via=quote, safe='$,()')}"
        return json_response(200, payload, headers)

    def read_one(self, entity: BcTable, meta: TableMeta, key: str, request: Request) -> Response:
        resolve = lambda n: n if n in meta.columns else None  # noqa: E731
        query = parse_query(
            {"$select": request.query.get("$select", "")}, meta.table, resolve=resolve, entity=_type(entity)
        )
        with self.store.transaction() as conn:
            row = self.store.get(conn, meta.name, key)
        if row is None:
            raise not_found(entity, key)
        return json_response(200, self.to_json(entity, meta, row, query.select))

    def to_json(
        self, entity: BcTable, meta: TableMeta, row: Mapping[str, Any], select: Sequence[str] | None
    ) -> dict[str, Any]:
        columns = list(select) if select else list(meta.columns)
        if meta.key not in columns:
            columns.insert(0, meta.key)
        out: dict[str, Any] = {"@odata.etag": etag(row)}
        for column in columns:
            value = row[column]
            out[column] = (
                bool(value) if column in entity.booleans and value is not None else served(entity, column, value)
            )
        if self.rules is not None:
            self.rules.served(_set_name(self, entity), out)
        return out

    # -- writes ----------------------------------------------------------------------------------------------
    def values(self, entity: BcTable, meta: TableMeta, payload: Any, *, name: str) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ODataError(400, "BadRequest", "The request body must be a JSON object.")
        values: dict[str, Any] = {}
        for field, value in payload.items():
            if field.startswith("@odata."):
                continue
            if field not in meta.columns:
                raise ODataError(
                    400,
                    "BadRequest",
                    f"The property '{field}' does not exist on type 'Microsoft.NAV.{entity.entity_type}'. "
                    "Make sure to only use property names that are defined by the type.",
                )
            if field in entity.booleans and value is not None:
                if not isinstance(value, bool):
                    raise ODataError(400, "BadRequest", f"Cannot convert the literal '{value}' to 'Edm.Boolean'.")
                value = int(value)
            values[field] = stored(entity, field, value)
        rejection = self.faults.rejection(name, values)
        if rejection is not None:
            raise ODataError(400, "Internal_ValidationError", rejection)
        return values

    def create(self, entity: BcTable, meta: TableMeta, request: Request, conn: sa.Connection | None) -> Response:
        values = self.values(entity, meta, request.json(), name=_set_name(self, entity))
        with self.transaction(conn) as tx:
            if self.rules is not None:
                values = self.rules.written(tx, _set_name(self, entity), values, None)
            try:
                key = self.store.insert(tx, meta.name, values)
            except StoreError as error:
                raise write_error(error, entity) from None
            row = self.store.get(tx, meta.name, key)
            if self.rules is not None and row is not None:
                self.rules.inserted(tx, _set_name(self, entity), row)
        assert row is not None
        self.hooks.changed(_company_id(request), _set_name(self, entity), str(key), "created")
        body = self.to_json(entity, meta, row, None)
        return json_response(
            201, body, {"etag": body["@odata.etag"], "location": f"{request.root}{request.path}({key})"}
        )

    def patch(
        self, entity: BcTable, meta: TableMeta, key: str, request: Request, conn: sa.Connection | None
    ) -> Response:
        if_match = request.header("if-match")
        if not if_match:
            raise ODataError(
                400,
                "BadRequest",
                "Could not validate the client concurrency token required by the service. "
                "Please provide a valid token in the client request.",
            )
        values = self.values(entity, meta, request.json(), name=_set_name(self, entity))
        with self.transaction(conn) as tx:
            row = self.store.get(tx, meta.name, key)
            if row is None:
                raise not_found(entity, key)
            check_etag(if_match, row)
            if self.rules is not None:
                values = self.rules.written(tx, _set_name(self, entity), values, row)
            try:
                self.store.update(tx, meta.name, key, values)
            except StoreError as error:
                raise write_error(error, entity) from None
            row = self.store.get(tx, meta.name, key)
        assert row is not None
        self.hooks.changed(_company_id(request), _set_name(self, entity), key, "updated")
        body = self.to_json(entity, meta, row, None)
        return json_response(200, body, {"etag": body["@odata.etag"]})

    def delete(
        self, entity: BcTable, meta: TableMeta, key: str, request: Request, conn: sa.Connection | None
    ) -> Response:
        with self.transaction(conn) as tx:
            row = self.store.get(tx, meta.name, key)
            if row is None:
                raise not_found(entity, key)
            check_etag(request.header("if-match"), row)
            self.store.delete(tx, meta.name, key)
        self.hooks.changed(_company_id(request), _set_name(self, entity), key, "deleted")
        return Response(status=204)


def etag(row: Mapping[str, Any]) -> str:
    """Opaque like Business Central's (``W/"JzQ0O..."``), stable for one version of one row."""
    text = f"'{row['_version']};{base64.b64encode(str(row.get('id', '')).encode()).decode()};'"
    return f'W/"{base64.b64encode(text.encode()).decode()}"'


def check_etag(if_match: str | None, row: Mapping[str, Any]) -> None:
    if if_match and if_match != "*" and if_match != etag(row):
        raise ODataError(
            412,
            "Request_EntityChanged",
            f"Another user has already changed the record. CorrelationId:  {uuid.uuid4()}.",
        )


def not_found(entity: BcTable, key: str) -> ODataError:
    return ODataError(
        404,
        "BadRequest_NotFound",
        f"The {entity.entity_type} does not exist. Identification fields and values: Id='{key}'  "
        f"CorrelationId:  {uuid.uuid4()}.",
    )


def write_error(error: StoreError, entity: BcTable) -> ODataError:
    if error.kind == "too-long":
        return ODataError(
            400,
            "Application_StringExceededLength",
            f"The length of the string for '{error.column}' exceeds the maximum of {error.limit} characters. "
            f"CorrelationId:  {uuid.uuid4()}.",
        )
    if error.kind == "duplicate":
        return ODataError(400, "Internal_EntityWithSameKeyExists", f"The {entity.entity_type} already exists.")
    return ODataError(400, "Internal_ValidationError", f"{error.message} CorrelationId:  {uuid.uuid4()}.")


def _type(entity: BcTable) -> str:
    return f"Microsoft.NAV.{entity.entity_type}"


def _set_name(server: BusinessCentralServer, entity: BcTable) -> str:
    return next(name for name, table in server.tables.items() if table is entity)


def _company_id(request: Request) -> str:
    match = _COMPANY.match(request.path)
    return match.group("id") if match else ""
