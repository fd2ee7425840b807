"""Fixtures for the test servers' own tests: a private copy of the demo behind each server, and plain httpx."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coupler.demo import DemoResult, create_demo
from coupler.testing import Faults, ServedUrl, business_central_app, dataverse_app, serve
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY, DEMO_DATAVERSE_TABLES

DV_ROOT = "/api/data/v9.2/"
BC_ROOT = "/v2.0/tenant-1/production/api/v2.0/"
COMPANY = f"companies({DEMO_COMPANY.id})/"


@dataclass
class Running:
    url: ServedUrl
    client: httpx.Client
    faults: Faults
    server: object


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return create_demo(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def demo_dir(demo_template: DemoResult, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo_template.directory, tmp_path / "demo"))


@pytest.fixture
def dataverse(demo_dir: Path) -> Iterator[Running]:
    faults = Faults()
    app = dataverse_app(f"sqlite:///{demo_dir / 'crm.db'}", tables=DEMO_DATAVERSE_TABLES, faults=faults)
    with serve(app) as url, httpx.Client(base_url=url + DV_ROOT, timeout=10) as client:
        yield Running(url=url, client=client, faults=faults, server=app.server)


@pytest.fixture
def bc(demo_dir: Path) -> Iterator[Running]:
    faults = Faults()
    app = business_central_app(
        f"sqlite:///{demo_dir / 'erp.db'}", companies=[DEMO_COMPANY], tables=DEMO_BC_TABLES, faults=faults
    )
    with serve(app) as url, httpx.Client(base_url=url + BC_ROOT, timeout=10) as client:
        yield Running(url=url, client=client, faults=faults, server=app.server)
