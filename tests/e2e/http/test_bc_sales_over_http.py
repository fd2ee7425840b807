"""The bc-sales template, as `coupler init --template bc-sales` writes it, against the strict local servers: enum values
travel encoded (blocked " " is ``_x0020_``) and Business Central refuses null in a filter, as the real service
may (src/coupler/testing/business_central/values.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from coupler.config.files import FileModel
from coupler.config.writer import render_config
from coupler.templates.bc_sales import BC_SALES_COMMENTS
from e2e.cli.support import run_coupler

from .support import SECRETS, HttpDemo, query

pytestmark = pytest.mark.e2e


_RUN = ("SALESPEOPLE", "CURRENCY", "CUSTOMER")
"""The template's mappings the demo's servers can carry: its contacts and products lack fields CONTACT and ITEM-PRODUCT
map (addressLine2, websiteurl, currentcost ...)."""


def _bc_sales_against(demo: HttpDemo) -> Path:
    """`coupler init --template bc-sales` in the demo's folder, its two systems then pointed at the servers (the
    demo's own HTTP config says how to reach them): SALESPEOPLE, CURRENCY and CUSTOMER as the template writes them,
    filters included, less what the demo's tables lack: the fields that look up payment terms and shipment methods,
    the exchange rate and the disabled fields."""
    run_coupler("init", "--template", "bc-sales", cwd=demo.directory, expect=0)
    written = demo.directory / "coupler.toml"
    template = tomllib.loads(written.read_text(encoding="utf-8"))
    servers = tomllib.loads(demo.config.read_text(encoding="utf-8"))
    mappings = [m for m in template["mappings"] if m["name"] in _RUN]
    for mapping in mappings:
        mapping["fields"] = [
            f
            for f in mapping["fields"]
            if f.get("lookup", _RUN[0]) in _RUN and f.get("enabled", True) and f.get("local") != "exchangeRate"
        ]
        mapping["depends_on"] = [name for name in mapping.get("depends_on", []) if name in _RUN]
    customer = next(m for m in mappings if m["name"] == "CUSTOMER")
    assert customer["local"]["filter"] == [{"field": "blocked", "op": "eq", "value": " "}], "the template's filter"
    config = FileModel.model_validate(
        {**template, "local": servers["local"], "integration": servers["integration"], "mappings": mappings}
    )
    written.write_text(render_config(config, BC_SALES_COMMENTS), encoding="utf-8")
    return written


def test_a_full_customer_sync_couples_every_unblocked_customer_and_no_blocked_one(http_demo: HttpDemo) -> None:
    config = _bc_sales_against(http_demo)
    blocked_at_start = {r["id"]: r["blocked"] for r in query(http_demo.erp, "SELECT id, blocked FROM customers")}
    unblocked_at_start = {key for key, blocked in blocked_at_start.items() if blocked == ""}
    assert unblocked_at_start and len(unblocked_at_start) < len(blocked_at_start), "blocked and unblocked customers"

    def coupler(*args: str, expect: int | None = 0) -> Any:
        return run_coupler(*args, "--json", "--config", config, cwd=http_demo.directory, env=SECRETS, expect=expect)

    assert coupler("check").json()["ok"]
    review = {r["mapping"]: r for r in coupler("review").json()}
    assert review["CUSTOMER"]["local"]["records"] == len(unblocked_at_start), "blocked eq ' ' reads the unblocked"
    for mapping in _RUN:  # as review advises: match, then a full synchronization for the rest
        coupler("match", mapping, expect=None)
        full = coupler("sync", mapping, "--full", expect=None).json()
        assert full["job"]["kind"] == "full", full
        refused = [e["message"] for e in full["errors"] if "Both records changed" not in e["message"]]
        # the demo's conflicting edits, and one account whose name is too long for Business Central
        assert all("Application_StringExceededLength" in message for message in refused), refused

    customers = {r["id"]: r["blocked"] for r in query(http_demo.erp, "SELECT id, blocked FROM customers")}
    state = http_demo.directory / "coupler-state.db"
    coupled = {
        r["local_key"] for r in query(state, "SELECT local_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    }
    assert unblocked_at_start <= coupled, "every unblocked customer is coupled"
    assert {customers[key] for key in coupled} == {""}, "no blocked customer is coupled"
    assert coupled == {key for key, blocked in customers.items() if blocked == ""}, "nor left out, new ones included"
