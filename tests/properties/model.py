"""The model: what coupler must make of one record identity (a record and its counterpart), as pure functions.

An identity is known by its tag (a bidirectional field nobody edits). The model holds, per identity, the set of
hidden states that can explain what has been observed so far: normally one; after a crash several, because which
of the interrupted run's writes and saves landed is not observable (the fingerprint, the stored modified-on stamps
and the watermarks are hidden). Each run maps every state to its outcomes, and the observation afterwards keeps the
states whose outcome is what the systems and the store show. No state left: coupler did what the rules forbid.

Per side a record is *changed* when its modified-on differs from the one its coupling stored (it was edited since
the pair's last synchronization, or the pair is parked), and *due* when the next incremental run reads it (edited
since that side's watermark). The rules (update_conflict = none):
- a coupled pair is looked at when a side that changed is read: it is due, or the run is full;
- per bidirectional field, a side changed the field when its value differs from the base (what both sides held after
  the last synchronization); a field both sides changed to different values is a conflict;
- any conflict parks the pair: nothing is written, the base and the stamps stay; a parked pair is looked at again
  when a side is edited (or by a full run);
- otherwise every field takes the value of the side that changed it (both sides agree: no update is lost), that is
  the new base, and when the local side changed, the one-way credit flows to the integration side too; when only
  the integration side was read, the local side's own changes may wait, marked, for the next run;
- an uncoupled record gets a counterpart, coupled to it, when it is due or the run is full;
- a coupled record whose partner is gone, when it is looked at: with deletion policy none it fails (nothing is
  written); with remove-coupling its coupling is removed, and it stays uncoupled until it is due again (or gets a
  counterpart in the same run, when the coupling had failed: the retry removes it, then it is read as changed).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from coupler.domain.mapping import DeletionPolicy, Side

__all__ = [
    "BIDIRECTIONAL",
    "EDITABLE",
    "Row",
    "Seen",
    "State",
    "after_crash",
    "created",
    "deleted",
    "edited",
    "explains",
    "resolved",
    "synced",
    "unique",
]

BIDIRECTIONAL = ("name", "city", "tag")
EDITABLE = ("name", "city", "credit")
SIDES = (Side.LOCAL, Side.INTEGRATION)
Base = tuple[Any, ...]  # the BIDIRECTIONAL values both sides held after the last synchronization
Flags = tuple[bool, bool]  # (changed, due)


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    """One record's values; ``credit`` is the local credit or the integration credit limit."""

    name: str | None
    city: str | None
    tag: str
    credit: str | None

    def get(self, field: str) -> Any:
        return getattr(self, field)

    def bidirectional(self) -> Base:
        return tuple(self.get(f) for f in BIDIRECTIONAL)

    def __repr__(self) -> str:
        return "Row(" + ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)) + ")"


@dataclass(frozen=True, kw_only=True, slots=True)
class Seen:
    """What can be observed of an identity: both records, whether a coupling links them, the parked fields."""

    local: Row | None
    integration: Row | None
    coupled: bool
    parked: frozenset[str]

    def row(self, side: Side) -> Row | None:
        return self.local if side is Side.LOCAL else self.integration


@dataclass(frozen=True, kw_only=True, slots=True)
class State:
    """One possible hidden state. ``recovering``: the side a crashed run created a counterpart from, the coupling
    not yet written (an intent lets the next run couple them); ``base`` as it was created."""

    local: Row | None = None
    integration: Row | None = None
    coupled: bool = False
    recovering: Side | None = None
    base: Base | None = None
    local_flags: Flags = (False, False)
    integration_flags: Flags = (False, False)
    parked: frozenset[str] = frozenset()

    def row(self, side: Side) -> Row | None:
        return self.local if side is Side.LOCAL else self.integration

    def flags(self, side: Side) -> Flags:
        return self.local_flags if side is Side.LOCAL else self.integration_flags

    def changed(self, side: Side) -> bool:
        return self.flags(side)[0]

    def due(self, side: Side) -> bool:
        return self.flags(side)[1]

    def with_side(self, side: Side, row: Row | None, flags: Flags) -> State:
        if side is Side.LOCAL:
            return replace(self, local=row, local_flags=flags)
        return replace(self, integration=row, integration_flags=flags)

    def read(self) -> State:
        """After a complete run: whatever was due has been read."""
        return replace(
            self, local_flags=(self.local_flags[0], False), integration_flags=(self.integration_flags[0], False)
        )


EDITED: Flags = (True, True)
CLEAN: Flags = (False, False)


def explains(state: State, seen: Seen) -> bool:
    return (
        state.local == seen.local
        and state.integration == seen.integration
        and state.coupled == seen.coupled
        and state.parked == seen.parked
    )


# what users do ---------------------------------------------------------------------------------------------------
def created(side: Side, row: Row) -> State:
    return State().with_side(side, row, EDITED)


