"""`coupler enable` and `coupler disable`: Business Central's *Enabled* switch of the connection setup. Off, no job
runs (not `coupler run`, not the web app, not the API), each saying why; the switch is ``enabled`` in coupler.toml,
changed with its comments kept and the old file kept as coupler.toml.bak."""

from __future__ import annotations

from pathlib import Path

from coupler.domain.errors import CouplerError
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, fail, out

__all__: list[str] = []


def _switch(config: Path | None, enabled: bool, as_json: bool) -> None:
    from coupler.config import default_config_path
    from coupler.config.edit import set_enabled

    path = config or default_config_path()
    try:
        backup = set_enabled(path, enabled)
    except CouplerError as error:
        fail(error, 2, as_json)
    state = "enabled" if enabled else "disabled"

    def human() -> None:
        out.print(f"The connection is {state} ({path}; the previous file is {backup.name}).")
        if not enabled:
            out.print("Nothing is synchronized or coupled until `coupler enable`.")

    emit(as_json, {"config": str(path), "enabled": enabled, "backup": str(backup)}, human)


@app.command()
def enable(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Switch the connection on: synchronization and coupling run again."""
    _switch(config, True, as_json)


@app.command()
def disable(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Switch the connection off: no job runs (coupler run waits, the web app and the API say why)."""
    _switch(config, False, as_json)
