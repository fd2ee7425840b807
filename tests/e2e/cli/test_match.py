"""Match-based coupling and the full-synchronization review on the demo, through the real CLI.

The demo's CRM holds about fifteen of the ERP's active customers under the same name (a few in capitals), next to
accounts only the CRM knows; nothing is coupled."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .support import CUSTOMER_FIELDS, Demo

pytestmark = pytest.mark.e2e


def _couplings(demo: Demo) -> set[tuple[str, str]]:
    rows = demo.query(demo.state, "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    return {(row["local_key"], row["integration_key"]) for row in rows}


def _active_customers(demo: Demo) -> list[dict[str, Any]]:
    return demo.query(demo.erp, "SELECT * FROM customers WHERE blocked = ''")


def _expected_pairs(demo: Demo) -> tuple[set[tuple[str, str]], list[str]]:
    """(customer id, account id) of active customers with exactly one active Customer account of the same name in
    any letter case, and the numbers of the other active customers."""
    accounts: dict[str, list[str]] = {}
    for row in demo.query(demo.crm, "SELECT accountid, name FROM account WHERE statecode = 0 AND customertypecode = 3"):
        accounts.setdefault(row["name"].lower(), []).append(row["accountid"])
    pairs, lonely = set(), []
    for customer in _active_customers(demo):
        found = accounts.get(customer["displayName"].lower(), [])
        if len(found) == 1:
            pairs.add((str(customer["id"]), found[0]))
        else:
            assert not found, "the demo has no duplicate names"
            lonely.append(customer["number"])
    return pairs, sorted(lonely)


def _rows(demo: Demo) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return demo.query(demo.erp, "SELECT * FROM customers ORDER BY id"), demo.query(
        demo.crm, "SELECT * FROM account ORDER BY accountid"
    )


def test_match_on_the_name_couples_the_shared_customers_and_reports_the_rest(demo: Demo) -> None:
    pairs, lonely = _expected_pairs(demo)
    assert len(pairs) == 15 and lonely
    capitals = [c for c in _active_customers(demo) if c["displayName"].upper() in _account_names(demo)]
    assert capitals, "some shared customers differ in letter case"
    before = _rows(demo)

    result = demo.coupler("match", "CUSTOMER", "--on", "displayName", expect=1)

    assert f"15 coupled, {len(lonely)} unmatched" in result.stdout
    assert f"CUSTOMER: 15 matched and coupled, {len(lonely)} unmatched of {len(pairs) + len(lonely)}" in result.stdout
    line = next(line for line in result.stdout.splitlines() if f"Business Central Customer {lonely[0]} " in line)
    assert line.endswith(": no match in Dynamics 365 Sales"), line
    assert _couplings(demo) == pairs
    assert _rows(demo) == before, "matching writes no record"

    again = demo.coupler("match", "CUSTOMER", "--on", "displayName", "--json", expect=1).json()
    assert (again["job"]["counters"]["coupled"], again["job"]["counters"]["unmatched"]) == (0, len(lonely))


def _account_names(demo: Demo) -> set[str]:
    return {row["name"] for row in demo.query(demo.crm, "SELECT name FROM account")}


def test_match_json_lists_each_unmatched_record_with_the_reason(demo: Demo) -> None:
    pairs, lonely = _expected_pairs(demo)
    numbers = {c["id"]: c["number"] for c in _active_customers(demo)}

    report = demo.coupler("match", "CUSTOMER", "--on", "displayName", "--json", expect=1).json()

    assert report["job"]["kind"] == "match" and report["job"]["direction"] == "-"
    assert report["job"]["counters"]["coupled"] == len(pairs)
    assert report["job"]["counters"]["unmatched"] == len(lonely) and report["job"]["counters"]["failed"] == 0
    assert sorted(numbers[e["local_key"]] for e in report["errors"]) == lonely
    assert all(e["message"].endswith(": no match in Dynamics 365 Sales") for e in report["errors"])
    jobs = demo.coupler("jobs", "--json").json()
    assert jobs[0]["id"] == report["job"]["id"] and jobs[0]["counters"]["unmatched"] == len(lonely)


def test_match_then_synchronize_with_the_local_data(demo: Demo) -> None:
    pairs, _ = _expected_pairs(demo)
    demo.couple_references()

    report = demo.coupler(
        "match", "CUSTOMER", "--on", "displayName", "--sync-after", "local", "--json", expect=1
    ).json()

    assert report["job"]["direction"] == "to-integration"
    assert report["job"]["counters"]["coupled"] == len(pairs) and report["job"]["counters"]["failed"] == 0
    assert report["job"]["counters"]["modified"] >= 3, "the names in capitals and the phones written differently"
    for local_key, account_id in pairs:
        customer = demo.query(demo.erp, "SELECT * FROM customers WHERE id = ?", (local_key,))[0]
        account = demo.account_by_id(account_id)
        for field, column in CUSTOMER_FIELDS.items():
            assert account[column] == customer[field], (field, column)


def test_match_creating_the_missing_accounts_couples_every_active_customer(demo: Demo) -> None:
    pairs, lonely = _expected_pairs(demo)
    demo.couple_references()
    accounts_before = len(_account_names(demo))

    report = demo.coupler("match", "CUSTOMER", "--on", "displayName", "--create-missing", "--json").json()

    counters = report["job"]["counters"]
    assert (counters["coupled"], counters["inserted"], counters["unmatched"]) == (
        len(pairs) + len(lonely),
        len(lonely),
        0,
    )
    assert report["job"]["direction"] == "to-integration"
    assert len(_couplings(demo)) == len(_active_customers(demo))
    assert len(demo.query(demo.crm, "SELECT accountid FROM account")) == accounts_before + len(lonely)
    assert pairs <= _couplings(demo)


def test_review_recommends_matching_first_and_then_a_full_synchronization(demo: Demo) -> None:
    before = {r["mapping"]: r for r in demo.coupler("review", "--json").json()}

    assert before["CUSTOMER"]["advice"] == "match-based coupling"
    assert before["CUSTOMER"]["couplings"] == 0
    assert before["CUSTOMER"]["local"]["records"] > 0 and before["CUSTOMER"]["integration"]["records"] > 0
    human = demo.coupler("review").stdout
    assert "coupler match CUSTOMER\n" in human and "duplicate" in human

    demo.couple_references()
    demo.coupler("match", "CUSTOMER", "--on", "displayName", "--create-missing")
    after = {r["mapping"]: r for r in demo.coupler("review", "--json").json()}

    assert after["CUSTOMER"]["advice"] == "full synchronization"
    assert after["CUSTOMER"]["reason"] == "only Dynamics 365 Sales Account records are uncoupled"
    assert after["CUSTOMER"]["command"] == "coupler sync CUSTOMER --full"


def test_match_on_an_unknown_field_or_without_fields_is_a_usage_error(demo: Demo) -> None:
    unknown = demo.coupler("match", "CUSTOMER", "--on", "displayName,colour", expect=2)
    assert "no field mapping of the Business Central field 'colour' to match on" in unknown.stderr
    assert "--on takes the names of the Business Central fields of the mapping: displayName (Name), " in unknown.stderr
    assert not re.search(r"\b(local|integration)\b", unknown.stderr), unknown.stderr

    text = demo.config.read_text(encoding="utf-8")
    demo.config.write_text(text.replace('integration = "name", match = 1,', 'integration = "name",'), encoding="utf-8")
    missing = demo.coupler("match", "CUSTOMER", "--json", expect=2)
    assert missing.json()["error"] == "NoMatchFields"
    assert "--on" in missing.stderr

    demo.coupler("match", "CUSTOMER", "--on", "displayName", "--sync-after", "sideways", expect=2)
    demo.coupler("match", "NOPE", "--on", "displayName", expect=2)
    assert demo.query(demo.state, "SELECT count(*) AS n FROM coupler_couplings")[0]["n"] == 0


def test_match_on_a_selection_couples_only_the_records_named(demo: Demo) -> None:
    pairs, lonely = _expected_pairs(demo)
    numbers = {str(c["id"]): c["number"] for c in _active_customers(demo)}
    chosen = sorted(pairs)[:2]
    first, second = (numbers[local] for local, _ in chosen)

    result = demo.coupler("match", "CUSTOMER", first, chosen[1][0], lonely[0], "--on", "displayName", expect=1)

    assert "CUSTOMER: 2 matched and coupled, 1 unmatched of 3 selected uncoupled Business Central records." in (
        result.stdout
    )
    assert f"Business Central Customer {lonely[0]} " in result.stdout
    assert "no match in Dynamics 365 Sales" in result.stdout
    assert _couplings(demo) == set(chosen), f"only {first} and {second} were selected"

    again = demo.coupler("match", "CUSTOMER", first, "--on", "displayName", "--json").json()
    assert again["job"]["counters"]["coupled"] == 0
    assert again["job"]["message"].endswith(
        "of 0 selected uncoupled Business Central records (1 selected record already coupled)."
    )

    unknown = demo.coupler("match", "CUSTOMER", first, "C99999", "--on", "displayName", expect=2)
    assert "Business Central has no Customer C99999" in " ".join(unknown.stderr.split())
    assert _couplings(demo) == set(chosen)
