"""Keeping the systems' webhook subscriptions: register, status, renew before expiry, re-subscribe when lost, remove.

A system whose connector ``SendsNotifications`` is subscribed to every table it is the source of in a mapping, at the
route ``route(side)`` of `coupler serve`. Business Central's subscriptions expire after three days unless renewed;
the service deletes one whose notifications keep failing: ``maintain`` (run periodically by `coupler serve` or the
queue's workers) renews those expiring within ``renew_before`` and subscribes the tables that lost theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from coupler.domain.errors import CouplerError
from coupler.domain.mapping import Side
from coupler.ports.webhooks import SendsNotifications, Subscription
from coupler.services.context import Systems

__all__ = ["Maintained", "SubscriptionState", "maintain", "notifying", "register", "status", "unregister", "wanted"]

log = logging.getLogger("coupler.hooks")

Route = Callable[[Side], str]


@dataclass(frozen=True, kw_only=True, slots=True)
class SubscriptionState:
    """One table's subscription as a user reads it."""

    side: Side
    system: str
    table: str
    """The table in users' words (its caption in the mapping)."""
    expires: datetime | None
    state: str
    """active, renew soon, missing."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Maintained:
    renewed: int = 0
    subscribed: int = 0
    failed: tuple[str, ...] = ()
    """What could not be done, in users' words."""


def notifying(systems: Systems, side: Side) -> SendsNotifications | None:
    connector = systems.connector(side)
    return connector if isinstance(connector, SendsNotifications) else None


def wanted(systems: Systems, side: Side) -> dict[str, str]:
    """The tables of ``side`` that are the source of a mapping -> their caption."""
    tables: dict[str, str] = {}
    for mapping in systems.in_dependency_order():
        if any(d.source is side for d in mapping.direction.one_way):
            spec = mapping.spec(side)
            tables.setdefault(spec.table, spec.title)
    return tables


def register(systems: Systems, route: Route, secret: str) -> dict[Side, list[Subscription]]:
    """Subscribe every wanted table of each system that can notify (renewing those subscribed already)."""
    done: dict[Side, list[Subscription]] = {}
    for side in Side:
        connector = notifying(systems, side)
        tables = wanted(systems, side)
        if connector is not None and tables:
            done[side] = connector.subscribe(list(tables), url=route(side), secret=secret)
    return done


def status(systems: Systems, route: Route, *, now: datetime, renew_before: timedelta) -> list[SubscriptionState]:
    found: list[SubscriptionState] = []
    for side in Side:
        connector = notifying(systems, side)
        if connector is None:
            continue
        kept = {s.table.lower(): s for s in connector.subscriptions(url=route(side))}
        for table, title in wanted(systems, side).items():
            subscription = kept.get(table.lower())
            expires = subscription.expires if subscription else None
            state = "missing"
            if subscription is not None:
                state = "renew soon" if expires is not None and expires - now <= renew_before else "active"
            found.append(
                SubscriptionState(side=side, system=systems.name(side), table=title, expires=expires, state=state)
            )
    return found


def maintain(systems: Systems, route: Route, secret: str, *, now: datetime, renew_before: timedelta) -> Maintained:
    """Renew what expires within ``renew_before``; subscribe the wanted tables that have no subscription."""
    renewed = subscribed = 0
    failed: list[str] = []
    for side in Side:
        connector = notifying(systems, side)
        tables = wanted(systems, side)
        if connector is None or not tables:
            continue
        name = systems.name(side)
        try:
            kept = {s.table.lower(): s for s in connector.subscriptions(url=route(side))}
        except CouplerError as error:
            failed.append(f"{name}: {error.message}")
            continue
        missing = [t for t in tables if t.lower() not in kept]
        for table, title in tables.items():
            subscription = kept.get(table.lower())
            if subscription is None or subscription.expires is None or subscription.expires - now > renew_before:
                continue
            try:
                connector.renew(subscription, secret=secret)
                renewed += 1
            except CouplerError as error:  # gone meanwhile, or the handshake failed: subscribe anew
                log.warning("renewing the subscription to %s %s failed: %s", name, title, error.message)
                missing.append(table)
        if missing:
            try:
                subscribed += len(connector.subscribe(missing, url=route(side), secret=secret))
            except CouplerError as error:
                failed.append(f"{name}: {error.message}")
    if renewed or subscribed:
        log.info("webhook subscriptions: %d renewed, %d subscribed", renewed, subscribed)
    return Maintained(renewed=renewed, subscribed=subscribed, failed=tuple(failed))


def unregister(systems: Systems, route: Route) -> dict[Side, int]:
    removed: dict[Side, int] = {}
    for side in Side:
        connector = notifying(systems, side)
        if connector is not None:
            removed[side] = connector.unsubscribe(url=route(side))
    return removed
