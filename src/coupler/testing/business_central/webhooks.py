"""Business Central's webhook subscriptions (API v2.0 ``subscriptions``) and the notifications it sends.

As the service does (MicrosoftDocs/dynamics365smb-devitpro-pb
``dev-itpro/api-reference/v2.0/dynamics-subscriptions.md``,
``api/dynamics_subscriptions_update.md``; microsoft/BCApps codeunits "API Webhook Notification Mgt." and
"API Webhook Notification Send", table "API Webhook Subscription"):

- ``POST subscriptions`` (``notificationUrl``, ``resource``, ``clientState`` of at most 2048 characters) first calls
  the URL with ``?validationToken=``; the subscription is created only when the token comes back as the body of a
  200, within ``handshake_timeout`` (5 s here). ``PATCH subscriptions('<id>')`` needs ``If-Match`` and makes the
  handshake again; either sets ``expirationDateTime`` to now + ``expiration`` (three days). ``DELETE`` removes it.
- A change of a subscribed entity set waits ``delay`` (30 s online) after the first change, so that a record changed
  several times is sent once; then one POST per notification URL carries every subscription's changes
  (``{"value": [...]}`` with ``subscriptionId``, ``clientState``, ``expirationDateTime``, ``resource``,
  ``changeType``, ``lastModifiedDateTime``). More than ``max_notifications`` (1,000 online) changes of one
  subscription become one ``collection`` notification whose resource filters on ``lastModifiedDateTime``.
- An answer of 408, 429 or 5xx (or none) is retried after ``retry_delays`` (60 s, 60 s, 60 s, 600 s: 5 attempts in all,
  "GetMaxNumberOfAttempts" and "GetDelayTimeForAttempt" of "API Webhook Notification Send"); after the last one, or
  on any other answer, the subscription is deleted. An expired subscription sends nothing and is removed.

Delays are settings so that tests run fast; the defaults are the service's.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from coupler.testing.odata.http import ODataError, Request, Response, json_response

__all__ = ["BcHooks", "HookSettings"]

log = logging.getLogger("coupler.testing.bc_webhooks")

MAX_CLIENT_STATE = 2048
_RETRIED = frozenset({408, 429})
_RESOURCE = re.compile(r"(?:^|/)api/v2\.0/companies\(([^)]+)\)/([A-Za-z0-9_]+)$")
"""A subscribable resource: an entity set of a company, relative or absolute ("Supports relative and absolute URL")."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HookSettings:
    delay: float = 30.0
    """Seconds between the first change and the notification (``OnGetDelayTime``: 30,000 ms online)."""
    max_notifications: int = 1000
    """More changes than this in one delay become one ``collection`` notification."""
    retry_delays: tuple[float, ...] = (60.0, 60.0, 60.0, 600.0)
    """Waits before the 2nd, 3rd ... attempt; after the last attempt fails the subscription is deleted."""
    expiration: timedelta = timedelta(days=3)
    handshake_timeout: float = 5.0
    send_timeout: float = 5.0


@dataclass(kw_only=True)
class _Subscription:
    id: str
    url: str
    resource: str
    company: str
    table: str
    client_state: str
    expires: datetime
    version: int = 1
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))

    def etag(self) -> str:
        return f'W/"JzE7{self.id}{self.version};Jw=="'

    def json(self) -> dict[str, Any]:
        return {
            "@odata.etag": self.etag(),
            "subscriptionId": self.id,
            "notificationUrl": self.url,
            "resource": self.resource,
            "userId": "00000000-0000-0000-0000-000000000001",
            "lastModifiedDateTime": _iso(self.modified),
            "clientState": self.client_state,
            "expirationDateTime": _iso(self.expires),
        }


