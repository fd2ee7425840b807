"""Finding and naming the keys that break the 1:1 rule, shared by the SQL and in-memory stores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.mapping import Side

__all__ = ["TakenKey", "already_coupled", "duplicates_within", "shared_integration_keys"]

TakenKey = tuple[str, Side, str]
"""A taken key: (mapping, side, key)."""

_SHOWN = 10


def duplicates_within(couplings: Sequence[Coupling]) -> list[TakenKey]:
    """Keys that occur more than once in the batch itself."""
    local = Counter((c.mapping, c.local_key) for c in couplings)
    integration = Counter((c.mapping, c.integration_key) for c in couplings)
    return [(m, Side.LOCAL, k) for (m, k), n in local.items() if n > 1] + [
        (m, Side.INTEGRATION, k) for (m, k), n in integration.items() if n > 1
    ]


def shared_integration_keys(couplings: Sequence[Coupling]) -> list[TakenKey]:
    """Integration keys that the batch gives to more than one local key."""
    owners: dict[tuple[str, str], set[str]] = {}
    for c in couplings:
        owners.setdefault((c.mapping, c.integration_key), set()).add(c.local_key)
    return [(m, Side.INTEGRATION, k) for (m, k), local_keys in owners.items() if len(local_keys) > 1]


def already_coupled(conflicts: Iterable[TakenKey]) -> AlreadyCoupled:
    """The error naming every conflicting key (a few of them when there are many), by mapping and side."""
    grouped: dict[tuple[str, Side], list[str]] = {}
    for mapping, side, key in conflicts:
        keys = grouped.setdefault((mapping, side), [])
        if key not in keys:
            keys.append(key)
    parts = []
    for (mapping, side), keys in sorted(grouped.items()):
        shown = ", ".join(repr(k) for k in sorted(keys)[:_SHOWN])
        more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
        parts.append(f"mapping {mapping!r}: {side.value} key(s) {shown}{more}")
    return AlreadyCoupled("Already coupled: " + "; ".join(parts) if parts else None)
