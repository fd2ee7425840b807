"""Lookups through other mappings' couplings, not-null, clear-on-failed-lookup, transformations and options."""

from __future__ import annotations

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.mapping import Direction, FieldMapping, Lookup, Side, TableMapping, TableSpec
from coupler.domain.transforms.pipeline import Transform
from coupler.services.api import Coupler
from coupler.services.context import Systems

BI, TO = Direction.BIDIRECTIONAL, Direction.TO_INTEGRATION

SALESPEOPLE = TableMapping(
    name="SALESPEOPLE",
    local=TableSpec(table="salespeople", key="id", display_key="code", modified_on="m"),
    integration=TableSpec(table="systemuser", key="systemuserid", display_key="fullname", modified_on="m"),
    direction=Direction.FROM_INTEGRATION,
    fields=(FieldMapping(local="name", integration="fullname", direction=Direction.FROM_INTEGRATION),),
)


def customer(*, clear: bool = False, not_null: bool = False) -> TableMapping:
    return TableMapping(
        name="CUSTOMER",
        local=TableSpec(table="customers", key="id", display_key="number", modified_on="m"),
        integration=TableSpec(table="account", key="accountid", display_key="name", modified_on="m"),
        direction=BI,
        depends_on=("SALESPEOPLE",),
        fields=(
            FieldMapping(local="name", integration="name", direction=BI, transforms=(Transform(kind="trim"),)),
            FieldMapping(
                local="salesperson",
                integration="ownerid",
                direction=TO,
                lookup=Lookup(mapping="SALESPEOPLE"),
                clear_on_failed_lookup=clear,
                not_null=not_null,
            ),
            FieldMapping(
                local="terms",
                integration="paymenttermscode",
                direction=BI,
                transforms=(Transform(kind="options", params={"values": {"30 DAYS": 1, "14 DAYS": 2}}),),
            ),
        ),
    )


def world(mapping: TableMapping) -> tuple[Coupler, InMemoryConnector, InMemoryConnector]:
    erp, crm = InMemoryConnector(display_name="ERP"), InMemoryConnector(display_name="CRM")
    erp.add_table("salespeople", "id", ["code", "name"], modified_on="m")
    erp.add_table("customers", "id", ["number", "name", "salesperson", "terms"], modified_on="m")
    crm.add_table("systemuser", "systemuserid", ["fullname"], modified_on="m")
    crm.add_table("account", "accountid", ["name", "ownerid", "paymenttermscode"], modified_on="m")
    systems = Systems(local=erp, integration=crm, store=InMemoryStateStore(), mappings=[SALESPEOPLE, mapping])
    return Coupler(systems), erp, crm


def test_a_lookup_translates_through_the_referenced_couplings_and_waits_for_its_parent() -> None:
    coupler, erp, crm = world(customer())
    key = erp.put("customers", {"number": "C1", "name": "  Adatum  ", "salesperson": "JR", "terms": "30 DAYS"})
    report = coupler.sync_full("CUSTOMER", force=True)
    assert report.job.counters.failed == 1
    assert "salesperson 'JR' refers to a SALESPEOPLE record that is not coupled yet" in report.errors[0].message
    user = crm.put("systemuser", {"fullname": "Jim Rye"})
    coupler.sync_full("SALESPEOPLE", force=True)
    erp.put("salespeople", {"id": next(r["id"] for r in erp.rows("salespeople")), "code": "JR"})
    retried = coupler.sync_modified(["CUSTOMER"])[0]
    assert retried.ok and retried.job.counters.inserted == 1, "retried once the salesperson is coupled"
    [account] = crm.rows("account")
    assert (account["name"], account["ownerid"], account["paymenttermscode"]) == ("Adatum", user, 1)
    coupling = coupler.systems.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None and not coupling.skipped
    crm.put("account", {"accountid": account["accountid"], "paymenttermscode": 2})
    assert coupler.sync_modified(["CUSTOMER"])[0].ok
    assert next(r for r in erp.rows("customers"))["terms"] == "14 DAYS", "options read backwards"


def test_clear_on_failed_lookup_and_not_null() -> None:
    coupler, erp, crm = world(customer(clear=True))
    erp.put("customers", {"number": "C1", "name": "Adatum", "salesperson": "NOBODY", "terms": None})
    assert coupler.sync_full("CUSTOMER", force=True).ok
    assert crm.rows("account")[0]["ownerid"] is None
    coupler, erp, crm = world(customer(clear=True, not_null=True))
    erp.put("customers", {"number": "C1", "name": "Adatum", "salesperson": "NOBODY"})
    crm_key = crm.put("account", {"name": "Other", "ownerid": "kept"})
    coupler.couple("CUSTOMER", "C1", crm_key, sync_after=Side.LOCAL)
    assert crm.rows("account")[0]["ownerid"] == "kept", "a null is never written into a not-null field"


def test_a_value_outside_the_option_mapping_fails_that_record_alone() -> None:
    coupler, erp, _crm = world(customer())
    erp.put("customers", {"number": "C1", "name": "Adatum", "terms": "60 DAYS"})
    erp.put("customers", {"number": "C2", "name": "Fabrikam", "terms": "14 DAYS"})
    report = coupler.sync_full("CUSTOMER", force=True)
    assert (report.job.counters.inserted, report.job.counters.failed) == (1, 1)
    assert "'60 DAYS' is not a value the mapping knows" in report.errors[0].message
