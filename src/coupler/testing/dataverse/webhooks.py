"""Webhook registrations: the ``serviceendpoints``, ``sdkmessageprocessingsteps``, ``sdkmessages`` and
``asyncoperations`` entity sets, as the Web API keeps them (``notify.py`` sends what they ask for).

Sources (MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/):

- register-web-hook.md: a webhook is a ServiceEndpoint with ``contract`` 8; "When you register a WebHook you must
  provide three items": Name, Endpoint URL, Authentication, "one of three authentication options" (HttpHeader,
  WebhookKey, HttpQueryString), "for any type of authentication, you must provide the keys". The AuthValue "cannot
  be retrieved". A step is registered for a message and a table, with a stage, an execution mode and
  ``asyncautodelete``; steps are read with ``$expand=eventhandler_serviceendpoint(...),sdkmessagefilterid(...),
  sdkmessageid(...)``.
- reference/entities/serviceendpoint.md: ``authtype`` 4 Webhook Key, 5 Http Header, 6 Http Query String;
  ``authvalue`` String MaxLength 2048, IsValidForRead False; ``name`` SystemRequired MaxLength 256; ``url``
  MaxLength 2000; ``contract`` SystemRequired, 1..10 (8 Webhook).
- reference/entities/sdkmessageprocessingstep.md: ``name``, ``stage``, ``mode``, ``rank``, ``supporteddeployment``,
  ``sdkmessageid`` and ``eventhandler`` SystemRequired; ``sdkmessagefilterid`` optional; ``stage`` 10
  Pre-validation, 20 Pre-operation, 40 Post-operation (the others "For internal use only"); ``mode`` 0 Synchronous,
  1 Asynchronous; ``statecode`` 0 Enabled / 1 Disabled (``statuscode`` 1 / 2); the relationship
  serviceendpoint_sdkmessageprocessingstep (``eventhandler``, navigation ``eventhandler_serviceendpoint``) cascades
  Delete: deleting the endpoint deletes its steps.
- register-plug-in.md, "Execution Mode": "Asynchronous plug-ins can only be registered for the PostOperation stage".
- The AuthValue of HttpHeader and HttpQueryString is ``<settings><setting name="..." value="..." /></settings>``
  (the format the Plug-in Registration tool writes; public Web API scripts, such as the PowerShell module found with
  the code search, send it so).

Strict choices beyond the docs: the SystemRequired columns without a default value are required on create; only
webhook endpoints (contract 8) and only asynchronous steps on Create, Update and Delete are kept: this imitation
sends nothing else, so it refuses what it would silently ignore.
"""

from __future__ import annotations

import html
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from coupler.testing.odata.http import ODataError, Request, Response, json_response
from coupler.testing.odata.keys import parse_path

if TYPE_CHECKING:
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = [
    "CHANGES",
    "SETS",
    "Registry",
    "Step",
    "filter_id",
    "handle",
    "message_id",
    "parse_settings",
]

SETS = ("serviceendpoints", "sdkmessageprocessingsteps", "sdkmessages", "asyncoperations")
CHANGES = ("Create", "Update", "Delete")
MESSAGES = (*CHANGES, "CreateMultiple", "UpdateMultiple", "UpsertMultiple")
WEBHOOK = 8
WEBHOOK_KEY, HTTP_HEADER, HTTP_QUERY_STRING = 4, 5, 6
POST_OPERATION, ASYNCHRONOUS = 40, 1
_STAGES = (10, 20, 40)
_BIND = re.compile(r"^(?:.*/)?(?P<set>[A-Za-z_]\w*)\((?P<id>[0-9A-Fa-f-]{36})\)$")
_SETTING = re.compile(r'<setting\s+name="(?P<name>[^"]*)"\s+value="(?P<value>[^"]*)"\s*/>')
_SETTINGS = re.compile(r"^\s*<settings>(?P<inner>(?:\s*<setting\s[^>]*/>)*)\s*</settings>\s*$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TERM = re.compile(r"^\s*(?P<name>[\w/]+)\s+eq\s+(?P<value>'(?:[^']|'')*'|@\w+|[\w.-]+)\s*$")
_EXPAND = re.compile(r"(?P<nav>\w+)(?:\(\$select=(?P<select>[\w,]+)\))?")

