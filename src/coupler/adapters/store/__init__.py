"""The state store adapters: SQL (SQLite, PostgreSQL) through SQLAlchemy Core and Alembic, and in memory.

Each is imported when first named (PEP 562): a command on SQLite does not load the in-memory store, and the other way
round."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coupler.adapters.store.memory.store import InMemoryStateStore
    from coupler.adapters.store.sql.store import SqlStateStore, open_state_store

__all__ = ["InMemoryStateStore", "SqlStateStore", "open_state_store"]

_HOMES = {
    "InMemoryStateStore": "coupler.adapters.store.memory.store",
    "SqlStateStore": "coupler.adapters.store.sql.store",
    "open_state_store": "coupler.adapters.store.sql.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
