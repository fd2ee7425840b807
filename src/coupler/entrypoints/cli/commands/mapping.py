"""`coupler mapping set` and `coupler mapping table`: change a field mapping in coupler.toml, as Business Central's
Integration Field Mappings page does (Status, Direction, caption) and its Match-Based Coupling dialog (match
priority), and a table mapping's captions and filters, as its Integration Table Mappings page does: written back
with the file's comments and layout kept, validated as at load time, the previous file kept as coupler.toml.bak."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coupler.domain.errors import ConfigurationError, CouplerError
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, err, fail, out

if TYPE_CHECKING:
    from coupler.config.edit import Check

__all__: list[str] = []

mapping_app = typer.Typer(help="Change the mappings in coupler.toml (comments kept, the previous file as .bak).")
app.add_typer(mapping_app, name="mapping")


class DirectionChoice(StrEnum):
    bidirectional = "bidirectional"
    to_integration = "to-integration"
    from_integration = "from-integration"


@mapping_app.command("set")
def set_field(
    mapping: Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")],
    field: Annotated[
        str, typer.Argument(help="The field mapping: its `local` or `integration` field, or local|integration.")
    ],
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Switch the field mapping on or off.")
    ] = None,
    direction: Annotated[DirectionChoice | None, typer.Option("--direction", help="Which way the field flows.")] = None,
    match: Annotated[
        int | None,
        typer.Option("--match", min=0, help="Its match-based coupling priority (1 first); 0 takes it out of matching."),
    ] = None,
    caption: Annotated[
        str | None,
        typer.Option("--caption", help='What users call the field, e.g. "Credit Limit (LCY)"; "" removes it.'),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change one field mapping: on or off, its direction, its match priority, its caption."""
    from coupler.config import default_config_path
    from coupler.config.edit import FieldChange, change_field

    path = config or default_config_path()
    change = FieldChange(
        enabled=enabled,
        direction=direction.value if direction else None,
        match=match,
        caption=caption.strip() if caption is not None else None,
    )
    if change == FieldChange():
        fail(
            CouplerError("nothing to change: give --enabled/--disabled, --direction, --match or --caption."), 2, as_json
        )
    try:
        backup = _checked(Path(path), lambda check: change_field(Path(path), mapping, field, change, check=check))
    except CouplerError as error:
        fail(error, 2, as_json)

    def human() -> None:
        out.print(f"Changed {mapping.upper()} {field} in {path} (the previous file is {backup.name}).")

    emit(as_json, {"config": str(path), "backup": str(backup)}, human)


def _checked(path: Path, change: Callable[[Check | None], Path]) -> Path:
    """Make the change, checked against the systems' tables and columns as opening them checks; when they cannot be
    reached, checked as loading the file checks, and said so."""
    from coupler.bootstrap import open_coupler, schema_check

    try:
        coupler = open_coupler(path, validate=False)
    except ConfigurationError:
        raise
    except CouplerError as error:
        err.print(f"warning: the systems cannot be asked whether the tables and columns exist ({error.message}).")
        return change(None)
    with coupler:
        return change(schema_check(coupler))


_CONDITIONS = (
    "A condition of the `{side}` table's filter, repeated for each: FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, "
    "FIELD>=VALUE ... or FIELD OP VALUE (OP: in, not_in, startswith, contains, is_null, not_null ...). The "
    "conditions given replace the whole filter."
)


def _filter(conditions: list[str] | None, none: bool) -> list[dict[str, Any]] | None:
    """The new filter the options give: the conditions, none at all, or None to leave it as it is."""
    from coupler.config.filters import parse_condition

    if conditions and none:
        raise CouplerError("give a filter's conditions or remove the filter, not both.")
    return [] if none else [parse_condition(c) for c in conditions] if conditions else None


@mapping_app.command("table")
def set_table(
    mapping: Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")],
    local_caption: Annotated[
        str | None, typer.Option("--local-caption", help='What users call the `local` table\'s records; "" removes it.')
    ] = None,
    integration_caption: Annotated[
        str | None, typer.Option("--integration-caption", help="What users call the `integration` table's records.")
    ] = None,
    local_filter: Annotated[
        list[str] | None,
        typer.Option("--local-filter", metavar="CONDITION", help=_CONDITIONS.format(side="local")),
    ] = None,
    integration_filter: Annotated[
        list[str] | None,
        typer.Option("--integration-filter", metavar="CONDITION", help=_CONDITIONS.format(side="integration")),
    ] = None,
    no_local_filter: Annotated[
        bool, typer.Option("--no-local-filter", help="Remove the `local` table's filter: every record.")
    ] = False,
    no_integration_filter: Annotated[
        bool, typer.Option("--no-integration-filter", help="Remove the `integration` table's filter.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a table mapping's captions and filters, e.g.
    coupler mapping table CUSTOMER --local-filter 'blocked=""' --integration-filter statecode=0"""
    from coupler.config import default_config_path
    from coupler.config.edit import TableChange, change_table

    path = config or default_config_path()
    try:
        change = TableChange(
            local_caption=local_caption.strip() if local_caption is not None else None,
            integration_caption=integration_caption.strip() if integration_caption is not None else None,
            local_filter=_filter(local_filter, no_local_filter),
            integration_filter=_filter(integration_filter, no_integration_filter),
        )
        if change == TableChange():
            raise CouplerError(
                "nothing to change: give --local-caption, --integration-caption, --local-filter, --integration-filter "
                "or --no-local-filter/--no-integration-filter."
            )
        backup = _checked(Path(path), lambda check: change_table(Path(path), mapping, change, check=check))
    except CouplerError as error:
        fail(error, 2, as_json)

    def human() -> None:
        out.print(f"Changed {mapping.upper()} in {path} (the previous file is {backup.name}).")

    emit(as_json, {"config": str(path), "backup": str(backup)}, human)
