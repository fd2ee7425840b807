"""The webhooks port: a connected system that tells coupler when its records change.

Business Central (API v2.0 ``subscriptions``) and Dataverse (a webhook ``serviceendpoint`` with a step per message
and table) both POST to a URL of ``coupler serve`` when a record changes. A connector that can ask for that is
``SendsNotifications``: it registers, lists, renews and removes its subscriptions, answers a service's validation
handshake, and turns one request the service sent into what changed, refusing a request that does not carry the
secret (``Forged``). What to do with the changes (coalesce, enqueue a targeted synchronization) is the services'.

Polling stays the safety net: a lost notification is found by the next scheduled run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["Change", "Forged", "Malformed", "Notified", "SendsNotifications", "Subscription"]


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    MANY = "collection"
    """The service names no record (too many changes at once): synchronize the table's changes since the last run."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Notified:
    """One change a notification told of: the system's ``table`` and the record's ``key`` (None with
    ``Change.MANY``)."""

    table: str
    change: Change
    key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """One subscription as the service keeps it: its id there, the table it watches, where it sends, and when it
    expires (None: never; Dataverse's steps do not expire, Business Central's subscriptions do after three days)."""

    id: str
    table: str
    url: str
    expires: datetime | None = None
    messages: tuple[str, ...] = ()
    """The changes it sends (Dataverse: Create, Update, Delete; Business Central: all)."""


class Forged(Exception):
    """A request on a notification route that does not carry the subscription's secret, or is not a notification.
    The route answers without saying why; the reason is for coupler's log only."""


class Malformed(Forged):
    """A request that is no notification at all (not JSON, not the service's shape): answered 400, not 401. A
    request that has the shape but not the secret, or replays an old notification, is ``Forged`` itself."""


@runtime_checkable
class SendsNotifications(Protocol):
    """A connector whose system can notify coupler of changes."""

    def subscribe(self, tables: Sequence[str], *, url: str, secret: str) -> list[Subscription]:
        """Subscribe to changes of ``tables`` at ``url`` (idempotent: a table already subscribed at that url is
        renewed, not subscribed twice); the subscriptions as the service now keeps them."""
        ...

    def subscriptions(self, *, url: str) -> list[Subscription]:
        """The subscriptions that send to ``url``."""
        ...

    def renew(self, subscription: Subscription, *, secret: str) -> Subscription:
        """Extend ``subscription`` before it expires (a no-op for one that never expires)."""
        ...

    def unsubscribe(self, *, url: str) -> int:
        """Remove every subscription that sends to ``url``; how many were removed."""
        ...

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """The text to answer a validation request with (Business Central sends ``validationToken`` and expects it
        back), or None when the request is not one."""
        ...

    def notifications(self, headers: Mapping[str, str], body: bytes, *, secret: str) -> list[Notified]:
        """What changed, from one request the service sent; raises Forged when it does not carry ``secret`` or
        is not a notification of this service."""
        ...
