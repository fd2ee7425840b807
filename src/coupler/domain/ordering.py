"""Ordered keyset reads: a list sorted by one value, then by key, read a page at a time after (or before) a
bookmark, never by offset.

Every reader of an ordered keyset (the connectors, the state store, their in-memory fakes) sorts the same way:
ascending puts empty values (None) first, then values in order, ties broken by key; descending is exactly the
reverse. ``Bookmark`` names the last row read (its value and key): the next read starts strictly after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from coupler.domain.coupling import Coupling

__all__ = ["NO_RESULT", "Bookmark", "CouplingOrder", "after_bookmark", "coupling_value", "order_key", "ordered_page"]

T = TypeVar("T")

NO_RESULT = "~"
"""The rank of "no result" in a sort by result: after every result (conflict, failure, pending, success sort by
their names, which is worst first)."""


class CouplingOrder(StrEnum):
    """What the state store orders couplings by."""

    KEY = "key"
    SYNCED = "synced"
    RESULT = "result"


@dataclass(frozen=True, kw_only=True, slots=True)
class Bookmark:
    """The last row read: its sort ``value`` and its ``key``."""

    value: Any
    key: str


def coupling_value(coupling: Coupling, by: CouplingOrder) -> Any:
    """What ``by`` orders a coupling by: its local key, its last synchronization, or its worst result of either
    direction as a rank (``NO_RESULT`` when it has none)."""
    if by is CouplingOrder.KEY:
        return coupling.local_key
    if by is CouplingOrder.SYNCED:
        return coupling.last_synced_at
    results = [r.value for r in (coupling.to_integration_result, coupling.from_integration_result) if r is not None]
    return min(results, default=NO_RESULT)


def order_key(value: Any, key: str) -> tuple[bool, Any, str]:
    """The sort key of a row in ascending order (empty values first)."""
    return (value is not None, value if value is not None else "", key)


def after_bookmark(value: Any, key: str, bookmark: Bookmark | None, *, descending: bool) -> bool:
    """Whether a row comes strictly after ``bookmark`` in this order."""
    if bookmark is None:
        return True
    here, there = order_key(value, key), order_key(bookmark.value, bookmark.key)
    return here < there if descending else here > there


def ordered_page(
    items: Iterable[T],
    value: Callable[[T], Any],
    key: Callable[[T], str],
    *,
    descending: bool = False,
    after: Bookmark | None = None,
    limit: int = 100,
) -> list[T]:
    """Up to ``limit`` of ``items`` after ``after`` in this order: the in-memory fakes' ordered keyset read."""
    kept = [item for item in items if after_bookmark(value(item), key(item), after, descending=descending)]
    kept.sort(key=lambda item: order_key(value(item), key(item)), reverse=descending)
    return kept[:limit]
