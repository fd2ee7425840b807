"""`coupler --help` groups the commands by what users do: set up, couple, synchronize, needs attention, serve."""

from __future__ import annotations

from collections import Counter

from typer.testing import CliRunner

from coupler.entrypoints.cli.app import PANELS, app, command_name


def test_every_command_is_in_exactly_one_panel() -> None:
    registered = [command_name(c) for c in app.registered_commands] + [g.name for g in app.registered_groups]
    listed = Counter(name for names in PANELS.values() for name in names)
    assert sorted(registered) == sorted(listed), "a command is missing from PANELS, or PANELS names one that is gone"
    assert max(listed.values()) == 1
    assert all(c.rich_help_panel in PANELS for c in [*app.registered_commands, *app.registered_groups])


def test_help_shows_the_panels_in_order_with_their_commands() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="coupler", env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    titles = [next(i for i, line in enumerate(lines) if f"─ {panel} ─" in line) for panel in PANELS]
    assert titles == sorted(titles)
    for panel, start, end in zip(PANELS, titles, [*titles[1:], len(lines)], strict=True):
        shown = [line.split()[1] for line in lines[start + 1 : end] if line.startswith("│ ") and line[2] != " "]
        assert shown == list(PANELS[panel]), panel
