"""The record card: a local record beside its coupled integration record, field mapping by field mapping, and what
the Synchronize now and Set up coupling dialogs offer for it.

Values are compared the way a synchronization compares them: what the source would write (after transformations,
option mappings and lookups) against what the target holds. Which side changed a field since the last
synchronization comes from the coupling's fingerprint, so the dialogs can default to the side that changed, warn
before overwriting newer data and refuse a merge that would only park a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.errors import RecordError, RecordNotFound, UsageError
from coupler.domain.fingerprint import canonical, decode
from coupler.domain.jobs import JobError
from coupler.domain.mapping import Condition, Direction, FieldMapping, Operator, Side, TableMapping
from coupler.domain.planning import values_equal
from coupler.domain.records import Record
from coupler.domain.state import Conflict
from coupler.domain.transfer import Transfer
from coupler.domain.transforms import TransformError
from coupler.services.context import Systems
from coupler.services.lookups import LookupResolver
from coupler.services.queries import record_status
from coupler.services.records import resolve_couplings

__all__ = [
    "CardField",
    "IntegrationMatch",
    "RecordCard",
    "SyncChoice",
    "SyncOption",
    "SyncOptions",
    "coupled_keys",
    "record_card",
    "record_names",
    "search_integration",
    "sync_options",
]

MAX_QUERY = 200
"""The longest text the integration lookup accepts."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CardField:
    """One field mapping on the card. ``differs``: the source of the field's direction would write something other
    than what the target holds. ``changed``: the sides that changed the field since the last synchronization."""

    local_field: str | None
    integration_field: str | None
    direction: Direction
    local_value: Any
    integration_value: Any
    differs: bool
    changed: tuple[Side, ...] = ()
    note: str | None = None

    @property
    def pair(self) -> str:
        return f"{self.local_field or ''}|{self.integration_field or ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordCard:
    mapping: TableMapping
    ref: str
    local: Record | None
    integration: Record | None
    coupling: Coupling | None
    conflict: Conflict | None
    fields: tuple[CardField, ...]
    errors: tuple[JobError, ...]

    @property
    def coupled(self) -> bool:
        return self.coupling is not None

    @property
    def local_name(self) -> str | None:
        return _name(self.mapping, Side.LOCAL, self.local)

    @property
    def integration_name(self) -> str | None:
        return _name(self.mapping, Side.INTEGRATION, self.integration)

    @property
    def differing(self) -> tuple[CardField, ...]:
        return tuple(f for f in self.fields if f.differs)


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

    def option(self, choice: SyncChoice) -> SyncOption | None:
        return next((o for o in self.options if o.choice is choice), None)


@dataclass(frozen=True, kw_only=True, slots=True)
class IntegrationMatch:
    """An integration record the Set up coupling lookup found; ``coupled_to`` names its local partner if any."""

    key: str
    name: str
    values: Mapping[str, Any]
    exact: bool
    coupled_to: str | None = None


# the card ----------------------------------------------------------------------------------------------------
def record_card(systems: Systems, name: str, ref: str) -> RecordCard:
    """The card of the record ``ref`` names (either side, primary or display key)."""
    status = record_status(systems, name, ref)
    if status.coupling is None and status.local is None and status.integration is None:
        raise RecordNotFound(f"{status.mapping}: {ref!r} names no record of either side.")
    mapping = systems.mapping(name)
    conflict = None
    if status.coupling is not None and status.coupling.in_conflict:
        conflict = systems.store.conflict(mapping.name, status.coupling.local_key)
    fields = _Comparison(systems, mapping).fields(status.local, status.integration, status.coupling)
    return RecordCard(
        mapping=mapping,
        ref=ref,
        local=status.local,
        integration=status.integration,
        coupling=status.coupling,
        conflict=conflict,
        fields=fields,
        errors=status.errors,
    )


class _Comparison:
    """Field by field: what each direction's source would write, against what its target holds."""

    def __init__(self, systems: Systems, mapping: TableMapping) -> None:
        self.systems, self.mapping = systems, mapping

    def fields(
        self, local: Record | None, integration: Record | None, coupling: Coupling | None
    ) -> tuple[CardField, ...]:
        both = local is not None and integration is not None and coupling is not None
        wanted: dict[tuple[str, Direction], tuple[Any, str | None]] = {}
        if both:
            assert local is not None and integration is not None
            for direction in self.mapping.direction.one_way:
                wanted.update(self._wanted(direction, local if direction.source is Side.LOCAL else integration))
        old = decode(coupling.fingerprint) if coupling is not None else None
        out = []
        for field in self.mapping.fields:
            if not field.enabled:
                continue
            local_value = _get(local, field.local)
            integration_value = _get(integration, field.integration)
            differs, note = False, _note(field)
            changed: tuple[Side, ...] = ()
            if both:
                assert local is not None and integration is not None and coupling is not None
                direction = field.direction.one_way[0]  # bidirectional: compare as local -> integration
                target = integration if direction.target is Side.INTEGRATION else local
                value, error = wanted.get((field.pair, direction), (None, None))
                target_field = field.field(direction.target)
                differs = error is not None or not values_equal(value, target.get(target_field or ""))
                if value is None and field.not_null and error is None:
                    differs = False
                note = error or note
                if differs and field.local and field.integration and not field.has_constant:
                    changed = _changed(field, old, coupling, local, integration)
            out.append(
                CardField(
                    local_field=field.local,
                    integration_field=field.integration,
                    direction=field.direction,
                    local_value=field.constant if field.has_constant and field.local is None else local_value,
                    integration_value=integration_value,
                    differs=differs,
                    changed=changed,
                    note=note,
                )
            )
        return tuple(out)

    def _wanted(self, direction: Direction, source: Record) -> dict[tuple[str, Direction], tuple[Any, str | None]]:
        moves = Transfer.of(self.mapping, direction)
        resolved = LookupResolver(self.systems).resolve(moves, direction, [source])
        found: dict[tuple[str, Direction], tuple[Any, str | None]] = {}
        for move in moves.moves:
            try:
                found[(move.field.pair, direction)] = (move.value(source.values, resolved), None)
            except (TransformError, RecordError) as error:
                found[(move.field.pair, direction)] = (None, str(error))
        return found


