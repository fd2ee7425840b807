"""Deleted partners: the deletion policies, propagated deletions and the approval list."""

from __future__ import annotations

from dataclasses import replace

from coupler.domain.mapping import DeletePropagation, DeletionPolicy, Side
from unit.services.conftest import World, customer_mapping, make_world


def coupled_world(**changes: object) -> tuple[World, str, str]:
    world = make_world(replace(customer_mapping(), **changes))  # type: ignore[arg-type]
    key = world.customer("C001")
    world.customer("C002")
    assert world.coupler.sync_full("CUSTOMER").ok
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    return world, key, coupling.integration_key


def test_restore_recreates_the_deleted_partner_and_recouples() -> None:
    world, key, account = coupled_world(deletion_conflict=DeletionPolicy.RESTORE)
    world.crm.remove("account", account)
    world.erp.put("customers", {"id": key, "displayName": "Changed"})
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.inserted == 1
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None and coupling.integration_key != account
    assert world.account_row(coupling.integration_key)["name"] == "Changed"
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_remove_coupling_leaves_the_survivor_uncoupled() -> None:
    world, key, account = coupled_world(deletion_conflict=DeletionPolicy.REMOVE_COUPLING)
    world.crm.remove("account", account)
    world.erp.put("customers", {"id": key, "displayName": "Changed"})
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.uncoupled == 1
    assert world.store.couplings.get("CUSTOMER", Side.LOCAL, key) is None
    assert world.local_row(key)["displayName"] == "Changed"


def test_a_reported_deletion_deletes_the_partner() -> None:
    world, key, account = coupled_world(delete=DeletePropagation.PROPAGATE)
    world.erp.report_deletions = True
    world.erp.remove("customers", key)
    report = world.coupler.sync_modified()[0]
    assert report.ok and (report.job.counters.deleted, report.job.counters.uncoupled) == (1, 1)
    assert all(r["accountid"] != account for r in world.crm.rows("account"))
    assert world.store.stats("CUSTOMER").couplings == 1


def test_an_inferred_deletion_waits_for_approval() -> None:
    world, key, account = coupled_world(delete=DeletePropagation.PROPAGATE)
    world.crm.remove("account", account)  # the CRM keeps no deleted-entries feed: only absence tells
    world.erp.put("customers", {"id": key, "displayName": "Changed"})
    report = world.coupler.sync_modified()[0]
    assert report.errors[0].message == (
        "ERP Customer C001: its coupled CRM Account no longer exists; deleting this record too waits for your approval."
    )
    assert world.local_row(key)["displayName"] == "Changed", "nothing deleted blindly"
    [pending] = world.coupler.deletions()
    assert (pending.side, pending.deleted_key, pending.survivor_key) == (Side.INTEGRATION, account, key)
    approved = world.coupler.approve("CUSTOMER", [account])
    assert approved.ok and (approved.job.counters.deleted, approved.job.counters.uncoupled) == (1, 1)
    assert all(r["id"] != key for r in world.erp.rows("customers"))
    assert world.coupler.deletions() == []


def test_approving_a_deletion_after_decoupling_deletes_nothing() -> None:
    world, key, account = coupled_world(delete=DeletePropagation.PROPAGATE)
    world.crm.remove("account", account)
    world.erp.put("customers", {"id": key, "displayName": "Changed"})
    world.coupler.sync_modified()
    assert [p.survivor_key for p in world.coupler.deletions()] == [key]
    assert world.coupler.decouple("CUSTOMER", [key]).ok  # the user keeps the record as it is
    approved = world.coupler.approve("CUSTOMER", everything=True)
    assert approved.ok and approved.job.counters.deleted == 0
    assert "no longer coupled" in (approved.job.message or "")
    assert world.local_row(key)["displayName"] == "Changed", "the decoupled survivor is never deleted"
    assert world.coupler.deletions() == []


def test_restore_command_brings_a_deleted_partner_back() -> None:
    world, key, account = coupled_world()
    world.crm.remove("account", account)
    report = world.coupler.restore("CUSTOMER", ["C001"])
    assert report.ok and report.job.counters.inserted == 1
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None and world.account_row(coupling.integration_key)["name"] == "Customer C001"


def test_skipped_records_are_listed_with_both_sides_and_can_be_retried(world: World) -> None:
    keys = [world.customer(f"C{n:03d}") for n in range(2)]
    assert world.coupler.sync_full("CUSTOMER").ok
    world.erp.put("customers", {"id": keys[0], "phoneNumber": "+45 1234 5678 9012 3456 7890"})
    world.coupler.sync_modified()
    world.coupler.sync_modified()
    [skipped] = world.coupler.skipped()
    assert skipped.local_key == keys[0] and skipped.local_exists and skipped.integration_exists
    assert "telephone1 is longer" in (skipped.error or "")
    world.erp.put("customers", {"id": keys[0], "phoneNumber": "+45 1"})
    assert world.coupler.sync_modified()[0].job.counters.skipped == 1, "skipped records are left out of runs"
    retried = world.coupler.retry("CUSTOMER", everything=True)
    assert "1 skipped record will be retried" in (retried.job.message or "")
    assert world.coupler.skipped() == []
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.modified == 1


def test_a_parked_conflict_goes_with_its_coupling(world: World) -> None:
    key = world.customer("C001")
    assert world.coupler.sync_full("CUSTOMER").ok
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local"})
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM"})
    assert world.coupler.sync_modified()[0].job.counters.conflicts == 1
    assert world.coupler.decouple("CUSTOMER", ["C001"]).ok
    assert world.coupler.conflicts() == []
