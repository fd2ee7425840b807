"""What the Synchronize now dialog offers for one record or a selection: the directions the mapping allows, the
default by which side changed since the last synchronization, a warning before newer data is overwritten, and no
merge when both sides changed the same field to different values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from coupler.domain.coupling import Coupling
from coupler.domain.errors import UsageError
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems
from coupler.services.records import CoupledRef, require_known, resolve_couplings, titles
from coupler.services.views.card import CardField, compare_fields

__all__ = ["ANALYSED", "SyncChoice", "SyncOption", "SyncOptions", "sync_options", "sync_options_unread"]


class SyncChoice(StrEnum):
    """What the Synchronize now dialog offers: send the local data, get the integration data, or merge (both
    passes by the change rules: each side's changes flow to the other)."""

    TO_INTEGRATION = "to-integration"
    FROM_INTEGRATION = "from-integration"
    MERGE = "merge"

    @property
    def direction(self) -> Direction | None:
        """The forced direction to synchronize in (None: merge by the change rules)."""
        return None if self is SyncChoice.MERGE else Direction(self.value)


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncOption:
    choice: SyncChoice
    label: str
    warning: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncOptions:
    """The Synchronize now dialog for one record or a selection. ``options`` are the choices offered, ``default``
    the one preselected; ``merge_refused`` says why merge is not offered (None when it is, or the mapping is
    one-way); ``records`` counts the coupled records the dialog is about and ``uncoupled`` the references left out."""

    mapping: str
    options: tuple[SyncOption, ...]
    default: SyncChoice
    records: int
    uncoupled: tuple[str, ...] = ()
    merge_refused: str | None = None
    changed_local: tuple[str, ...] = ()
    changed_integration: tuple[str, ...] = ()
    uncoupled_titles: tuple[str, ...] = ()
    """The records left out as a user knows them ("Customer C00020 Trey Research"), in ``uncoupled``'s order."""
    creatable: tuple[str, ...] = ()
    """The local keys of the records left out that Synchronize now can create in the integration system, as
    Business Central offers ("... is not coupled. Create it in Dynamics 365 Sales?"): uncoupled local records within
    the filter, when the mapping writes to the integration system."""

    def option(self, choice: SyncChoice) -> SyncOption | None:
        return next((o for o in self.options if o.choice is choice), None)


_LABELS = {
    SyncChoice.TO_INTEGRATION: "Send {local} data to {integration}",
    SyncChoice.FROM_INTEGRATION: "Get data from {integration}",
    SyncChoice.MERGE: "Merge: each system's changes flow to the other",
}


def _label(systems: Systems, choice: SyncChoice) -> str:
    """The option's words, with the systems as the configuration names them."""
    return _LABELS[choice].format(local=systems.name(Side.LOCAL), integration=systems.name(Side.INTEGRATION))


ANALYSED = 500
"""A selection larger than this is not compared record by record: merge is offered and is the default."""


def sync_options(systems: Systems, name: str, refs: Sequence[str]) -> SyncOptions:
    """What the Synchronize now dialog offers for the records ``refs`` names: the directions the mapping allows;
    the default by which side changed; a warning on a direction whose target changed since the last sync; no merge
    when both sides changed the same bidirectional field to different values."""
    mapping = systems.mapping(name)
    if not refs:
        raise UsageError("choose at least one record to synchronize.")
    resolved = resolve_couplings(systems, mapping, refs)
    require_known(systems, mapping, resolved)
    couplings = [item.coupling for item in resolved if item.coupling is not None]
    left_out = [item for item in resolved if item.coupling is None]
    uncoupled = [item.ref for item in left_out]
    left = SyncOptions(
        mapping=mapping.name,
        options=(),
        default=SyncChoice.MERGE,
        records=len(couplings),
        uncoupled=tuple(uncoupled),
        uncoupled_titles=tuple(titles(mapping, left_out)),
        creatable=tuple(_creatable(mapping, left_out)),
    )
    if mapping.direction is not Direction.BIDIRECTIONAL:
        choice = SyncChoice(mapping.direction.value)
        only = SyncOption(choice=choice, label=_label(systems, choice))
        return replace(left, options=(only,), default=choice)
    changed = {Side.LOCAL: set[str](), Side.INTEGRATION: set[str]()}
    conflicting: set[str] = set()
    for local, integration, coupling in _pairs(systems, mapping, couplings[:ANALYSED]):
        for field in compare_fields(systems, mapping, local, integration, coupling):
            for side in field.changed:
                changed[side].add(_field_label(field))
            if field.direction is Direction.BIDIRECTIONAL and len(field.changed) == 2:
                conflicting.add(_field_label(field))
    warnings = {
        SyncChoice.TO_INTEGRATION: _warning(systems.name(Side.INTEGRATION), changed[Side.INTEGRATION]),
        SyncChoice.FROM_INTEGRATION: _warning(systems.name(Side.LOCAL), changed[Side.LOCAL]),
    }
    options = [SyncOption(choice=c, label=_label(systems, c), warning=w) for c, w in warnings.items()]
    refused = None
    if conflicting:
        refused = (
            f"Merge is not offered: both systems changed {', '.join(sorted(conflicting))} to different values since "
            "the last synchronization. Choose which system's data to use."
        )
    else:
        options.append(SyncOption(choice=SyncChoice.MERGE, label=_label(systems, SyncChoice.MERGE)))
    return replace(
        left,
        options=tuple(options),
        default=_default(changed[Side.LOCAL], changed[Side.INTEGRATION], merge=refused is None),
        merge_refused=refused,
        changed_local=tuple(sorted(changed[Side.LOCAL])),
        changed_integration=tuple(sorted(changed[Side.INTEGRATION])),
    )


def sync_options_unread(systems: Systems, name: str, records: int) -> SyncOptions:
    """The dialog for every record matching a search and filter ("Select all N matching"): the directions the
    mapping allows, not compared record by record (as a selection larger than ``ANALYSED``): merge is the
    default where the mapping is bidirectional."""
    mapping = systems.mapping(name)
    if mapping.direction is not Direction.BIDIRECTIONAL:
        choice = SyncChoice(mapping.direction.value)
        only = SyncOption(choice=choice, label=_label(systems, choice))
        return SyncOptions(mapping=mapping.name, options=(only,), default=choice, records=records)
    options = tuple(SyncOption(choice=c, label=_label(systems, c)) for c in SyncChoice)
    return SyncOptions(mapping=mapping.name, options=options, default=SyncChoice.MERGE, records=records)


def _creatable(mapping: TableMapping, items: Sequence[CoupledRef]) -> list[str]:
    if not mapping.direction.allows(Direction.TO_INTEGRATION):
        return []
    return [
        item.record.key
        for item in items
        if item.side is Side.LOCAL and item.record is not None and mapping.local.matches(item.record.values)
    ]


def _default(local: set[str], integration: set[str], *, merge: bool) -> SyncChoice:
    if integration and not local:
        return SyncChoice.FROM_INTEGRATION
    if local and integration and merge:
        return SyncChoice.MERGE
    return SyncChoice.TO_INTEGRATION  # only local changed, nothing changed, or a conflict: the local side leads


def _warning(target: str, fields: set[str]) -> str | None:
    if not fields:
        return None
    return (
        f"{target} holds newer data: {', '.join(sorted(fields))} changed there since the last "
        "synchronization and would be overwritten."
    )


def _field_label(field: CardField) -> str:
    return field.caption or f"{field.local_field}/{field.integration_field}"


def _pairs(
    systems: Systems, mapping: TableMapping, couplings: Sequence[Coupling]
) -> list[tuple[Record | None, Record | None, Coupling]]:
    """Both records of each coupling, read in one batch per side (filters not applied)."""
    read = {}
    for side in (Side.LOCAL, Side.INTEGRATION):
        spec = replace(mapping.spec(side), filter=())
        keys = [c.key(side) for c in couplings]
        found = systems.connector(side).read(spec, keys, columns=mapping.columns(side)) if keys else []
        read[side] = {r.key: r for r in found}
    return [(read[Side.LOCAL].get(c.local_key), read[Side.INTEGRATION].get(c.integration_key), c) for c in couplings]
