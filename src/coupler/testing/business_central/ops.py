"""What the Business Central server's handlers (``$batch``, ``$metadata``) need of the server: a structural type, so
that they take the server as a parameter without importing it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import sqlalchemy as sa

from coupler.testing.odata.http import Request, Response
from coupler.testing.odata.store import Store
from coupler.testing.odata.tables import BcTable

__all__ = ["BusinessCentralOps"]


class BusinessCentralOps(Protocol):
    store: Store

    @property
    def tables(self) -> Mapping[str, BcTable]: ...

    def execute(self, request: Request, conn: sa.Connection | None) -> Response: ...
