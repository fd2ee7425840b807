"""`coupler mapping set --caption` and `coupler mapping table`: captions and filters changed in coupler.toml (comments
kept, the previous file as coupler.toml.bak), checked against the systems, and used by the next command."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .support import Demo, run_coupler


def _customer(folder: Path) -> dict[str, Any]:
    mappings = tomllib.loads((folder / "coupler.toml").read_text(encoding="utf-8"))["mappings"]
    customer: dict[str, Any] = next(m for m in mappings if m["name"] == "CUSTOMER")
    return customer


def _local_records(folder: Path) -> int:
    review = run_coupler("review", "--json", cwd=folder, expect=0).json()
    records: int = next(r for r in review if r["mapping"] == "CUSTOMER")["local"]["records"]
    return records


def test_a_field_caption_and_the_tables_captions_and_filters_are_written(demo: Demo) -> None:
    folder = demo.directory
    before = (folder / "coupler.toml").read_text(encoding="utf-8")
    customers = _local_records(folder)
    run_coupler("mapping", "set", "CUSTOMER", "city", "--caption", "Town", cwd=folder, expect=0)
    changed = run_coupler(
        "mapping", "table", "customer", "--local-caption", "Debtor", "--local-filter", 'blocked=""',
        "--local-filter", "displayName startswith A", "--no-integration-filter", "--json", cwd=folder, expect=0,
    ).json()  # fmt: skip

    assert Path(changed["backup"]).name == "coupler.toml.bak"
    customer = _customer(folder)
    assert next(f for f in customer["fields"] if f.get("local") == "city")["caption"] == "Town"
    assert customer["local"]["caption"] == "Debtor"
    assert customer["local"]["filter"] == [
        {"field": "blocked", "op": "eq", "value": ""},
        {"field": "displayName", "op": "startswith", "value": "A"},
    ]
    assert "filter" not in customer["integration"]
    written = (folder / "coupler.toml").read_text(encoding="utf-8")
    assert [line for line in written.splitlines() if line.startswith("#")] == [
        line for line in before.splitlines() if line.startswith("#")
    ]
    assert 0 < _local_records(folder) < customers, "the next command applies the new filter"


def test_a_wrong_condition_or_column_is_refused_and_the_file_is_left_alone(demo: Demo) -> None:
    folder = demo.directory
    before = (folder / "coupler.toml").read_text(encoding="utf-8")
    malformed = run_coupler("mapping", "table", "CUSTOMER", "--local-filter", "blocked", cwd=folder, expect=2)
    assert "'blocked' is not a filter condition: write FIELD=VALUE" in malformed.stderr
    unknown = run_coupler("mapping", "table", "CUSTOMER", "--local-filter", "nope=1", cwd=folder, expect=2)
    assert "table 'customers' of Business Central has no column 'nope'" in unknown.stderr
    nothing = run_coupler("mapping", "table", "CUSTOMER", cwd=folder, expect=2)
    assert "nothing to change" in nothing.stderr
    too_long = run_coupler("mapping", "set", "CUSTOMER", "city", "--caption", "x" * 81, cwd=folder, expect=2)
    assert "a caption has at most 80 characters" in too_long.stderr
    assert (folder / "coupler.toml").read_text(encoding="utf-8") == before
    assert not (folder / "coupler.toml.bak").exists()


def test_help_shows_the_options(demo: Demo) -> None:
    shown = run_coupler("mapping", "--help", cwd=demo.directory, expect=0).stdout
    assert "set" in shown and "table" in shown
    table = run_coupler("mapping", "table", "--help", cwd=demo.directory, expect=0).stdout
    for option in ("--local-caption", "--integration-caption", "--local-filter", "--integration-filter"):
        assert option in table
    assert "--caption" in run_coupler("mapping", "set", "--help", cwd=demo.directory, expect=0).stdout
