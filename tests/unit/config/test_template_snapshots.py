"""The two configuration templates load to the same configuration as they did when they were string-typed dicts.

``snapshots/*.json`` were written from the templates before they became config models: the systems and state as
written, and every table mapping coupler.config builds (enums as ``Type.NAME``, tuples as lists). Formatting of the
generated files may change; what they load to may not.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coupler.config import parse_config
from coupler.demo.config_template import render_demo_config
from coupler.templates.bc_sales import render_bc_sales

SNAPSHOTS = Path(__file__).parent / "snapshots"
TEMPLATES: dict[str, Callable[[], str]] = {"bc-sales": render_bc_sales, "demo": render_demo_config}


def plain(value: Any) -> Any:
    """A loaded value as JSON data, field by field."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def loaded(text: str, folder: Path) -> dict[str, Any]:
    """The template's systems and state as written, and its mappings as loaded (systems swapped for SQLite files)."""
    data = tomllib.loads(text)
    written = {"state": data.get("state"), "local": data["local"], "integration": data["integration"]}
    for side in ("local", "integration"):
        database = folder / f"{side}.db"
        sqlite3.connect(database).close()
        data[side] = {"name": data[side]["name"], "kind": "sql", "url": f"sqlite:///{database}"}
    config = parse_config(data, path=folder / "coupler.toml")
    return {**written, "mappings": plain(config.mappings)}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_template_loads_as_before(name: str, tmp_path: Path) -> None:
    expected = json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8"))
    assert canonical(loaded(TEMPLATES[name](), tmp_path)) == canonical(expected)


def canonical(data: dict[str, Any]) -> str:
    """JSON text, so that true is not 1 and 1.0 is not 1; the keys of each table sorted, as TOML tables have no
    order (lists keep theirs)."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)
