"""A run interrupted between any two pages loses nothing, whatever records share a modified-on.

Users create and edit records on both sides in multi-row statements (every record one statement writes shares its
modified-on, as with a database's ``now()``); a run reads the changes in pages of two and is interrupted after any
page: cleanly (a stop request, as Ctrl-C or SIGTERM) or by a system failing mid-read (an outage that used up the
retries). After one more run, on the in-memory fakes and on SQLite files, every record is coupled exactly once (none
duplicated, none left behind) and every coupled pair agrees on each bidirectional field. Users edit different
fields on each side (the city in the ERP, the name in the CRM), so nothing conflicts and every edit must arrive.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from coupler.domain.errors import CouplerError, RetryableConnectorError
from coupler.domain.mapping import DeletionPolicy, Side
from coupler.domain.records import Record
from properties.conftest import profile
from properties.model import BIDIRECTIONAL
from properties.world import MAPPING, LogicalClock, MemoryWorld, SqliteWorld, World, counted_uuids

EDITED = {Side.LOCAL: "city", Side.INTEGRATION: "name"}
"""The field users edit on each side."""


@dataclass(frozen=True)
class Statement:
    """One user statement on ``side``: ``create`` new records, then edit the existing records picked by
    ``edit`` (indexes into the side's records in key order, wrapping around); all of them stamped alike."""

    side: Side
    create: int
    edit: frozenset[int]


@dataclass(frozen=True)
class Interruption:
    """The run is interrupted after reading ``after`` pages of changes (both systems' reads counted): ``stop``
    asks it to stop (it finishes that page), ``outage`` makes the next read fail."""

    after: int
    how: str


@dataclass(frozen=True)
class Round:
    """Users' statements, then a run; ``settled``: the run starts past the overlap window after them."""

    statements: tuple[Statement, ...]
    settled: bool
    interruption: Interruption | None


_statements = st.builds(
    Statement,
    side=st.sampled_from([Side.LOCAL, Side.INTEGRATION]),
    create=st.integers(min_value=0, max_value=4),
    edit=st.frozensets(st.integers(min_value=0, max_value=7), max_size=6),
)
_interruptions = st.builds(
    Interruption, after=st.integers(min_value=1, max_value=6), how=st.sampled_from(["stop", "outage"])
)
_rounds = st.builds(
    Round,
    statements=st.lists(_statements, min_size=1, max_size=3).map(tuple),
    settled=st.booleans(),
    interruption=st.one_of(st.none(), _interruptions, _interruptions),
)


@profile(examples=150)
@given(rounds=st.lists(_rounds, min_size=1, max_size=3))
def test_in_memory(rounds: list[Round]) -> None:
    with counted_uuids():
        world = MemoryWorld(DeletionPolicy.NONE, LogicalClock())
        _play(world, rounds)


@profile(examples=25)
@given(rounds=st.lists(_rounds, min_size=1, max_size=3))
def test_sqlite(rounds: list[Round], scratch: Path) -> None:
    with counted_uuids(), tempfile.TemporaryDirectory(dir=scratch) as directory:
        world = SqliteWorld(DeletionPolicy.NONE, LogicalClock(), Path(directory))
        try:
            _play(world, rounds)
        finally:
            world.close()


def _play(world: World, rounds: list[Round]) -> None:
    written = 0
    for round_ in rounds:
        for statement in round_.statements:
            written += 1
            _perform(world, statement, f"v{written}")
        world.clock.advance(timedelta(seconds=10) if round_.settled else timedelta(0))
        if round_.interruption is None:
            world.coupler.sync_modified()
        else:
            with _interrupted(world, round_.interruption), suppress(CouplerError):  # RunStopped, or the outage
                world.coupler.sync_modified()
            world.restart()
    world.clock.advance(timedelta(seconds=10))
    [last] = world.coupler.sync_modified()
    assert last.ok, [e.message for e in last.errors]
    _assert_converged(world)


def _perform(world: World, statement: Statement, value: str) -> None:
    with world.clock.frozen():
        for _ in range(statement.create):
            world.insert(statement.side, {"name": value, "city": value})
        keys = [key for key, _ in world.rows(statement.side)]
        for key in {keys[pick % len(keys)] for pick in statement.edit} if keys else ():
            world.update(statement.side, key, EDITED[statement.side], value)


@contextmanager
def _interrupted(world: World, interruption: Interruption) -> Iterator[None]:
    """The running process's change reads count their pages and interrupt the run after the chosen one."""
    systems = world.coupler.systems
    systems.stop = threading.Event()
    read = [0]

    def counting(connector: Any) -> Any:
        original = connector.changed_since

        def changed_since(*args: Any, **kwargs: Any) -> Iterator[list[Record]]:
            for page in original(*args, **kwargs):
                if read[0] == interruption.after and interruption.how == "outage":
                    raise RetryableConnectorError("the system is unavailable (the retries are used up)")
                read[0] += 1
                if read[0] == interruption.after and interruption.how == "stop":
                    systems.stop.set()  # type: ignore[union-attr]
                yield page

        return changed_since

    for connector in (systems.local, systems.integration):
        connector.changed_since = counting(connector)  # type: ignore[method-assign]
    yield


def _assert_converged(world: World) -> None:
    rows = {side: dict(world.rows(side)) for side in (Side.LOCAL, Side.INTEGRATION)}
    couplings = world.store.couplings.page(MAPPING, limit=10_000)
    assert sorted(c.local_key for c in couplings) == sorted(rows[Side.LOCAL]), "every ERP record coupled, once"
    assert sorted(c.integration_key for c in couplings) == sorted(rows[Side.INTEGRATION]), (
        "every CRM record coupled, once: none duplicated"
    )
    for coupling in couplings:
        local, integration = rows[Side.LOCAL][coupling.local_key], rows[Side.INTEGRATION][coupling.integration_key]
        assert {f: local[f] for f in BIDIRECTIONAL} == {f: integration[f] for f in BIDIRECTIONAL}, coupling
