"""`coupler mapping set`: change a field mapping in coupler.toml, as Business Central's Integration Field Mappings page
does (Status, Direction) and its Match-Based Coupling dialog (match priority): written back with the file's comments
and layout kept, validated as at load time, the previous file kept as coupler.toml.bak."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from coupler.domain.errors import CouplerError
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, fail, out

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
        str, typer.Argument(help="The field mapping: its local or integration field, or local|integration.")
    ],
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Switch the field mapping on or off.")
    ] = None,
    direction: Annotated[DirectionChoice | None, typer.Option("--direction", help="Which way the field flows.")] = None,
    match: Annotated[
        int | None,
        typer.Option("--match", min=0, help="Its match-based coupling priority (1 first); 0 takes it out of matching."),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change one field mapping: on or off, its direction, its match priority."""
    from coupler.config import default_config_path
    from coupler.config.edit import FieldChange, change_field

    path = config or default_config_path()
    change = FieldChange(enabled=enabled, direction=direction.value if direction else None, match=match)
    if change == FieldChange():
        fail(CouplerError("nothing to change: give --enabled/--disabled, --direction or --match."), 2, as_json)
    try:
        backup = change_field(Path(path), mapping, field, change)
    except CouplerError as error:
        fail(error, 2, as_json)

    def human() -> None:
        out.print(f"Changed {mapping.upper()} {field} in {path} (the previous file is {backup.name}).")

    emit(as_json, {"config": str(path), "backup": str(backup)}, human)
