"""A deleted-entries feed read across runs: its cursor lives in the state store, so a deletion reported between two
processes is propagated by the second, and the cursor moves on only once the deletions it reported are handled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.mapping import DeletePropagation, Side, TableSpec
from coupler.domain.records import WriteResult
from coupler.ports.connector import Deletions
from coupler.services.api import Coupler
from coupler.services.context import Systems
from unit.services.conftest import World, customer_mapping, make_world

MAPPING = replace(customer_mapping(), delete=DeletePropagation.PROPAGATE)


class ChangeTracking(InMemoryConnector):
    """Like Dataverse: without a cursor, tracking only starts and nothing is reported."""

    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        found = super().deletions(spec, since, cursor=cursor)
        if found is not None and cursor is None:
            return Deletions(cursor=found.cursor, restarted=True)
        return found


def tracked_world() -> tuple[World, str, str]:
    """Two customers coupled to two accounts by a full sync; the CRM keeps a change-tracking feed."""
    world = make_world(MAPPING, crm_class=ChangeTracking)
    world.crm.report_deletions = True
    key = world.customer("C001")
    world.customer("C002")
    assert world.coupler.sync_full("CUSTOMER").ok
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    return world, key, coupling.integration_key


def another_coupler(world: World, *, erp: InMemoryConnector | None = None) -> Coupler:
    """A new Coupler, as a new process builds it: nothing shared with the first but the systems and the store."""
    systems = Systems(
        local=erp or world.erp, integration=world.crm, store=world.store, mappings=[MAPPING], batch_size=3
    )
    return Coupler(systems)


def test_a_deletion_reported_between_two_couplers_is_propagated_by_the_second() -> None:
    world, key, account = tracked_world()
    assert world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION) is not None, (
        "tracking started and was kept"
    )
    world.crm.remove("account", account)

    report = another_coupler(world).sync_modified()[0]

    assert report.ok and (report.job.counters.deleted, report.job.counters.uncoupled) == (1, 1)
    assert all(r["id"] != key for r in world.erp.rows("customers"))
    assert world.store.couplings.get("CUSTOMER", Side.LOCAL, key) is None
    assert world.coupler.deletions() == []
    again = another_coupler(world).sync_modified()[0]
    assert again.ok and again.job.counters.deleted == 0, "the cursor moved on: reported once"


def test_without_a_kept_cursor_the_deletion_would_not_be_reported() -> None:
    world, key, account = tracked_world()
    world.store.cursors.set_deletions_cursor("CUSTOMER", Side.INTEGRATION, None)  # what each new process had before
    world.crm.remove("account", account)

    report = another_coupler(world).sync_modified()[0]

    assert report.ok and report.job.counters.deleted == 0
    assert any(r["id"] == key for r in world.erp.rows("customers"))
    assert world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION) is not None, "tracking starts over"


class CrashAfterDeleting(InMemoryStateStore):
    """A process that dies after deleting the partners but before removing their couplings."""

    crash = True

    def __init__(self) -> None:
        super().__init__()
        remove = self.couplings.remove

        def crashing(mapping: str, local_keys: Sequence[str]) -> int:
            if self.crash:
                self.crash = False
                raise KeyboardInterrupt
            return remove(mapping, local_keys)

        self.couplings.remove = crashing  # type: ignore[method-assign]


def test_a_run_that_stops_before_the_deletions_are_handled_reads_them_again() -> None:
    world = make_world(MAPPING, crm_class=ChangeTracking)
    world.store = CrashAfterDeleting()
    world.store.crash = False
    world.coupler = another_coupler(world)
    world.crm.report_deletions = True
    key = world.customer("C001")
    assert world.coupler.sync_full("CUSTOMER").ok
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    before = world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION)
    world.crm.remove("account", coupling.integration_key)
    world.store.crash = True

    try:
        another_coupler(world).sync_modified()
    except KeyboardInterrupt:
        pass
    else:  # pragma: no cover - the store always crashes once
        raise AssertionError("the run was expected to stop")

    assert all(r["id"] != key for r in world.erp.rows("customers")), "the partner was deleted"
    assert world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION) == before, "but the cursor was not saved"
    report = another_coupler(world).sync_modified()[0]
    assert report.ok and (report.job.counters.deleted, report.job.counters.uncoupled) == (0, 1)
    assert world.store.couplings.get("CUSTOMER", Side.LOCAL, key) is None
    assert world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION) != before


class RefusingDeletes(InMemoryConnector):
    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        return [WriteResult(index=i, key=k, error=f"record {k} is referenced by an order") for i, k in enumerate(keys)]


def test_a_partner_that_cannot_be_deleted_waits_for_approval_and_the_feed_moves_on() -> None:
    world, key, account = tracked_world()
    refusing = RefusingDeletes(display_name="ERP")
    refusing._tables = world.erp._tables  # the same data, deletes refused
    world.crm.remove("account", account)

    report = another_coupler(world, erp=refusing).sync_modified()[0]

    assert report.job.counters.failed == 1 and "referenced by an order" in report.errors[0].message
    [pending] = world.coupler.deletions()
    assert (pending.side, pending.deleted_key, pending.survivor_key, pending.reported) == (
        Side.INTEGRATION,
        account,
        key,
        True,
    )
    assert another_coupler(world, erp=refusing).sync_modified()[0].job.counters.failed == 0, "reported once"
    approved = world.coupler.approve("CUSTOMER", [account])
    assert approved.ok and approved.job.counters.deleted == 1
    assert all(r["id"] != key for r in world.erp.rows("customers"))


def test_an_expired_cursor_starts_over_and_says_so() -> None:
    world, key, account = tracked_world()
    before = world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION)
    world.crm.expire_deletion_cursors()
    world.crm.remove("account", account)

    report = another_coupler(world).sync_modified()[0]

    assert report.ok and report.job.counters.deleted == 0
    assert "started over" in (report.job.message or "")
    assert world.store.cursors.deletions_cursor("CUSTOMER", Side.INTEGRATION) not in (None, before)
    world.erp.put("customers", {"id": key, "displayName": "Changed"})  # the deletion is noticed as a missing partner
    another_coupler(world).sync_modified()
    assert [p.deleted_key for p in world.coupler.deletions()] == [account]
