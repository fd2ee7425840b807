"""Believable tenants for the test servers: ``business_central`` and ``dataverse``, each a SQLite database seeded with
the same company's data (CRONUS USA, Inc.: docs/test-servers.md lists it), served as strictly as the real services.

``serve_tenant(folder)`` builds both databases in ``folder`` and serves them until the block ends::

    with serve_tenant(tmp_path, auth=issuer) as tenant:
        tenant.business_central_url   # the API v2.0 root: .../v2.0/<tenant>/production/api/v2.0
        tenant.dataverse_url          # the organization's URL (the Web API is under /api/data/v9.2)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupler.testing.auth import Authenticator
from coupler.testing.business_central.server import business_central_app
from coupler.testing.dataverse.server import dataverse_app
from coupler.testing.faults import Faults
from coupler.testing.serving import ServedUrl, serve
from coupler.testing.tenant.business_central import BcTenant, business_central_tenant
from coupler.testing.tenant.dataverse import DataverseTenant, dataverse_tenant
from coupler.testing.tls import TlsFiles

__all__ = ["Refusal", "ServedTenant", "serve_tenant"]

TENANT_ID = "7f0c2a51-1d9e-4c8a-9a51-3c0de0000001"
"""The Microsoft Entra tenant the served Business Central's URL names."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Refusal:
    """A request a server answered with a 4xx or 5xx status (a ``$batch`` part's refusal is in its 200 answer)."""

    system: str
    method: str
    path: str
    status: int


ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def _recording(app: ASGIApp, system: str, refusals: list[Refusal]) -> ASGIApp:
    async def recorded(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        async def sending(message: MutableMapping[str, Any]) -> None:
            if message.get("type") == "http.response.start" and int(message.get("status", 200)) >= 400:
                refusals.append(
                    Refusal(system=system, method=scope["method"], path=scope["path"], status=message["status"])
                )
            await send(message)

        await app(scope, receive, sending if scope.get("type") == "http" else send)

    return recorded


@dataclass(frozen=True, kw_only=True)
class ServedTenant:
    business_central: BcTenant
    dataverse: DataverseTenant
    bc_server: ServedUrl
    dv_server: ServedUrl
    bc_faults: Faults
    dv_faults: Faults
    refusals: list[Refusal] = field(default_factory=list)
    """Every request either server refused, in order (a 401 before a token's renewal included)."""

    @property
    def business_central_url(self) -> str:
        return f"{self.bc_server}/v2.0/{TENANT_ID}/production/api/v2.0"

    @property
    def dataverse_url(self) -> str:
        return str(self.dv_server)

    @property
    def company(self) -> str:
        return self.business_central.companies[0].name


@contextmanager
def serve_tenant(
    folder: Path, *, auth: Authenticator | None = None, version: int = 26, tls: TlsFiles | None = None
) -> Iterator[ServedTenant]:
    """Both tenants' databases written in ``folder`` (bc.db, dataverse.db) and served until the block ends;
    ``version`` is Business Central's (25: before the salespeople's API entity)."""
    folder.mkdir(parents=True, exist_ok=True)
    bc = business_central_tenant(folder / "bc.db", version=version)
    dv = dataverse_tenant(folder / "dataverse.db")
    bc_faults, dv_faults = Faults(), Faults()
    bc_app = business_central_app(
        bc.db_url, companies=bc.companies, tables=bc.tables, rules=bc.rules, faults=bc_faults, auth=auth
    )
    dv_app = dataverse_app(dv.db_url, tables=dv.tables, app_user_id=dv.app_user_id, faults=dv_faults, auth=auth)
    refusals: list[Refusal] = []
    with ExitStack() as stack:
        yield ServedTenant(
            business_central=bc,
            dataverse=dv,
            bc_server=stack.enter_context(serve(_recording(bc_app, "Business Central", refusals), tls=tls)),
            dv_server=stack.enter_context(serve(_recording(dv_app, "Dataverse", refusals), tls=tls)),
            bc_faults=bc_faults,
            dv_faults=dv_faults,
            refusals=refusals,
        )
