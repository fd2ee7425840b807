"""The state store adapters: SQL (SQLite, PostgreSQL) through SQLAlchemy Core and Alembic, and in memory."""

from __future__ import annotations

from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.adapters.store.sql.store import SqlStateStore, open_state_store

__all__ = ["InMemoryStateStore", "SqlStateStore", "open_state_store"]
