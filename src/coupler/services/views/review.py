"""The full-synchronization review: per mapping, what to run first, as Business Central's review page advises.

A full synchronization creates a counterpart for every uncoupled record, so when both sides already hold records
that are not coupled (the same companies, typically) it would duplicate them: match-based coupling comes first then.
Records are counted without reading them: ``Connector.count`` (one ``COUNT`` query on SQL). Only a connector that
cannot count has its keys read, page by page, and only until the side is known to hold more records than there are
couplings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coupler.domain.mapping import Side, TableMapping
from coupler.services.context import Systems
from coupler.services.wording import plural

__all__ = ["Advice", "Recommendation", "SideCount", "recommend", "review"]


class Advice(StrEnum):
    """What to run first. A full synchronization creates the counterpart of every uncoupled record; match-based
    coupling first couples the records both sides already share, so that it does not duplicate them."""

    FULL_SYNC = "full synchronization"
    MATCH = "match-based coupling"
    NOTHING = "nothing"


@dataclass(frozen=True, kw_only=True, slots=True)
class SideCount:
    """Records of one side (its filter applied): ``count`` exactly, or at least ``count`` when ``more``."""

    count: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.count}+" if self.more else str(self.count)

    def exceeds(self, number: int) -> bool:
        return self.count > number


@dataclass(frozen=True, kw_only=True, slots=True)
class Recommendation:
    mapping: str
    advice: Advice
    reason: str
    local: SideCount
    integration: SideCount
    couplings: int

    command: str | None = None
    """The command that carries the advice out."""


def review(systems: Systems) -> list[Recommendation]:
    """A recommendation for every mapping, in dependency order (the order to run them in); the progress counts the
    mappings reviewed (each costs a count of both tables)."""
    mappings = systems.in_dependency_order()
    systems.progress.start("Reviewing", len(mappings), unit="mappings")
    recommendations = []
    for mapping in mappings:
        recommendations.append(recommend(systems, mapping.name))
        systems.progress.advance(1)
    return recommendations


def recommend(systems: Systems, name: str) -> Recommendation:
    mapping = systems.mapping(name)
    couplings = systems.store.stats(mapping.name).couplings
    local = _count(systems, mapping, Side.LOCAL, couplings)
    integration = _count(systems, mapping, Side.INTEGRATION, couplings)
    names = {side: mapping.records_of(side, systems.name(side)) for side in Side}
    sources = {d.source for d in mapping.direction.one_way}
    advice, reason = _advise(local, integration, couplings, sources=sources, names=names)
    return Recommendation(
        mapping=mapping.name,
        advice=advice,
        reason=reason,
        local=local,
        integration=integration,
        couplings=couplings,
        command=_command(mapping, advice),
    )


def _command(mapping: TableMapping, advice: Advice) -> str | None:
    if advice is Advice.MATCH:
        configured = any(f.match_priority is not None for f in mapping.fields)
        return f"coupler match {mapping.name}" + ("" if configured else " --on FIELD")
    if advice is Advice.FULL_SYNC:
        return f"coupler sync {mapping.name} --full"
    return None


def _advise(
    local: SideCount, integration: SideCount, couplings: int, *, sources: set[Side], names: dict[Side, str]
) -> tuple[Advice, str]:
    """``sources``: the sides the mapping copies records from (a full synchronization creates their counterparts);
    ``names``: each side's table as a user knows it ("Business Central Customer")."""
    if not local.count and not integration.count:
        return Advice.NOTHING, f"there is no {names[Side.LOCAL]} and no {names[Side.INTEGRATION]}"
    if not integration.count or not local.count:
        empty = Side.INTEGRATION if not integration.count else Side.LOCAL
        if empty.other not in sources:
            return Advice.NOTHING, f"there is no {names[empty]} and the mapping never copies records into it"
        return Advice.FULL_SYNC, f"there is no {names[empty]} yet"
    if local.exceeds(couplings) and integration.exceeds(couplings):
        if not couplings:
            return Advice.MATCH, "both systems hold records and none is coupled"
        return Advice.MATCH, f"both systems hold more records than the {plural(couplings, 'coupling')}"
    if local.exceeds(couplings) or integration.exceeds(couplings):
        side = Side.LOCAL if local.exceeds(couplings) else Side.INTEGRATION
        if side not in sources:
            return Advice.NOTHING, (
                f"only {names[side]} records are uncoupled, and the mapping never copies records from them"
            )
        return Advice.FULL_SYNC, f"only {names[side]} records are uncoupled"
    return Advice.NOTHING, "every record is coupled"


def _count(systems: Systems, mapping: TableMapping, side: Side, couplings: int) -> SideCount:
    """The side's records: counted by the system when it can; otherwise the first page of keys, and more pages
    only while they do not outnumber the couplings."""
    spec = mapping.spec(side)
    counted = systems.count(side, spec).value
    if counted is not None:
        return SideCount(count=counted)
    size = systems.batch_size
    count = 0
    for page in systems.connector(side).changed_since(spec, None, columns=[spec.key], page_size=size):
        count += len(page)
        if count > couplings:
            return SideCount(count=count, more=len(page) == size)
    return SideCount(count=count)
