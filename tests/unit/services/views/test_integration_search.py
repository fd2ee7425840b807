"""The Set up coupling lookup beyond finding records: hiding the coupled ones, the single exact match it preselects
and the columns that tell the matches apart, over in-memory fakes."""

from __future__ import annotations

import pytest

from coupler.domain.mapping import Side
from coupler.services.views import integration_search
from coupler.services.views.integration_search import identifying_fields, preselected
from unit.services.conftest import World


def test_hide_coupled_leaves_out_the_coupled_records_also_among_the_exact_ones(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    coupled = world.account("Adatum")
    free = world.account("Adatum Corporation")
    world.coupler.couple("CUSTOMER", "C001", coupled)
    shown = world.queries.search_integration("CUSTOMER", "Adatum")
    assert [(m.key, m.coupled_to) for m in shown] == [(coupled, "C001"), (free, None)]
    hidden = world.queries.search_integration("CUSTOMER", "Adatum", hide_coupled=True)
    assert [m.key for m in hidden] == [free]
    assert world.queries.search_integration("CUSTOMER", coupled, hide_coupled=True) == [], "by its key too"


def test_hide_coupled_reads_past_a_page_of_coupled_records_up_to_a_bound(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integration_search, "PAGE_HIDING", 5)
    for n in range(12):
        world.customer(f"C{n:03d}", displayName=f"Bench {n:02d}")
        world.coupler.couple("CUSTOMER", f"C{n:03d}", world.account(f"Bench {n:02d}"))
    free = world.account("Bench 99")
    assert [m.key for m in world.queries.search_integration("CUSTOMER", "Bench", hide_coupled=True)] == [free]
    monkeypatch.setattr(integration_search, "HIDDEN_SCAN", 10)
    assert world.queries.search_integration("CUSTOMER", "Bench", hide_coupled=True) == [], "read at most 10"


def test_only_a_single_exact_match_not_coupled_is_preselected(world: World) -> None:
    world.customer("C001", displayName="Northwind")
    world.account("Northwind")
    world.account("Northwind Traders")
    world.account("Contoso")
    world.account("contoso")
    assert [m.name for m in [preselected(world.queries.search_integration("CUSTOMER", "Northwind"))] if m] == [
        "Northwind"
    ]
    assert preselected(world.queries.search_integration("CUSTOMER", "North")) is None, "prefixes only"
    assert preselected(world.queries.search_integration("CUSTOMER", "Contoso")) is None, "two exact matches"
    assert preselected([]) is None
    world.coupler.couple("CUSTOMER", "C001", world.queries.search_integration("CUSTOMER", "Northwind")[0].key)
    assert preselected(world.queries.search_integration("CUSTOMER", "Northwind")) is None, "coupled already"


def test_identifying_fields_are_the_first_mapped_ones_some_match_fills_in(world: World) -> None:
    world.account("Adatum", telephone1="555", creditlimit=None, websiteurl="adatum.example")
    world.account("Adatum Corporation", telephone1="", creditlimit=None)
    matches = world.queries.search_integration("CUSTOMER", "Adatum")
    mapping = world.coupler.systems.mapping("CUSTOMER")
    fields = identifying_fields(mapping, matches)
    # not the name (shown already), not the constant, not a column every match leaves empty (credit limit)
    assert [f.field for f in fields] == ["telephone1", "websiteurl"]
    assert fields[0].caption == mapping.caption_of(Side.INTEGRATION, "telephone1")
    assert [f.field for f in identifying_fields(mapping, matches, count=1)] == ["telephone1"]
    assert identifying_fields(mapping, []) == []
