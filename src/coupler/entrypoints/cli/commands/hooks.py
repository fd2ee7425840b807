"""`coupler hooks register | status | unregister`: the systems' webhook subscriptions (``[hooks]`` in coupler.toml).

``register`` subscribes every table a system is the source of in a mapping, at ``<url>/hooks/<local|integration>``
of `coupler serve` (which must be reachable there: Business Central calls it back before it keeps a subscription).
`coupler serve` (or, with a queue, the workers) then renews the subscriptions before they expire and subscribes again
the tables that lost theirs while ``[hooks]`` is on; ``unregister`` removes them (set ``enabled = false`` in
``[hooks]`` to keep them removed).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, fail, out, session

if TYPE_CHECKING:
    from coupler.config.hooks import HookSettings

__all__: list[str] = []

hooks_app = typer.Typer(
    help="The systems' webhook subscriptions: changes arrive within seconds (the hooks section of coupler.toml)."
)
app.add_typer(hooks_app, name="hooks")


def _settings(config: Path | None, as_json: bool) -> HookSettings:
    from coupler.config import load_config

    try:
        settings = load_config(config)
    except ConfigurationError as error:
        fail(error, 2, as_json)
        raise  # not reached: fail exits
    if settings.hooks is None:
        fail(
            ConfigurationError(
                f"{settings.path}: no [hooks] section: add one with the address of `coupler serve` (url) and the "
                'secret (secret = "${COUPLER_HOOKS_SECRET}").'
            ),
            2,
            as_json,
        )
    assert settings.hooks is not None
    return settings.hooks


def _expires_in(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = int((value - now).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    if not days:
        parts.append(f"{minutes} min")
    return " ".join(parts)


@hooks_app.command("register")
def register_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Subscribe to the changes of every mapped table of each system that can notify coupler."""
    from coupler.services.subscriptions import register

    hooks = _settings(config, as_json)
    with session(config, as_json, validate=False) as coupler:
        try:
            done = register(coupler.systems, lambda side: hooks.route(side.value), hooks.secret.get_secret_value())
        except PermanentConnectorError as error:  # most often: nothing answered the system's call back
            hint = (
                f"Is `coupler serve` running and reachable at {hooks.url}? Business Central calls "
                f"{hooks.route('local')} back before it keeps a subscription."
            )
            fail(PermanentConnectorError(f"{error.message} {hint}"), 1, as_json)
        rows: list[dict[str, Any]] = [
            {"system": coupler.systems.name(side), "tables": len(subscriptions), "url": hooks.route(side.value)}
            for side, subscriptions in done.items()
        ]

        def human() -> None:
            if not rows:
                out.print("Neither system can notify coupler of its changes; the scheduled runs find them.")
            for row in rows:
                out.print(f"{row['system']}: {row['tables']} table(s) send their changes to {row['url']}")

        emit(as_json, rows, human)


@hooks_app.command("status")
def status_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the subscriptions: system, table, when each expires, and whether it is active, to renew or missing."""
    from rich.table import Table

    from coupler.services.subscriptions import status

    hooks = _settings(config, as_json)
    with session(config, as_json, validate=False) as coupler:
        now = coupler.systems.clock()
        states = status(coupler.systems, lambda side: hooks.route(side.value), now=now, renew_before=hooks.renew_before)
        rows = [
            {
                "system": s.system,
                "table": s.table,
                "expires": s.expires.isoformat() if s.expires else None,
                "expires_in": _expires_in(s.expires, now) if s.state != "missing" else None,
                "state": s.state,
            }
            for s in states
        ]

        def human() -> None:
            if not rows:
                out.print("Neither system can notify coupler of its changes; the scheduled runs find them.")
                return
            table = Table("System", "Table", "Expires in", "State")
            for row in rows:
                table.add_row(row["system"], row["table"], row["expires_in"] or "-", row["state"])
            out.print(table)

        emit(as_json, rows, human)


@hooks_app.command("unregister")
def unregister_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Remove the subscriptions: changes are found by the scheduled runs only (while the hooks section is on,
    `coupler serve` subscribes again: set enabled = false there)."""
    from coupler.services.subscriptions import unregister

    hooks = _settings(config, as_json)
    with session(config, as_json, validate=False) as coupler:
        removed = unregister(coupler.systems, lambda side: hooks.route(side.value))
        rows = [{"system": coupler.systems.name(side), "removed": count} for side, count in removed.items()]

        def human() -> None:
            for row in rows:
                out.print(f"{row['system']}: {row['removed']} subscription(s) removed")

        emit(as_json, rows, human)