_ENDPOINT_COLUMNS = {
    "name": str,
    "description": str,
    "url": str,
    "contract": int,
    "authtype": int,
    "authvalue": str,
    "connectionmode": int,
    "messageformat": int,
    "userclaim": int,
}
_STEP_COLUMNS = {
    "name": str,
    "description": str,
    "stage": int,
    "mode": int,
    "rank": int,
    "supporteddeployment": int,
    "asyncautodelete": bool,
    "filteringattributes": str,
    "statecode": int,
    "statuscode": int,
}
_STEP_REQUIRED = ("name", "stage", "mode", "rank", "supporteddeployment")
_STEP_BINDS = {
    "sdkmessageid": ("sdkmessages", "_sdkmessageid_value"),
    "sdkmessagefilterid": ("sdkmessagefilters", "_sdkmessagefilterid_value"),
    "eventhandler_serviceendpoint": ("serviceendpoints", "_eventhandler_value"),
}


def message_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdkmessage/{name}"))


def filter_id(message: str, table: str) -> str:
    """The same id ``messages.py`` answers for a message and a table."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message}/{table}"))


def parse_settings(text: str) -> list[tuple[str, str]]:
    """The name/value pairs of an HttpHeader or HttpQueryString AuthValue; ValueError when it is not one."""
    match = _SETTINGS.match(text)
    if match is None:
        raise ValueError("not <settings><setting name=... value=... /></settings>")
    inner = match.group("inner")
    pairs = [(html.unescape(m.group("name")), html.unescape(m.group("value"))) for m in _SETTING.finditer(inner)]
    if not pairs or len(pairs) != inner.count("<setting"):
        raise ValueError("no <setting name=... value=... /> in <settings>")
    return pairs


class Step:
    """What the dispatcher needs of one enabled step: whom to POST to and how."""

    def __init__(self, step: Mapping[str, Any], endpoint: Mapping[str, Any], message: str) -> None:
        self.id = str(step["sdkmessageprocessingstepid"])
        self.message = message
        self.url = str(endpoint["url"])
        self.authtype = int(endpoint["authtype"])
        self.authvalue = str(endpoint["authvalue"])
        self.asyncautodelete = bool(step.get("asyncautodelete"))
        attributes = str(step.get("filteringattributes") or "")
        self.filtering = {a.strip().lower() for a in attributes.split(",") if a.strip()}


class Registry:
    """The registrations of one server, in memory, and the system jobs (``asyncoperations``) of its webhooks."""

    def __init__(self, tables: Callable[[], Mapping[str, str]]) -> None:
        self.tables = tables
        """Logical name -> entity set of the server's tables (filters exist for each)."""
        self.lock = threading.RLock()
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.messages = {message_id(n): {"sdkmessageid": message_id(n), "name": n} for n in MESSAGES}

    def filters(self) -> dict[str, dict[str, Any]]:
        """The sdkmessagefilters of Create, Update and Delete for every table (the bulk ones: ``messages.py``)."""
        return {
            filter_id(m, t): {
                "sdkmessagefilterid": filter_id(m, t),
                "primaryobjecttypecode": t,
                "_sdkmessageid_value": message_id(m),
            }
            for t in self.tables()
            for m in CHANGES
        }

    def steps_for(self, message: str, table: str) -> list[Step]:
        """The enabled steps that run when ``message`` happens to a row of ``table`` (a logical name)."""
        wanted = message_id(message)
        found = []
        with self.lock:
            filters = self.filters()
            for step in self.steps.values():
                if step["_sdkmessageid_value"] != wanted or step["statecode"] != 0:
                    continue
                kept = step.get("_sdkmessagefilterid_value")
                if kept is not None and filters.get(kept, {}).get("primaryobjecttypecode") != table:
                    continue
                endpoint = self.endpoints[step["_eventhandler_value"]]
                found.append(Step(step, endpoint, message))
        return found

    # -- writes ----------------------------------------------------------------------------------------------
    def create_endpoint(self, payload: Any) -> str:
        row = _columns(payload, _ENDPOINT_COLUMNS, "serviceendpoint", binds={})
        key = str(row.pop("serviceendpointid", None) or uuid.uuid4()).lower()
        row = {"connectionmode": 1, "messageformat": 2, "userclaim": 1, "description": None, **row}
        _check_endpoint(row)
        with self.lock:
            if key in self.endpoints:
                raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
            self.endpoints[key] = {**row, "serviceendpointid": key, **_stamps(created=True)}
        return key

    def update_endpoint(self, key: str, payload: Any) -> None:
        changes = _columns(payload, _ENDPOINT_COLUMNS, "serviceendpoint", binds={})
        changes.pop("serviceendpointid", None)
        with self.lock:
            row = self._get(self.endpoints, key, "serviceendpoint")
            merged = {**row, **changes}
            _check_endpoint(merged)
            row.update(changes, **_stamps(created=False))

    def delete_endpoint(self, key: str) -> None:
        with self.lock:
            self._get(self.endpoints, key, "serviceendpoint")
            del self.endpoints[key]
            for step_id in [s for s, row in self.steps.items() if row["_eventhandler_value"] == key]:
                del self.steps[step_id]  # serviceendpoint_sdkmessageprocessingstep: Delete Cascade

    def create_step(self, payload: Any) -> str:
        row = _columns(payload, _STEP_COLUMNS, "sdkmessageprocessingstep", binds=_STEP_BINDS)
        key = str(row.pop("sdkmessageprocessingstepid", None) or uuid.uuid4()).lower()
        missing = [n for n in (*_STEP_REQUIRED, "_sdkmessageid_value", "_eventhandler_value") if row.get(n) is None]
        if missing:
            shown = ", ".join(_bind_name(n) for n in missing)
            raise ODataError(400, "0x80040203", f"A validation error occurred. Required: {shown}.")
        row = {"asyncautodelete": False, "statecode": 0, "statuscode": 1, "description": None, **row}
        row.setdefault("filteringattributes", None)
        row.setdefault("_sdkmessagefilterid_value", None)
        with self.lock:
            self._check_step(row)
            if key in self.steps:
                raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
            self.steps[key] = {**row, "sdkmessageprocessingstepid": key, **_stamps(created=True)}
        return key

    def update_step(self, key: str, payload: Any) -> None:
        changes = _columns(payload, _STEP_COLUMNS, "sdkmessageprocessingstep", binds=_STEP_BINDS)
        changes.pop("sdkmessageprocessingstepid", None)
        with self.lock:
            row = self._get(self.steps, key, "sdkmessageprocessingstep")
            merged = {**row, **changes}
            self._check_step(merged)
            row.update(changes, **_stamps(created=False))

    def delete_step(self, key: str) -> None:
        with self.lock:
            self._get(self.steps, key, "sdkmessageprocessingstep")
            del self.steps[key]

    def _check_step(self, row: Mapping[str, Any]) -> None:
        message = self.messages.get(str(row["_sdkmessageid_value"]))
        if message is None:
            raise ODataError(404, "0x80040217", f"sdkmessage With Id = {row['_sdkmessageid_value']} Does Not Exist")
        if row["_eventhandler_value"] not in self.endpoints:
            raise ODataError(
                404, "0x80040217", f"serviceendpoint With Id = {row['_eventhandler_value']} Does Not Exist"
            )
        kept = row.get("_sdkmessagefilterid_value")
        if kept is not None:
            found = self.filters().get(str(kept))
            if found is None:
                raise ODataError(404, "0x80040217", f"sdkmessagefilter With Id = {kept} Does Not Exist")
            if found["_sdkmessageid_value"] != row["_sdkmessageid_value"]:
                raise ODataError(400, "0x80040203", "The sdkmessagefilter belongs to another sdkmessage.")
        if row["stage"] not in _STAGES:
            raise ODataError(
                400, "0x80040203", f"Stage {row['stage']} is not valid: 10 (PreValidation), 20, 40 (PostOperation)."
            )
        if row["mode"] not in (0, 1):
            raise ODataError(400, "0x80040203", f"Mode {row['mode']} is not valid: 0 (Synchronous), 1 (Asynchronous).")
        if row["mode"] == ASYNCHRONOUS and row["stage"] != POST_OPERATION:
            raise ODataError(
                400, "0x80040203", "Asynchronous steps can only be registered for the PostOperation stage (40)."
            )
        if row["mode"] != ASYNCHRONOUS:
            raise ODataError(400, "0x80040203", "This imitation runs asynchronous webhook steps (mode 1) only.")
        if message["name"] not in CHANGES:
            raise ODataError(400, "0x80040203", "This imitation runs webhook steps on Create, Update and Delete only.")
        if row["supporteddeployment"] not in (0, 1, 2):
            raise ODataError(400, "0x80040203", f"SupportedDeployment {row['supporteddeployment']} is not valid.")
        if (row["statecode"], row["statuscode"]) not in ((0, 1), (1, 2)):
            raise ODataError(400, "0x80040203", "statecode/statuscode must be 0/1 (Enabled) or 1/2 (Disabled).")
        _length(row, "name", 256)
        _length(row, "description", 256)

    @staticmethod
    def _get(rows: dict[str, dict[str, Any]], key: str, logical: str) -> dict[str, Any]:
        found = rows.get(key)
        if found is None:
            raise ODataError(404, "0x80040217", f"{logical} With Id = {key} Does Not Exist")
        return found


