"""Match-based coupling and the full-synchronization review: `coupler match` and `coupler review`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from coupler.entrypoints.cli.render import table
from coupler.entrypoints.cli.shell import ConfigOption, Exit, JsonOption, app, emit, finish, out, session

if TYPE_CHECKING:
    from coupler.entrypoints.schemas.mappings import RecommendationOut
    from coupler.services.operations.matching import SyncAfter

__all__: list[str] = []


class SyncAfterChoice(StrEnum):
    local = "local"
    integration = "integration"
    both = "both"


@app.command()
def match(
    mapping: Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")],
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these records of the `local` system (key or display key); default: every uncoupled one.",
            show_default=False,
        ),
    ] = None,
    on: Annotated[
        list[str] | None,
        typer.Option(
            "--on",
            help="Fields of the `local` system that must all match (comma-separated); repeat --on for the next group "
            "to try. Default: the field mappings' `match` priorities.",
        ),
    ] = None,
    create_missing: Annotated[
        bool, typer.Option("--create-missing", help="Create the `integration` counterpart of records left unmatched.")
    ] = False,
    sync_after: Annotated[
        SyncAfterChoice | None,
        typer.Option(
            "--sync-after",
            help="Synchronize the new couplings right after: with this side's data, or both by the usual rules.",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Couple uncoupled `local` records with the `integration` records holding the same values (match-based coupling).

    Give record keys to match only those records (Business Central's Match-Based Coupling on a selection); records
    already coupled are left out. Exit code 1 when some records stay unmatched; the job's errors say why (no match,
    ambiguous, already coupled).
    """
    from coupler.domain.mapping import Side

    groups = [[name.strip() for name in item.split(",") if name.strip()] for item in on] if on is not None else None
    after: SyncAfter = None
    if sync_after is not None:
        after = "both" if sync_after is SyncAfterChoice.both else Side(sync_after.value)
    with session(config, as_json, progress=True) as coupler:
        report = coupler.match(
            mapping, groups=groups, create_missing=create_missing, sync_after=after, refs=refs or None
        )
        finish([report], as_json)
        if report.job.counters.unmatched:
            raise Exit(1)


@app.command()
def review(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """What to run first for each mapping: full synchronization, match-based coupling, or nothing."""
    from coupler.domain.mapping import Side
    from coupler.services.views.page_queries import PageQueries
    from coupler.services.views.review import Advice

    with session(config, as_json, progress=True) as coupler:
        rows = PageQueries(coupler.systems).review()

        def model() -> list[RecommendationOut]:
            from coupler.entrypoints.schemas.mappings import RecommendationOut

            return [RecommendationOut.of(r) for r in rows]

        def human() -> None:
            columns = ["mapping", *(coupler.systems.name(side) for side in Side), "couplings", "recommendation", "why"]
            cells = ([r.mapping, str(r.local), str(r.integration), r.couplings, r.advice, r.reason] for r in rows)
            out.print(table("Full synchronization review", columns, cells))
            if any(r.advice is Advice.MATCH for r in rows):
                out.print(
                    "Match first where advised: a full synchronization creates a counterpart for every uncoupled "
                    "record, so it would duplicate the records both sides share."
                )
            for command in (r.command for r in rows if r.command):
                out.print(f"  {command}")

        emit(as_json, model, human)
