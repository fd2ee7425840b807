"""The CLI's tables at a narrow terminal: within its width, the key columns whole, the other columns wrapped."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from coupler.entrypoints.cli.render import table

GUID = "33dbfe7b-dc96-47d7-913e-4c8aef99b839"
LONG = "Both records changed these fields to different values since the last synchronization: city/address1_city."


def rendered(width: int, keys: list[str] | None = None) -> list[str]:
    output = io.StringIO()
    rows = [[GUID, "CUSTOMER", "to-integration", "2026-12-07T19:23:19.333Z", LONG]] * 2
    columns = ["id", "mapping", "direction", "started", "message"]
    Console(file=output, width=width, color_system=None).print(table("Jobs", columns, rows, keys=keys))
    return output.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_keys_stay_whole_within_the_width(width: int) -> None:
    lines = rendered(width, keys=["id", "mapping"])
    assert max(map(len, lines)) <= width
    assert sum(GUID in line for line in lines) == 2
    assert sum("CUSTOMER" in line for line in lines) == 2


def test_the_first_column_is_the_key_by_default() -> None:
    assert sum("CUSTOMER" in line for line in rendered(60)) == 0  # the mapping wraps; the id does not
    assert sum(GUID in line for line in rendered(60)) == 2


def test_too_narrow_for_the_keys_the_table_still_fits() -> None:
    assert max(map(len, rendered(30))) <= 30
