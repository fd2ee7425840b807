"""The real `coupler` CLI against the local servers: check, review, match and sync over HTTP, and a wrong secret
reported clearly, without the secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e2e.cli.support import run_coupler

from .support import SECRETS, HttpDemo

pytestmark = pytest.mark.e2e


def test_the_cli_checks_reviews_matches_and_synchronizes_over_http(http_demo: HttpDemo) -> None:
    def coupler(*args: str, expect: int = 0) -> str:
        result = run_coupler(*args, "--config", http_demo.config, cwd=http_demo.directory, env=SECRETS, expect=expect)
        assert not any(secret in result.output for secret in SECRETS.values())
        return result.stdout

    checked = _json(coupler("check", "--json", expect=1))
    assert all(s["ok"] for s in checked["systems"]) and not checked["problems"], "connected; every column exists"
    # the demo's servers serve the demo's two databases, not a whole tenant: the preflight names what they lack
    # (coupler.testing.tenant serves one that passes it: test_bc_sales_tenant.py)
    lacking = {(f["role"], f["topic"]) for f in checked["findings"] if not f["ok"]}
    assert lacking == {("integration", "sign-in"), ("integration", "organization")}, lacking
    review = {r["mapping"]: r["advice"] for r in _json(coupler("review", "--json"))}
    assert review["CUSTOMER"] == "match-based coupling"
    matched = _json(coupler("match", "SALESPEOPLE", "--sync-after", "integration", "--json"))
    assert matched["job"]["counters"]["coupled"] == 6
    coupler("match", "CURRENCY", "--json", expect=1)  # three currencies only the ERP has: unmatched
    full = _json(coupler("sync", "CURRENCY", "--full", "--json"))
    assert (full["job"]["counters"]["inserted"], full["job"]["counters"]["coupled"]) == (3, 3)
    quiet = _json(coupler("sync", "CURRENCY", "--json"))
    assert all(r["job"]["counters"]["modified"] == r["job"]["counters"]["inserted"] == 0 for r in quiet)
    assert http_demo.requests_served > 0


def test_a_wrong_secret_is_a_clear_error_without_the_secret(http_demo: HttpDemo) -> None:
    wrong = {**SECRETS, "HTTP_E2E_DATAVERSE_SECRET": "not-the-right-one-4711"}
    result = run_coupler("check", "--json", "--config", http_demo.config, cwd=http_demo.directory, env=wrong, expect=1)
    for secret in (*SECRETS.values(), "not-the-right-one-4711"):
        assert secret not in result.output
    systems = {s["role"]: s for s in result.json()["systems"]}
    assert systems["local"]["ok"] and not systems["integration"]["ok"]
    message = systems["integration"]["message"]
    assert message.startswith("Dynamics 365 Sales (test server): sign-in as client "), message
    assert "Invalid client secret" in message


def _json(text: str) -> Any:
    return json.loads(text)