def edited(state: State, side: Side, field: str, value: Any) -> State:
    row = state.row(side)
    assert row is not None
    return state.with_side(side, replace(row, **{field: value}), EDITED)


def deleted(state: State, side: Side) -> State:
    return state.with_side(side, None, CLEAN)


# what coupler does -----------------------------------------------------------------------------------------------
def synced(state: State, *, full: bool, policy: DeletionPolicy) -> list[State]:
    """The outcomes of one complete run (incremental, or full) for this identity."""
    if state.recovering is not None:  # the next run couples what the crashed one created ...
        if state.row(state.recovering.other) is None:  # ... unless it is gone: not created, or deleted since (no
            state = replace(state, recovering=None, base=None)  # way to tell), so its source gets a counterpart
        else:
            state = replace(state, coupled=True, recovering=None)
    if not state.coupled:
        for side in SIDES:
            row = state.row(side)
            if row is not None and state.row(side.other) is None and (state.due(side) or full):
                return [_created_from(side, row)]
        return [state.read()]
    looked_at = any(state.changed(s) and (state.due(s) or full) for s in SIDES if state.row(s) is not None)
    local, integration = state.local, state.integration
    if not looked_at:
        return [state.read()]
    if local is not None and integration is not None:
        merged = _merged(state, local, integration, winners={})
        if merged.parked and state.due(Side.INTEGRATION):
            # parked by the first pass, the second skips the pair: a "carry back" mark it had stays for later runs
            return [merged, replace(merged, integration_flags=state.integration_flags)]
        if merged.parked or (state.changed(Side.LOCAL) and (state.due(Side.LOCAL) or full)):
            return [merged]
        return [merged, _carried_back(state, local, integration)]
    survivor = Side.LOCAL if local is not None else Side.INTEGRATION
    if policy is DeletionPolicy.REMOVE_COUPLING:
        alone = State().with_side(survivor, state.row(survivor), CLEAN)
        row = state.row(survivor)
        if not state.due(survivor) or row is None:
            return [alone]
        return [alone, _created_from(survivor, row)]  # decoupled by the retry of a failure, then read as changed
    return [state.read()]  # policy none: the record fails, nothing is written


def resolved(state: State, use: Side) -> list[State]:
    """A parked conflict resolved: ``use``'s values win the parked fields; every other change merges as usual, and
    the pair is looked at in both directions whatever changed (so the credit flows too). No outcome for a state
    whose base would make other fields conflict too: it could not have parked exactly these."""
    assert state.coupled and state.parked and state.local is not None and state.integration is not None
    winner = state.row(use)
    assert winner is not None
    merged = _merged(state, state.local, state.integration, winners={f: winner.get(f) for f in state.parked})
    if merged.parked or merged.local is None or merged.integration is None:
        return []
    return [replace(merged, integration=replace(merged.integration, credit=merged.local.credit))]


def _created_from(side: Side, row: Row) -> State:
    counterpart = row if side is Side.LOCAL else replace(row, credit=None)  # credit flows to the integration only
    pair = State(coupled=True, base=row.bidirectional())
    return pair.with_side(side, row, CLEAN).with_side(side.other, counterpart, CLEAN)


def _merged(state: State, local: Row, integration: Row, *, winners: dict[str, Any]) -> State:
    base = state.base
    assert base is not None
    values: dict[str, Any] = {}
    conflicts: set[str] = set()
    for field, last in zip(BIDIRECTIONAL, base, strict=True):
        mine, theirs = local.get(field), integration.get(field)
        if field in winners:
            values[field] = winners[field]
        elif mine != last and theirs != last and mine != theirs:
            conflicts.add(field)
        else:
            values[field] = mine if mine != last else theirs
    if conflicts:
        return replace(state, parked=frozenset(conflicts)).read()
    credit = local.credit if state.changed(Side.LOCAL) else integration.credit
    return State(
        local=replace(local, **values),
        integration=replace(integration, **values, credit=credit),
        coupled=True,
        base=tuple(values[f] for f in BIDIRECTIONAL),
    )


def _carried_back(state: State, local: Row, integration: Row) -> State:
    """Only the integration side was read (the second pass): its changes reach the local side; the local side's own
    changes may wait, marked, for the next run's first pass (whatever its watermark says). The model allows it (the
    pair does agree in the end); the quiet end does not (a run that writes nothing must leave nothing to do)."""
    base = state.base
    assert base is not None
    values: dict[str, Any] = {}  # what the local side gets
    new_base: list[Any] = []
    for field, last in zip(BIDIRECTIONAL, base, strict=True):
        mine, theirs = local.get(field), integration.get(field)
        if mine != theirs and mine != last:  # the local side's own change: it waits
            new_base.append(last)
            continue
        values[field] = theirs
        new_base.append(theirs)
    waiting = state.changed(Side.LOCAL)
    return replace(
        state,
        local=replace(local, **values),
        base=tuple(new_base),
        local_flags=EDITED if waiting else CLEAN,
        integration_flags=CLEAN,
        parked=frozenset(),
    )


