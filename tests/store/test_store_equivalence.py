"""The in-memory fake and the SQLite store give the same answers to any sequence of coupling writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coupler.adapters.store import InMemoryStateStore, SqlStateStore, open_state_store
from coupler.adapters.store.schema import metadata
from coupler.domain.coupling import Coupling
from coupler.ports.store import StateStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MAPPING = "customers"

keys = st.sampled_from("abcd")
pairs = st.lists(st.tuples(keys, keys), max_size=4)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), pairs),
        st.tuples(st.just("save"), pairs),
        st.tuples(st.just("remove"), st.lists(st.tuples(keys, keys), max_size=3)),
    ),
    max_size=8,
)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStateStore]:
    path: Path = tmp_path_factory.mktemp("equivalence") / "state.db"
    store = open_state_store(f"sqlite:///{path}")
    try:
        yield store
    finally:
        store.close()


def coupling(local: str, integration: str, n: int) -> Coupling:
    return Coupling(
        mapping=MAPPING, local_key=f"L-{local}", integration_key=f"I-{integration}", coupled_at=T0, failure_count=n
    )


def apply(store: StateStore, step: int, kind: str, pairs: list[tuple[str, str]]) -> object:
    try:
        if kind == "add":
            store.add_couplings([coupling(local, integration, step) for local, integration in pairs])
            return None
        if kind == "save":
            store.save(couplings=[coupling(local, integration, step) for local, integration in pairs])
            return None
        return store.remove_couplings(MAPPING, [f"L-{local}" for local, _ in pairs])
    except Exception as exc:  # the outcome compared is the kind of error
        return type(exc).__name__


@settings(max_examples=200, deadline=None)
@given(steps=operations)
def test_memory_and_sqlite_agree(sqlite_store: SqlStateStore, steps: list[tuple[str, list[tuple[str, str]]]]) -> None:
    with sqlite_store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    memory = InMemoryStateStore()

    for step, (kind, pairs) in enumerate([("add", [("a", "a"), ("b", "b")]), *steps]):
        assert apply(memory, step, kind, pairs) == apply(sqlite_store, step, kind, pairs), (step, kind, pairs)
        assert memory.list_couplings(MAPPING) == sqlite_store.list_couplings(MAPPING)
        assert memory.stats(MAPPING) == sqlite_store.stats(MAPPING)
