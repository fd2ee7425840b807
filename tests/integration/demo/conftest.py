"""Fixtures for the demo tests: a demo created once per module (read only) or a private copy (to change)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from coupler.demo import DemoResult, create_demo


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """A demo that tests only read (or change inside a transaction they roll back)."""
    return create_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo(shared_demo: DemoResult, tmp_path: Path) -> DemoResult:
    """A private copy of the demo that a test may change."""
    copy = Path(shutil.copytree(shared_demo.directory, tmp_path / "demo"))
    return dataclasses.replace(
        shared_demo,
        directory=copy,
        erp=copy / shared_demo.erp.name,
        crm=copy / shared_demo.crm.name,
        config=copy / shared_demo.config.name,
    )
