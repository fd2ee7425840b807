"""Echo recognition over fakes: a record whose system says coupler's own user changed it last, and whose values
still equal the fingerprint, is coupler's own write read back; everything else is looked at as usual."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Side, TableSpec
from coupler.domain.records import Record, RecordUpdate, WriteResult
from coupler.services.api import Coupler
from coupler.services.context import Systems
from unit.services.conftest import World, customer_mapping


class MarkingConnector(InMemoryConnector):
    """An in-memory system that, like Dataverse, says who changed a record last: coupler (its own inserts and
    updates, and ``restamp``) or a user (``put``). Counts the reads by key."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.by_coupler: set[str] = set()
        self.reads: list[list[str]] = []

    def put(self, table: str, values: Mapping[str, Any]) -> str:
        key = super().put(table, values)
        self.by_coupler.discard(key)
        return key

    def restamp(self, table: str, key: str) -> None:
        """A plugin running as coupler's user touches the record after coupler's write: a new modified-on, the
        same values."""
        super().put(table, {"accountid": key})
        self.by_coupler.add(key)

    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        self.reads.append(list(keys))
        return super().read(spec, keys, columns=columns)

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self._mark(super().insert(spec, rows))

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return self._mark(super().update(spec, updates))

    def _mark(self, results: list[WriteResult]) -> list[WriteResult]:
        self.by_coupler.update(r.key for r in results if r.ok and r.key)
        return results

    def _record(self, data: Any, spec: TableSpec, row: Mapping[str, Any], columns: Sequence[str]) -> Record:
        record = super()._record(data, spec, row, columns)
        if record.key not in self.by_coupler:
            return record
        return Record(
            key=record.key,
            modified_on=record.modified_on,
            values=record.values,
            version=record.version,
            modified_by_self=True,
        )


def make_world() -> tuple[World, MarkingConnector, MarkingConnector]:
    erp = MarkingConnector(display_name="ERP")
    erp.add_table(
        "customers",
        "id",
        ["number", "displayName", "phoneNumber", "creditLimit", "website", "blocked"],
        modified_on="lastModifiedDateTime",
    )
    crm = MarkingConnector(display_name="CRM")
    crm.add_table(
        "account",
        "accountid",
        ["name", "telephone1", "creditlimit", "customertypecode", "websiteurl", "statecode"],
        modified_on="modifiedon",
    )
    store = InMemoryStateStore()
    mapping = customer_mapping()
    systems = Systems(local=erp, integration=crm, store=store, mappings=[mapping], batch_size=3, overlap_ms=0)
    return World(erp=erp, crm=crm, store=store, coupler=Coupler(systems)), erp, crm


def coupled_pair() -> tuple[World, MarkingConnector, MarkingConnector, Coupling]:
    world, erp, crm = make_world()
    key = world.customer("C001")
    world.customer("C002")
    assert world.coupler.sync_full("CUSTOMER").ok
    assert world.coupler.sync_modified()[0].job.counters.total == 0
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    erp.reads.clear()
    crm.reads.clear()
    return world, erp, crm, coupling


def test_a_record_restamped_under_couplers_user_is_an_echo_read_without_its_partner() -> None:
    world, erp, crm, coupling = coupled_pair()
    crm.restamp("account", coupling.integration_key)
    before = (world.erp.rows("customers"), world.crm.rows("account"))
    report = world.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.total == 0, "an echo is no change: nothing counted, nothing written"
    assert erp.reads == [], "the local partner is not even read"
    assert (world.erp.rows("customers"), world.crm.rows("account")) == before
    stored = world.store.couplings.get("CUSTOMER", Side.LOCAL, coupling.local_key)
    assert stored is not None
    assert stored.integration_modified_on == world.account_row(coupling.integration_key)["modifiedon"]
    assert stored.integration_modified_on != coupling.integration_modified_on
    assert (stored.fingerprint, stored.local_modified_on) == (coupling.fingerprint, coupling.local_modified_on)
    crm.restamp("account", coupling.integration_key)
    crm.put("account", {"accountid": coupling.integration_key, "websiteurl": "https://new.example"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.modified == 1, "a user's later change still flows"
    assert world.local_row(coupling.local_key)["website"] == "https://new.example"


def test_a_value_changed_under_couplers_user_is_no_echo_and_flows() -> None:
    world, erp, crm, coupling = coupled_pair()
    crm.put("account", {"accountid": coupling.integration_key, "websiteurl": "https://plugin.example"})
    crm.by_coupler.add(coupling.integration_key)  # a plugin rewrote the field under coupler's user
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.modified == 1
    assert world.local_row(coupling.local_key)["website"] == "https://plugin.example"
    assert erp.reads == [[coupling.local_key]]


def test_a_users_change_to_the_same_values_is_looked_at_as_usual() -> None:
    world, erp, crm, coupling = coupled_pair()
    crm.put("account", {"accountid": coupling.integration_key, "websiteurl": None})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.unchanged == 1, "not an echo: a user changed it (to the values it had)"
    assert erp.reads == [[coupling.local_key]]


def test_a_local_change_written_to_a_restamped_record_is_not_lost() -> None:
    """Both sides move: the local side changes a field while the integration record is re-stamped by coupler's
    user. The local change flows; the re-stamp is no change to carry back."""
    world, _, crm, coupling = coupled_pair()
    world.erp.put("customers", {"id": coupling.local_key, "phoneNumber": "555"})
    crm.restamp("account", coupling.integration_key)
    report = world.coupler.sync_modified()[0]
    assert (report.job.counters.modified, report.job.counters.conflicts) == (1, 0)
    assert world.account_row(coupling.integration_key)["telephone1"] == "555"
    assert world.local_row(coupling.local_key)["phoneNumber"] == "555"
    assert world.coupler.sync_modified()[0].job.counters.total == 0
