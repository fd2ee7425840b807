"""Business Central's webhooks (``SendsNotifications``): API v2.0 ``subscriptions``, the handshake, notifications.

What the service does (MicrosoftDocs/dynamics365smb-devitpro-pb,
``dev-itpro/api-reference/v2.0/dynamics-subscriptions.md`` and ``api/dynamics_subscriptions_update.md``;
learn page "Working with webhooks in Dynamics 365 Business Central"):

- ``POST <api root>/subscriptions`` with ``notificationUrl``, ``resource`` (``/api/v2.0/companies(<id>)/customers``)
  and ``clientState`` (an opaque token of up to 2048 characters delivered with every notification: coupler's secret).
  Before answering, the service calls the ``notificationUrl`` with ``?validationToken=...`` and creates the subscription
  only when the token comes back as the body of a 200 (``handshake``).
- A subscription expires after three days unless renewed by ``PATCH subscriptions('<id>')`` (``If-Match``
  required), which makes the handshake again. ``DELETE`` removes it.
- A notification is a POST of ``{"value": [{"subscriptionId", "clientState", "expirationDateTime", "resource",
  "changeType", "lastModifiedDateTime"}]}``, possibly for several subscriptions, sent some time (30 s by default)
  after the first change; ``changeType`` is created, updated, deleted, or ``collection`` when more records changed
  in that time than the service sends one by one (1,000 online; the resource then carries a ``$filter`` on
  ``lastModifiedDateTime``). The service retries on 408, 429 and 5xx (codeunit "API Webhook Notification Send",
  5 attempts: microsoft/BCApps) and deletes the subscription on any other answer: coupler answers a forged request
  with 401, which a genuine notification never gets.

There is no signature: a notification is genuine when it carries the ``clientState`` coupler subscribed with. One
whose subscription has expired by its own ``expirationDateTime`` is a replay (the service sends none for an expired
subscription) and refused too.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from coupler.adapters.connectors.http_client import HttpClient
from coupler.domain.errors import PermanentConnectorError
from coupler.ports.webhooks import Change, Forged, Malformed, Notified, Subscription

__all__ = ["MAX_CLIENT_STATE", "BusinessCentralWebhooks", "parse_resource"]

MAX_CLIENT_STATE = 2048
"""The longest ``clientState`` the service keeps ("optionalValueOf2048" in the documentation's example)."""
_MAX_TOKEN = 1024
_RESOURCE = re.compile(
    r"^/?(?:api/)?v2\.0/companies\((?P<company>[^)]+)\)/(?P<table>[A-Za-z0-9_]+)"
    r"(?:\((?P<key>[^)]*)\))?(?P<query>\?.*)?$"
)
_CHANGES = {c.value: c for c in Change}


def parse_resource(resource: str) -> tuple[str, str, str | None] | None:
    """``(company id, entity set, record id or None)`` of a subscription's or notification's ``resource``
    (relative, as the service sends it, or absolute); None when it names no API v2.0 entity set."""
    text = resource.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text[text.find("/") :] if "/" in text else ""
    at = text.find("api/v2.0/")
    if at < 0:
        return None
    match = _RESOURCE.match(text[at:])
    if match is None:
        return None
    key = match.group("key")
    return match.group("company").strip("'{}").lower(), match.group("table"), key.strip("'{}") if key else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class BusinessCentralWebhooks:
    """The webhooks side of ``BusinessCentralConnector`` (mixed into it): ``client`` is the API root's client."""

    client: HttpClient
    display_name: str

    def webhook_clock(self) -> datetime:
        """The time a notification's expiry is checked against."""
        return datetime.now(UTC)

    def company_id(self) -> str:  # pragma: no cover - the connector's
        raise NotImplementedError

    def _resource(self, table: str) -> str:
        return f"/api/v2.0/companies({self.company_id()})/{table}"

    def _subscription(self, row: Mapping[str, Any]) -> Subscription | None:
        parsed = parse_resource(str(row.get("resource") or ""))
        if parsed is None or parsed[0] != self.company_id().lower() or parsed[2] is not None:
            return None
        return Subscription(
            id=str(row.get("subscriptionId")),
            table=parsed[1],
            url=str(row.get("notificationUrl") or ""),
            expires=_timestamp(row.get("expirationDateTime")),
        )

    def _rows(self) -> list[dict[str, Any]]:
        answer = self.client.get_json("subscriptions", what="listing the webhook subscriptions")
        rows = answer.get("value") if isinstance(answer, dict) else None
        return [row for row in rows or [] if isinstance(row, dict)]

    def _send(self, method: str, url: str, *, what: str, body: Any = None, etag: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if etag is not None:
            headers["If-Match"] = etag
        response = self.client.request(method, url, json=body, headers=headers, what=what, watch=False)
        self.client.check(response, what=what)
        return response.json() if response.content else None

    # SendsNotifications ------------------------------------------------------------------------------------
    def subscribe(self, tables: Sequence[str], *, url: str, secret: str) -> list[Subscription]:
        if len(secret) > MAX_CLIENT_STATE:
            raise PermanentConnectorError(
                f"{self.display_name} keeps a webhook secret of at most {MAX_CLIENT_STATE} characters"
            )
        rows = self._rows()
        kept: list[Subscription] = []
        for table in dict.fromkeys(tables):
            existing = next(
                (
                    row
                    for row in rows
                    if row.get("notificationUrl") == url
                    and (s := self._subscription(row)) is not None
                    and s.table == table
                ),
                None,
            )
            if existing is not None:
                kept.append(self._renew_row(existing, secret))
                continue
            body = {"notificationUrl": url, "resource": self._resource(table), "clientState": secret}
            created = self._send("POST", "subscriptions", body=body, what=f"subscribing to changes of {table}")
            found = self._subscription(created) if isinstance(created, dict) else None
            if found is None:
                raise PermanentConnectorError(f"{self.display_name}: the subscription to {table} was not kept")
            kept.append(found)
        return kept

    def subscriptions(self, *, url: str) -> list[Subscription]:
        found = [self._subscription(row) for row in self._rows() if row.get("notificationUrl") == url]
        return [s for s in found if s is not None]

    def renew(self, subscription: Subscription, *, secret: str) -> Subscription:
        row = self.client.get_json(
            f"subscriptions('{subscription.id}')", what=f"reading the subscription to {subscription.table}"
        )
        return self._renew_row(row, secret)

    def _renew_row(self, row: Mapping[str, Any], secret: str) -> Subscription:
        """PATCH with the row's ETag: the service makes the handshake again and sets a new expiry."""
        body = {"notificationUrl": row.get("notificationUrl"), "resource": row.get("resource"), "clientState": secret}
        renewed = self._send(
            "PATCH",
            f"subscriptions('{row.get('subscriptionId')}')",
            body=body,
            etag=str(row.get("@odata.etag") or "*"),
            what="renewing a webhook subscription",
        )
        found = self._subscription(renewed) if isinstance(renewed, dict) else None
        if found is None:
            raise PermanentConnectorError(f"{self.display_name}: the renewed webhook subscription was not kept")
        return found

    def unsubscribe(self, *, url: str) -> int:
        removed = 0
        for row in self._rows():
            if row.get("notificationUrl") != url or self._subscription(row) is None:
                continue
            self._send(
                "DELETE",
                f"subscriptions('{row.get('subscriptionId')}')",
                etag=str(row.get("@odata.etag") or "*"),
                what="removing a webhook subscription",
            )
            removed += 1
        return removed

    def handshake(self, query: Mapping[str, str]) -> str | None:
        token = query.get("validationToken")
        if not token or len(token) > _MAX_TOKEN or not token.isprintable():
            return None
        return token

    def notifications(self, headers: Mapping[str, str], body: bytes, *, secret: str) -> list[Notified]:
        try:
            payload = json.loads(body.decode("utf-8-sig"))  # no BOM since version 19; older versions sent one
        except (UnicodeDecodeError, ValueError):
            raise Malformed("not JSON") from None
        items = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise Malformed("not a Business Central notification (no value list)")
        now = self.webhook_clock()
        company = self.company_id().lower()
        found: list[Notified] = []
        for item in items:
            state = item.get("clientState")
            if not isinstance(state, str) or not hmac.compare_digest(state.encode(), secret.encode()):
                raise Forged("a notification without the subscription's client state")
            change = _CHANGES.get(str(item.get("changeType")))
            parsed = parse_resource(str(item.get("resource") or ""))
            expires = _timestamp(item.get("expirationDateTime"))
            if change is None or parsed is None or expires is None:
                raise Malformed("a notification without a change type, resource or expiry")
            if expires <= now:
                raise Forged(f"a notification of a subscription that expired at {expires.isoformat()} (replayed)")
            if parsed[0] != company:
                continue  # another company's subscription at the same URL: not this connection's
            key = None if change is Change.MANY else parsed[2]
            if change is not Change.MANY and not key:
                raise Malformed("a notification of a single change without the record's id")
            found.append(Notified(table=parsed[1], change=change, key=key))
        return found
