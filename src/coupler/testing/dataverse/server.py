"""A local Dataverse Web API (v9.2) over a SQLite database, for tests and for trying coupler without a tenant.

``dataverse_app(db_url, tables={"accounts": DataverseTable(table="account", key="accountid"), ...})`` serves
``/api/data/v9.2/<entityset>`` as docs/test-servers.md describes: reads with $select/$filter/$orderby/$top and
paging cookies, writes with ETags, lookups, CreateMultiple/UpdateMultiple/UpsertMultiple, multipart $batch,
change tracking, the metadata the connector reads, and the faults of ``Faults``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from coupler.testing.auth import Authenticator, check_auth
from coupler.testing.dataverse import batch as dataverse_batch
from coupler.testing.dataverse import bulk as dataverse_bulk
from coupler.testing.dataverse import delta as dataverse_delta
from coupler.testing.dataverse import messages, optionsets, rules
from coupler.testing.dataverse import metadata as dataverse_metadata
from coupler.testing.dataverse import webhooks as webhooks_module
from coupler.testing.dataverse.entities import EntitySet, write_error
from coupler.testing.dataverse.navigation import navigation_map
from coupler.testing.dataverse.notify import Event, Notifier, WebhookSettings, reference
from coupler.testing.dataverse.paging import MAX_PAGE_SIZE, next_link, page_size, skiptoken_values
from coupler.testing.faults import Faults, fault_middleware
from coupler.testing.odata.http import ODataError, Request, Response, asgi_app, json_response, prefer
from coupler.testing.odata.keys import EntityPath, parse_path
from coupler.testing.odata.query import fetch_page, parse_query
from coupler.testing.odata.store import Store, StoreError
from coupler.testing.odata.tables import DataverseTable
from coupler.testing.service_model import ServiceModel

__all__ = ["DEFAULT_APP_USER_ID", "INTERACTIVE_USER_ID", "DataverseServer", "dataverse_app"]

DEFAULT_APP_USER_ID = "a0a0a0a0-0000-4000-8000-00000000c0de"
"""The systemuserid of the application user requests are made as (coupler's own writes)."""
INTERACTIVE_USER_ID = "b1b1b1b1-0000-4000-8000-000000000001"
"""The user other writes are reported as (the sqlite3 shell, the demo)."""
ROOT = re.compile(r"^/api/data/v9\.2(?=/|$)")


def dataverse_app(
    db_url: str,
    *,
    tables: Mapping[str, DataverseTable],
    faults: Faults | None = None,
    app_user_id: str = DEFAULT_APP_USER_ID,
    auth: Authenticator | None = None,
    webhooks: WebhookSettings | None = None,
    model: ServiceModel | None = None,
) -> Any:
    """The ASGI app; ``auth`` (a ``TokenIssuer``) makes it require bearer tokens, else it is open. ``webhooks``
    sets how registered webhooks are sent (``notify.py``); ``app.server.notifier.idle()`` waits for them; ``model``
    (see ``service_model.py``) gives it service time and the service-protection limits, none by default."""
    logging.getLogger("odata_query").setLevel(logging.ERROR)
    server = DataverseServer(
        db_url,
        tables=tables,
        faults=faults or Faults(),
        app_user_id=app_user_id,
        auth=auth,
        webhooks=webhooks or WebhookSettings(),
    )
    app = fault_middleware(asgi_app(server.handle, prefix=ROOT), server.faults)
    if model is not None:
        app = model.wrap(app)
    app.server = server  # type: ignore[attr-defined]
    return app


class DataverseServer:
    def __init__(
        self,
        db_url: str,
        *,
        tables: Mapping[str, DataverseTable],
        faults: Faults,
        app_user_id: str,
        auth: Authenticator | None,
        webhooks: WebhookSettings | None = None,
    ) -> None:
        self.store = Store(db_url, {t.table: (t.key, t.modified_on) for t in tables.values()})
        self.sets = {name: EntitySet(name, config, self.store.tables[config.table]) for name, config in tables.items()}
        for entity_set in self.sets.values():
            entity_set.navigations = navigation_map(entity_set, self.sets)
        optionsets.install(self.store.engine)
        self.faults = faults
        self.app_user_id = app_user_id
        self.auth = auth
        self.expired_below = 0
        """Delta tokens for versions below this are expired (set by ``Faults.expire_delta_tokens``)."""
        self.webhooks = webhooks_registry = webhooks_module.Registry(
            lambda: {s.logical: s.name for s in self.sets.values()}
        )
        self.notifier = Notifier(webhooks_registry, webhooks or WebhookSettings(), settled=self.store._lock)
        self.notifier.attach(self.store.engine)

    # -- routing ---------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        check_auth(self.auth, request)
        return self.execute(request, None)

    def execute(self, request: Request, conn: sa.Connection | None) -> Response:
        """One request; inside a changeset ``conn`` is the changeset's transaction."""
        path = request.path
        if path in ("", "$metadata"):
            return json_response(200, {"value": [{"name": n, "kind": "EntitySet", "url": n} for n in self.sets]})
        if path == "WhoAmI":
            return json_response(200, {"UserId": self.app_user_id, "BusinessUnitId": None, "OrganizationId": None})
        if path == "$batch":
            return dataverse_batch.handle(self, request)
        if path == "sdkmessagefilters":
            return messages.handle(self, request)
        if path.split("(", 1)[0] in webhooks_module.SETS:
            return webhooks_module.handle(self, self.webhooks, request)
        if path in optionsets.ACTIONS:
            return optionsets.handle_action(self, request, path)
        picklist = optionsets.PICKLIST.match(path)
        if picklist is not None:
            return optionsets.handle_read(self, request, picklist.group("entity"), picklist.group("attribute"))
        if path.startswith("EntityDefinitions"):
            return dataverse_metadata.handle(self, request)
        target = parse_path(path)
        entity_set = self.entity_set(target.entity_set)
        if target.rest is not None:
            if target.key is None and request.method == "POST":
                return dataverse_bulk.handle(self, entity_set, target.rest, request, conn)
            raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{target.rest}'.")
        if target.key is None and target.alternate is None:
            if request.method == "GET":
                return self.read_collection(entity_set, request)
            if request.method == "POST":
                return self.create(entity_set, request, conn)
            raise ODataError(405, "0x80060888", f"{request.method} is not allowed on a collection.")
        if request.method == "GET":
            return self.read_one(entity_set, target, request)
        if request.method == "PATCH":
            return self.patch(entity_set, target, request, conn)
        if request.method == "DELETE":
            return self.delete(entity_set, target, request, conn)
        raise ODataError(405, "0x80060888", f"{request.method} is not allowed on a record.")

    def entity_set(self, name: str) -> EntitySet:
        found = self.sets.get(name)
        if found is None:
            raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{name}'.")
        return found

    @contextmanager
    def transaction(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        if conn is not None:
            yield conn
        else:
            with self.store.transaction(self.app_user_id) as own:
                yield own

    # -- reads -----------------------------------------------------------------------------------------------
    def read_collection(self, entity_set: EntitySet, request: Request) -> Response:
        options = dict(request.query)
        if "$skip" in options:
            raise ODataError(400, "0x80060888", "The query parameter $skip is not supported.")
        preferences = prefer(request)
        if "odata.track-changes" in preferences or "$deltatoken" in options:
            return dataverse_delta.handle(self, entity_set, request)
        query = self.query(entity_set, options)
        size = MAX_PAGE_SIZE
        applied = {}
        if "odata.maxpagesize" in preferences:
            size = page_size(preferences["odata.maxpagesize"])
            applied["preference-applied"] = f"odata.maxpagesize={size}"
        elif query.top is not None:
            size = min(query.top, MAX_PAGE_SIZE)
        after, page = None, 1
        if "$skiptoken" in options:
            after, page = skiptoken_values(options["$skiptoken"])
        with self.store.transaction() as conn:
            rows, last = fetch_page(conn, self.store, entity_set.meta.name, query, size=size, after=after)
            count = self._count(conn, entity_set, query.where) if options.get("$count") == "true" else None
        payload: dict[str, Any] = {"@odata.context": self.context(request, entity_set, query.select)}
        if count is not None:
            payload["@odata.count"] = count
        payload["value"] = [self.to_json(entity_set, row, query.select, request) for row in rows]
        if last is not None and (query.top is None or "odata.maxpagesize" in preferences):
            payload["@odata.nextLink"] = next_link(request, entity_set.name, options, last, page + 1)
        return json_response(200, payload, applied)

    def read_one(self, entity_set: EntitySet, target: EntityPath, request: Request) -> Response:
        query = self.query(entity_set, {"$select": request.query.get("$select", "")})
        with self.store.transaction() as conn:
            row = self.find(conn, entity_set, target)
        if row is None:
            raise not_found(entity_set, target)
        entity = self.to_json(entity_set, row, query.select, request)
        if_none_match = request.header("if-none-match")
        if if_none_match and if_none_match == entity["@odata.etag"]:
            return Response(status=304)
        return json_response(200, {"@odata.context": f"{request.root}$metadata#{entity_set.name}/$entity", **entity})

    def query(self, entity_set: EntitySet, options: Mapping[str, str]) -> Any:
        return parse_query(
            options,
            entity_set.meta.table,
            resolve=entity_set.resolve,
            resolve_select=entity_set.resolve_select,
            entity=entity_set.type_name,
            nocase=True,
        )

    def to_json(self, entity_set: EntitySet, row: Mapping[str, Any], select: Any, request: Request) -> dict[str, Any]:
        asked = prefer(request).get("odata.include-annotations", "")  # the annotation only when asked, as the Web API
        annotations = any(a in asked for a in ("*", "Microsoft.Dynamics.CRM.lookuplogicalname"))
        return entity_set.to_json(
            row,
            select,
            lookup_names=lambda name: self.sets[name].logical if name in self.sets else name,
            annotations=annotations,
            interactive_user=INTERACTIVE_USER_ID,
        )

    def context(self, request: Request, entity_set: EntitySet, select: Any) -> str:
        names = ",".join(entity_set.property_name(c) for c in select or () if not c.startswith("@"))
        return f"{request.root}$metadata#{entity_set.name}" + (f"({names})" if names else "")

    def find(self, conn: sa.Connection, entity_set: EntitySet, target: EntityPath) -> dict[str, Any] | None:
        if target.key is not None:
            return self.store.get(conn, entity_set.meta.name, target.key)
        table = entity_set.meta.table
        conditions = []
        for name, value in (target.alternate or {}).items():
            column = entity_set.resolve(name)
            if column is None:
                raise ODataError(400, "0x80060888", f"'{name}' is not a key of {entity_set.type_name}.")
            conditions.append(table.c[column] == value)
        rows = conn.execute(self.store.select(entity_set.meta.name).where(*conditions).limit(2)).mappings().all()
        if len(rows) > 1:
            raise ODataError(400, "0x80060891", "More than one record matches the alternate key.")
        return dict(rows[0]) if rows else None

    def _count(self, conn: sa.Connection, entity_set: EntitySet, where: Any) -> int:
        statement = sa.select(sa.func.count()).select_from(entity_set.meta.table)
        if where is not None:
            statement = statement.where(where)
        return int(conn.execute(statement).scalar_one())

    # -- writes ----------------------------------------------------------------------------------------------
    def values(self, conn: sa.Connection, entity_set: EntitySet, payload: Any) -> dict[str, Any]:
        def exists(name: str, key: str) -> bool:
            target = self.sets.get(name)
            return target is None or self.store.get(conn, target.meta.name, key) is not None

        def logical_of(name: str) -> str:
            return self.sets[name].logical if name in self.sets else name

        values = entity_set.values(payload, exists=exists, logical_of=logical_of)
        rejection = self.faults.rejection(entity_set.name, values)
        if rejection is not None:
            raise ODataError(400, "0x80040265", rejection)
        return values

    def insert(self, conn: sa.Connection, entity_set: EntitySet, payload: Any) -> str:
        values = self.values(conn, entity_set, payload)
        rules.check_create(self, conn, entity_set, values)
        try:
            key = self.store.insert(conn, entity_set.meta.name, values)
        except StoreError as error:
            raise write_error(error, entity_set.logical) from None
        rules.after_create(self, conn, entity_set, key)
        self.notify(conn, "Create", entity_set, key, {**values, entity_set.meta.key: key})
        return key

    def update(self, conn: sa.Connection, entity_set: EntitySet, key: str, payload: Any) -> None:
        values = self.values(conn, entity_set, payload)
        rules.check_update(self, conn, entity_set, self.store.get(conn, entity_set.meta.name, key) or {}, values)
        try:
            self.store.update(conn, entity_set.meta.name, key, values)
        except StoreError as error:
            raise write_error(error, entity_set.logical) from None
        self.notify(conn, "Update", entity_set, key, {**values, entity_set.meta.key: key})

    def create(self, entity_set: EntitySet, request: Request, conn: sa.Connection | None) -> Response:
        payload = request.json()
        with self.transaction(conn) as tx:
            key = self.insert(tx, entity_set, payload)
            row = self.store.get(tx, entity_set.meta.name, key)
        return self.written(entity_set, request, key, row, created=True)

    def patch(
        self, entity_set: EntitySet, target: EntityPath, request: Request, conn: sa.Connection | None
    ) -> Response:
        payload = request.json()
        if_match, if_none_match = request.header("if-match"), request.header("if-none-match")
        with self.transaction(conn) as tx:
            row = self.find(tx, entity_set, target)
            if row is None:
                if if_match:
                    raise not_found(entity_set, target)
                values = dict(payload) if isinstance(payload, dict) else payload
                if isinstance(values, dict):
                    values.update(target.alternate or {})
                    if target.key is not None:
                        values[entity_set.meta.key] = target.key
                key = self.insert(tx, entity_set, values)
                created = True
            else:
                key = str(row[entity_set.meta.key])
                if if_none_match == "*":
                    raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
                check_etag(if_match, row)
                self.update(tx, entity_set, key, payload)
                created = False
            fresh = self.store.get(tx, entity_set.meta.name, key)
        return self.written(entity_set, request, key, fresh, created=created)

    def delete(
        self, entity_set: EntitySet, target: EntityPath, request: Request, conn: sa.Connection | None
    ) -> Response:
        with self.transaction(conn) as tx:
            row = self.find(tx, entity_set, target)
            if row is None:
                raise not_found(entity_set, target)
            check_etag(request.header("if-match"), row)
            self.store.delete(tx, entity_set.meta.name, str(row[entity_set.meta.key]))
            self.notify(tx, "Delete", entity_set, str(row[entity_set.meta.key]), {})
        return Response(status=204, headers={"odata-version": "4.0"})

    def notify(
        self, conn: sa.Connection, message: str, entity_set: EntitySet, key: str, values: Mapping[str, Any]
    ) -> None:
        """Tell the registered webhooks of a change once the transaction commits (``notify.py``)."""
        config = entity_set.config
        hidden = set(entity_set.type_columns.values())
        attributes: dict[str, Any] = {}
        for column, value in values.items():
            if column in hidden:
                continue
            if column in config.lookups and value is not None:
                targets = config.lookups[column]
                kept = values.get(entity_set.type_columns.get(column, ""))
                first = self.sets[targets[0]].logical if targets[0] in self.sets else targets[0]
                logical = str(kept) if kept else first
                value = reference(logical, str(value))
            elif column in config.booleans and value is not None:
                value = bool(value)
            attributes[column] = value
        event = Event(
            message=message,
            table=entity_set.logical,
            key=key,
            attributes=attributes,
            primary_name=config.primary_name,
            user_id=self.app_user_id,
        )
        self.notifier.changed(conn, event)

    def written(
        self, entity_set: EntitySet, request: Request, key: str, row: Mapping[str, Any] | None, *, created: bool
    ) -> Response:
        headers = {"odata-entityid": f"{request.root}{entity_set.name}({key})", "odata-version": "4.0"}
        if prefer(request).get("return") == "representation" and row is not None:
            query = self.query(entity_set, {"$select": request.query.get("$select", "")})
            entity = self.to_json(entity_set, row, query.select, request)
            body = {"@odata.context": f"{request.root}$metadata#{entity_set.name}/$entity", **entity}
            return json_response(201 if created else 200, body, headers)
        if row is not None:
            headers["etag"] = f'W/"{row["_version"]}"'
        return Response(status=204, headers=headers)


def check_etag(if_match: str | None, row: Mapping[str, Any]) -> None:
    if if_match and if_match != "*" and if_match != f'W/"{row["_version"]}"':
        raise ODataError(
            412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
        )


def not_found(entity_set: EntitySet, target: EntityPath) -> ODataError:
    shown = target.key or ",".join(f"{k}={v}" for k, v in (target.alternate or {}).items())
    return ODataError(404, "0x80040217", f"{entity_set.logical} With Id = {shown} Does Not Exist")
