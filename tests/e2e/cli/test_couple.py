"""Coupling existing records, creating and coupling, and decoupling, checked in the databases themselves."""

from __future__ import annotations

import re

import pytest

from .support import CUSTOMER_FIELDS, Demo

pytestmark = pytest.mark.e2e


def _couplings(demo: Demo) -> list[tuple[str, str]]:
    rows = demo.query(demo.state, "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    return [(row["local_key"], row["integration_key"]) for row in rows]


def _assert_account_holds(customer: dict[str, object], account: dict[str, object]) -> None:
    for field, column in CUSTOMER_FIELDS.items():
        assert account[column] == customer[field], (field, column)


def test_couple_by_display_keys_and_sync_after_local(demo: Demo) -> None:
    # an account that differs from its customer: the demo wrote its phone number without spaces
    pairs = [
        (number, name)
        for number, name in demo.matched_customers()
        if demo.account(name)["telephone1"] != demo.customer(number)["phoneNumber"]
    ]
    number, name = pairs[0]
    customer = demo.customer(number)
    account_id = demo.account(name)["accountid"]
    demo.couple_references()

    result = demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local")

    assert f"Coupled {number} {customer['displayName']} with {name}." in result.stdout
    assert "1 modified, 1 coupled" in result.stdout
    account = demo.account_by_id(account_id)
    _assert_account_holds(customer, account)
    assert account["customertypecode"] == 3
    assert demo.customer(number) == customer, "the local record is the source and stays as it was"

    status = demo.coupler("status", "CUSTOMER", number).stdout
    assert re.search(rf"Business Central Customer key\W+{customer['id']}", status), status
    assert re.search(rf"Dynamics 365 Sales Account key\W+{account_id}", status), status
    assert re.search(r"to Dynamics 365 Sales\W+success", status), status
    assert re.search(r"Business Central Customer\W+exists", status), status
    assert re.search(r"Dynamics 365 Sales Account\W+exists", status), status
    assert not re.search(r"\b(local|integration)\b", status, re.IGNORECASE), "the systems by their names"


def test_create_and_couple_a_new_account(demo: Demo) -> None:
    number = demo.lonely_customers()[0]
    customer = demo.customer(number)
    demo.couple_references()
    accounts_before = demo.query(demo.crm, "SELECT count(*) AS n FROM account")[0]["n"]

    report = demo.coupler("couple", "CUSTOMER", number, "--create", "--json").json()

    assert report["job"]["kind"] == "create"
    assert report["job"]["direction"] == "to-integration"
    assert report["job"]["counters"]["inserted"] == 1 and report["job"]["counters"]["coupled"] == 1
    assert demo.query(demo.crm, "SELECT count(*) AS n FROM account")[0]["n"] == accounts_before + 1
    account = demo.account(customer["displayName"])
    _assert_account_holds(customer, account)
    assert account["customertypecode"] == 3, "the mapping's constant"
    assert account["accountnumber"] is None, "a disabled field mapping is not copied"
    assert report["job"]["message"].startswith(
        f"Created the Dynamics 365 Sales Account from {number} {customer['displayName']}"
    )
    assert _couplings(demo) == [(customer["id"], account["accountid"])]


def test_create_and_couple_a_customer_from_an_account(demo: Demo) -> None:
    name = demo.crm_only_accounts()[0]
    account = demo.account(name)
    numbers_before = {row["number"] for row in demo.query(demo.erp, 'SELECT "number" FROM customers')}

    result = demo.coupler("couple", "CUSTOMER", name, "--create", "--from", "integration")

    assert "1 inserted, 1 coupled" in result.stdout
    rows = demo.query(demo.erp, "SELECT * FROM customers WHERE displayName = ?", (name,))
    assert len(rows) == 1
    customer = rows[0]
    for field, column in CUSTOMER_FIELDS.items():
        if field != "creditLimit":  # flows to the CRM only
            assert customer[field] == account[column], (field, column)
    assert customer["number"] not in numbers_before, "the ERP's number series numbered the new customer"
    assert customer["blocked"] == ""
    assert _couplings(demo) == [(customer["id"], account["accountid"])]


def test_create_rejected_by_the_other_side_names_the_record(demo: Demo) -> None:
    """The ERP's customer name holds 100 characters, the CRM's account name 160."""
    name = demo.crm_only_accounts()[0]
    long_name = (f"{name}, " + "Worldwide Holding " * 6).rstrip()
    assert 100 < len(long_name) <= 160
    demo.execute(demo.crm, "UPDATE account SET name = ? WHERE name = ?", (long_name, name))

    result = demo.coupler("couple", "CUSTOMER", long_name, "--create", "--from", "integration", expect=1)

    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stdout
    assert f"Name is {len(long_name)} characters; Business Central allows 100." in errors[0], "refused before sending"
    assert long_name in errors[0], f"the error does not say which record was rejected: {errors[0]}"
    assert demo.query(demo.erp, "SELECT * FROM customers WHERE displayName = ?", (long_name,)) == []
    assert _couplings(demo) == []


def test_decouple_by_key_leaves_both_records_untouched(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    demo.couple_references()
    demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local")
    customer, account = demo.customer(number), demo.account(name)

    report = demo.coupler("decouple", "CUSTOMER", name, "--json").json()

    assert report["job"]["kind"] == "decouple"
    assert report["job"]["counters"]["uncoupled"] == 1 and report["job"]["counters"]["failed"] == 0
    status = demo.coupler("status", "CUSTOMER", number)
    assert f"CUSTOMER {number}: not coupled." in status.stdout
    assert demo.customer(number) == customer
    assert demo.account(name) == account
    assert _couplings(demo) == []
