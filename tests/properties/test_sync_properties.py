"""Random interleavings of creates, edits and deletes on both sides, incremental and full runs, resolutions and
crashed runs, against the in-memory fakes and against SQLite files; then a quiet synchronization, after which:
coupled records agree on every bidirectional field unless parked, every parked conflict holds both current values,
couplings are 1:1, no record is duplicated, no update that did not conflict was lost (the model predicts every
value), and a further run writes nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given

from coupler.domain.mapping import DeletionPolicy
from properties.conftest import profile
from properties.found import FOUND
from properties.scenario import Operation, Runner
from properties.strategies import operations
from properties.world import LogicalClock, MemoryWorld, SqliteWorld, counted_uuids

POLICIES = [DeletionPolicy.NONE, DeletionPolicy.REMOVE_COUPLING]


def found(test: Callable[..., Any]) -> Callable[..., Any]:
    """Replay every scenario found so far before the generated ones."""
    for scenario in FOUND.values():
        test = example(steps=scenario)(test)
    return test


@pytest.mark.parametrize("policy", POLICIES)
@profile(examples=400)
@found
@given(steps=operations())
def test_in_memory(policy: DeletionPolicy, steps: list[Operation]) -> None:
    with counted_uuids():
        world = MemoryWorld(policy, LogicalClock())
        runner = Runner(world, policy)
        runner.perform(steps)
        runner.settle()
        _events(runner)


@pytest.mark.parametrize("policy", POLICIES)
@profile(examples=25)
@given(steps=operations(rounds=5))
def test_sqlite(policy: DeletionPolicy, steps: list[Operation], scratch: Path) -> None:
    with counted_uuids(), tempfile.TemporaryDirectory(dir=scratch) as directory:
        world = SqliteWorld(policy, LogicalClock(), Path(directory))
        try:
            runner = Runner(world, policy)
            runner.perform(steps)
            runner.settle()
            _events(runner)
        finally:
            world.close()


def _events(runner: Runner) -> None:
    """What the example exercised, for ``--hypothesis-show-statistics``."""
    for name, count in sorted(runner.stats.items()):
        if count:
            event(name)
