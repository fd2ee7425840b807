"""The `coupler` command line: the Typer app with every command registered, and its entry point."""

from __future__ import annotations

import os
from collections.abc import Sequence

# importing a command module registers its commands on the app
import coupler.entrypoints.cli.commands.attention  # conflicts, resolve, skipped, retry, restore, deletions, approve
import coupler.entrypoints.cli.commands.core  # demo, check, mappings, couple, decouple, sync, status, jobs, errors
import coupler.entrypoints.cli.commands.init  # init
import coupler.entrypoints.cli.commands.locks  # locks and unlock
import coupler.entrypoints.cli.commands.match  # match and review
import coupler.entrypoints.cli.commands.run  # run
import coupler.entrypoints.cli.commands.serve  # noqa: F401 - serve
from coupler.entrypoints.cli.shell import Exit, app, err

__all__ = ["app", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="coupler", standalone_mode=True)
    except Exit as exit_:
        return exit_.code
    except SystemExit as exit_:  # click's own: --help, usage errors (2), Ctrl-C (1)
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as error:  # the last resort: a clear line instead of a traceback
        if os.environ.get("COUPLER_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {type(error).__name__}: {error} (set COUPLER_DEBUG=1 for details)")
        return 1
    return 0


def run() -> None:
    raise SystemExit(main())
