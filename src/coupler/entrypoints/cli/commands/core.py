"""The core commands: demo, check, mappings, couple, decouple, sync, status, jobs, errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coupler.domain.errors import CouplerError, UsageError
from coupler.entrypoints.cli.render import counts, plural, table
from coupler.entrypoints.cli.shell import (
    ConfigOption,
    DirectionChoice,
    Exit,
    JsonOption,
    SideChoice,
    app,
    emit,
    err,
    fail,
    finish,
    finish_round,
    out,
    session,
)

if TYPE_CHECKING:
    from coupler.entrypoints.schemas.jobs import JobErrorOut, JobOut
    from coupler.entrypoints.schemas.mappings import MappingOut
    from coupler.entrypoints.schemas.records import RecordStatusOut
    from coupler.ports.store import CouplingStats
    from coupler.services.api import Coupler
    from coupler.services.context import Systems
    from coupler.services.views.queries import RecordStatus

__all__: list[str] = []

MAX_LAST = 100_000
"""The most jobs or errors one listing shows (``--last``)."""


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for erp.db, crm.db and coupler.toml.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing demo.")] = False,
    tour: Annotated[bool, typer.Option("--tour", help="Then run a short tour: couple, create, sync, log.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create the embedded demo: a Business Central-like ERP and a Dynamics 365 Sales-like CRM, and a config."""
    from coupler.demo import create_demo
    from coupler.entrypoints.cli.tour import run_tour

    try:
        result = create_demo(directory, force=force)
    except CouplerError as error:
        fail(error, 2, as_json)
    config = result.config
    if as_json and not tour:
        emit(True, {"config": str(config), "erp": str(result.erp), "crm": str(result.crm)}, lambda: None)
        return
    if not as_json:
        out.print(f"Created the demo in {directory}: {result.erp.name}, {result.crm.name}, {config.name}.")
    if tour:
        with session(config, as_json) as coupler:
            run_tour(coupler, out, as_json=as_json)
        return
    out.print("Try next:")
    for line in (
        f"cd {directory}",
        "coupler check",
        "coupler mappings",
        "coupler sync CURRENCY --full",
        "coupler couple CUSTOMER --help",
        "coupler sync",
        "coupler jobs",
    ):
        out.print(f"  {line}")


