"""Match-based coupling on a selection (``refs``): only the records named are matched, named by primary or display
key; unknown references and records outside the filter refuse the request before a job starts; coupled ones are
left out; groups, create-missing, sync-after and the reasons for unmatched records work as for every record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from coupler.domain.errors import RecordError, RecordNotFound, UsageError
from coupler.domain.mapping import Side
from coupler.domain.records import Record
from unit.services.conftest import World

ON_NAME = [["displayName"]]


def coupled_pairs(world: World) -> set[tuple[str, str]]:
    return {(c.local_key, c.integration_key) for c in world.store.couplings.page("CUSTOMER")}


def test_only_the_selected_records_are_matched(world: World) -> None:
    adatum = world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Fabrikam")
    contoso = world.customer("C003", displayName="Contoso")
    accounts = world.account("Adatum"), world.account("Fabrikam"), world.account("CONTOSO")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, refs=[adatum, "C003"])

    assert coupled_pairs(world) == {(adatum, accounts[0]), (contoso, accounts[2])}, "Fabrikam was not selected"
    assert (report.job.counters.coupled, report.job.counters.unmatched) == (2, 0)
    assert report.job.message == "CUSTOMER: 2 matched and coupled, 0 unmatched of 2 selected uncoupled ERP records."


def test_the_reasons_for_unmatched_selected_records_are_the_usual_ones(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Northwind")
    world.customer("C003", displayName="")
    world.account("Adatum")
    world.account("Northwind")
    world.account("NORTHWIND")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C002", "C003"])

    assert report.job.counters.unmatched == 2 and report.job.counters.coupled == 0
    assert sorted(e.message for e in report.errors) == [
        "ERP Customer C002: ambiguous: 2 CRM Account records match on Name 'Northwind'",
        "ERP Customer C003: no match: nothing to match on (Name empty)",
    ]
    assert not coupled_pairs(world), "Adatum matches but was not selected"


def test_priority_groups_apply_to_the_selection(world: World) -> None:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    world.account("Adatum", telephone1="111")
    account = world.account("Adatum", telephone1="555")

    report = world.coupler.match("CUSTOMER", groups=[["displayName"], ["phoneNumber"]], refs=["C001"])

    assert coupled_pairs(world) == {(key, account)}, "the name is ambiguous, the phone number decides"
    assert report.ok


def test_coupled_records_in_the_selection_are_left_out_and_counted(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Contoso")
    world.account("Adatum")
    world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C001"])

    again = world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C001", "C002"])

    assert (again.job.counters.coupled, again.job.counters.unmatched) == (0, 1)
    assert [e.message for e in again.errors] == ["ERP Customer C002: no match in CRM"]
    assert again.job.message == (
        "CUSTOMER: 0 matched and coupled, 1 unmatched of 1 selected uncoupled ERP record "
        "(1 selected record already coupled)."
    )


def test_unknown_references_raise_before_any_job(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.account("Adatum")

    with pytest.raises(RecordNotFound) as raised:
        world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C001", "C404", "nobody"])

    assert raised.value.message == "ERP has no Customer C404, nobody."
    assert world.store.jobs.recent(limit=5) == [] and not coupled_pairs(world), "nothing ran"


def test_many_unknown_references_are_named_up_to_ten(world: World) -> None:
    with pytest.raises(RecordNotFound, match=r"has no Customer X0, .*X9 and 5 more\.$"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, refs=[f"X{i}" for i in range(15)])


def test_a_record_outside_the_local_filter_is_refused(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.customer("C002", displayName="Blocked Inc", blocked="All")

    with pytest.raises(RecordError, match=r"ERP Customer C002 is outside the mapping's filter \(Blocked is 'All'\)"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C001", "C002"])
    assert world.store.jobs.recent(limit=5) == []


def test_an_empty_selection_is_refused(world: World) -> None:
    with pytest.raises(UsageError, match="select at least one ERP record"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, refs=[" ", ""])


def test_a_display_key_several_records_share_must_be_a_primary_key(world: World) -> None:
    world.customer("C001", displayName="Adatum")
    world.customer("C001", displayName="Adatum again")

    with pytest.raises(RecordError, match="more than one ERP Customer has Number 'C001'; use its primary key"):
        world.coupler.match("CUSTOMER", groups=ON_NAME, refs=["C001"])


def test_references_are_resolved_in_batches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    original = world.erp.read

    def counting(spec: Any, keys: Sequence[str], **kwargs: Any) -> list[Record]:
        reads.append(len(keys))
        return original(spec, keys, **kwargs)

    monkeypatch.setattr(world.erp, "read", counting)
    monkeypatch.setattr(world.erp, "find", lambda *a, **k: pytest.fail("references must not be looked up one by one"))
    for i in range(7):
        world.customer(f"C{i:03d}", displayName=f"Company {i}")
        world.account(f"Company {i}")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, refs=[f"C{i:03d}" for i in range(7)])

    assert report.job.counters.coupled == 7
    assert reads[:3] == [3, 3, 1], "batch size 3: the primary keys are tried in three reads"


def test_create_missing_creates_only_the_selected_unmatched_records(world: World) -> None:
    lonely = world.customer("C001", displayName="Contoso")
    world.customer("C002", displayName="Tailspin")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, create_missing=True, refs=["C001"])

    assert (report.job.counters.inserted, report.job.counters.coupled) == (1, 1)
    assert [row["name"] for row in world.crm.rows("account")] == ["Contoso"]
    assert world.store.couplings.get("CUSTOMER", Side.LOCAL, lonely) is not None


def test_sync_after_synchronizes_the_selected_new_pairs(world: World) -> None:
    world.customer("C001", displayName="Adatum", phoneNumber="555")
    world.customer("C002", displayName="Fabrikam", phoneNumber="555")
    adatum, fabrikam = world.account("Adatum", telephone1="777"), world.account("Fabrikam", telephone1="777")

    report = world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after=Side.LOCAL, refs=["C001"])

    assert (report.job.counters.coupled, report.job.counters.modified) == (1, 1)
    assert world.account_row(adatum)["telephone1"] == "555"
    assert world.account_row(fabrikam)["telephone1"] == "777", "not selected: neither coupled nor written"