# -- the entity sets -------------------------------------------------------------------------------------------
def handle(server: DataverseOps, registry: Registry, request: Request) -> Response:
    target = parse_path(request.path)
    name = target.entity_set
    if target.rest is not None or target.alternate is not None:
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{request.path}'.")
    writable = name in ("serviceendpoints", "sdkmessageprocessingsteps")
    if request.method == "GET":
        return _read(registry, name, target.key, request)
    if not writable:
        raise ODataError(405, "0x80060888", f"{name} is read-only here.")
    endpoint = name == "serviceendpoints"
    if request.method == "POST" and target.key is None:
        payload = request.json()
        key = registry.create_endpoint(payload) if endpoint else registry.create_step(payload)
        return Response(status=204, headers={"odata-entityid": f"{request.root}{name}({key})", "odata-version": "4.0"})
    if request.method == "PATCH" and target.key is not None:
        if endpoint:
            registry.update_endpoint(target.key, request.json())
        else:
            registry.update_step(target.key, request.json())
        return Response(status=204, headers={"odata-version": "4.0"})
    if request.method == "DELETE" and target.key is not None:
        if endpoint:
            registry.delete_endpoint(target.key)
        else:
            registry.delete_step(target.key)
        return Response(status=204, headers={"odata-version": "4.0"})
    raise ODataError(405, "0x80060888", f"{request.method} is not allowed here.")