# after a crash ---------------------------------------------------------------------------------------------------
def after_crash(state: State, seen: Seen, *, full: bool, policy: DeletionPolicy) -> list[State]:
    """The hidden states that explain ``seen`` after a run that died somewhere: every value seen must be the one
    before the run or the one the run would have written; a saved coupling or base can only follow the writes
    they describe; a page whose state was not saved is read again by the next run."""
    outcomes = [state, *synced(state, full=full, policy=policy)]
    if not _possible_values(seen, outcomes) or seen.parked not in {o.parked for o in outcomes}:
        return []
    both = seen.local is not None and seen.integration is not None
    recovering: Side | None = None
    if not seen.coupled and state.recovering is not None:  # still to be coupled by the next run
        recovering = state.recovering
    elif not seen.coupled and both:  # a counterpart created, its coupling not written
        recovering = _only_side(state)
        if recovering is None or state.coupled:
            return []  # two uncoupled records of one identity: a duplicate
    bases = _bases(state, seen, outcomes, linked=seen.coupled or recovering is not None)
    flags = list(itertools.product((False, True), repeat=2))
    found: list[State] = []
    for base, local_flags, integration_flags in itertools.product(bases, flags, flags):
        candidate = State(
            local=seen.local,
            integration=seen.integration,
            coupled=seen.coupled,
            recovering=recovering,
            base=base,
            local_flags=local_flags,
            integration_flags=integration_flags,
            parked=seen.parked,
        )
        if _consistent(candidate, state, full=full):
            found.append(candidate)
    return found


def _only_side(state: State) -> Side | None:
    live = [side for side in SIDES if state.row(side) is not None]
    return live[0] if len(live) == 1 else None


def _possible_values(seen: Seen, outcomes: Sequence[State]) -> bool:
    for side in SIDES:
        row = seen.row(side)
        options = [o.row(side) for o in outcomes if o.row(side) is not None]
        if row is None:
            if len(options) == len(outcomes):
                return False  # coupler deleted a record
            continue
        if not options:
            return False  # a record nobody made
        for field in ("name", "city", "tag", "credit"):
            if row.get(field) not in {o.get(field) for o in options if o is not None}:
                return False
    return True


def _bases(state: State, seen: Seen, outcomes: Sequence[State], *, linked: bool) -> list[Base | None]:
    if not linked:
        return [None]
    if not state.coupled and state.recovering is None:  # coupled by this run: created as its counterpart
        return list(dict.fromkeys(o.base for o in outcomes[1:] if o.base is not None and o.recovering is None))
    assert state.base is not None
    per_field: list[list[Any]] = []
    for index, field in enumerate(BIDIRECTIONAL):
        options = [state.base[index]]
        for outcome in outcomes[1:]:
            new = outcome.base[index] if outcome.base is not None else None
            if (
                outcome.base is not None
                and seen.local is not None
                and seen.integration is not None
                and seen.local.get(field) == seen.integration.get(field) == new
            ):
                options.append(new)
        per_field.append(list(dict.fromkeys(options)))
    return [tuple(choice) for choice in itertools.product(*per_field)]


def _consistent(candidate: State, before: State, *, full: bool) -> bool:
    for side in SIDES:
        row, (changed, due) = candidate.row(side), candidate.flags(side)
        if row is None and (changed or due):
            return False  # no record, nothing to read
        if row is not None and changed and not due and not candidate.parked:
            return False  # an edit, or a write whose stamp was not saved, is read by the next run
    if candidate.parked and not all(candidate.changed(s) for s in SIDES if candidate.row(s) is not None):
        return False  # a parked pair keeps its old stamps
    source = candidate.recovering
    if source is not None and candidate.row(source) is not None and candidate.flags(source) != EDITED:
        return False  # its page was not finished: the source is read again
    if candidate.base is not None:
        return _consistent_pair(candidate, before)
    if any(candidate.changed(s) != candidate.due(s) for s in SIDES):
        return False  # uncoupled: only due matters
    if not before.coupled:  # uncoupled before and after: read again only if it was due, or by a full run
        return all(candidate.due(s) == before.due(s) or (full and candidate.due(s)) for s in SIDES)
    return True  # decoupled by this run, its watermark maybe not saved


def _consistent_pair(candidate: State, before: State) -> bool:
    base = candidate.base
    for side in SIDES:
        row = candidate.row(side)
        if row is not None and not candidate.changed(side) and row.bidirectional() != base:
            return False  # a side that did not change holds the base
    local, integration = candidate.local, candidate.integration
    return not (
        before.changed(Side.LOCAL)
        and not candidate.changed(Side.LOCAL)
        and local is not None
        and integration is not None
        and local.credit != integration.credit
    )  # a local side synchronized has sent its credit


def unique(states: Iterable[State]) -> list[State]:
    return list(dict.fromkeys(states))
