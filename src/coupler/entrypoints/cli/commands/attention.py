"""Commands for what needs attention: conflicts and resolve, skipped records (retry, restore), pending deletions
(approve)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion
from coupler.domain.timeutil import format_iso
from coupler.entrypoints.cli.render import table
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, SideChoice, app, emit, finish, out, session
from coupler.services.operations.attention import SkippedRecord

__all__: list[str] = []

MappingOption = Annotated[str | None, typer.Option("--mapping", "-m", help="Only this table mapping.")]
MappingArgument = Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")]
KeysArgument = Annotated[list[str] | None, typer.Argument(help="Records of either side (key or display key).")]
AllOption = Annotated[bool, typer.Option("--all", help="All of them.")]


def conflict_view(conflict: Conflict) -> dict[str, Any]:
    return {
        "mapping": conflict.mapping,
        "local_key": conflict.local_key,
        "integration_key": conflict.integration_key,
        "detected_at": format_iso(conflict.detected_at),
        "job_id": conflict.job_id,
        "fields": [
            {
                "local_field": f.local_field,
                "integration_field": f.integration_field,
                "local_value": f.local_value,
                "integration_value": f.integration_value,
                "last_local": f.last_local,
                "last_integration": f.last_integration,
            }
            for f in conflict.fields
        ],
    }


@app.command()
def conflicts(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Parked conflicts: both values and the last synchronized value of each conflicting field."""
    with session(config, as_json) as coupler:
        rows = [conflict_view(c) for c in coupler.conflicts(mapping, limit=1000)]

        def human() -> None:
            lines = [
                [
                    r["mapping"],
                    r["local_key"],
                    f["local_field"],
                    f["local_value"],
                    f["integration_value"],
                    f["last_local"],
                ]
                for r in rows
                for f in r["fields"]
            ]
            columns = ["mapping", "local key", "field", "local value", "integration value", "last synchronized"]
            out.print(table("Parked conflicts", columns, lines))
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


def skipped_view(record: SkippedRecord) -> dict[str, Any]:
    return {
        "mapping": record.mapping,
        "local_key": record.local_key,
        "integration_key": record.integration_key,
        "local_exists": record.local_exists,
        "integration_exists": record.integration_exists,
        "coupled": record.coupled,
        "error": record.error,
    }


@app.command()
def skipped(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Skipped records (failed twice in a row with the same error), with both sides and whether each exists."""
    with session(config, as_json) as coupler:
        rows = [skipped_view(r) for r in coupler.skipped(mapping)]

        def human() -> None:
            def exists(key: str | None, present: bool) -> str:
                return "-" if key is None else f"{key}{'' if present else ' (deleted)'}"

            lines = [
                [
                    r["mapping"],
                    exists(r["local_key"], r["local_exists"]),
                    exists(r["integration_key"], r["integration_exists"]),
                    r["error"],
                ]
                for r in rows
            ]
            out.print(table("Skipped records", ["mapping", "local", "integration", "error"], lines))
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


def deletion_view(deletion: PendingDeletion) -> dict[str, Any]:
    return {
        "mapping": deletion.mapping,
        "deleted_side": deletion.side.value,
        "deleted_key": deletion.deleted_key,
        "survivor_key": deletion.survivor_key,
        "reported": deletion.reported,
        "detected_at": format_iso(deletion.detected_at),
        "job_id": deletion.job_id,
    }


@app.command()
def deletions(mapping: MappingOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Deletions waiting for approval (mappings with delete = "propagate")."""
    with session(config, as_json) as coupler:
        rows = [deletion_view(d) for d in coupler.deletions(mapping)]

        def human() -> None:
            lines = [
                [
                    r["mapping"],
                    f"{r['deleted_side']} {r['deleted_key']}",
                    r["survivor_key"],
                    "reported" if r["reported"] else "inferred (missing)",
                    r["detected_at"],
                ]
                for r in rows
            ]
            columns = ["mapping", "deleted", "partner to delete", "how known", "detected"]
            out.print(table("Pending deletions", columns, lines))
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
