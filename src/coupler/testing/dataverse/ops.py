"""What the Dataverse server's handlers (``$batch``, CreateMultiple, change tracking, metadata) need of the server:
a structural type, so that they take the server as a parameter without importing it."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

import sqlalchemy as sa

from coupler.testing.dataverse.entities import EntitySet
from coupler.testing.faults import Faults
from coupler.testing.odata.http import Request, Response
from coupler.testing.odata.store import Store

__all__ = ["DataverseOps"]


class DataverseOps(Protocol):
    store: Store
    sets: dict[str, EntitySet]
    faults: Faults
    app_user_id: str
    expired_below: int

    def execute(self, request: Request, conn: sa.Connection | None) -> Response: ...

    def transaction(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]: ...

    def query(self, entity_set: EntitySet, options: Mapping[str, str]) -> Any: ...

    def to_json(
        self, entity_set: EntitySet, row: Mapping[str, Any], select: Any, request: Request
    ) -> dict[str, Any]: ...

    def context(self, request: Request, entity_set: EntitySet, select: Any) -> str: ...

    def insert(self, conn: sa.Connection, entity_set: EntitySet, payload: Any) -> str: ...

    def update(self, conn: sa.Connection, entity_set: EntitySet, key: str, payload: Any) -> None: ...
