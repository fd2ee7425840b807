"""The in-memory fake and the SQLite store give the same answers to any sequence of coupling writes, and of writes
of the state kept beside couplings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coupler.adapters.store import InMemoryStateStore, SqlStateStore, open_state_store
from coupler.adapters.store.sql.schema import metadata
from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import (
    Conflict,
    ConflictField,
    ConflictKey,
    CreateIntent,
    FailureKey,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)
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
            store.couplings.add([coupling(local, integration, step) for local, integration in pairs])
            return None
        if kind == "save":
            store.save(
                StateChanges(couplings=tuple(coupling(local, integration, step) for local, integration in pairs))
            )
            return None
        return store.couplings.remove(MAPPING, [f"L-{local}" for local, _ in pairs])
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
        assert memory.couplings.page(MAPPING) == sqlite_store.couplings.page(MAPPING)
        assert memory.stats(MAPPING) == sqlite_store.stats(MAPPING)


# the state beside couplings: saves of conflicts, failures and deletions, intents and locks ----------------------------
mappings = st.sampled_from(["m", "n"])
sides = st.sampled_from(list(Side))
minutes = st.integers(min_value=0, max_value=3)
state_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("save"),
            st.lists(st.tuples(mappings, keys, minutes), max_size=3),  # conflicts
            st.lists(st.tuples(mappings, keys), max_size=2),  # settled
            st.lists(st.tuples(mappings, sides, keys, minutes), max_size=3),  # failures
            st.lists(st.tuples(mappings, sides, keys), max_size=2),  # cleared
            st.lists(st.tuples(mappings, sides, keys, minutes), max_size=3),  # deletions
        ),
        st.tuples(st.just("remove"), mappings, sides, st.lists(keys, max_size=3)),
        st.tuples(st.just("intend"), st.lists(st.tuples(mappings, keys, minutes), max_size=3)),
        st.tuples(st.just("drop"), mappings, st.lists(keys, max_size=3)),
        st.tuples(st.just("lock"), st.sampled_from(["x", "y"]), keys, minutes, minutes),
        st.tuples(st.just("unlock"), st.sampled_from(["x", "y"]), keys),
    ),
    max_size=10,
)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def apply_state(store: StateStore, step: int, action: tuple[Any, ...]) -> object:
    kind = action[0]
    if kind == "save":
        _, conflicts, settled, failures, cleared, deletions = action
        value = {"local_value": step, "integration_value": None, "last_local": 1.5, "last_integration": True}
        field = ConflictField(pair="p", local_field="a", integration_field="b", **value)
        store.save(
            StateChanges(
                conflicts=tuple(
                    Conflict(
                        mapping=m,
                        local_key=k,
                        integration_key=f"i{step}",
                        fields=(field,),
                        detected_at=at(t),
                        job_id="j",
                    )
                    for m, k, t in conflicts
                ),
                settled=tuple(ConflictKey(mapping=m, local_key=k) for m, k in settled),
                failures=tuple(
                    RecordFailure(mapping=m, side=s, key=k, message=f"{step}", job_id="j", at=at(t), failure_count=step)
                    for m, s, k, t in failures
                ),
                cleared=tuple(FailureKey(mapping=m, side=s, key=k) for m, s, k in cleared),
                deletions=tuple(
                    PendingDeletion(
                        mapping=m, side=s, deleted_key=k, survivor_key=f"s{step}", detected_at=at(t), job_id="j"
                    )
                    for m, s, k, t in deletions
                ),
            )
        )
        return None
    if kind == "remove":
        return store.attention.remove_pending_deletions(action[1], action[2], action[3])
    if kind == "intend":
        store.cursors.add_intents(
            [
                CreateIntent(
                    mapping=m, direction=Direction.TO_INTEGRATION, source_key=k, target_key=f"t{step}", at=at(t)
                )
                for m, k, t in action[1]
            ]
        )
        return None
    if kind == "drop":
        store.cursors.drop_intents(action[1], Direction.TO_INTEGRATION, action[2])
        return None
    if kind == "lock":
        _, name, owner, now, length = action
        return store.cursors.acquire_lock(name, owner, until=at(now + length), now=at(now))
    store.cursors.release_lock(action[1], action[2])
    return None


def state_of(store: StateStore) -> tuple[object, ...]:
    return (
        store.attention.conflicts(limit=100),
        store.attention.failures(limit=100),
        store.attention.pending_deletions(limit=100),
        [store.cursors.intents(m, Direction.TO_INTEGRATION) for m in ("m", "n")],
    )


@settings(max_examples=150, deadline=None)
@given(steps=state_steps)
def test_memory_and_sqlite_keep_the_same_state(sqlite_store: SqlStateStore, steps: list[tuple[Any, ...]]) -> None:
    with sqlite_store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    memory = InMemoryStateStore()

    for step, action in enumerate(steps):
        assert apply_state(memory, step, action) == apply_state(sqlite_store, step, action), (step, action)
        assert state_of(memory) == state_of(sqlite_store), (step, action)
