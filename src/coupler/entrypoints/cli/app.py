"""The `coupler` command line: the Typer app with every command registered and grouped in ``--help`` by what users
do with it, and its entry point."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Sequence

from typer import Typer
from typer.main import get_group
from typer.models import CommandInfo

# importing a command module registers its commands on the app
import coupler.entrypoints.cli.commands.attention  # conflicts, resolve, skipped, retry, restore, deletions, approve
import coupler.entrypoints.cli.commands.core  # demo, check, mappings, couple, decouple, sync, status, jobs, errors
import coupler.entrypoints.cli.commands.hooks  # hooks register, status, unregister
import coupler.entrypoints.cli.commands.init  # init
import coupler.entrypoints.cli.commands.locks  # locks and unlock
import coupler.entrypoints.cli.commands.mapping  # mapping set
import coupler.entrypoints.cli.commands.match  # match and review
import coupler.entrypoints.cli.commands.run  # run
import coupler.entrypoints.cli.commands.serve  # serve
import coupler.entrypoints.cli.commands.switch  # enable and disable
import coupler.entrypoints.cli.commands.worker  # noqa: F401 - worker and queue
from coupler.entrypoints.cli.shell import Exit, app, err

__all__ = ["PANELS", "app", "command_name", "main", "run"]

PANELS: dict[str, tuple[str, ...]] = {
    "Set up": ("demo", "init", "check", "mappings", "review", "enable", "disable", "mapping"),
    "Couple": ("match", "couple", "decouple"),
    "Synchronize": ("sync", "run", "status", "jobs"),
    "Needs attention": (
        "errors",
        "conflicts",
        "resolve",
        "skipped",
        "retry",
        "restore",
        "deletions",
        "approve",
        "locks",
        "unlock",
    ),
    "Serve": ("serve", "worker", "queue", "hooks"),
}
"""The panels of ``coupler --help``, in order, each with its commands in order."""


def command_name(command: CommandInfo) -> str:
    if command.name:
        return command.name
    assert command.callback is not None
    return command.callback.__name__.replace("_", "-")


def _group(typer_app: Typer) -> None:
    """Put each command in its panel and list them in the panels' order (a command in no panel comes last)."""
    places = {name: place for place, name in enumerate(name for names in PANELS.values() for name in names)}
    panels = {name: panel for panel, names in PANELS.items() for name in names}
    for command in typer_app.registered_commands:
        command.rich_help_panel = panels.get(command_name(command))
    for group in typer_app.registered_groups:  # `coupler mapping set ...`
        group.rich_help_panel = panels.get(group.name or "")
    typer_app.registered_commands.sort(key=lambda command: places.get(command_name(command), len(places)))


_group(app)


def only(typer_app: Typer, name: str) -> Typer:
    """``typer_app`` with only the command or command group called ``name`` (itself when it has none such).
    Typer builds the Click command of every registered command (their signatures and types) on each call: a run of
    one command builds only its own. The app stays a group, so that usage, help and errors read the same."""
    commands = [command for command in typer_app.registered_commands if command_name(command) == name]
    groups = [group for group in typer_app.registered_groups if group.name == name]
    if not commands and not groups:
        return typer_app
    narrowed = copy.copy(typer_app)
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        command = get_group(only(app, args[0]) if args else app)
        command(args=args, prog_name="coupler", standalone_mode=True)
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
