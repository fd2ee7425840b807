"""Dataverse's webhooks (``ports/webhooks.py``): a webhook service endpoint that sends to ``coupler serve`` and, for
each mapped table, an asynchronous step on Create, Update and Delete; each change arrives as the
``RemoteExecutionContext`` JSON with coupler's key in a header.

Sources (MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/):

- register-web-hook.md: a webhook is a ``serviceendpoint`` with ``contract`` 8, a name, the endpoint URL and one of
  three authentications; "HttpHeader: includes one or more key values pairs in the header of the http request".
  Steps (``sdkmessageprocessingsteps``) name the message (``sdkmessageid``), the table (``sdkmessagefilterid``),
  the stage, the execution mode and ``asyncautodelete`` ("Choosing to delete the System Job when it succeeds will
  save you database space"); they are listed with ``$expand=sdkmessagefilterid($select=primaryobjecttypecode),
  sdkmessageid($select=name)``. "Any request to the endpoint configured should fail when the authentication options
  passed in the request do not match. This is the responsibility of the endpoint."
- reference/entities/serviceendpoint.md: ``authtype`` 5 is Http Header; ``authvalue`` (at most 2048 characters)
  cannot be read back; the AuthValue of HttpHeader is ``<settings><setting name="..." value="..." /></settings>``.
- reference/entities/sdkmessageprocessingstep.md: ``stage`` 40 Post-operation, ``mode`` 1 Asynchronous,
  ``supporteddeployment`` 0 Server Only, ``statecode`` 0/1 Enabled/Disabled; deleting the endpoint deletes its steps
  (serviceendpoint_sdkmessageprocessingstep cascades Delete). register-plug-in.md: "Asynchronous plug-ins can only
  be registered for the PostOperation stage".
- use-webhooks.md: the body is the RemoteExecutionContext (``MessageName``, ``PrimaryEntityName`` the table's
  logical name, ``PrimaryEntityId``); above 256 KB ``x-ms-dynamics-msg-size-exceeded`` is set and InputParameters and
  the images are left out (what is read here stays).

Steps do not expire: ``renew`` only puts back what is missing. Table names are entity sets (``accounts``), as in the
mapping; the context names the logical name (``account``), turned back into its entity set.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast
from xml.sax.saxutils import quoteattr

import httpx

from coupler.adapters.connectors.dataverse.option_sets import is_option_set
from coupler.adapters.connectors.http_client import HttpClient, error_message
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.query import literal
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import TableSpec
from coupler.ports.webhooks import Change, Forged, Malformed, Notified, Subscription

__all__ = ["HEADER", "MESSAGES", "DataverseWebhooks"]

HEADER = "x-coupler-key"
"""The header that carries coupler's secret (the HttpHeader authentication's one setting)."""
MESSAGES = ("Create", "Update", "Delete")
_CHANGES = {"Create": Change.CREATED, "Update": Change.UPDATED, "Delete": Change.DELETED}
_WEBHOOK, _HTTP_HEADER, _POST_OPERATION, _ASYNCHRONOUS, _SERVER_ONLY = 8, 5, 40, 1, 0
_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_LOGICAL = re.compile(r"^[a-z_][a-z0-9_]*$")
_STEPS = {
    "$select": "sdkmessageprocessingstepid,name,statecode",
    "$expand": "sdkmessageid($select=name),sdkmessagefilterid($select=primaryobjecttypecode)",
}


class _Host(Protocol):
    """What the mixin uses of the Dataverse connector."""

    client: HttpClient
    display_name: str

    def _entity(self, spec: TableSpec) -> EntityInfo: ...

    def _set_of(self, logical: str) -> str: ...


class DataverseWebhooks:
    """``SendsNotifications`` for the Dataverse connector (mixed into ``DataverseConnector``)."""

    def subscribe(self, tables: Sequence[str], *, url: str, secret: str) -> list[Subscription]:
        """One webhook endpoint for ``url`` (created, or given the new ``secret``), and a step on Create, Update and
        Delete of each table (an option set's table has none); steps already there are kept, a disabled one is
        enabled again."""
        host = cast(_Host, self)
        if not secret:
            raise ConfigurationError(f"{host.display_name}: a webhook needs a secret")
        logical = {t: host._entity(TableSpec(table=t, key="")).type_name for t in dict.fromkeys(tables)}
        logical = {t: name for t, name in logical.items() if not is_option_set(t)}
        endpoint = _endpoint(host, url, secret)
        existing = {(s["message"], s["table"]): s for s in _steps(host, endpoint)}
        messages: dict[str, str] = {}
        for table in logical.values():
            for message in MESSAGES:
                step = existing.get((message, table))
                if step is None:
                    if message not in messages:
                        messages[message] = _message_id(host, message)
                    _create_step(host, endpoint, messages[message], message, table, url)
                elif step["statecode"] != 0:
                    what = f"enabling the webhook step on {message} of {table}"
                    enabled = {"statecode": 0, "statuscode": 1}
                    _send(host, "PATCH", f"sdkmessageprocessingsteps({step['id']})", what, enabled)
        wanted = set(logical)
        return [s for s in self.subscriptions(url=url) if s.table in wanted]

    def subscriptions(self, *, url: str) -> list[Subscription]:
        """One subscription per table with enabled steps sending to ``url``; its id is the endpoint's."""
        host = cast(_Host, self)
        found: list[Subscription] = []
        for endpoint in _endpoints(host, url):
            by_table: dict[str, set[str]] = {}
            for step in _steps(host, endpoint):
                if step["statecode"] == 0 and step["message"] in MESSAGES and step["table"]:
                    by_table.setdefault(step["table"], set()).add(step["message"])
            for table, kept in sorted(by_table.items()):
                found.append(
                    Subscription(
                        id=endpoint,
                        table=host._set_of(table),
                        url=url,
                        expires=None,
                        messages=tuple(m for m in MESSAGES if m in kept),
                    )
                )
        return found

    def renew(self, subscription: Subscription, *, secret: str) -> Subscription:
        """Steps never expire: the subscription as it is, with any step that went missing registered again."""
        if set(subscription.messages) >= set(MESSAGES):
            return subscription
        renewed = self.subscribe([subscription.table], url=subscription.url, secret=secret)
        return next((s for s in renewed if s.table == subscription.table), subscription)

    def unsubscribe(self, *, url: str) -> int:
        """Delete the steps and the endpoint that send to ``url``; how many tables' subscriptions went."""
        host = cast(_Host, self)
        removed = len(self.subscriptions(url=url))
        for endpoint in _endpoints(host, url):
            for step in _steps(host, endpoint):
                _delete(host, f"sdkmessageprocessingsteps({step['id']})", "removing a webhook step")
            _delete(host, f"serviceendpoints({endpoint})", "removing the webhook")
        return removed

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """Dataverse validates nothing before it sends."""
        return None

    def notifications(self, headers: Mapping[str, str], body: bytes, *, secret: str) -> list[Notified]:
        """The change one RemoteExecutionContext tells of. Forged without the key in ``HEADER`` (compared in
        constant time); Malformed when, with the key, the body is not a context of a change to one record."""
        given = headers.get(HEADER)
        if not secret:
            raise Forged("no secret is configured for Dataverse's webhooks")
        if given is None:
            raise Forged(f"the request has no {HEADER} header")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise Forged(f"the {HEADER} header does not carry the secret")
        try:
            context = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise Malformed("the body is not JSON") from None
        if not isinstance(context, dict):
            raise Malformed("the body is not a RemoteExecutionContext")
        message, table = context.get("MessageName"), context.get("PrimaryEntityName")
        key = context.get("PrimaryEntityId")
        if not isinstance(message, str) or not message:
            raise Malformed("the context has no MessageName")
        if not isinstance(table, str) or not _LOGICAL.match(table):
            raise Malformed("the context has no PrimaryEntityName")
        found = _GUID.match(key) if isinstance(key, str) else None
        if found is None:
            raise Malformed("the context has no PrimaryEntityId")
        named = headers.get("x-ms-dynamics-entity-name")
        if named is not None and named != table:
            raise Malformed("the x-ms-dynamics-entity-name header names another table than the context")
        change = _CHANGES.get(message, Change.UPDATED)  # another message on the record (Assign, SetState): changed
        return [Notified(table=cast(_Host, self)._set_of(table), change=change, key=found.group(1).lower())]


# -- the endpoint ----------------------------------------------------------------------------------------------
def _settings(secret: str) -> str:
    return f"<settings><setting name={quoteattr(HEADER)} value={quoteattr(secret)} /></settings>"


def _endpoints(host: _Host, url: str) -> list[str]:
    params = {
        "$select": "serviceendpointid,name,url",
        "$filter": "contract eq 8 and url eq @url",
        "@url": literal(url),
    }
    answer = _get(host, "serviceendpoints", params, "reading the webhooks registered for coupler")
    return [str(row["serviceendpointid"]).lower() for row in answer.get("value") or [] if row.get("url") == url]


def _endpoint(host: _Host, url: str, secret: str) -> str:
    """The endpoint for ``url`` with ``secret`` as its key: the one there, updated, or a new one."""
    authvalue = _settings(secret)
    if len(authvalue) > 2048:
        raise ConfigurationError(f"{host.display_name}: the webhook's secret is too long (at most 2000 characters)")
    name = f"coupler {url}"[:256]
    found = _endpoints(host, url)
    body: dict[str, Any] = {"name": name, "authtype": _HTTP_HEADER, "authvalue": authvalue}
    if found:
        _send(host, "PATCH", f"serviceendpoints({found[0]})", "giving the webhook its new secret", body)
        return found[0]
    chosen = str(uuid.uuid4())
    body = {
        "serviceendpointid": chosen,
        **body,
        "url": url,
        "contract": _WEBHOOK,
        "description": "Tells coupler of changed records, so that it synchronizes them within seconds.",
    }
    _send(host, "POST", "serviceendpoints", "registering coupler's webhook", body, duplicate_ok=True)
    return chosen


# -- the steps -------------------------------------------------------------------------------------------------
def _steps(host: _Host, endpoint: str) -> list[dict[str, Any]]:
    params = {**_STEPS, "$filter": f"_eventhandler_value eq {endpoint}"}
    answer = _get(host, "sdkmessageprocessingsteps", params, "reading the steps of coupler's webhook")
    steps = []
    for row in answer.get("value") or []:
        message = (row.get("sdkmessageid") or {}).get("name")
        table = (row.get("sdkmessagefilterid") or {}).get("primaryobjecttypecode")
        steps.append(
            {
                "id": str(row["sdkmessageprocessingstepid"]).lower(),
                "message": message,
                "table": table,
                "statecode": row.get("statecode", 0),
            }
        )
    return steps


def _message_id(host: _Host, message: str) -> str:
    params = {"$select": "sdkmessageid", "$filter": f"name eq {literal(message)}"}
    rows = _get(host, "sdkmessages", params, f"finding the {message} message").get("value") or []
    if not rows:
        raise PermanentConnectorError(f"{host.display_name} has no {message} message")
    return str(rows[0]["sdkmessageid"]).lower()


def _filter_id(host: _Host, message: str, table: str) -> str:
    params = {
        "$select": "sdkmessagefilterid",
        "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
        "@message": literal(message),
        "@table": literal(table),
    }
    rows = _get(host, "sdkmessagefilters", params, f"finding the {message} message of {table}").get("value") or []
    if not rows:
        raise ConfigurationError(f"{host.display_name} cannot tell of changes to {table}: it has no {message} step")
    return str(rows[0]["sdkmessagefilterid"]).lower()


def _create_step(host: _Host, endpoint: str, message_id: str, message: str, table: str, url: str) -> None:
    body = {
        "sdkmessageprocessingstepid": str(uuid.uuid4()),
        "name": f"coupler: {message} of {table}"[:256],
        "description": f"Sends each {message} of {table} to {url}"[:256],
        "stage": _POST_OPERATION,
        "mode": _ASYNCHRONOUS,
        "rank": 1,
        "supporteddeployment": _SERVER_ONLY,
        "asyncautodelete": True,
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint})",
        "sdkmessageid@odata.bind": f"/sdkmessages({message_id})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({_filter_id(host, message, table)})",
    }
    what = f"registering the webhook step on {message} of {table}"
    _send(host, "POST", "sdkmessageprocessingsteps", what, body, duplicate_ok=True)


# -- requests --------------------------------------------------------------------------------------------------
def _get(host: _Host, path: str, params: Mapping[str, str], what: str) -> dict[str, Any]:
    answer = host.client.get_json(path, params=params, what=what)
    return answer if isinstance(answer, dict) else {}


def _send(
    host: _Host, method: str, path: str, what: str, body: Mapping[str, Any], *, duplicate_ok: bool = False
) -> httpx.Response:
    """A write; a POST with its key chosen in advance is safe to repeat (a repeat fails as a duplicate)."""
    response = host.client.request(method, path, json=dict(body), what=what, idempotent=True)
    if duplicate_ok and response.status_code == 412:
        return response
    if not response.is_success:
        raise PermanentConnectorError(
            f"{host.display_name}: {what} failed: {response.status_code} {error_message(response)}"
        )
    return response


def _delete(host: _Host, path: str, what: str) -> None:
    response = host.client.request("DELETE", path, what=what)
    if response.status_code != 404:  # already gone (deleting the endpoint deletes its steps)
        host.client.check(response, what=what)
