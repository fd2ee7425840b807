"""The demo's sync scenarios with the CRM behind the Dataverse server and the ERP behind the Business Central server:
the same jobs and the same data as over the SQL connectors, changes flowing both ways, and no echo."""

from __future__ import annotations

from pathlib import Path

from coupler.bootstrap import open_coupler

from .support import HttpDemo, query, run_scenario, snapshot


def test_the_demo_scenario_over_http_does_what_it_does_over_sql(http_demo: HttpDemo, sql_demo: Path) -> None:
    with http_demo.open() as coupler:
        over_http = run_scenario(coupler, http_demo.erp, http_demo.crm)
    with open_coupler(sql_demo / "coupler.toml") as coupler:
        over_sql = run_scenario(coupler, sql_demo / "erp.db", sql_demo / "crm.db")

    assert [s.command for s in over_http] == [s.command for s in over_sql]
    for http_step, sql_step in zip(over_http, over_sql, strict=True):
        assert http_step.jobs == sql_step.jobs, http_step.command
    assert snapshot(http_demo.erp, erp=True) == snapshot(sql_demo / "erp.db", erp=True)
    assert snapshot(http_demo.crm, erp=False) == snapshot(sql_demo / "crm.db", erp=False)


def test_changes_flow_both_ways_and_coupler_does_not_see_its_own_writes(http_demo: HttpDemo) -> None:
    with http_demo.open() as coupler:
        steps = {s.command: s for s in run_scenario(coupler, http_demo.erp, http_demo.crm)}
        coupling = coupler.status("CUSTOMER", "C00010").coupling
        trey = coupler.status("CUSTOMER", "Trey Research").coupling

    created = steps["match CUSTOMER --create-missing --sync-after local"].counters()
    assert created["coupled"] > 0 and created["inserted"] > 0
    quiet = steps["sync (nothing changed)"].counters()
    assert (quiet["modified"], quiet["inserted"], quiet["conflicts"]) == (0, 0, 0), "the engine's writes echoed"
    changed = steps["sync (changes on both sides)"].counters()
    assert (changed["modified"], changed["conflicts"]) == (4, 0), steps["sync (changes on both sides)"]
    again = steps["sync (nothing changed again)"].counters()
    assert (again["modified"], again["inserted"], again["conflicts"]) == (0, 0, 0), "the engine's writes echoed"

    assert coupling is not None and trey is not None
    account = query(http_demo.crm, "SELECT address1_city FROM account WHERE accountid = ?", (coupling.integration_key,))
    assert account == [{"address1_city": "Aarhus"}]
    customer = query(http_demo.erp, "SELECT phoneNumber FROM customers WHERE id = ?", (trey.local_key,))
    assert customer == [{"phoneNumber": "+45 70 10 20 30"}]
    product = query(http_demo.crm, "SELECT price FROM product WHERE productnumber = '1896-S'")
    assert product == [{"price": 1111.5}]
