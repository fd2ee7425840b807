"""Synchronization over in-memory fakes: full, incremental, echo, conflicts, rejections, skips, deletions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.domain.coupling import SyncResult
from coupler.domain.errors import RecordError, RecordNotFound, UsageError
from coupler.domain.mapping import Direction, Side, TableSpec
from coupler.domain.records import RecordUpdate, WriteResult
from coupler.domain.state import NO_CHANGES, StateChanges
from unit.services.conftest import World, customer_mapping, make_world


def couple_all(world: World) -> None:
    report = world.coupler.sync_full("CUSTOMER")
    assert report.ok, report.errors


def test_full_sync_creates_and_couples_then_a_second_run_writes_nothing(world: World) -> None:
    for n in range(7):
        world.customer(f"C{n:03d}", creditLimit=100 * n)
    world.customer("C999", blocked="All")
    world.account("CRM only Ltd")
    with pytest.raises(UsageError, match="would duplicate the records both systems share"):
        world.coupler.sync_full("CUSTOMER")  # a first full sync while both sides hold data: match first
    report = world.coupler.sync_full("CUSTOMER", force=True)
    counters = report.job.counters
    assert (counters.inserted, counters.coupled, counters.failed) == (8, 8, 0)
    accounts = {r["name"]: r for r in world.crm.rows("account")}
    assert accounts["Customer C003"]["creditlimit"] == 300
    assert accounts["Customer C003"]["customertypecode"] == 3
    assert "Customer C999" not in accounts, "a blocked customer is outside the local filter"
    assert any(r["displayName"] == "CRM only Ltd" for r in world.erp.rows("customers"))
    before = (world.erp.rows("customers"), world.crm.rows("account"))
    again = world.coupler.sync_modified()
    # the account CRM only Ltd was stamped with customertypecode when its customer was created: read once more,
    # nothing to write
    assert [(r.job.counters.inserted, r.job.counters.modified, r.job.counters.unchanged) for r in again] == [(0, 0, 1)]
    assert (world.erp.rows("customers"), world.crm.rows("account")) == before


def test_local_change_flows_to_integration_and_does_not_echo_back(world: World) -> None:
    key = world.customer("C001")
    world.customer("C002")
    couple_all(world)
    world.erp.put("customers", {"id": key, "displayName": "Adatum Corporation"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.modified == 1
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    assert world.account_row(coupling.integration_key)["name"] == "Adatum Corporation"
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_integration_change_flows_to_local(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.crm.put("account", {"accountid": coupling.integration_key, "websiteurl": "https://adatum.example"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.modified == 1
    assert world.local_row(key)["website"] == "https://adatum.example"


def test_both_sides_changing_one_field_is_a_parked_conflict_that_writes_nothing(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local name"})
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM name"})
    report = world.coupler.sync_modified()[0]
    assert (report.job.counters.conflicts, report.job.counters.failed) == (1, 0)
    assert not report.ok
    assert len(report.errors) == 1, "a conflict is reported once, not once per pass"
    assert report.errors[0].message == (
        "ERP Customer C001: Both records changed Name to different values since the last synchronization: nothing of "
        "the pair is written until you choose which values win."
    )
    assert world.local_row(key)["displayName"] == "Local name"
    assert world.account_row(coupling.integration_key)["name"] == "CRM name"
    [parked] = world.coupler.conflicts()
    [field] = parked.fields
    assert (field.local_value, field.integration_value, field.last_local) == ("Local name", "CRM name", "Customer C001")
    again = world.coupler.sync_modified()[0]
    assert again.job.counters.conflicts == 1 and again.errors == (), "still parked, not reported again"
    resolved = world.coupler.sync("CUSTOMER", ["C001"], direction=Direction.FROM_INTEGRATION)
    assert resolved.ok and resolved.job.counters.modified == 1
    assert "CRM Account CRM name: overwrote Name, changed in ERP since" in (resolved.job.message or "")
    assert world.local_row(key)["displayName"] == "CRM name"
    assert world.coupler.conflicts() == []
    assert world.coupler.sync_modified()[0].job.counters.total == 0, "the chosen direction settled the conflict"


def test_changes_to_different_fields_on_both_sides_merge(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local name"})
    world.crm.put("account", {"accountid": coupling.integration_key, "telephone1": "555"})
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.modified == 2
    assert world.account_row(coupling.integration_key)["name"] == "Local name"
    assert world.local_row(key)["phoneNumber"] == "555"
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_resolve_a_parked_conflict_field_by_field(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local name", "phoneNumber": "111"})
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM name", "telephone1": "222"})
    assert world.coupler.sync_modified()[0].job.counters.conflicts == 1
    first = world.coupler.resolve("CUSTOMER", "C001", use=Side.INTEGRATION, fields=["displayName"])
    assert first.job.counters.modified == 1
    assert world.local_row(key)["displayName"] == "CRM name"
    [parked] = world.coupler.conflicts()
    assert [f.local_field for f in parked.fields] == ["phoneNumber"]
    second = world.coupler.resolve("CUSTOMER", "C001", use=Side.LOCAL)
    assert second.ok
    assert world.account_row(coupling.integration_key)["telephone1"] == "111"
    assert world.coupler.conflicts() == []
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_a_conflict_policy_picks_the_winner() -> None:
    from dataclasses import replace as copy

    from coupler.domain.mapping import ConflictPolicy

    world = make_world(copy(customer_mapping(), update_conflict=ConflictPolicy.INTEGRATION_WINS))
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local name"})
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM name"})
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.conflicts == 0
    assert world.local_row(key)["displayName"] == "CRM name"
    assert world.account_row(coupling.integration_key)["name"] == "CRM name"


def test_target_changes_in_its_own_fields_are_not_lost_when_the_source_also_changed(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "creditLimit": 5000})
    world.crm.put("account", {"accountid": coupling.integration_key, "websiteurl": "https://new.example"})
    report = world.coupler.sync_modified()[0]
    assert report.ok
    assert world.account_row(coupling.integration_key)["creditlimit"] == 5000
    assert world.local_row(key)["website"] == "https://new.example"
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_a_rejected_record_fails_alone_then_is_retried_and_skipped(world: World) -> None:
    keys = [world.customer(f"C{n:03d}") for n in range(5)]
    couple_all(world)
    world.erp.put("customers", {"id": keys[1], "phoneNumber": "+45 1234 5678 9012 3456 7890"})
    world.erp.put("customers", {"id": keys[3], "displayName": "Renamed"})
    report = world.coupler.sync_modified()[0]
    assert (report.job.counters.modified, report.job.counters.failed) == (1, 1)
    assert "ERP Customer C001: CRM refused the record: account: telephone1 is longer than 20 characters" in (
        report.errors[0].message
    )
    assert report.errors[0].local_key == keys[1]
    assert "C001" in report.errors[0].message
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, keys[1])
    assert coupling is not None and coupling.to_integration_result is SyncResult.FAILURE
    assert not coupling.skipped
    second = world.coupler.sync_modified()[0]
    assert second.job.counters.failed == 1, "failed records are retried on the next run"
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, keys[1])
    assert coupling is not None and coupling.skipped, "the same failure twice in a row makes it skipped"
    world.erp.put("customers", {"id": keys[1], "displayName": "Still too long phone"})
    third = world.coupler.sync_modified()[0]
    assert (third.job.counters.skipped, third.job.counters.failed) == (1, 0)
    world.erp.put("customers", {"id": keys[1], "phoneNumber": "+45 1"})
    fixed = world.coupler.sync("CUSTOMER", ["C001"])
    assert fixed.ok and fixed.job.counters.modified == 1
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, keys[1])
    assert coupling is not None and not coupling.skipped


def test_a_deleted_partner_fails_with_a_clear_message(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.crm.remove("account", coupling.integration_key)
    world.erp.put("customers", {"id": key, "displayName": "Changed"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.failed == 1
    assert "cannot be synchronized because its coupled CRM Account was deleted" in report.errors[0].message


def test_incremental_sync_only_touches_coupled_records_by_default(world: World) -> None:
    world.customer("C001")
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.total == 0
    assert world.crm.rows("account") == []


def test_sync_only_coupled_off_creates_new_counterparts_incrementally() -> None:
    world = make_world(customer_mapping(only_coupled=False))
    world.customer("C001")
    report = world.coupler.sync_modified()[0]
    assert (report.job.counters.inserted, report.job.counters.coupled) == (1, 1)
    world.customer("C002")
    assert world.coupler.sync_modified()[0].job.counters.inserted == 1


def test_a_failed_insert_is_retried_by_the_next_incremental_run() -> None:
    world = make_world(customer_mapping(only_coupled=False))
    world.customer("C001")
    bad = world.customer("C002", displayName="")
    world.customer("C003")
    first = world.coupler.sync_modified()[0]
    assert (first.job.counters.inserted, first.job.counters.failed) == (2, 1)
    world.erp.set_modified_on("customers", [bad], world.local_row(bad)["lastModifiedDateTime"])
    world.erp.put("customers", {"id": world.customer("C004"), "displayName": "Later"})
    second = world.coupler.sync_modified()[0]
    assert second.job.counters.failed == 1, "the record that failed to be created is tried again"
    assert second.job.counters.inserted == 1


def test_manual_sync_leaves_out_uncoupled_records_and_refuses_unknown_keys_before_any_job() -> None:
    world = make_world(customer_mapping(Direction.TO_INTEGRATION))
    world.customer("C001")
    world.customer("C002")
    world.coupler.create("CUSTOMER", "C001")
    jobs = len(world.store.jobs.recent(limit=100))
    with pytest.raises(RecordNotFound, match="ERP has no Customer NOPE"):
        world.coupler.sync("CUSTOMER", ["C001", "C002", "NOPE"])
    with pytest.raises(RecordError, match="Customer C002 is not coupled, so there is nothing to synchronize"):
        world.coupler.sync("CUSTOMER", ["C002"])
    assert len(world.store.jobs.recent(limit=100)) == jobs, "a refused action writes no job"
    report = world.coupler.sync("CUSTOMER", ["C001", "C002"])
    assert report.job.counters.failed == 0 and report.errors == (), "left out, not also counted as failed"
    assert report.job.message and "Customer C002 is not coupled" in report.job.message
    with pytest.raises(UsageError, match="cannot synchronize from-integration"):
        world.coupler.sync("CUSTOMER", ["C001"], direction=Direction.FROM_INTEGRATION)


def test_forced_direction_overwrites_the_other_side(world: World) -> None:
    key = world.customer("C001")
    couple_all(world)
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM edit"})
    report = world.coupler.sync("CUSTOMER", [coupling.integration_key], direction=Direction.TO_INTEGRATION)
    assert report.job.counters.modified == 1
    assert world.account_row(coupling.integration_key)["name"] == "Customer C001"


def test_pages_smaller_than_the_data_lose_nothing(world: World) -> None:
    keys = [world.customer(f"C{n:03d}") for n in range(10)]
    world.erp.set_modified_on("customers", keys, world.local_row(keys[0])["lastModifiedDateTime"])
    report = world.coupler.sync_full("CUSTOMER")
    assert report.job.counters.inserted == 10
    assert len(world.crm.rows("account")) == 10


def test_a_system_that_goes_away_stops_the_job_and_the_log_says_so(world: World) -> None:
    from coupler.domain.errors import RetryableConnectorError

    world.customer("C001")
    world.crm.down = True
    with pytest.raises(RetryableConnectorError):
        world.coupler.sync_full("CUSTOMER", force=True)
    job = world.coupler.jobs(limit=1)[0]
    assert job.finished_at is not None
    assert job.message is not None and job.message.startswith("Stopped before the end:")


def test_a_run_interrupted_between_creating_and_coupling_never_creates_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        world.customer(f"C{n:03d}")

    save = world.store.save

    def crash(changes: StateChanges = NO_CHANGES, **log: Any) -> None:
        if changes.new_couplings:
            raise KeyboardInterrupt  # the process is killed after the records were created, before they were coupled
        save(changes, **log)

    with monkeypatch.context() as patch:
        patch.setattr(world.store, "save", crash)
        with pytest.raises(KeyboardInterrupt):
            world.coupler.sync_full("CUSTOMER")
    created = len(world.crm.rows("account"))
    assert 0 < created <= 5 and world.store.stats("CUSTOMER").couplings == 0
    report = world.coupler.sync_full("CUSTOMER")
    assert report.ok
    assert len(world.crm.rows("account")) == 5, "no record created twice"
    assert world.store.stats("CUSTOMER").couplings == 5
    assert "created by an interrupted run were found and coupled" in (report.job.message or "")
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_a_record_created_from_the_other_side_gets_the_constants_sent_its_way(world: World) -> None:
    """An account a customer was created from is stamped with the mapping's constants at once (customertypecode 3
    here; Business Central's company id: CDSIntTableSubscriber.SetCompanyIdOnCRMAccount), not left without them
    until an edit of the customer sends them."""
    account = world.account("CRM only Ltd", customertypecode=None)
    report = world.coupler.sync_full("CUSTOMER")
    assert report.ok, report.errors
    assert world.account_row(account)["customertypecode"] == 3
    again = world.coupler.sync_modified()
    assert all(r.job.counters.modified == r.job.counters.inserted == 0 for r in again), "stamped once"


class _TypeIsReadOnly(InMemoryConnector):
    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return [
            WriteResult(index=i, key=u.key, error="customertypecode is read-only")
            if "customertypecode" in u.values
            else super().update(spec, [u])[0]
            for i, u in enumerate(updates)
        ]


def test_a_stamp_the_other_side_refuses_is_the_jobs_error_and_the_pair_stays() -> None:
    world = make_world(customer_mapping(), crm_class=_TypeIsReadOnly)
    account = world.account("CRM only Ltd", customertypecode=None)
    report = world.coupler.sync_full("CUSTOMER")
    assert [e.message for e in report.errors] == [
        "CRM Account CRM only Ltd: coupled, but its constant fields could not be written: customertypecode is read-only"
    ]
    assert world.store.couplings.find("CUSTOMER", Side.INTEGRATION, [account]), "the creation stands"
