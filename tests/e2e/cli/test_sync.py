"""Synchronization on the demo: each way, conflicts, full synchronization and records the other side rejects."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Demo

pytestmark = pytest.mark.e2e

STAMP_ERP = "lastModifiedDateTime"
STAMP_CRM = "modifiedon"


def _couple(demo: Demo, number: str, name: str) -> None:
    """Couple a customer and its account, synchronized from the ERP (what the customer looks up is coupled first)."""
    if not demo.state.exists():  # the first coupling of the test
        demo.couple_references()
    demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local")


def _assert_wrote_nothing(reports: list[dict[str, Any]]) -> None:
    jobs = [r["job"] for r in reports]
    assert [j["mapping"] for j in jobs] == ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
    for job in jobs:
        assert job["kind"] == "incremental"
        assert (job["counters"]["inserted"], job["counters"]["modified"], job["counters"]["failed"]) == (0, 0, 0), job


def test_sync_each_way_then_nothing_to_do(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    _couple(demo, number, name)
    account_id = demo.account(name)["accountid"]

    before = demo.customer(number)[STAMP_ERP]
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds', phoneNumber = '+44 113 496 0000' WHERE number = ?",
                 (number,))  # fmt: skip
    assert demo.customer(number)[STAMP_ERP] > before, "the ERP's trigger stamps the change"
    to_crm = demo.coupler("sync")
    assert "1 modified" in to_crm.stdout
    account = demo.account_by_id(account_id)
    assert (account["address1_city"], account["telephone1"]) == ("Leeds", "+44 113 496 0000")

    demo.execute(demo.crm, "UPDATE account SET websiteurl = 'www.changed.example' WHERE accountid = ?", (account_id,))
    from_crm = demo.coupler("sync")
    assert "1 modified" in from_crm.stdout
    customer = demo.customer(number)
    assert customer["website"] == "www.changed.example"
    assert customer["city"] == "Leeds"

    stamps = (demo.customer(number)[STAMP_ERP], demo.account_by_id(account_id)[STAMP_CRM])
    _assert_wrote_nothing(demo.coupler("sync", "--json").json())
    assert (demo.customer(number)[STAMP_ERP], demo.account_by_id(account_id)[STAMP_CRM]) == stamps


def test_conflict_is_parked_until_a_user_resolves_it(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    _couple(demo, number, name)
    account_id = demo.account(name)["accountid"]
    before = demo.customer(number)["city"]
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE number = ?", (number,))
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull' WHERE accountid = ?", (account_id,))
    customer, account = demo.customer(number), demo.account_by_id(account_id)

    result = demo.coupler("sync", expect=1)

    assert (
        "1 conflict" in result.stdout
        and "1 conflicts" not in result.stdout
        and "failed" not in result.stdout.split("Summary")[1].split("error")[0]
    )
    conflict = next(line for line in result.stdout.splitlines() if line.startswith("error CUSTOMER"))
    assert f"Business Central Customer {number} " in conflict and "Both records changed City to different" in conflict
    assert "coupler" not in conflict, "the message names no command"
    assert "Choose which values win: `coupler resolve CUSTOMER KEY --use local|integration`" in result.stdout, (
        "the CLI adds its own"
    )
    assert demo.customer(number) == customer, "a conflict writes nothing"
    assert demo.account_by_id(account_id) == account, "a conflict writes nothing"
    status = demo.coupler("status", "CUSTOMER", number, "--json").json()
    assert status["coupling"]["to_integration_result"] == "conflict"
    [parked] = demo.coupler("conflicts", "--json").json()
    assert parked["fields"] == [
        {
            "pair": "city|address1_city",
            "local_field": "city",
            "integration_field": "address1_city",
            "local_value": "York",
            "integration_value": "Hull",
            "last_local": before,
            "last_integration": before,
        }
    ]
    listing = demo.coupler("conflicts")
    assert "York" in listing.stdout and "Hull" in listing.stdout

    resolved = demo.coupler("resolve", "CUSTOMER", number, "--use", "integration", "--json").json()

    assert resolved["job"]["kind"] == "resolve" and resolved["job"]["counters"]["modified"] == 1
    assert demo.customer(number)["city"] == "Hull"
    assert demo.account_by_id(account_id)["address1_city"] == "Hull"
    assert demo.coupler("conflicts", "--json").json() == []
    _assert_wrote_nothing(demo.coupler("sync", "--json").json())


def test_a_forced_direction_overwrites_and_says_what_it_overwrote(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    _couple(demo, number, name)
    account_id = demo.account(name)["accountid"]
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull' WHERE accountid = ?", (account_id,))

    report = demo.coupler("sync", "CUSTOMER", number, "--direction", "to-integration", "--json").json()

    assert report["job"]["counters"]["modified"] == 1
    assert "overwrote City, changed in Dynamics 365 Sales" in report["job"]["message"]
    assert demo.account_by_id(account_id)["address1_city"] == demo.customer(number)["city"]


def test_full_sync_of_currencies_creates_what_the_crm_lacks(demo: Demo) -> None:
    codes = {r["code"]: r for r in demo.query(demo.erp, "SELECT * FROM currencies")}
    crm = {r["isocurrencycode"] for r in demo.query(demo.crm, "SELECT isocurrencycode FROM transactioncurrency")}
    shared = crm & set(codes)
    assert shared and shared < set(codes), "the demo has some currencies on both sides"

    report = demo.coupler("sync", "CURRENCY", "--full", "--force", "--json", expect=1).json()

    counters = report["job"]["counters"]
    assert (report["job"]["kind"], report["job"]["direction"]) == ("full", "to-integration")
    assert counters["inserted"] == counters["coupled"] == len(codes) - len(shared)
    assert counters["failed"] == len(shared)
    rejected = sorted(e["message"] for e in report["errors"])
    assert len(rejected) == len(shared)
    for code, message in zip(sorted(shared), rejected, strict=True):
        assert message.startswith(f"Business Central Currency {code}")
        assert "Dynamics 365 Sales refused the record" in message
        assert "unique" in message and "isocurrencycode" in message
    crm_rows = {r["isocurrencycode"]: r for r in demo.query(demo.crm, "SELECT * FROM transactioncurrency")}
    assert set(crm_rows) == set(codes) | crm
    for code in set(codes) - shared:
        assert (crm_rows[code]["currencyname"], crm_rows[code]["currencysymbol"]) == (
            codes[code]["displayName"],
            codes[code]["symbol"],
        )
    couplings = demo.query(demo.state, "SELECT count(*) AS n FROM coupler_couplings WHERE mapping = 'CURRENCY'")
    assert couplings[0]["n"] == len(codes) - len(shared)


def test_full_sync_of_salespeople_creates_them_from_the_crm_users(demo: Demo) -> None:
    users = demo.query(
        demo.crm, "SELECT * FROM systemuser WHERE isdisabled = 0 AND islicensed = 1 AND isintegrationuser = 0"
    )
    before = demo.query(demo.erp, 'SELECT count(*) AS n FROM "salespeoplePurchasers"')[0]["n"]

    result = demo.coupler("sync", "SALESPEOPLE", "--full", "--force")

    assert f"{len(users)} inserted, {len(users)} coupled" in result.stdout
    after = demo.query(demo.erp, 'SELECT * FROM "salespeoplePurchasers"')
    assert len(after) == before + len(users)
    created = {r["displayName"]: r for r in after[before:]}
    assert set(created) == {u["fullname"] for u in users}
    for user in users:
        person = created[user["fullname"]]
        assert (person["email"], person["phoneNo"]) == (user["internalemailaddress"], user["mobilephone"])
        assert person["code"], "the ERP gave the new salesperson a code"
    excluded = demo.query(demo.crm, "SELECT fullname FROM systemuser WHERE isdisabled = 1 OR isintegrationuser = 1")
    for user in excluded:
        assert user["fullname"] not in created


def test_full_sync_of_items_and_products_both_ways(demo: Demo) -> None:
    items = {r["number"] for r in demo.query(demo.erp, "SELECT number FROM items WHERE blocked = 0")}
    products = {
        r["productnumber"] for r in demo.query(demo.crm, "SELECT productnumber FROM product WHERE statecode = 0")
    }
    shared = items & products
    assert shared

    result = demo.coupler("sync", "ITEM-PRODUCT", "--full", "--force", expect=1)

    assert f"{len(items ^ products)} inserted, {2 * len(shared)} failed" in result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("error ITEM-PRODUCT")]
    assert len(errors) == 2 * len(shared)
    assert all("duplicate value for a unique constraint" in line for line in errors)
    crm = {r["productnumber"] for r in demo.query(demo.crm, "SELECT productnumber FROM product")}
    erp = {r["number"] for r in demo.query(demo.erp, "SELECT number FROM items")}
    assert items <= crm and products <= erp


def test_record_rejected_by_the_other_side(demo: Demo) -> None:
    (bad, bad_name), (good, good_name), (long, long_name) = demo.matched_customers()[:3]
    for number, name in ((bad, bad_name), (good, good_name), (long, long_name)):
        _couple(demo, number, name)
    bad_id = demo.customer(bad)["id"]
    bad_account = demo.account(bad_name)
    # The ERP lets this e-mail address through (its check is switched off here); the CRM's CHECK refuses it.
    demo.execute(demo.erp, "UPDATE customers SET email = 'not an email' WHERE number = ?", (bad,), checks=False)
    demo.execute(demo.erp, "UPDATE customers SET city = 'Ottawa' WHERE number = ?", (good,))
    # The CRM holds 50 characters of telephone, the ERP 30.
    demo.execute(demo.crm, "UPDATE account SET telephone1 = ? WHERE name = ?", ("+1 555 0100 " + "9" * 30, long_name))
    long_customer = demo.customer(long)

    result = demo.coupler("sync", expect=1)

    assert "1 modified, 2 failed" in result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("error CUSTOMER")]
    assert len(errors) == 2, result.stdout
    email = next(line for line in errors if bad in line)
    assert f"Business Central Customer {bad} " in email and "ck_account_emailaddress1_email" in email
    assert "Dynamics 365 Sales refused the record" in email
    phone = next(line for line in errors if long_name in line)
    too_long = f"Dynamics 365 Sales Account {long_name}: Phone No. is 42 characters; Business Central allows 30."
    assert too_long in phone, "refused before it is sent, in the user's words"
    assert demo.account(bad_name) == bad_account
    assert demo.account(good_name)["address1_city"] == "Ottawa", "the other records still synchronize"
    assert demo.customer(long) == long_customer

    listed = demo.coupler("errors", "--json", "--mapping", "CUSTOMER").json()
    assert len(listed) == 2
    by_local = {e["local_key"]: e for e in listed}
    assert by_local[bad_id]["integration_key"] == bad_account["accountid"]
    assert "ck_account_emailaddress1_email" in by_local[bad_id]["message"]
    assert "ck_account_emailaddress1_email" in by_local[bad_id]["detail"]
    job_id = by_local[bad_id]["job_id"]
    assert {e["job_id"] for e in listed} == {job_id}

    assert demo.coupler("errors", "--json", "-m", "CUSTOMER").json() == listed
    jobs = {j["id"]: j for j in demo.coupler("jobs", "--json", "--mapping", "CUSTOMER").json()}
    assert list(jobs) == [j["id"] for j in demo.coupler("jobs", "--json", "-m", "CUSTOMER").json()]
    job = jobs[job_id]
    assert (job["kind"], job["mapping"]) == ("incremental", "CUSTOMER")
    assert (job["counters"]["modified"], job["counters"]["failed"]) == (1, 2)
    assert [j["kind"] for j in jobs.values()] == ["incremental", "couple", "couple", "couple"]