def _rows(registry: Registry, name: str) -> dict[str, dict[str, Any]]:
    return {
        "serviceendpoints": registry.endpoints,
        "sdkmessageprocessingsteps": registry.steps,
        "sdkmessages": registry.messages,
        "asyncoperations": registry.jobs,
    }[name]


def _read(registry: Registry, name: str, key: str | None, request: Request) -> Response:
    unknown = (
        set(request.query) - {"$select", "$filter", "$expand", "$top"} - {k for k in request.query if k.startswith("@")}
    )
    if unknown:
        raise ODataError(400, "0x80060888", f"This imitation does not support {', '.join(sorted(unknown))} here.")
    with registry.lock:
        rows = _rows(registry, name)
        if key is not None:
            if key not in rows:
                raise ODataError(404, "0x80040217", f"{name.removesuffix('s')} With Id = {key} Does Not Exist")
            chosen = [rows[key]]
        else:
            chosen = [r for r in rows.values() if _matches(r, request)]
        top = request.query.get("$top")
        if top is not None:
            if not top.isdigit():
                raise ODataError(400, "0x80060888", f"$top={top} is not a whole number.")
            chosen = chosen[: int(top)]
        values = [_shape(registry, name, r, request) for r in chosen]
    if key is not None:
        return json_response(200, {"@odata.context": f"{request.root}$metadata#{name}/$entity", **values[0]})
    return json_response(200, {"@odata.context": f"{request.root}$metadata#{name}", "value": values})


