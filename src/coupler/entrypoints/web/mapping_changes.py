"""What a change to a table mapping changed, in the user's words and the systems' names: "Credit Limit (LCY):
direction is now To Dynamics 365 Sales", "Business Central filter: Blocked is \"\"" (the page's notice, the API's
answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coupler.domain.mapping import Condition, Direction, FieldMapping, Side, TableMapping
from coupler.entrypoints.web.formatting import condition_words

__all__ = ["changes_of_field", "changes_of_table", "direction_words", "filter_words"]


def direction_words(direction: Direction, systems: Mapping[str, str]) -> str:
    """A direction as Business Central's field mappings show it: "Both ways", "To Dynamics 365 Sales" ..."""
    if direction is Direction.BIDIRECTIONAL:
        return "Both ways"
    if direction is Direction.TO_INTEGRATION:
        return f"To {systems['integration']}"
    return f"From {systems['integration']}"


def changes_of_field(before: FieldMapping, after: FieldMapping, systems: Mapping[str, str]) -> list[str]:
    """ "Credit Limit (LCY): direction is now To Dynamics 365 Sales" and the like, one per setting changed."""
    said: list[str] = []
    if before.caption != after.caption:
        said.append(f"{before.title}: caption is now {after.title}")
    if before.enabled != after.enabled:
        said.append(f"{after.title}: {'switched on' if after.enabled else 'switched off'}")
    if before.direction != after.direction:
        said.append(f"{after.title}: direction is now {direction_words(after.direction, systems)}")
    if before.match_priority != after.match_priority:
        priority = after.match_priority
        said.append(f"{after.title}: " + (f"match priority is now {priority}" if priority else "no longer matched on"))
    return said


def changes_of_table(before: TableMapping, after: TableMapping, systems: Mapping[str, str]) -> list[str]:
    said: list[str] = []
    for side in Side:
        name = systems[side.value]
        old, new = before.spec(side), after.spec(side)
        if old.caption != new.caption:
            said.append(f"{name} table: caption is now {new.title}")
        if old.filter != new.filter:
            words = filter_words(after, side, new.filter)
            said.append(f"{name} filter: {words}" if new.filter else f"{name} filter: none (every record)")
    return said


def filter_words(mapping: TableMapping, side: Side, conditions: Sequence[Condition]) -> str:
    """ "Blocked is \"\" and Type is Person"."""
    return " and ".join(condition_words(mapping, side, c) for c in conditions)
