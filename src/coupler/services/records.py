"""Finding records the way a user names them: by primary key or by display key (customer number, code...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from coupler.domain.coupling import Coupling
from coupler.domain.errors import RecordError, RecordNotFound
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems

__all__ = ["CoupledRef", "find_record", "resolve_couplings"]


def find_record(systems: Systems, mapping: TableMapping, side: Side, ref: str) -> Record | None:
    """The record of ``side`` whose primary key, or else display key, is ``ref`` (filters not applied)."""
    spec = replace(mapping.spec(side), filter=())
    connector = systems.connector(side)
    columns = mapping.columns(side)
    found = connector.read(spec, [ref], columns=columns)
    if found:
        return found[0]
    if not spec.display_key:
        return None
    matches = connector.find(spec, {spec.display_key: ref}, columns=columns, limit=2)
    if len(matches) > 1:
        shown = mapping.caption_of(side, spec.display_key)
        raise RecordError(
            f"{mapping.name}: more than one {mapping.records_of(side, systems.name(side))} has {shown} {ref!r}; "
            "use its primary key."
        )
    return matches[0] if matches else None


def require_record(systems: Systems, mapping: TableMapping, side: Side, ref: str) -> Record:
    record = find_record(systems, mapping, side, ref)
    if record is None:
        spec = mapping.spec(side)
        raise RecordNotFound(f"{mapping.name}: {systems.name(side)} has no {spec.title} {ref!r}.")
    return record


@dataclass(frozen=True, kw_only=True, slots=True)
class CoupledRef:
    """A reference as the user typed it, and the coupling it names (None when the record is not coupled)."""

    ref: str
    coupling: Coupling | None
    record: Record | None
    side: Side | None


def resolve_couplings(systems: Systems, mapping: TableMapping, refs: Sequence[str]) -> list[CoupledRef]:
    """Resolve references to couplings: local key or display key first, then integration key or display key."""
    store = systems.store
    resolved: dict[str, CoupledRef] = {}
    pending = list(dict.fromkeys(refs))
    for side in (Side.LOCAL, Side.INTEGRATION):
        if not pending:
            break
        by_key = store.couplings.find(mapping.name, side, pending)
        for ref in pending:
            if ref in by_key:
                resolved[ref] = CoupledRef(ref=ref, coupling=by_key[ref], record=None, side=side)
        pending = [ref for ref in pending if ref not in resolved]
    for ref in pending:
        for side in (Side.LOCAL, Side.INTEGRATION):
            record = find_record(systems, mapping, side, ref)
            if record is not None:
                coupling = store.couplings.get(mapping.name, side, record.key)
                resolved[ref] = CoupledRef(ref=ref, coupling=coupling, record=record, side=side)
                break
        else:
            resolved[ref] = CoupledRef(ref=ref, coupling=None, record=None, side=None)
    return [resolved[ref] for ref in dict.fromkeys(refs)]