def _changed(
    field: FieldMapping, old: dict[str, list[Any]] | None, coupling: Coupling, local: Record, integration: Record
) -> tuple[Side, ...]:
    """The sides that changed ``field`` since the last sync: by the fingerprint, else (never synchronized) by the
    records' modified-on, Business Central's record-level rule."""
    if old is not None and field.pair in old:
        last = old[field.pair]
        sides = []
        if canonical(local.get(field.local or "")) != last[0]:
            sides.append(Side.LOCAL)
        if canonical(integration.get(field.integration or "")) != last[1]:
            sides.append(Side.INTEGRATION)
        return tuple(sides)
    return tuple(
        side
        for side, record in ((Side.LOCAL, local), (Side.INTEGRATION, integration))
        if coupling.changed(side, record.modified_on)
    )


def _note(field: FieldMapping) -> str | None:
    if field.has_constant:
        return f"constant {field.constant!r}"
    if field.lookup is not None:
        return f"lookup through {field.lookup.mapping}"
    return None


def _get(record: Record | None, name: str | None) -> Any:
    return record.get(name) if record is not None and name else None


def _name(mapping: TableMapping, side: Side, record: Record | None) -> str | None:
    if record is None:
        return None
    display = mapping.spec(side).display_key
    shown = record.get(display) if display else None
    return str(shown) if shown not in (None, "") else record.key


# the Synchronize now dialog ----------------------------------------------------------------------------------
_LABELS = {
    SyncChoice.TO_INTEGRATION: "Send local data to the integration system",
    SyncChoice.FROM_INTEGRATION: "Get data from the integration system",
    SyncChoice.MERGE: "Merge: each side's changes flow to the other",
}
ANALYSED = 500
"""A selection larger than this is not compared record by record: merge is offered and is the default."""


def sync_options(systems: Systems, name: str, refs: Sequence[str]) -> SyncOptions:
    """What the Synchronize now dialog offers for the records ``refs`` names: the directions the mapping allows;
    the default by which side changed; a warning on a direction whose target changed since the last sync; no merge
    when both sides changed the same bidirectional field to different values."""
    mapping = systems.mapping(name)
    if not refs:
        raise UsageError("choose at least one record to synchronize.")
    couplings, uncoupled = [], []
    for item in resolve_couplings(systems, mapping, refs):
        if item.coupling is None:
            uncoupled.append(item.ref)
        else:
            couplings.append(item.coupling)
    if mapping.direction is not Direction.BIDIRECTIONAL:
        choice = SyncChoice(mapping.direction.value)
        only = SyncOption(choice=choice, label=_LABELS[choice])
        return SyncOptions(
            mapping=mapping.name, options=(only,), default=choice, records=len(couplings), uncoupled=tuple(uncoupled)
        )
    changed = {Side.LOCAL: set[str](), Side.INTEGRATION: set[str]()}
    conflicting: set[str] = set()
    for local, integration, coupling in _pairs(systems, mapping, couplings[:ANALYSED]):
        for field in _Comparison(systems, mapping).fields(local, integration, coupling):
            for side in field.changed:
                changed[side].add(_field_label(field))
            if field.direction is Direction.BIDIRECTIONAL and len(field.changed) == 2:
                conflicting.add(_field_label(field))
    warnings = {
        SyncChoice.TO_INTEGRATION: _warning(Side.INTEGRATION, changed[Side.INTEGRATION]),
        SyncChoice.FROM_INTEGRATION: _warning(Side.LOCAL, changed[Side.LOCAL]),
    }
    options = [SyncOption(choice=c, label=_LABELS[c], warning=w) for c, w in warnings.items()]
    refused = None
    if conflicting:
        refused = (
            f"Merge is not offered: both sides changed {', '.join(sorted(conflicting))} to different values since "
            "the last synchronization. Choose which side's data to use."
        )
    else:
        options.append(SyncOption(choice=SyncChoice.MERGE, label=_LABELS[SyncChoice.MERGE]))
    return SyncOptions(
        mapping=mapping.name,
        options=tuple(options),
        default=_default(changed[Side.LOCAL], changed[Side.INTEGRATION], merge=refused is None),
        records=len(couplings),
        uncoupled=tuple(uncoupled),
        merge_refused=refused,
        changed_local=tuple(sorted(changed[Side.LOCAL])),
        changed_integration=tuple(sorted(changed[Side.INTEGRATION])),
    )


