"""Commands for what needs attention: conflicts and resolve, skipped records (retry, restore), pending deletions
(approve)."""

from __future__ import annotations

from typing import Annotated

import typer

from coupler.domain.mapping import Side
from coupler.entrypoints.cli.render import table
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, SideChoice, app, emit, finish, out, session

__all__: list[str] = []

MappingOption = Annotated[str | None, typer.Option("--mapping", "-m", help="Only this table mapping.")]
MappingArgument = Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")]
KeysArgument = Annotated[list[str] | None, typer.Argument(help="Records of either side (key or display key).")]
AllOption = Annotated[bool, typer.Option("--all", help="All of them.")]


@app.command()
def conflicts(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Parked conflicts: both values and the last synchronized value of each conflicting field."""
    from coupler.entrypoints.schemas.attention import ConflictOut

    with session(config, as_json, validate=False) as coupler:
        rows = [ConflictOut.of(c) for c in coupler.conflicts(mapping, limit=1000)]

        captions = {(m.name, f.pair): f.title for m in coupler.systems.mappings for f in m.fields}

        def human() -> None:
            lines = [
                [
                    c.mapping,
                    c.local_key,
                    captions.get((c.mapping, f.pair), f.local_field),
                    f.local_value,
                    f.integration_value,
                    f.last_local,
                ]
                for c in rows
                for f in c.fields
            ]
            local, integration = (coupler.systems.name(side) for side in Side)
            values = [f"{local} value", f"{integration} value"]
            columns = ["mapping", f"{local} key", "field", *values, "last synchronized"]
            out.print(table("Parked conflicts", columns, lines, keys=["mapping", f"{local} key"]))
            if rows:
                out.print("Resolve with: coupler resolve MAPPING KEY --use local|integration [--field FIELD]")

        emit(as_json, rows, human)


@app.command()
def resolve(
    mapping: MappingArgument,
    key: Annotated[str, typer.Argument(help="The record in conflict (either side, key or display key).")],
    use: Annotated[SideChoice, typer.Option("--use", help="The side whose values win.")],
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="Only this conflicting field (repeatable).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve a parked conflict: the chosen side's values win, for all conflicting fields or those named."""
    with session(config, as_json) as coupler:
        finish([coupler.resolve(mapping, key, use=Side(use.value), fields=field or ())], as_json)


@app.command()
def skipped(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Skipped records (failed twice in a row with the same error), with both sides and whether each exists."""
    from coupler.entrypoints.schemas.attention import SkippedOut

    with session(config, as_json, validate=False) as coupler:
        rows = [SkippedOut.of(r) for r in coupler.skipped(mapping)]

        def human() -> None:
            def exists(key: str | None, present: bool) -> str:
                return "-" if key is None else f"{key}{'' if present else ' (deleted)'}"

            lines = [
                [
                    r.mapping,
                    exists(r.local_key, r.local_exists),
                    exists(r.integration_key, r.integration_exists),
                    r.error,
                ]
                for r in rows
            ]
            local, integration = (coupler.systems.name(side) for side in Side)
            columns = ["mapping", local, integration, "error"]
            out.print(table("Skipped records", columns, lines, keys=["mapping", local]))
            if rows:
                out.print(
                    "Retry: coupler retry MAPPING KEY...|--all; restore a deleted side: coupler restore; "
                    "or coupler decouple."
                )

        emit(as_json, rows, human)


@app.command()
def retry(
    mapping: MappingArgument,
    keys: KeysArgument = None,
    everything: AllOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take skipped records back into synchronization (the next run retries them)."""
    with session(config, as_json) as coupler:
        finish([coupler.retry(mapping, keys or (), everything=everything)], as_json)


@app.command()
def restore(
    mapping: MappingArgument,
    keys: Annotated[list[str], typer.Argument(help="Coupled records whose partner was deleted.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-create the deleted side of coupled records from the side that still exists, and re-couple them."""
    with session(config, as_json) as coupler:
        finish([coupler.restore(mapping, keys)], as_json)


@app.command()
def deletions(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Deletions waiting for approval (mappings with delete = "propagate")."""
    from coupler.entrypoints.schemas.attention import DeletionOut

    with session(config, as_json, validate=False) as coupler:
        rows = [DeletionOut.of(d) for d in coupler.deletions(mapping)]

        def human() -> None:
            lines = [
                [
                    d.mapping,
                    f"{d.side} {d.deleted_key}",
                    d.survivor_key,
                    "reported" if d.reported else "inferred (missing)",
                    d.detected_at,
                ]
                for d in rows
            ]
            columns = ["mapping", "deleted", "partner to delete", "how known", "detected"]
            out.print(table("Pending deletions", columns, lines, keys=["mapping", "deleted"]))
            if rows:
                out.print(
                    "Approve: coupler approve MAPPING KEY...|--all; keep the partner: coupler restore MAPPING KEY"
                )

        emit(as_json, rows, human)


@app.command()
def approve(
    mapping: MappingArgument,
    keys: KeysArgument = None,
    everything: AllOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve pending deletions: delete the surviving partners and remove their couplings."""
    with session(config, as_json) as coupler:
        finish([coupler.approve(mapping, keys or (), everything=everything)], as_json)
