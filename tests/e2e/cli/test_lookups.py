"""Lookups, option mappings and transformations on the demo, through the real CLI.

The demo's CUSTOMER mapping looks up the salesperson (salespersonCode -> ownerid, through SALESPEOPLE, never null)
and the currency (currencyCode <-> transactioncurrencyid, through CURRENCY; a currency that is not coupled, such as
the CRM's base currency, gives a blank code), and maps payment terms codes to the account's option set. CONTACT looks
up its company (companyNumber <-> parentcustomerid, through CUSTOMER)."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Demo

pytestmark = pytest.mark.e2e


def _couple_salespeople(demo: Demo) -> None:
    """(Run for real once per worker on the same files, copied back after: ``Demo.replay``.)"""

    def steps() -> None:
        report = demo.coupler("match", "SALESPEOPLE", "--json").json()
        assert report["job"]["counters"]["coupled"] == 6, report

    demo.replay("couple_salespeople", steps)


def _match_currencies(demo: Demo) -> None:
    """EUR is on both sides; GBP, DKK and CAD stay unmatched (exit 1) until a full synchronization creates them."""

    def steps() -> None:
        report = demo.coupler("match", "CURRENCY", "--json", expect=1).json()
        assert report["job"]["counters"]["coupled"] == 1, report

    demo.replay("match_currencies", steps)


def _couple_currencies(demo: Demo) -> None:
    _match_currencies(demo)

    def steps() -> None:
        report = demo.coupler("sync", "CURRENCY", "--full", "--json").json()
        assert report["job"]["counters"]["inserted"] == 3, report

    demo.replay("couple_currencies", steps)


def _user_id(demo: Demo, code: str) -> str:
    """The CRM user of the ERP salesperson with this code (the same person, by name)."""
    [person] = demo.query(demo.erp, 'SELECT displayName FROM "salespeoplePurchasers" WHERE code = ?', (code,))
    [user] = demo.query(demo.crm, "SELECT systemuserid FROM systemuser WHERE fullname = ?", (person["displayName"],))
    return str(user["systemuserid"])


def _currency_id(demo: Demo, code: str) -> str:
    [row] = demo.query(demo.crm, "SELECT transactioncurrencyid FROM transactioncurrency WHERE isocurrencycode = ?",
                       (code,))  # fmt: skip
    return str(row["transactioncurrencyid"])


def _codes(demo: Demo) -> list[str]:
    return [row["code"] for row in demo.query(demo.erp, 'SELECT code FROM "salespeoplePurchasers" ORDER BY code')]


def _lonely(demo: Demo, **where: Any) -> dict[str, Any]:
    """An active customer no account resembles, whose columns hold the given values (None: blank)."""
    for number in demo.lonely_customers():
        customer = demo.customer(number)
        if all(customer[column] == value for column, value in where.items()):
            return customer
    raise AssertionError(f"the demo has no customer without an account with {where}")


def _twin(demo: Demo) -> tuple[str, str]:
    """(number, account name) of a customer whose account holds exactly its values (name and phone alike)."""
    for number, name in demo.matched_customers():
        if demo.account(name)["telephone1"] == demo.customer(number)["phoneNumber"]:
            return number, name
    raise AssertionError("the demo has no customer whose account is its exact copy")


def _errors(result: Any, mapping: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(f"error {mapping}")]


def test_the_salesperson_reaches_the_owner_once_salespeople_are_coupled(demo: Demo) -> None:
    _couple_salespeople(demo)
    customer = _lonely(demo)

    created = demo.coupler("couple", "CUSTOMER", customer["number"], "--create", "--json").json()

    assert (created["job"]["counters"]["inserted"], created["job"]["counters"]["failed"]) == (1, 0)
    account = demo.account(customer["displayName"])
    assert account["ownerid"] == _user_id(demo, customer["salespersonCode"])

    other = next(code for code in _codes(demo) if code != customer["salespersonCode"])
    demo.execute(demo.erp, 'UPDATE customers SET "salespersonCode" = ? WHERE id = ?', (other, customer["id"]))
    assert "1 modified" in demo.coupler("sync", "CUSTOMER").stdout
    assert demo.account_by_id(account["accountid"])["ownerid"] == _user_id(demo, other)

    # not_null: a customer without a salesperson does not clear the account's owner
    demo.execute(demo.erp, 'UPDATE customers SET "salespersonCode" = NULL, city = ? WHERE id = ?',
                 ("Leeds", customer["id"]))  # fmt: skip
    demo.coupler("sync", "CUSTOMER")
    after = demo.account_by_id(account["accountid"])
    assert (after["address1_city"], after["ownerid"]) == ("Leeds", _user_id(demo, other))


def test_a_customer_whose_salesperson_is_not_coupled_waits_and_then_goes_through_by_itself(demo: Demo) -> None:
    _couple_currencies(demo)
    number, name = _twin(demo)
    customer = demo.customer(number)
    owner = demo.account(name)["ownerid"]
    other = next(code for code in _codes(demo) if code != customer["salespersonCode"])
    demo.execute(demo.erp, 'UPDATE customers SET "salespersonCode" = ? WHERE id = ?', (other, customer["id"]))

    first = demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local", expect=1)

    [error] = _errors(first, "CUSTOMER")
    assert f"Business Central Customer {number} " in error
    assert f": Salesperson Code '{other}' refers to a SALESPEOPLE record" in error
    assert "not coupled yet" in error and "retried on the next run" in error
    assert demo.account(name)["ownerid"] == owner, "nothing was written"

    for _ in range(2):  # it fails on every run until the salesperson is coupled, but is never skipped
        again = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()
        [report] = again
        assert report["job"]["counters"]["failed"] == 1 and "SALESPEOPLE" in report["errors"][0]["message"]
    status = demo.coupler("status", "CUSTOMER", number, "--json").json()["coupling"]
    assert status["skipped"] is False and status["to_integration_result"] == "failure"
    assert demo.coupler("skipped", "--json").json() == []

    _couple_salespeople(demo)
    reports = {report["job"]["mapping"]: report for report in demo.coupler("sync", "--json").json()}

    assert (reports["CUSTOMER"]["job"]["counters"]["modified"], reports["CUSTOMER"]["job"]["counters"]["failed"]) == (
        1,
        0,
    )
    assert demo.account(name)["ownerid"] == _user_id(demo, other)
    status = demo.coupler("status", "CUSTOMER", number, "--json").json()["coupling"]
    assert status["to_integration_result"] == "success" and status["last_error"] is None


def test_payment_terms_become_the_option_value_and_back(demo: Demo) -> None:
    _couple_salespeople(demo)
    customer = _lonely(demo)
    demo.execute(demo.erp, 'UPDATE customers SET "paymentTermsCode" = ? WHERE id = ?', ("30 DAYS", customer["id"]))

    demo.coupler("couple", "CUSTOMER", customer["number"], "--create")

    account = demo.account(customer["displayName"])
    assert account["paymenttermscode"] == 1

    demo.execute(demo.crm, "UPDATE account SET paymenttermscode = 3 WHERE accountid = ?", (account["accountid"],))
    assert "1 modified" in demo.coupler("sync", "CUSTOMER").stdout
    assert demo.customer(customer["number"])["paymentTermsCode"] == "CM"

    # trimmed and upper-cased on the way: " 14 days" is the code 14 DAYS
    demo.execute(demo.erp, 'UPDATE customers SET "paymentTermsCode" = ? WHERE id = ?', (" 14 days", customer["id"]))
    demo.coupler("sync", "CUSTOMER")
    assert demo.account_by_id(account["accountid"])["paymenttermscode"] == 2

    demo.execute(demo.erp, 'UPDATE customers SET "paymentTermsCode" = ? WHERE id = ?', ("45 DAYS", customer["id"]))
    rejected = demo.coupler("sync", "CUSTOMER", expect=1)
    [error] = _errors(rejected, "CUSTOMER")
    assert "Payment Terms Code: options: '45 DAYS' is not a value the mapping knows" in error
    assert "'30 DAYS'" in error and "'COD'" in error
    assert demo.account_by_id(account["accountid"])["paymenttermscode"] == 2, "nothing was written"


def test_currencies_are_looked_up_and_the_base_currency_is_a_blank_code(demo: Demo) -> None:
    _couple_salespeople(demo)
    _match_currencies(demo)
    pounds, local = _lonely(demo, currencyCode="GBP"), _lonely(demo, currencyCode=None)

    # towards the CRM a currency must be coupled first: the customer is not created in the base currency by mistake
    waiting = demo.coupler("couple", "CUSTOMER", pounds["number"], "--create", expect=1)
    [error] = _errors(waiting, "CUSTOMER")
    assert "Currency Code 'GBP' refers to a CURRENCY record that is not coupled yet" in error
    assert demo.query(demo.crm, "SELECT * FROM account WHERE name = ?", (pounds["displayName"],)) == []

    demo.coupler("sync", "CURRENCY", "--full")  # GBP, DKK and CAD are created in the CRM and coupled
    for customer in (pounds, local):
        demo.coupler("couple", "CUSTOMER", customer["number"], "--create")

    assert demo.account(pounds["displayName"])["transactioncurrencyid"] == _currency_id(demo, "GBP")
    assert demo.account(local["displayName"])["transactioncurrencyid"] is None

    # an account in the CRM's base currency (USD, not coupled: the ERP does not list its local currency)
    usd = _currency_id(demo, "USD")
    name = next(n for n in demo.crm_only_accounts() if demo.account(n)["transactioncurrencyid"] == usd)
    demo.coupler("couple", "CUSTOMER", name, "--create", "--from", "integration")
    [created] = demo.query(demo.erp, "SELECT * FROM customers WHERE displayName = ?", (name,))
    assert created["currencyCode"] is None, "clear_on_failed_lookup: the local currency is a blank code"

    # from the CRM: a coupled currency becomes its code
    eur = _currency_id(demo, "EUR")
    demo.execute(demo.crm, "UPDATE account SET transactioncurrencyid = ? WHERE name = ?", (eur, name))
    demo.coupler("sync", "CUSTOMER")
    assert demo.customer(created["number"])["currencyCode"] == "EUR"


def test_a_contact_refers_to_the_account_of_its_customer(demo: Demo) -> None:
    _couple_salespeople(demo)
    _couple_currencies(demo)
    persons = demo.query(demo.erp, "SELECT * FROM contacts WHERE type = 'Person'")
    lonely = set(demo.lonely_customers())
    numbers = sorted({p["companyNumber"] for p in persons} & lonely)
    coupled, waiting = numbers[0], numbers[1]
    customer = demo.customer(coupled)
    demo.coupler("couple", "CUSTOMER", coupled, "--create")
    account_id = demo.account(customer["displayName"])["accountid"]
    person = next(p for p in persons if p["companyNumber"] == coupled)

    demo.coupler("couple", "CONTACT", person["number"], "--create")

    [contact] = demo.query(demo.crm, "SELECT * FROM contact WHERE emailaddress1 = ?", (person["email"],))
    assert contact["parentcustomerid"] == account_id
    assert (contact["firstname"], contact["lastname"]) == (person["firstName"], person["surname"])

    # a contact whose customer is not coupled yet is not created; the error names the mapping to couple first
    stranger = next(p for p in persons if p["companyNumber"] == waiting)
    refused = demo.coupler("couple", "CONTACT", stranger["number"], "--create", expect=1)
    [error] = _errors(refused, "CONTACT")
    assert f"Company No. '{waiting}' refers to a CUSTOMER record that is not coupled yet" in error
    assert demo.query(demo.crm, "SELECT * FROM contact WHERE emailaddress1 = ?", (stranger["email"],)) == []

    # and back: a CRM contact moved to another coupled account takes that customer's number
    demo.coupler("couple", "CUSTOMER", waiting, "--create")
    other = demo.account(demo.customer(waiting)["displayName"])["accountid"]
    demo.execute(demo.crm, "UPDATE contact SET parentcustomerid = ? WHERE contactid = ?", (other, contact["contactid"]))
    demo.coupler("sync", "CONTACT")
    assert demo.query(demo.erp, "SELECT * FROM contacts WHERE id = ?", (person["id"],))[0]["companyNumber"] == waiting