def _matches(row: Mapping[str, Any], request: Request) -> bool:
    text = request.query.get("$filter", "").strip()
    if not text:
        return True
    for term in re.split(r"\s+and\s+", text):
        match = _TERM.match(term)
        if match is None:
            raise ODataError(400, "0x80060888", f"This imitation filters with 'property eq value' only: {term!r}.")
        name, raw = match.group("name"), match.group("value")
        if raw.startswith("@"):
            raw = request.query.get(raw, "null")
        if "/" in name or (name not in row and name != "authvalue"):
            raise ODataError(400, "0x80060888", f"Could not find a property named '{name}' to filter on.")
        if not _equal(row.get(name), raw):
            return False
    return True


def _equal(value: Any, raw: str) -> bool:
    if raw.startswith("'"):
        text = raw[1:-1].replace("''", "'")
        return isinstance(value, str) and value.casefold() == text.casefold()  # the Web API compares case-blind
    if raw == "null":
        return value is None
    if raw in ("true", "false"):
        return value is (raw == "true")
    if isinstance(value, int) and not isinstance(value, bool):
        return raw.lstrip("-").isdigit() and value == int(raw)
    return str(value).lower() == raw.lower()  # a GUID


def _shape(registry: Registry, name: str, row: Mapping[str, Any], request: Request) -> dict[str, Any]:
    visible = {k: v for k, v in row.items() if k != "authvalue"}  # AuthValue: IsValidForRead False
    selected = [s for s in request.query.get("$select", "").split(",") if s]
    for column in selected:
        if column not in visible and column != "authvalue":
            raise ODataError(400, "0x80060888", f"Could not find a property named '{column}' on type '{name}'.")
    key = next(k for k in row if k.endswith("id") and k.removesuffix("id") + "s" == name)
    shaped = {c: visible.get(c) for c in selected if c != "authvalue"} if selected else dict(visible)
    shaped[key] = row[key]
    for part in filter(None, request.query.get("$expand", "").split("),")):
        match = _EXPAND.fullmatch(part if part.endswith(")") or "(" not in part else part + ")")
        if match is None or name != "sdkmessageprocessingsteps" or match.group("nav") not in _STEP_BINDS:
            raise ODataError(400, "0x80060888", f"This imitation cannot expand '{part}' on {name}.")
        target_set, column = _STEP_BINDS[match.group("nav")]
        related = _related(registry, target_set, row.get(column))
        if related is not None and match.group("select"):
            related = {c: related.get(c) for c in match.group("select").split(",")}
        shaped[match.group("nav")] = related
    return shaped


def _related(registry: Registry, target_set: str, key: Any) -> dict[str, Any] | None:
    if key is None:
        return None
    rows = registry.filters() if target_set == "sdkmessagefilters" else _rows(registry, target_set)
    found = rows.get(str(key))
    return None if found is None else {k: v for k, v in found.items() if k != "authvalue"}


