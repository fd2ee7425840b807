"""Finding records the way a user names them: by primary key or by display key (customer number, code...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from coupler.domain.coupling import Coupling
from coupler.domain.errors import RecordError, RecordNotFound
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems

__all__ = ["CoupledRef", "find_record", "left_out", "require_known", "resolve_couplings", "titles"]


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
        raise RecordNotFound(f"{systems.name(side)} has no {mapping.spec(side).title} {ref}.")
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


def require_known(systems: Systems, mapping: TableMapping, resolved: Sequence[CoupledRef]) -> None:
    """Refuse references that name no record of either side, before any job starts: "Business Central has no
    Customer C99999." (a mistyped number is a message, not a failed job in the log)."""
    unknown = [item.ref for item in resolved if item.coupling is None and item.record is None]
    if not unknown:
        return
    names = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else "")
    local, integration = mapping.spec(Side.LOCAL).title, mapping.spec(Side.INTEGRATION).title
    raise RecordNotFound(
        f"{systems.name(Side.LOCAL)} has no {local} {names}, and {systems.name(Side.INTEGRATION)} no {integration} "
        "by that number or name."
    )


def titles(mapping: TableMapping, items: Sequence[CoupledRef]) -> list[str]:
    """How a user knows the records of these references ("Customer C00020 Trey Research")."""
    return [
        f"{mapping.spec(item.side).title} {mapping.title(item.side, item.record.key, item.record.values)}"
        if item.record is not None and item.side is not None
        else item.ref
        for item in items
    ]


def left_out(systems: Systems, mapping: TableMapping, items: Sequence[CoupledRef], action: str) -> str:
    """The sentence for records an action leaves out because they are not coupled: a refusal when it is all of
    them, the job's note otherwise."""
    named = titles(mapping, items[:10])
    more = f" and {len(items) - 10:,} more" if len(items) > 10 else ""
    verb = "is" if len(items) == 1 else "are"
    return f"{', '.join(named)}{more} {verb} not coupled, so there is nothing to {action}."
