"""`coupler demo DIR --tour`: a short walk through coupler on the demo, printing each command it stands for."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from coupler.domain.mapping import Side
from coupler.entrypoints import views
from coupler.entrypoints.render import counts, print_reports, table
from coupler.services.api import Coupler
from coupler.services.recorder import JobReport

__all__ = ["run_tour"]


def _pairs(coupler: Coupler) -> tuple[str | None, str | None, str | None]:
    """A customer with a same-named account (to couple), and one without (to create from)."""
    systems = coupler.systems
    mapping = systems.mapping("CUSTOMER")
    local_spec, integration_spec = mapping.local, mapping.integration
    matched = unmatched = account = None
    for page in systems.local.changed_since(local_spec, None, columns=mapping.columns(Side.LOCAL), page_size=200):
        for customer in sorted(page, key=lambda r: str(r.get(local_spec.display_key or local_spec.key))):
            name = customer.get("displayName")
            hits = systems.integration.find(
                integration_spec, {"name": name}, columns=(integration_spec.key,), case_sensitive=False
            )
            number = str(customer.get(local_spec.display_key or local_spec.key))
            if len(hits) == 1 and matched is None:
                matched, account = number, hits[0].key
            elif not hits and unmatched is None:
                unmatched = number
        if matched and unmatched:
            break
    return matched, account, unmatched


def _same(coupler: Coupler, name: str, local_field: str, integration_field: str) -> list[tuple[str, str]]:
    """Uncoupled pairs whose ``local_field`` equals ``integration_field``: the records both demo systems share."""
    systems = coupler.systems
    mapping = systems.mapping(name)
    pairs = []
    columns = mapping.columns(Side.LOCAL)
    for page in systems.local.changed_since(mapping.local, None, columns=columns, page_size=500):
        for record in page:
            value = record.get(local_field)
            hits = systems.integration.find(
                mapping.integration, {integration_field: value}, columns=(mapping.integration.key,)
            )
            if len(hits) == 1 and systems.store.coupling(name, Side.INTEGRATION, hits[0].key) is None:
                pairs.append((str(value), hits[0].key))
    return pairs


def run_tour(coupler: Coupler, console: Console, *, as_json: bool) -> None:
    steps: list[dict[str, Any]] = []

    def step(command: str, reports: list[JobReport]) -> None:
        steps.append({"command": command, "jobs": [views.report_view(r) for r in reports]})
        if not as_json:
            console.rule(f"$ {command}", align="left")
            print_reports(console, reports)

    report = coupler.check()
    if not as_json:
        console.rule("$ coupler check", align="left")
        rows = [[s.role, s.name, "ok" if s.ok else s.message] for s in report.systems]
        console.print(table("Connections", ["role", "system", "status"], rows))
    shared = (("CURRENCY", "code", "isocurrencycode"), ("ITEM-PRODUCT", "number", "productnumber"))
    for name, local_field, integration_field in shared:
        for local, integration in _same(coupler, name, local_field, integration_field):
            step(
                f"coupler couple {name} {local} {integration} --sync-after local",
                [coupler.couple(name, local, integration, sync_after=Side.LOCAL)],
            )
    for name in ("CURRENCY", "SALESPEOPLE", "ITEM-PRODUCT"):
        step(f"coupler sync {name} --full", [coupler.sync_full(name)])
    customer, account, lonely = _pairs(coupler)
    if customer and account:
        step(
            f"coupler couple CUSTOMER {customer} {account} --sync-after local",
            [coupler.couple("CUSTOMER", customer, account, sync_after=Side.LOCAL)],
        )
    if lonely:
        step(f"coupler couple CUSTOMER {lonely} --create", [coupler.create("CUSTOMER", lonely)])
    step("coupler sync", coupler.sync_modified())
    if customer:
        status = coupler.status("CUSTOMER", customer)
        steps.append({"command": f"coupler status CUSTOMER {customer}", "status": views.status_view(status)})
        if not as_json:
            console.rule(f"$ coupler status CUSTOMER {customer}", align="left")
            coupling = status.coupling
            console.print(f"coupled to {coupling.integration_key if coupling else '-'}")
    jobs = coupler.jobs(limit=10)
    if as_json:
        sys.stdout.write(json.dumps({"steps": steps, "jobs": [views.job_view(j) for j in jobs]}, indent=2) + "\n")
        return
    console.rule("$ coupler jobs", align="left")
    job_rows = [[j.mapping, j.kind.value, j.direction, counts(j.counters.as_dict())] for j in jobs]
    console.print(table("Jobs", ["mapping", "kind", "direction", "records"], job_rows))
    console.print("The tour is done. Edit a record in erp.db or crm.db (any SQLite tool), then run `coupler sync`.")
