"""``$filter`` pre-filters for a service with null (Dataverse) and one without (Business Central)."""

from __future__ import annotations

import pytest

from coupler.adapters.connectors.odata.query import condition_filter, with_blank
from coupler.domain.mapping import Condition, Operator

C = Condition


@pytest.mark.parametrize(
    ("condition", "with_nulls", "without_nulls"),
    [
        (C(field="f", op=Operator.IS_NULL), "f eq null", ""),
        (C(field="f", op=Operator.EQ, value=None), "f eq null", ""),
        (C(field="f", op=Operator.NOT_NULL), "f ne null", ""),
        (C(field="f", op=Operator.NE, value=None), "f ne null", ""),
        (C(field="f", op=Operator.NE, value="x"), "(f ne 'x' or f eq null)", "f ne 'x'"),
        (C(field="f", op=Operator.IN, value=["x", None]), "(f eq 'x' or f eq null)", ""),
        (C(field="f", op=Operator.IN, value=["x"]), "(f eq 'x')", "(f eq 'x')"),
        (C(field="f", op=Operator.NOT_IN, value=["x", None]), "f ne 'x' and f ne null", "(f ne 'x')"),
        (
            C(field="f", op=Operator.NOT_IN, value=["x", "y"]),
            "((f ne 'x' and f ne 'y') or f eq null)",
            "(f ne 'x' and f ne 'y')",
        ),
        (C(field="f", op=Operator.NOT_IN, value=[None]), "f ne null", ""),
        (C(field="f", op=Operator.EQ, value="x"), "f eq 'x'", "f eq 'x'"),
    ],
)
def test_a_service_without_null_gets_no_null(condition: Condition, with_nulls: str, without_nulls: str) -> None:
    assert condition_filter(condition) == with_nulls
    assert condition_filter(condition, nulls=False) == without_nulls
    assert "null" not in condition_filter(condition, nulls=False)


@pytest.mark.parametrize(
    ("condition", "blanked"),
    [
        (C(field="f", op=Operator.IS_NULL), C(field="f", op=Operator.EQ, value="")),
        (C(field="f", op=Operator.EQ, value=None), C(field="f", op=Operator.EQ, value="")),
        (C(field="f", op=Operator.NOT_NULL), C(field="f", op=Operator.NE, value="")),
        (C(field="f", op=Operator.NE, value=None), C(field="f", op=Operator.NE, value="")),
        (C(field="f", op=Operator.IN, value=["x", None]), C(field="f", op=Operator.IN, value=["x", ""])),
        (C(field="f", op=Operator.NOT_IN, value=(None,)), C(field="f", op=Operator.NOT_IN, value=[""])),
        (C(field="f", op=Operator.NE, value="x"), C(field="f", op=Operator.NE, value="x")),
    ],
)
def test_with_blank_tests_the_blank_where_null_was_tested(condition: Condition, blanked: Condition) -> None:
    assert with_blank(condition, "") == blanked
    assert with_blank(condition, None) is condition, "no blank known: the condition stays"
    row = {"f": ""}
    assert blanked.matches(row) == condition.matches({"f": None}), "blank means what null meant"
