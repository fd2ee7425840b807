"""The CLI's progress bar: a percentage and done/total when the services give a total, a count otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from coupler.entrypoints.cli.progress import BarProgress


def test_the_bar_shows_a_percentage_with_a_total_and_a_count_without() -> None:
    output = io.StringIO()
    bar = BarProgress(Console(file=output, force_terminal=True, width=120, color_system=None))

    bar.start("CUSTOMER to-integration", 8)
    bar.advance(2)
    bar.start("CUSTOMER from-integration")
    bar.advance(5)
    bar.stop()

    lines = output.getvalue().splitlines()
    counted = next(line for line in reversed(lines) if "CUSTOMER to-integration" in line)
    pulsing = next(line for line in reversed(lines) if "CUSTOMER from-integration" in line)
    assert " 25%" in counted and "2/8 records" in counted, counted
    assert "%" not in pulsing and "5/? records" in pulsing, pulsing
