"""`coupler locks` and `coupler unlock`: the mapping locks with the process holding each, and releasing the lock
of a run that is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from coupler.entrypoints.cli.render import table
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, out, session

if TYPE_CHECKING:
    from coupler.entrypoints.schemas.locks import LockOut

__all__: list[str] = []


@app.command()
def locks(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The mapping locks: the job and process (host, pid) holding each, until when, and whether its owner is gone."""
    from coupler.entrypoints.schemas.locks import LockOut

    with session(config, as_json, validate=False) as coupler:
        rows = [LockOut.of(status) for status in coupler.locks()]

        def human() -> None:
            if not rows:
                out.print("No mapping is locked.")
                return
            columns = ["mapping", "state", "job", "kind", "started", "host", "pid", "until"]
            out.print(table("Locks", columns, [_line(r) for r in rows]))

        emit(as_json, rows, human)


def _line(row: LockOut) -> list[Any]:
    job = row.job
    return [row.mapping, row.state, row.job_id, job and job.kind, job and job.started_at, row.host, row.pid, row.until]


@app.command()
def unlock(
    mapping: Annotated[str, typer.Argument(help="The table mapping whose lock to release, e.g. CUSTOMER.")],
    force: Annotated[
        bool, typer.Option("--force", help="Release it even while it is live and its owner may be running.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Release the lock of a run that is gone (its job is closed as stopped). A live lock whose owner may still be
    running is refused unless --force."""
    from coupler.entrypoints.schemas.locks import LockOut, UnlockOut

    with session(config, as_json) as coupler:
        released = coupler.unlock(mapping, force=force)
        name = coupler.systems.mapping(mapping).name
        data = UnlockOut(mapping=name, released=LockOut.of(released) if released is not None else None)

        def human() -> None:
            if released is None:
                out.print(f"{name} is not locked: nothing to release.")
                return
            lock = released.lock
            where = f" (process {lock.pid} on {lock.host})" if lock.host else ""
            out.print(f"Released the lock on {name} held by job {lock.owner}{where}.")
            if released.job is not None and released.job.message:
                out.print(f"Its job: {released.job.message}")

        emit(as_json, data, human)
