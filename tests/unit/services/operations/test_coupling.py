"""Coupling, create-and-couple, decouple, status and the job log over in-memory fakes."""

from __future__ import annotations

import pytest

from coupler.domain.errors import AlreadyCoupled, RecordError, RecordNotFound, UsageError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Side
from unit.services.conftest import World, customer_mapping, make_world


def test_couple_by_display_keys_and_sync_after_local(world: World) -> None:
    key = world.customer("C001", displayName="Adatum", phoneNumber="555")
    account = world.account("ADATUM", telephone1="000")
    report = world.coupler.couple("CUSTOMER", "C001", "ADATUM", sync_after=Side.LOCAL)
    assert report.ok
    assert (report.job.counters.coupled, report.job.counters.modified) == (1, 1)
    assert world.account_row(account)["telephone1"] == "555"
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None and coupling.integration_key == account
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_couple_without_sync_then_a_change_on_one_side_needs_a_direction(world: World) -> None:
    key = world.customer("C001", displayName="Adatum")
    account = world.account("Adatum Corp")
    world.coupler.couple("CUSTOMER", key, account)
    assert world.account_row(account)["name"] == "Adatum Corp", "coupling alone writes nothing"
    world.erp.put("customers", {"id": key, "phoneNumber": "777"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.conflicts == 1, "never synchronized and different: the user chooses the direction"


def test_couple_refuses_already_coupled_records_and_names_the_partner(world: World) -> None:
    world.customer("C001")
    world.customer("C002")
    first = world.account("One")
    world.coupler.couple("CUSTOMER", "C001", first)
    with pytest.raises(
        AlreadyCoupled, match=r"cannot couple the ERP Customer C001: it is already coupled to the CRM Account One\."
    ):
        world.coupler.couple("CUSTOMER", "C001", world.account("Two"))
    with pytest.raises(
        AlreadyCoupled, match="cannot couple the CRM Account One: it is already coupled to the ERP Customer C001"
    ):
        world.coupler.couple("CUSTOMER", "C002", "One")


def test_couple_refuses_records_outside_the_filter_and_unknown_ones(world: World) -> None:
    world.customer("C001", blocked="All")
    world.account("Adatum")
    with pytest.raises(RecordError, match=r"C001 is outside the mapping's filter \(Blocked is 'All'\)"):
        world.coupler.couple("CUSTOMER", "C001", "Adatum")
    with pytest.raises(RecordNotFound, match="ERP has no Customer"):
        world.coupler.couple("CUSTOMER", "C404", "Adatum")


def test_create_and_couple_in_either_direction(world: World) -> None:
    key = world.customer("C001", creditLimit=10)
    report = world.coupler.create("CUSTOMER", "C001")
    assert (report.job.counters.inserted, report.job.counters.coupled) == (1, 1)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    assert world.account_row(coupling.integration_key)["creditlimit"] == 10
    account = world.account("Fabrikam", websiteurl="https://fabrikam.example")
    world.coupler.create("CUSTOMER", account, source=Side.INTEGRATION)
    back = world.store.couplings.get("CUSTOMER", Side.INTEGRATION, account)
    assert back is not None and world.local_row(back.local_key)["website"] == "https://fabrikam.example"
    assert world.account_row(account)["customertypecode"] == 3, "the account gets the constant sent its way"
    counters = world.coupler.sync_modified()[0].job.counters
    assert (counters.inserted, counters.modified, counters.failed) == (0, 0, 0), "stamped: read once, nothing to write"


def test_create_reports_a_rejection_and_couples_nothing(world: World) -> None:
    world.customer("C001", displayName="")
    report = world.coupler.create("CUSTOMER", "C001")
    assert not report.ok
    assert "cannot be empty" in report.errors[0].message
    assert world.store.stats("CUSTOMER").couplings == 0


def test_create_against_the_mapping_direction_is_refused() -> None:
    world = make_world(customer_mapping(Direction.TO_INTEGRATION))
    account = world.account("Fabrikam")
    with pytest.raises(UsageError, match="it cannot synchronize from-integration"):
        world.coupler.create("CUSTOMER", account, source=Side.INTEGRATION)


def test_decouple_leaves_records_untouched_and_refuses_unknown_refs_before_any_job(world: World) -> None:
    world.customer("C001")
    world.customer("C002")
    world.customer("C003")
    world.coupler.sync_full("CUSTOMER")
    jobs = len(world.store.jobs.recent(limit=100))
    with pytest.raises(RecordNotFound, match="ERP has no Customer C404"):
        world.coupler.decouple("CUSTOMER", ["C001", "C404"])
    assert len(world.store.jobs.recent(limit=100)) == jobs, "a mistyped number writes no failed job"
    rows = (world.erp.rows("customers"), world.crm.rows("account"))
    report = world.coupler.decouple("CUSTOMER", ["C001", "Customer C002"])
    assert (report.job.counters.uncoupled, report.job.counters.failed) == (2, 0)
    assert (world.erp.rows("customers"), world.crm.rows("account")) == rows
    assert world.store.stats("CUSTOMER").couplings == 1
    with pytest.raises(RecordError, match="C001 is not coupled, so there is nothing to decouple"):
        world.coupler.decouple("CUSTOMER", ["C001"])
    mixed = world.coupler.decouple("CUSTOMER", ["C001", "C003"])
    assert (mixed.job.counters.uncoupled, mixed.job.counters.failed) == (1, 0), "left out, not counted as failed"
    assert mixed.job.message and "C001 is not coupled" in mixed.job.message


def test_status_jobs_and_errors(world: World) -> None:
    world.customer("C001")
    world.customer("C002", displayName="")
    report = world.coupler.sync_full("CUSTOMER")
    status = world.coupler.status("CUSTOMER", "C001")
    assert status.coupling is not None and status.local is not None and status.integration is not None
    uncoupled = world.coupler.status("CUSTOMER", "C002")
    assert uncoupled.coupling is None and uncoupled.local is not None
    with pytest.raises(RecordNotFound):
        world.coupler.status("CUSTOMER", "C404")
    jobs = world.coupler.jobs(limit=5)
    assert jobs[0].id == report.job.id and jobs[0].kind is JobKind.FULL and jobs[0].finished_at is not None
    errors = world.coupler.errors(report.job.id)
    assert len(errors) == 1 and errors[0].local_key is not None
    with pytest.raises(RecordError, match="No job has the id"):
        world.coupler.errors("nope")


def test_mappings_overview_counts(world: World) -> None:
    world.customer("C001")
    world.customer("C002", displayName="")
    world.coupler.sync_full("CUSTOMER")
    overview = world.coupler.mappings()[0]
    assert overview.name == "CUSTOMER"
    assert (overview.stats.couplings, overview.stats.errors) == (1, 1)
