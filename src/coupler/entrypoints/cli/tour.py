"""`coupler demo DIR --tour`: a short walk through coupler on the demo, printing each command it stands for.

The tour follows the order Business Central's full-synchronization review advises: match-based coupling first where
both sides hold the same records, then full synchronizations for the rest, in dependency order (salespeople and
currencies before the customers that look them up).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from coupler.domain.mapping import Side
from coupler.entrypoints.cli.render import counts, print_reports, table
from coupler.entrypoints.schemas.jobs import JobOut, JobReportOut
from coupler.entrypoints.schemas.mappings import RecommendationOut
from coupler.entrypoints.schemas.records import RecordStatusOut
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.views.page_queries import PageQueries

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


def run_tour(coupler: Coupler, console: Console, *, as_json: bool) -> None:
    steps: list[dict[str, Any]] = []

    def step(command: str, reports: list[JobReport]) -> None:
        steps.append({"command": command, "jobs": [JobReportOut.of(r).model_dump(mode="json") for r in reports]})
        if not as_json:
            console.rule(f"$ {command}", align="left")
            print_reports(console, reports)

    report = coupler.check()
    if not as_json:
        console.rule("$ coupler check", align="left")
        rows = [[s.role, s.name, "ok" if s.ok else s.message] for s in report.systems]
        console.print(table("Connections", ["role", "system", "status"], rows))
    advice = [RecommendationOut.of(r) for r in PageQueries(coupler.systems).review()]
    steps.append({"command": "coupler review", "review": [r.model_dump(mode="json") for r in advice]})
    if not as_json:
        console.rule("$ coupler review", align="left")
        rows = [[r.mapping, r.advice, r.command or ""] for r in advice]
        console.print(table("Full synchronization review", ["mapping", "recommendation", "command"], rows))
    # the records both sides already hold are coupled first, so that the full synchronizations do not duplicate them
    step(
        "coupler match SALESPEOPLE --sync-after integration",
        [coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)],
    )
    step("coupler match CURRENCY --sync-after local", [coupler.match("CURRENCY", sync_after=Side.LOCAL)])
    step(
        "coupler match ITEM-PRODUCT --create-missing --sync-after local",
        [coupler.match("ITEM-PRODUCT", create_missing=True, sync_after=Side.LOCAL)],
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
        shown = RecordStatusOut.of(status).model_dump(mode="json")
        steps.append({"command": f"coupler status CUSTOMER {customer}", "status": shown})
        if not as_json:
            console.rule(f"$ coupler status CUSTOMER {customer}", align="left")
            coupling = status.coupling
            console.print(f"coupled to {coupling.integration_key if coupling else '-'}")
    jobs = coupler.jobs(limit=20)
    if as_json:
        logged = [JobOut.of(j).model_dump(mode="json") for j in jobs]
        sys.stdout.write(json.dumps({"steps": steps, "jobs": logged}, indent=2) + "\n")
        return
    console.rule("$ coupler jobs", align="left")
    job_rows = [[j.mapping, j.kind.value, j.direction, counts(j.counters.as_dict())] for j in jobs]
    console.print(table("Jobs", ["mapping", "kind", "direction", "records"], job_rows))
    console.print("The tour is done. Edit a record in erp.db or crm.db (any SQLite tool), then run `coupler sync`.")
