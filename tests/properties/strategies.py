"""Operation lists: few values and few records, so that edits collide, agree, revert and conflict often; edits and
runs weigh most, a crash point falls within a small run's writes."""

from __future__ import annotations

from hypothesis import strategies as st

from coupler.domain.mapping import Side
from properties.model import EDITABLE
from properties.scenario import Create, CrashingSync, Delete, Edit, Operation, Resolve, Sync

__all__ = ["operations"]

values = st.sampled_from(["a", "b", "c", None])
sides = st.sampled_from([Side.LOCAL, Side.INTEGRATION])
picks = st.integers(min_value=0, max_value=1)

KINDS: dict[str, st.SearchStrategy[Operation]] = {
    "create": st.builds(Create, side=sides, name=values, city=values, credit=values),
    "edit": st.builds(Edit, side=sides, pick=picks, field=st.sampled_from(EDITABLE), value=values),
    "delete": st.builds(Delete, side=sides, pick=picks),
    "sync": st.builds(Sync, full=st.booleans()),
    "crash": st.builds(
        CrashingSync,
        full=st.booleans(),
        at=st.integers(min_value=1, max_value=12),
        after=st.booleans(),
        kill=st.booleans(),
        recover=st.booleans(),
    ),
    "resolve": st.builds(Resolve, pick=picks, use=sides),
}
WEIGHTS = {"create": 3, "edit": 6, "delete": 1, "sync": 3, "crash": 2, "resolve": 1}


@st.composite
def _operation(draw: st.DrawFn, kinds: tuple[str, ...]) -> Operation:
    return draw(KINDS[draw(st.sampled_from(kinds))])


def operations(*, crashes: bool = True, max_size: int = 30) -> st.SearchStrategy[list[Operation]]:
    kinds = tuple(k for k, weight in WEIGHTS.items() for _ in range(weight) if crashes or k != "crash")
    return st.lists(_operation(kinds), min_size=3, max_size=max_size)
