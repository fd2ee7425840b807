"""Operation lists: few values and few records, so that edits collide, agree, revert and conflict often; edits and
runs weigh most, a crash point falls within a small run's writes."""

from __future__ import annotations

from hypothesis import strategies as st

from coupler.domain.mapping import Side
from properties.model import BIDIRECTIONAL, EDITABLE
from properties.scenario import CrashingSync, Create, Delete, Edit, EditBoth, Operation, Resolve, Sync

__all__ = ["operations"]

values = st.sampled_from(["a", "b", "c", None])
sides = st.sampled_from([Side.LOCAL, Side.INTEGRATION])
picks = st.integers(min_value=0, max_value=1)

CALLS = [
    "local.insert",
    "integration.insert",
    "local.update",
    "integration.update",
    "store.jobs.add",
    "store.save",
    "store.couplings.add",
    "store.cursors.set_watermark",
]

KINDS: dict[str, st.SearchStrategy[Operation]] = {
    "create": st.builds(Create, side=sides, name=values, city=values, credit=values),
    "edit": st.builds(Edit, side=sides, pick=picks, field=st.sampled_from(EDITABLE), value=values),
    "edit both": st.builds(
        EditBoth, pick=picks, field=st.sampled_from(BIDIRECTIONAL[:2]), local=values, integration=values
    ),
    "delete": st.builds(Delete, side=sides, pick=picks),
    "sync": st.builds(Sync, full=st.booleans()),
    "crash": st.one_of(
        st.builds(
            CrashingSync,
            full=st.booleans(),
            at=st.integers(min_value=1, max_value=12),
            after=st.booleans(),
            kill=st.booleans(),
            recover=st.booleans(),
        ),
        st.builds(  # at a chosen kind of write: where a crash hurts most
            CrashingSync,
            full=st.booleans(),
            at=st.integers(min_value=1, max_value=2),
            after=st.booleans(),
            kill=st.booleans(),
            recover=st.booleans(),
            call=st.sampled_from(CALLS),
        ),
    ),
    "resolve": st.builds(Resolve, pick=picks, use=sides),
}
USERS = {"create": 2, "edit": 5, "edit both": 2, "delete": 1, "resolve": 2}  # what users do between two runs
RUNS = {"sync": 3, "crash": 2}


@st.composite
def _operation(draw: st.DrawFn, kinds: tuple[str, ...]) -> Operation:
    return draw(KINDS[draw(st.sampled_from(kinds))])


def _weighted(weights: dict[str, int], *, crashes: bool = True) -> tuple[str, ...]:
    return tuple(k for k, weight in weights.items() for _ in range(weight) if crashes or k != "crash")


@st.composite
def _rounds(draw: st.DrawFn, crashes: bool, rounds: int) -> list[Operation]:
    """Rounds of a few user operations followed by a run (a synchronization, or one that crashes)."""
    users, runs = _operation(_weighted(USERS)), _operation(_weighted(RUNS, crashes=crashes))
    steps: list[Operation] = []
    for _ in range(draw(st.integers(min_value=min(3, rounds), max_value=rounds))):
        steps += draw(st.lists(users, min_size=1, max_size=5))
        steps.append(draw(runs))
    return steps


def operations(*, crashes: bool = True, rounds: int = 8) -> st.SearchStrategy[list[Operation]]:
    return _rounds(crashes, rounds)
