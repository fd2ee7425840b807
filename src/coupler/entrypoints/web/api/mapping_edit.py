"""Changing a table mapping over the API, as its page does: a field mapping switched on or off, its direction,
caption and match priority; the tables' captions and filters. Written to coupler.toml (comments kept, validated as
at load time and against the systems, the previous file kept); the app works with the change from then on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path

from coupler.config.edit import Check, FieldChange, TableChange, change_field, change_table
from coupler.domain.errors import ConfigurationError, UnknownMapping, UsageError
from coupler.entrypoints.schemas.mappings import MappingDetailOut
from coupler.entrypoints.web.deps import StateDep, WebState
from coupler.entrypoints.web.mapping_changes import changes_of_field, changes_of_table
from coupler.entrypoints.web.schemas.mapping_edit import FieldChangeIn, MappingChangedOut, TableChangeIn

__all__ = ["router"]

router = APIRouter(prefix="/mappings", tags=["mappings"])

MappingName = Annotated[str, Path(min_length=1, max_length=100, description="The table mapping, e.g. CUSTOMER.")]
Position = Annotated[int, Path(ge=0, le=1000, description="The field mapping's position in the mapping, from 0.")]


@router.patch("/{mapping}/fields/{position}", response_model=MappingChangedOut)
def change_a_field(mapping: MappingName, position: Position, body: FieldChangeIn, state: StateDep) -> MappingChangedOut:
    """Switch a field mapping on or off, change its direction, caption or match priority."""
    before = state.coupler.systems.mapping(mapping)
    if position >= len(before.fields):
        raise UsageError(f"{before.name} has {len(before.fields)} field mappings; there is none at {position}.")
    change = FieldChange(
        enabled=body.enabled,
        direction=body.direction.value if body.direction else None,
        caption=body.caption.strip() if body.caption is not None else None,
        match=body.match,
    )
    backup = _change(state, lambda path, check: change_field(path, before.name, position, change, check=check))
    after = state.coupler.systems.mapping(before.name)
    changed = changes_of_field(before.fields[position], after.fields[position], state.system_names())
    return _answer(state, before.name, changed, backup)


@router.patch("/{mapping}", response_model=MappingChangedOut)
def change_the_tables(mapping: MappingName, body: TableChangeIn, state: StateDep) -> MappingChangedOut:
    """Change the tables' captions and filters (a filter given replaces the whole filter)."""
    before = state.coupler.systems.mapping(mapping)

    def conditions(given: list | None) -> list[dict[str, object]] | None:  # type: ignore[type-arg]
        if given is None:
            return None
        return [
            {
                "field": c.field,
                "op": c.op.value,
                **({} if c.value is None else {"value": c.value}),
                **({"or_null": True} if c.or_null else {}),
            }
            for c in given
        ]

    change = TableChange(
        local_caption=body.local_caption.strip() if body.local_caption is not None else None,
        integration_caption=body.integration_caption.strip() if body.integration_caption is not None else None,
        local_filter=conditions(body.local_filter),
        integration_filter=conditions(body.integration_filter),
    )
    backup = _change(state, lambda path, check: change_table(path, before.name, change, check=check))
    after = state.coupler.systems.mapping(before.name)
    return _answer(state, before.name, changes_of_table(before, after, state.system_names()), backup)


def _change(state: WebState, change: Callable[[FilePath, Check], FilePath]) -> FilePath:
    """The change made; one the configuration refuses is the caller's mistake (422), naming each problem."""
    try:
        return state.change_config(change)
    except UnknownMapping:
        raise
    except ConfigurationError as error:
        raise UsageError("The change would make the configuration invalid: " + "; ".join(error.problems)) from None


def _answer(state: WebState, name: str, changed: list[str], backup: FilePath) -> MappingChangedOut:
    overview = next(m for m in state.coupler.mappings() if m.name == name)
    return MappingChangedOut(changed=changed, backup=str(backup), mapping=MappingDetailOut.of(overview))