@dataclass(kw_only=True)
class _Pending:
    subscription: str
    changes: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    """Record id -> (change type, when): a record changed several times is sent once."""
    first: datetime | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BcHooks:
    """The subscriptions of one test server and the thread that sends their notifications.

    ``companies`` and ``tables`` say which resources can be subscribed to; ``clock`` is the service's time (tests move
    it to expire subscriptions). ``sent`` keeps every notification POST answered 2xx (its JSON), for tests."""

    def __init__(
        self,
        *,
        companies: Sequence[str],
        tables: Sequence[str],
        settings: HookSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.companies = {c.lower() for c in companies}
        self.tables = set(tables)
        self.settings = settings or HookSettings()
        self.clock = clock
        self.subscriptions: dict[str, _Subscription] = {}
        self.sent: list[dict[str, Any]] = []
        self.dropped: list[str] = []
        """Ids of subscriptions deleted because their notifications failed."""
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # the subscriptions entity ------------------------------------------------------------------------------
    def handle(self, request: Request, key: str | None) -> Response:
        self._expire()
        if key is None:
            if request.method == "GET":
                with self._lock:
                    rows = [s.json() for s in self.subscriptions.values()]
                return json_response(200, {"@odata.context": f"{request.root}$metadata#subscriptions", "value": rows})
            if request.method == "POST":
                return self._create(request)
            raise ODataError(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed on a collection.")
        found = self.subscriptions.get(key.strip("'"))
        if found is None:
            raise ODataError(
                404,
                "BadRequest_NotFound",
                f"The subscription does not exist. Identification fields and values: "
                f"Subscription Id='{key.strip(chr(39))}'",
            )
        if request.method == "GET":
            return json_response(200, found.json())
        if request.method == "PATCH":
            return self._renew(found, request)
        if request.method == "DELETE":
            _check_etag(request, found, required=False)
            with self._lock:
                self.subscriptions.pop(found.id, None)
                self._pending.pop(found.id, None)
            return Response(status=204)
        raise ODataError(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed on an entity.")

    def _fields(self, request: Request) -> tuple[str, str, str, str, str]:
        body = request.json()
        if not isinstance(body, dict):
            raise ODataError(400, "BadRequest", "The request body must be a JSON object.")
        unknown = set(body) - {"notificationUrl", "resource", "clientState"}
        if unknown:
            raise ODataError(
                400,
                "BadRequest",
                f"The property '{sorted(unknown)[0]}' does not exist on type 'Microsoft.NAV.subscriptions'.",
            )
        url, resource, state = body.get("notificationUrl"), body.get("resource"), body.get("clientState") or ""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ODataError(400, "BadRequest", "The notificationUrl must be an absolute http(s) URL.")
        if not isinstance(state, str) or len(state) > MAX_CLIENT_STATE:
            raise ODataError(
                400,
                "Application_StringExceededLength",
                f"The length of the string for 'clientState' exceeds the maximum of {MAX_CLIENT_STATE} characters.",
            )
        parsed = _RESOURCE.search(resource) if isinstance(resource, str) else None
        company, table = (parsed.group(1).strip("'{}").lower(), parsed.group(2)) if parsed else ("", "")
        if parsed is None or company not in self.companies or table not in self.tables:
            # the service subscribes to entity sets that support webhooks only ("webhookSupportedResources")
            raise ODataError(400, "BadRequest", f"The resource '{resource}' is not a supported webhook resource.")
        return url, str(resource), state, company, table

    def _create(self, request: Request) -> Response:
        url, resource, state, company, table = self._fields(request)
        self._handshake(url)
        now = self.clock()
        created = _Subscription(
            id=uuid.uuid4().hex,
            url=url,
            resource=resource,
            company=company,
            table=table,
            client_state=state,
            expires=now + self.settings.expiration,
            modified=now,
        )
        with self._lock:
            self.subscriptions[created.id] = created
        return json_response(201, created.json(), {"etag": created.etag()})

    def _renew(self, found: _Subscription, request: Request) -> Response:
        _check_etag(request, found, required=True)
        url, resource, state, company, table = self._fields(request)
        self._handshake(url)
        now = self.clock()
        with self._lock:
            found.url, found.resource, found.client_state, found.company, found.table = (
                url,
                resource,
                state,
                company,
                table,
            )
            found.expires, found.modified, found.version = now + self.settings.expiration, now, found.version + 1
        return json_response(200, found.json(), {"etag": found.etag()})

    def _handshake(self, url: str) -> None:
        token = uuid.uuid4().hex
        try:
            answer = httpx.get(url, params={"validationToken": token}, timeout=self.settings.handshake_timeout)
            ok = answer.status_code == 200 and answer.text == token
        except httpx.HTTPError:
            ok = False
        if not ok:
            # wording not verified on a tenant: the service refuses a subscription whose URL failed the handshake
            raise ODataError(
                400,
                "BadRequest",
                "The subscription was not created: the notification URL did not return the validation token.",
            )

    def _expire(self) -> None:
        now = self.clock()
        with self._lock:
            for gone in [s.id for s in self.subscriptions.values() if s.expires <= now]:
                self.subscriptions.pop(gone, None)
                self._pending.pop(gone, None)

    # changes and notifications -----------------------------------------------------------------------------
    def changed(self, company: str, table: str, key: str, change: str) -> None:
        """A record of ``table`` in ``company`` was created, updated or deleted."""
        now, company = self.clock(), company.strip("'{}").lower()
        with self._lock:
            for subscription in self.subscriptions.values():
                if subscription.company != company or subscription.table != table:
                    continue
                pending = self._pending.setdefault(subscription.id, _Pending(subscription=subscription.id))
                before = pending.changes.get(key)
                kept = change
                if before is not None and before[0] == "created" and change == "updated":
                    kept = "created"
                pending.changes[key] = (kept, now)
                if pending.first is None:
                    pending.first = now
            if self._pending and self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, daemon=True, name="bc-webhooks")
                self._thread.start()
            self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._pending:
                    self._lock.wait()
                if self._closed:
                    return
                # the service's delay after the first change (more changes meanwhile join the same notification)
                if self._lock.wait_for(lambda: self._closed, timeout=self.settings.delay):
                    return
                batches = self._take()
            for url, items in batches.items():
                self._deliver(url, items)

    def _take(self) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """The pending changes as notification items by URL (subscription id with each), the pending list emptied."""
        now = self.clock()
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for pending in self._pending.values():
            subscription = self.subscriptions.get(pending.subscription)
            if subscription is None or subscription.expires <= now:
                continue
            base = {
                "subscriptionId": subscription.id,
                "clientState": subscription.client_state,
                "expirationDateTime": _iso(subscription.expires),
            }
            prefix = subscription.resource.lstrip("/")
            if len(pending.changes) > self.settings.max_notifications:
                since = _iso((pending.first or now) - timedelta(seconds=1))
                item = {
                    **base,
                    "resource": f"{prefix}?$filter=lastModifiedDateTime%20gt%20{since}",
                    "changeType": "collection",
                    "lastModifiedDateTime": _iso(now),
                }
                out.setdefault(subscription.url, []).append((subscription.id, item))
                continue
            for key, (change, at) in pending.changes.items():
                item = {
                    **base,
                    "resource": f"{prefix}({key})",
                    "changeType": change,
                    "lastModifiedDateTime": _iso(at),
                }
                out.setdefault(subscription.url, []).append((subscription.id, item))
        self._pending.clear()
        return out

    def _deliver(self, url: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        body = {"value": [item for _, item in items]}
        delays = (0.0, *self.settings.retry_delays)
        for attempt, wait in enumerate(delays, start=1):
            if wait:
                with self._lock:
                    if self._lock.wait_for(lambda: self._closed, timeout=wait):
                        return
            try:
                status = httpx.post(url, json=body, timeout=self.settings.send_timeout).status_code
            except httpx.HTTPError:
                status = None
            if status is not None and 200 <= status < 300:
                with self._lock:
                    self.sent.append(body)
                return
            retried = status is None or status in _RETRIED or 500 <= status < 600
            log.info("notification to %s answered %s (attempt %d)", url, status, attempt)
            if not retried:
                break
        with self._lock:  # no retry left, or an answer that is not retried: the subscriptions are deleted
            for subscription in {s for s, _ in items}:
                if self.subscriptions.pop(subscription, None) is not None:
                    self.dropped.append(subscription)


def _check_etag(request: Request, found: _Subscription, *, required: bool) -> None:
    given = request.header("if-match")
    if not given:
        if not required:
            return
        raise ODataError(
            400,
            "BadRequest",
            "Could not validate the client concurrency token required by the service. "
            "Please provide a valid token in the client request.",
        )
    if given != "*" and given != found.etag():
        raise ODataError(412, "Request_EntityChanged", "Another user has already changed the record.")


def subscription_key(path: str) -> tuple[bool, str | None]:
    """Whether ``path`` (below the API root) is the subscriptions entity, and the key it names."""
    if path == "subscriptions":
        return True, None
    if path.startswith("subscriptions(") and path.endswith(")"):
        return True, path[len("subscriptions(") : -1]
    return False, None