# -- checks ----------------------------------------------------------------------------------------------------
def _columns(
    payload: Any, columns: Mapping[str, type], logical: str, *, binds: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ODataError(400, "0x80048d19", f"The body for {logical} must be a JSON object.")
    row: dict[str, Any] = {}
    for name, value in payload.items():
        if name.endswith("@odata.bind") and name[: -len("@odata.bind")] in binds:
            target_set, column = binds[name[: -len("@odata.bind")]]
            row[column] = _bound(name, value, target_set)
        elif name == f"{logical}id":
            row[name] = value
        elif name.startswith("@odata.") or "@" in name:
            continue
        elif name in columns:
            kind = columns[name]
            if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                raise ODataError(
                    400, "0x80048d19", f"Cannot convert the literal '{value}' to the type of '{name}' ({kind.__name__})"
                )
            row[name] = value
        else:
            raise ODataError(
                400,
                "0x80060888",
                f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{logical}'. "
                "Make sure to only use property names that are defined by the type.",
            )
    return row


def _bound(name: str, value: Any, target_set: str) -> str | None:
    if value is None:
        return None
    match = _BIND.match(str(value))
    if match is None or match.group("set") != target_set:
        raise ODataError(400, "0x80060888", f"'{value}' for {name} is not like /{target_set}(<id>).")
    return match.group("id").lower()


def _bind_name(column: str) -> str:
    for nav, (_, kept) in _STEP_BINDS.items():
        if kept == column:
            return f"{nav}@odata.bind"
    return column


def _check_endpoint(row: Mapping[str, Any]) -> None:
    if not str(row.get("name") or "").strip():
        raise ODataError(400, "0x80040203", "A validation error occurred. Required: name.")
    _length(row, "name", 256)
    contract = row.get("contract")
    if contract is None:
        raise ODataError(400, "0x80040203", "A validation error occurred. Required: contract.")
    if contract not in range(1, 11):
        raise ODataError(400, "0x80040203", f"Contract {contract} is not valid (1..10; 8 is Webhook).")
    if contract != WEBHOOK:
        raise ODataError(400, "0x80040203", "This imitation keeps webhook service endpoints (contract 8) only.")
    url = str(row.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ODataError(400, "0x80040203", "A webhook needs an absolute http(s) Endpoint URL (url).")
    _length(row, "url", 2000)
    authtype = row.get("authtype")
    if authtype not in (WEBHOOK_KEY, HTTP_HEADER, HTTP_QUERY_STRING):
        raise ODataError(
            400,
            "0x80040203",
            "A webhook authenticates with WebhookKey (authtype 4), HttpHeader (5) or HttpQueryString (6).",
        )
    value = row.get("authvalue")
    if not str(value or "").strip():
        raise ODataError(400, "0x80040203", "A webhook needs the keys of its authentication (authvalue).")
    _length(row, "authvalue", 2048)
    if authtype in (HTTP_HEADER, HTTP_QUERY_STRING):
        try:
            pairs = parse_settings(str(value))
        except ValueError as error:
            raise ODataError(400, "0x80040203", f"The authvalue is not valid: {error}.") from None
        if authtype == HTTP_HEADER and not all(_TOKEN.match(n) for n, _ in pairs):
            raise ODataError(400, "0x80040203", "A header name of the authvalue is not a valid HTTP header name.")


def _length(row: Mapping[str, Any], column: str, limit: int) -> None:
    value = row.get(column)
    if isinstance(value, str) and len(value) > limit:
        raise ODataError(
            400,
            "0x80044331",
            f"A validation error occurred. The length of the '{column}' attribute exceeded the maximum allowed "
            f"length of '{limit}'.",
        )


def _stamps(*, created: bool) -> dict[str, str]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"createdon": now, "modifiedon": now} if created else {"modifiedon": now}
