"""Fixtures for the end-to-end tests over HTTP: the demo's crm.db behind the Dataverse server, its erp.db behind the
Business Central server, both requiring bearer tokens from the OAuth stub (https, a test CA), which msal gets for
real. The demo is built once per session and copied for every test; the servers run per test."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.types import Receive, Scope, Send

from coupler.demo import DemoResult, create_demo
from coupler.testing import (
    Faults,
    ServedUrl,
    TlsFiles,
    TokenIssuer,
    business_central_app,
    dataverse_app,
    make_tls_files,
    oauth_app,
    serve,
)
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY, DEMO_DATAVERSE_TABLES

from .support import BC_CLIENT, DV_CLIENT, SECRETS, TENANT, HttpDemo, http_config


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return create_demo(tmp_path_factory.mktemp("http-e2e-demo"))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("http-e2e-tls"))


@pytest.fixture(scope="session")
def issuer() -> TokenIssuer:
    return TokenIssuer(
        tenant_id=TENANT,
        clients={DV_CLIENT: SECRETS["HTTP_E2E_DATAVERSE_SECRET"], BC_CLIENT: SECRETS["HTTP_E2E_BC_SECRET"]},
    )


@pytest.fixture(scope="session")
def oauth(issuer: TokenIssuer, tls: TlsFiles) -> Iterator[ServedUrl]:
    with serve(oauth_app(issuer), tls=tls) as url:
        yield url


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Wrap = Callable[[ASGIApp], ASGIApp]


@pytest.fixture
def start_demo(
    demo_template: DemoResult,
    tmp_path: Path,
    issuer: TokenIssuer,
    oauth: ServedUrl,
    tls: TlsFiles,
    secrets: dict[str, str],
) -> Iterator[Callable[..., HttpDemo]]:
    """``start_demo(wrap_crm=...)``: a private copy of the demo served over HTTP, with its coupler.toml (both sides
    over HTTP) beside it; ``wrap_crm`` wraps the Dataverse app (to act between coupler's read and write), ``wrap_erp``
    the Business Central app."""
    with ExitStack() as stack:

        def start(*, wrap_crm: Wrap | None = None, wrap_erp: Wrap | None = None) -> HttpDemo:
            directory = Path(shutil.copytree(demo_template.directory, tmp_path / "demo"))
            (directory / "coupler.toml").unlink()
            dv_faults, bc_faults = Faults(), Faults()
            crm_app = dataverse_app(
                f"sqlite:///{directory / 'crm.db'}", tables=DEMO_DATAVERSE_TABLES, faults=dv_faults, auth=issuer
            )
            erp_app = business_central_app(
                f"sqlite:///{directory / 'erp.db'}",
                companies=[DEMO_COMPANY],
                tables=DEMO_BC_TABLES,
                faults=bc_faults,
                auth=issuer,
            )
            crm = stack.enter_context(serve(wrap_crm(crm_app) if wrap_crm else crm_app))
            erp = stack.enter_context(serve(wrap_erp(erp_app) if wrap_erp else erp_app))
            config = directory / "coupler-http.toml"
            state = "sqlite:///coupler-state.db"
            config.write_text(
                http_config(erp=erp, crm=crm, oauth=oauth, ca_file=tls.ca_file, company=DEMO_COMPANY.name, state=state),
                encoding="utf-8",
            )
            return HttpDemo(
                directory=directory, config=config, erp_url=erp, crm_url=crm, bc_faults=bc_faults, dv_faults=dv_faults
            )

        yield start


@pytest.fixture
def http_demo(start_demo: Callable[..., HttpDemo]) -> HttpDemo:
    """A private copy of the demo served over HTTP (see ``start_demo``)."""
    return start_demo()


@pytest.fixture
def sql_demo(demo_template: DemoResult, tmp_path: Path) -> Path:
    """A private copy of the demo with its own (SQL) coupler.toml: the reference the HTTP runs are compared with."""
    return Path(shutil.copytree(demo_template.directory, tmp_path / "sql-demo"))
