"""Fixtures for the end-to-end tests: the real `coupler` console script run in subprocesses on a private demo.

The demo is created once per session (``demo_template``) and copied for every test (``demo``), so each test has its
own erp.db, crm.db and coupler.toml and, once it runs a command, its own coupler-state.db.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .support import Demo, run_coupler


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo made by the real `coupler demo`; tests copy it and never change it."""
    base = tmp_path_factory.mktemp("e2e-template")
    run_coupler("demo", "demo", cwd=base, expect=0)
    directory = base / "demo"
    assert sorted(p.name for p in directory.iterdir()) == ["coupler.toml", "crm.db", "erp.db"]
    return directory


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Demo:
    """A private copy of the demo (its own databases and, once a command runs, its own state store)."""
    return Demo(directory=Path(shutil.copytree(demo_template, tmp_path / "demo")))