@app.command()
def check(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Connect to both systems and the state store and verify every mapped table and column exists (reading the
    systems' schemas afresh: what coupler keeps of them between runs is replaced)."""
    from coupler.entrypoints.schemas.check import CheckOut

    with session(config, as_json, validate=False) as coupler:
        report = CheckOut.of(coupler.check(refresh=True, preflight=True))

        def human() -> None:
            rows = [[s.role, s.name, "ok" if s.ok else f"FAILED: {s.message}"] for s in report.systems]
            out.print(table("Connections", ["role", "system", "status"], rows))
            if report.findings:
                found = [
                    [
                        f.name,
                        f.topic,
                        "ok" if f.ok else "FAILED",
                        f.message + (f"\nWhat to do: {f.advice}" if f.advice and not f.ok else ""),
                    ]
                    for f in report.findings
                ]
                out.print(table("The systems", ["system", "checked", "", "found"], found))
            for problem in report.problems:
                err.print(f"[red]error:[/red] {problem}", soft_wrap=True)
            for warning in report.warnings:
                err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
            if report.ok:
                out.print("All mapped tables and columns exist.")

        emit(as_json, report, human)
        if report.problems:
            raise Exit(2)
        if not report.ok:
            raise Exit(1)


@app.command()
def mappings(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The table mappings with direction, and counts of couplings, failed, skipped and errors."""

    def model() -> list[MappingOut]:
        from coupler.entrypoints.schemas.mappings import MappingOut

        return [MappingOut.of(o) for o in found]

    with session(config, as_json, validate=False) as coupler:
        found = coupler.mappings()
        lines = [
            [
                o.mapping.name,
                o.mapping.direction,
                f"{o.mapping.local.table} <-> {o.mapping.integration.table}",
                o.stats.couplings,
                _attention(o.stats),
            ]
            for o in found
        ]
        columns = ["mapping", "direction", "tables", "couplings", "needs attention"]
        emit(as_json, model, lambda: out.print(table("Table mappings", columns, lines)))


_ATTENTION = (
    ("failed", "failed"),
    ("skipped", "skipped"),
    ("conflicts", "conflict"),
    ("pending_deletions", "pending deletion"),
    ("errors", "error"),
)
"""What needs attention: the count's name and its word for one."""


def _attention(counts: CouplingStats) -> str:
    named = [(getattr(counts, name), one, name.replace("_", " ")) for name, one in _ATTENTION]
    return ", ".join(plural(count, one, many) for count, one, many in named if count) or "-"


@app.command()
def couple(
    mapping: Annotated[str, typer.Argument(help="The table mapping, e.g. CUSTOMER.")],
    local: Annotated[
        str,
        typer.Argument(
            help="The `local` record (key or display key); with --create --from integration, the `integration` record."
        ),
    ],
    integration: Annotated[str | None, typer.Argument(help="The `integration` record (key or display key).")] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the counterpart from this record and couple it.")
    ] = False,
    source: Annotated[
        SideChoice | None, typer.Option("--from", help="With --create: the side of the given record (local).")
    ] = None,
    sync_after: Annotated[
        SideChoice | None, typer.Option("--sync-after", help="Synchronize right after, using this side's data.")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Couple two existing records, or create the counterpart of one (--create) and couple it."""
    from coupler.domain.mapping import Side

    with session(config, as_json) as coupler:
        if create:
            if integration is not None:
                raise UsageError("--create takes one record; leave out the second key.")
            if sync_after is not None:
                raise UsageError("--sync-after does not apply to --create: the new record is made from this one.")
            report = coupler.create(mapping, local, source=Side(source.value) if source else Side.LOCAL)
        else:
            if source is not None:
                raise UsageError("--from applies to --create only.")
            if integration is None:
                both = " and the ".join(f"{coupler.systems.name(side)} record" for side in Side)
                raise UsageError(f"give both the {both}, or --create.")
            after = Side(sync_after.value) if sync_after else None
            report = coupler.couple(mapping, local, integration, sync_after=after)
        finish([report], as_json)


@app.command()
def decouple(
    mapping: Annotated[str, typer.Argument(help="The table mapping.")],
    keys: Annotated[list[str] | None, typer.Argument(help="Records of either side (key or display key).")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Decouple every coupled record of the mapping (asks first).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --all: do not ask for confirmation.")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove couplings (of the records named, or --all of the mapping); the records themselves stay untouched."""
    with session(config, as_json, progress=everything) as coupler:
        if not everything:
            if yes:
                raise UsageError("--yes confirms --all; give --all to decouple every record.")
            if not keys:
                raise UsageError("name the records to decouple, or use --all to decouple every record.")
            finish([coupler.decouple(mapping, keys)], as_json)
            return
        if keys:
            raise UsageError("--all decouples every record; give keys or --all, not both.")
        if not yes and not _confirm_decouple_all(coupler, mapping, as_json):
            err.print("Cancelled: nothing was decoupled.")
            raise Exit(1)
        finish([coupler.decouple_all(mapping)], as_json)


def _confirm_decouple_all(coupler: Coupler, mapping: str, as_json: bool) -> bool:
    name = coupler.systems.mapping(mapping).name
    if as_json:
        raise UsageError("--all with --json does not ask for confirmation: add --yes.")
    overview = next(o for o in coupler.mappings() if o.name == name)
    question = (
        f"Decouple all {plural(overview.stats.couplings, 'coupled record')} of {overview.name}? The records stay as "
        "they are, but their couplings, synchronization state and parked conflicts are removed."
    )
    try:
        return bool(typer.confirm(question, default=False, err=True))
    except typer.Abort:  # no answer (end of input)
        return False


@app.command()
def sync(
    mapping: Annotated[str | None, typer.Argument(help="The table mapping (all mappings when left out).")] = None,
    keys: Annotated[list[str] | None, typer.Argument(help="Coupled records to synchronize now.")] = None,
    direction: Annotated[
        DirectionChoice | None, typer.Option("--direction", "-d", help="Force this direction.")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Full synchronization of the mapping.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --full: run even where matching first is recommended.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Synchronize: modified records (incremental), --full, or the given records now."""
    from coupler.domain.mapping import Direction

    with session(config, as_json, progress=True) as coupler:
        chosen = Direction(direction.value) if direction else None
        if keys:
            if full or mapping is None:
                raise UsageError("--full works on a whole mapping; give keys or --full, not both.")
            reports = [coupler.sync(mapping, keys, direction=chosen)]
        elif direction is not None:
            raise UsageError("--direction applies to the records given by key.")
        elif full:
            if mapping is None:
                raise UsageError("--full needs a mapping.")
            reports = [coupler.sync_full(mapping, force=force)]
        else:  # one job per mapping, as `coupler run --once`: a busy or failing mapping does not stop the others
            finish_round(coupler.run_once([mapping] if mapping else None), as_json)
            return
        finish(reports, as_json)


@app.command()
def status(
    mapping: Annotated[str, typer.Argument(help="The table mapping.")],
    key: Annotated[str, typer.Argument(help="A record of either side (key or display key).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """A record's coupling and its last synchronization state."""

    def model() -> RecordStatusOut:
        from coupler.entrypoints.schemas.records import RecordStatusOut

        return RecordStatusOut.of(found)

    with session(config, as_json, validate=False) as coupler:
        found = coupler.status(mapping, key)
        emit(as_json, model, lambda: _print_status(found, coupler.systems))


def _print_status(status: RecordStatus, systems: Systems) -> None:
    """The coupling in the systems' names and the tables' captions: "Business Central Customer key", "to Dynamics
    365 Sales"..."""
    from coupler.domain.mapping import Side

    coupling = status.coupling
    if coupling is None:
        out.print(f"{status.mapping} {status.ref}: not coupled.")
        return
    mapping = systems.mapping(status.mapping)
    local, integration = (mapping.records_of(side, systems.name(side)) for side in (Side.LOCAL, Side.INTEGRATION))
    other = systems.name(Side.INTEGRATION)
    rows: list[list[object]] = [
        [f"{local} key", coupling.local_key],
        [f"{integration} key", coupling.integration_key],
        ["coupled at", coupling.coupled_at],
        ["last synchronized", coupling.last_synced_at],
        [f"to {other}", f"{coupling.to_integration_result or '-'} (job {coupling.to_integration_job or '-'})"],
        [f"from {other}", f"{coupling.from_integration_result or '-'} (job {coupling.from_integration_job or '-'})"],
        ["skipped", "yes" if coupling.skipped else "no"],
        ["last error", coupling.last_error],
        [local, "exists" if status.local else "MISSING"],
        [integration, "exists" if status.integration else "MISSING"],
    ]
    out.print(table(f"{status.mapping} {status.ref}", ["", ""], rows))


@app.command()
def jobs(
    last: Annotated[int, typer.Option("--last", "-n", min=1, max=MAX_LAST, help="How many jobs.")] = 20,
    mapping: Annotated[str | None, typer.Option("--mapping", "-m", help="Only this mapping's jobs.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The synchronization log: recent jobs with their counters."""

    def model() -> list[JobOut]:
        from coupler.entrypoints.schemas.jobs import JobOut

        return [JobOut.of(j) for j in found]

    with session(config, as_json, validate=False) as coupler:
        found = coupler.jobs(limit=last, mapping=mapping)
        columns = ["id", "mapping", "kind", "direction", "started", "records"]
        human = [[j.id, j.mapping, j.kind, j.direction, j.started_at, counts(j.counters.as_dict())] for j in found]
        emit(as_json, model, lambda: out.print(table("Jobs", columns, human, keys=["id"])))


@app.command()
def errors(
    job: Annotated[str | None, typer.Argument(help="A job id (all recent errors when left out).")] = None,
    mapping: Annotated[str | None, typer.Option("--mapping", "-m", help="Only this mapping's errors.")] = None,
    last: Annotated[int, typer.Option("--last", "-n", min=1, max=MAX_LAST, help="How many errors.")] = 50,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per-record errors of a job (or the most recent ones)."""
    from coupler.domain.mapping import Side

    def model() -> list[JobErrorOut]:
        from coupler.entrypoints.schemas.jobs import JobErrorOut

        return [JobErrorOut.of(e) for e in found]

    with session(config, as_json, validate=False) as coupler:
        found = coupler.errors(job, mapping=mapping, limit=last)
        fields = ["at", "mapping", "local_key", "integration_key", "message"]
        names = [f"{coupler.systems.name(side)} key" for side in Side]
        columns = ["at", "mapping", *names, "message"]
        human = ([getattr(e, c) for c in fields] for e in found)
        emit(as_json, model, lambda: out.print(table("Errors", columns, human, keys=[names[0]])))