def _default(local: set[str], integration: set[str], *, merge: bool) -> SyncChoice:
    if integration and not local:
        return SyncChoice.FROM_INTEGRATION
    if local and integration and merge:
        return SyncChoice.MERGE
    return SyncChoice.TO_INTEGRATION  # only local changed, nothing changed, or a conflict: the local side leads


def _warning(target: Side, fields: set[str]) -> str | None:
    if not fields:
        return None
    return (
        f"The {target.value} side holds newer data: {', '.join(sorted(fields))} changed there since the last "
        "synchronization and would be overwritten."
    )


def _field_label(field: CardField) -> str:
    return f"{field.local_field}/{field.integration_field}"


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


# the Set up coupling lookup ----------------------------------------------------------------------------------
def search_integration(systems: Systems, name: str, query: str, *, limit: int = 10) -> list[IntegrationMatch]:
    """Integration records for the Set up coupling lookup: within the mapping's integration filter, whose display
    name equals ``query`` (any case) or starts with it, or whose key is ``query``. Exact matches come first."""
    mapping = systems.mapping(name)
    text = query.strip()
    if len(text) > MAX_QUERY:
        raise UsageError(f"the search text is longer than {MAX_QUERY} characters.")
    if not 1 <= limit <= 100:
        raise UsageError("the number of results must be between 1 and 100.")
    spec = mapping.integration
    column = spec.display_key or spec.key
    connector = systems.integration
    columns = mapping.columns(Side.INTEGRATION)
    found: dict[str, tuple[Record, bool]] = {}
    if text:
        for record in connector.read(replace(spec, filter=()), [text], columns=columns):
            if spec.matches(record.values):
                found[record.key] = (record, True)
        for record in connector.find(spec, {column: text}, columns=columns, limit=limit, case_sensitive=False):
            found.setdefault(record.key, (record, True))
    for prefix in dict.fromkeys([text, text[:1].upper() + text[1:]]) if text else [""]:
        if len(found) >= limit:
            break
        narrowed = replace(spec, filter=(*spec.filter, Condition(field=column, op=Operator.STARTSWITH, value=prefix)))
        for record in _first_page(
            connector.changed_since(narrowed if prefix else spec, None, columns=columns, page_size=limit)
        ):
            found.setdefault(record.key, (record, False))
    ranked = sorted(found.values(), key=lambda item: (not item[1], str(item[0].get(column) or "").lower()))[:limit]
    partners = systems.store.couplings(mapping.name, Side.INTEGRATION, [r.key for r, _ in ranked])
    local_names = _local_names(systems, mapping, [c.local_key for c in partners.values()])
    return [
        IntegrationMatch(
            key=record.key,
            name=str(record.get(column) or record.key),
            values=record.values,
            exact=exact,
            coupled_to=local_names.get(partners[record.key].local_key) if record.key in partners else None,
        )
        for record, exact in ranked
    ]


def _first_page(pages: Iterable[list[Record]]) -> list[Record]:
    """The first page of a lazy read, releasing the rest of it."""
    iterator = iter(pages)
    try:
        return next(iterator, [])
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _local_names(systems: Systems, mapping: TableMapping, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    spec = replace(mapping.local, filter=())
    records = systems.local.read(spec, keys, columns=mapping.columns(Side.LOCAL))
    named = {r.key: _name(mapping, Side.LOCAL, r) or r.key for r in records}
    return {key: named.get(key, key) for key in keys}


def record_names(systems: Systems, name: str, side: Side, keys: Sequence[str]) -> dict[str, str]:
    """How a user knows each of these ``side`` records (its display key, else its key), read in one batch; a key
    whose record no longer exists names itself."""
    mapping = systems.mapping(name)
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        return {}
    spec = replace(mapping.spec(side), filter=())
    columns = tuple(dict.fromkeys(c for c in (spec.key, spec.display_key) if c))
    found = {
        r.key: _name(mapping, side, r) or r.key for r in systems.connector(side).read(spec, wanted, columns=columns)
    }
    return {key: found.get(key, key) for key in wanted}


def coupled_keys(systems: Systems, name: str, *, page: int = 5000) -> list[str]:
    """The local keys of every coupling of the mapping (for Decouple all), read page by page."""
    mapping = systems.mapping(name)
    keys: list[str] = []
    after = None
    while True:
        couplings = systems.store.list_couplings(mapping.name, after=after, limit=page)
        keys.extend(c.local_key for c in couplings)
        if len(couplings) < page:
            return keys
        after = couplings[-1].local_key
