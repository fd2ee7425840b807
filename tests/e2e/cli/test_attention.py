"""What needs a user's attention, on the demo through the real CLI: merged changes and parked conflicts (conflicts,
resolve), conflict policies, deletions (pending deletions, approve, restore policies), skipped records (skipped,
retry, restore)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .support import Demo, Result

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class _Coupled:
    """A demo whose first matched customer is coupled and synchronized with its account (the salespeople and the
    currencies it looks up coupled first): (number, customer id, account id) and the folder holding its files."""

    directory: Path
    keys: tuple[str, str, str]


@pytest.fixture(scope="module")
def coupled(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> _Coupled:
    """The coupling the tests start from, made once through the real CLI (four commands); each test copies it."""
    demo = Demo(directory=Path(shutil.copytree(demo_template, tmp_path_factory.mktemp("attention") / "demo")))
    assert (
        demo.coupler("match", "SALESPEOPLE", "--sync-after", "integration", "--json").json()["job"]["counters"][
            "coupled"
        ]
        == 6
    )
    demo.coupler("match", "CURRENCY", expect=1)  # EUR on both sides, the others unmatched
    demo.coupler("sync", "CURRENCY", "--full")
    number, name = demo.matched_customers()[0]
    demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local")
    return _Coupled(demo.directory, (number, str(demo.customer(number)["id"]), str(demo.account(name)["accountid"])))


def _coupled_customer(demo: Demo, coupled: _Coupled) -> tuple[str, str, str]:
    """(number, customer id, account id) of a customer coupled and synchronized with its account: the module's
    coupling (``coupled``) copied into the test's demo. Its coupler.toml stays the test's own (a policy a test set
    before plays no part in matching and coupling)."""
    for file in coupled.directory.iterdir():  # erp.db, crm.db, coupler-state.db (and a journal, were one left)
        if file.name != demo.config.name:
            shutil.copyfile(file, demo.directory / file.name)
    return coupled.keys


def _reports(result: Result) -> dict[str, dict[str, Any]]:
    return {report["job"]["mapping"]: report for report in result.json()}


def _couplings(demo: Demo) -> list[dict[str, Any]]:
    return demo.query(demo.state, "SELECT * FROM coupler_couplings WHERE mapping = 'CUSTOMER'")


# merges and conflicts -------------------------------------------------------------------------------------------


def test_changes_to_different_fields_on_both_sides_merge(demo: Demo, coupled: _Coupled) -> None:
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))
    demo.execute(demo.crm, "UPDATE account SET telephone1 = '+44 1904 000000' WHERE accountid = ?", (account_id,))

    reports = _reports(demo.coupler("sync", "--json"))

    assert (
        reports["CUSTOMER"]["job"]["counters"]["modified"],
        reports["CUSTOMER"]["job"]["counters"]["conflicts"],
    ) == (2, 0)
    customer, account = demo.customer(number), demo.account_by_id(account_id)
    assert (customer["city"], customer["phoneNumber"]) == ("York", "+44 1904 000000")
    assert (account["address1_city"], account["telephone1"]) == ("York", "+44 1904 000000")
    assert demo.coupler("conflicts", "--json").json() == []


def test_a_conflict_is_parked_and_resolved_field_by_field(demo: Demo, coupled: _Coupled) -> None:
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    before = demo.customer(number)
    demo.execute(demo.erp, "UPDATE customers SET city = 'York', phoneNumber = '+44 1904 000001', "
                           "website = 'www.york.example' WHERE id = ?", (customer_id,))  # fmt: skip
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull', telephone1 = '+44 1482 000002', "
                           "emailaddress1 = 'hull@example.com' WHERE accountid = ?", (account_id,))  # fmt: skip
    parked = (demo.customer(number), demo.account_by_id(account_id))

    first = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()

    [report] = first
    assert (report["job"]["counters"]["conflicts"], report["job"]["counters"]["modified"]) == (1, 0)
    assert (demo.customer(number), demo.account_by_id(account_id)) == parked, "a parked conflict writes nothing"
    shown = demo.coupler("conflicts").stdout
    assert "Business Central value" in shown and "Dynamics 365 Sales value" in shown, shown
    assert not re.search(r"\b(local|integration) (key|value)\b", shown), "the systems by their names"
    [conflict] = demo.coupler("conflicts", "--json").json()
    assert (conflict["mapping"], conflict["local_key"], conflict["integration_key"]) == (
        "CUSTOMER",
        customer_id,
        account_id,
    )
    assert conflict["job_id"] == report["job"]["id"]
    assert conflict["fields"] == [
        {
            "pair": "city|address1_city",
            "local_field": "city",
            "integration_field": "address1_city",
            "local_value": "York",
            "integration_value": "Hull",
            "last_local": before["city"],
            "last_integration": before["city"],
        },
        {
            "pair": "phoneNumber|telephone1",
            "local_field": "phoneNumber",
            "integration_field": "telephone1",
            "local_value": "+44 1904 000001",
            "integration_value": "+44 1482 000002",
            "last_local": before["phoneNumber"],
            "last_integration": before["phoneNumber"],
        },
    ]
    demo.execute(demo.erp, "UPDATE customers SET postalCode = 'YO1 7HH' WHERE id = ?", (customer_id,))
    [again] = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()
    assert again["job"]["counters"]["conflicts"] == 1 and again["errors"] == [], (
        "still parked; its error is logged once"
    )
    assert demo.account_by_id(account_id) == parked[1], "still nothing written"

    city = demo.coupler("resolve", "CUSTOMER", number, "--use", "local", "--field", "city", "--json", expect=1).json()

    assert city["job"]["kind"] == "resolve"
    assert demo.account_by_id(account_id)["address1_city"] == "York"
    [left] = demo.coupler("conflicts", "--json").json()
    assert [f["local_field"] for f in left["fields"]] == ["phoneNumber"], "the other field stays parked"
    assert demo.customer(number)["phoneNumber"] == "+44 1904 000001"

    wrong = demo.coupler("resolve", "CUSTOMER", number, "--use", "local", "--field", "city", expect=2)
    assert "city is not in conflict" in wrong.stderr and "phoneNumber" in wrong.stderr

    demo.coupler("resolve", "CUSTOMER", account_id, "--use", "integration", "--json")

    assert demo.coupler("conflicts", "--json").json() == []
    customer, account = demo.customer(number), demo.account_by_id(account_id)
    assert (customer["city"], account["address1_city"]) == ("York", "York")
    assert (customer["phoneNumber"], account["telephone1"]) == ("+44 1482 000002", "+44 1482 000002")
    # the changes that did not conflict were merged once the conflict was settled
    assert (account["websiteurl"], customer["email"]) == ("www.york.example", "hull@example.com")
    reports = _reports(demo.coupler("sync", "--json"))
    assert all(
        report["job"]["counters"]["modified"] == report["job"]["counters"]["failed"] == 0 for report in reports.values()
    ), reports


@pytest.mark.parametrize(("policy", "city"), [("local-wins", "York"), ("integration-wins", "Hull")])
def test_an_update_conflict_policy_picks_the_winner(demo: Demo, coupled: _Coupled, policy: str, city: str) -> None:
    demo.configure("CUSTOMER", "update_conflict", policy)
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull' WHERE accountid = ?", (account_id,))

    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()

    assert (report["job"]["counters"]["conflicts"], report["job"]["counters"]["modified"]) == (0, 1)
    assert demo.customer(number)["city"] == demo.account_by_id(account_id)["address1_city"] == city
    assert demo.coupler("conflicts", "--json").json() == []


# deletions --------------------------------------------------------------------------------------------------------


def test_a_deleted_account_waits_for_approval_to_delete_its_customer(demo: Demo, coupled: _Coupled) -> None:
    demo.configure("CUSTOMER", "delete", "propagate")
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))

    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()

    assert report["job"]["counters"]["failed"] == 0 and report["job"]["counters"]["deleted"] == 0
    waiting = (
        "its coupled Dynamics 365 Sales Account no longer exists; deleting this record too waits for your approval"
    )
    assert waiting in report["errors"][0]["message"]
    assert demo.customer(number)["city"] == "York", "nothing is deleted before approval"
    [pending] = demo.coupler("deletions", "--json").json()
    assert {k: pending[k] for k in ("mapping", "side", "deleted_key", "survivor_key", "reported")} == {
        "mapping": "CUSTOMER",
        "side": "integration",
        "deleted_key": account_id,
        "survivor_key": customer_id,
        "reported": False,
    }
    assert account_id in demo.coupler("deletions").stdout

    approved = demo.coupler("approve", "CUSTOMER", customer_id, "--json").json()

    assert (
        approved["job"]["kind"],
        approved["job"]["counters"]["deleted"],
        approved["job"]["counters"]["uncoupled"],
    ) == ("delete", 1, 1)
    assert demo.query(demo.erp, "SELECT * FROM customers WHERE id = ?", (customer_id,)) == []
    assert _couplings(demo) == []
    assert demo.coupler("deletions", "--json").json() == []


def test_a_missing_partner_is_reported_once_per_job(demo: Demo, coupled: _Coupled) -> None:
    """A coupling that failed last time is retried first; the same run then reads the record again if it changed.
    A partner found missing in the retry must not be reported (and counted) a second time."""
    demo.configure("CUSTOMER", "delete", "propagate")
    _, customer_id, account_id = _coupled_customer(demo, coupled)
    demo.execute(demo.erp, "UPDATE customers SET email = 'not an email' WHERE id = ?", (customer_id,), checks=False)
    demo.coupler("sync", "CUSTOMER", expect=1)  # rejected by the CRM: the coupling's last result is a failure
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))

    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()

    assert len(demo.coupler("deletions", "--json").json()) == 1
    assert [e["message"] for e in report["errors"]].count(report["errors"][0]["message"]) == 1, report["errors"]
    assert report["job"]["counters"]["skipped"] == 1, report["job"]["counters"]


def test_approve_takes_either_key_like_the_other_commands(demo: Demo, coupled: _Coupled) -> None:
    demo.configure("CUSTOMER", "delete", "propagate")
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))
    demo.coupler("sync", "CUSTOMER")

    approved = demo.coupler("approve", "CUSTOMER", number, "--json").json()  # the customer's number

    assert approved["job"]["counters"]["deleted"] == 1
    assert demo.query(demo.erp, "SELECT * FROM customers WHERE id = ?", (customer_id,)) == []


def test_a_pending_deletion_can_be_refused_by_restoring_the_record(demo: Demo, coupled: _Coupled) -> None:
    demo.configure("CUSTOMER", "delete", "propagate")
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    name = demo.customer(number)["displayName"]
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))
    demo.coupler("sync", "CUSTOMER")
    assert len(demo.coupler("deletions", "--json").json()) == 1

    restored = demo.coupler("restore", "CUSTOMER", number, "--json").json()

    assert restored["job"]["counters"]["inserted"] == 1
    account = demo.account(name)
    assert [c["integration_key"] for c in _couplings(demo)] == [account["accountid"]]
    assert demo.coupler("deletions", "--json").json() == [], "the restored record is no longer to be deleted"
    demo.coupler("approve", "CUSTOMER", "--all")
    assert demo.customer(number)["id"] == customer_id, "approving what is left deletes nothing"


def test_deletion_conflict_restore_recreates_a_deleted_account(demo: Demo, coupled: _Coupled) -> None:
    demo.configure("CUSTOMER", "deletion_conflict", "restore")
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    customer = demo.customer(number)
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))

    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()

    assert (report["job"]["counters"]["inserted"], report["job"]["counters"]["failed"]) == (1, 0)
    account = demo.account(customer["displayName"])
    assert account["accountid"] != account_id and account["address1_city"] == "York"
    assert [(c["local_key"], c["integration_key"]) for c in _couplings(demo)] == [(customer_id, account["accountid"])]
    reports = _reports(demo.coupler("sync", "--json"))
    assert reports["CUSTOMER"]["job"]["counters"]["inserted"] == reports["CUSTOMER"]["job"]["counters"]["failed"] == 0


# skipped records --------------------------------------------------------------------------------------------------


def test_a_record_rejected_twice_is_skipped_until_it_is_retried(demo: Demo, coupled: _Coupled) -> None:
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    # the ERP lets this e-mail address through (its check is switched off here); the CRM refuses it
    demo.execute(demo.erp, "UPDATE customers SET email = 'not an email' WHERE id = ?", (customer_id,), checks=False)

    for _ in range(2):  # the second run retries it first, as a failed record
        [failed] = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()
        assert failed["job"]["counters"]["failed"] == 1

    [skipped] = demo.coupler("skipped", "--json").json()
    assert {k: v for k, v in skipped.items() if k != "error"} == {
        "mapping": "CUSTOMER",
        "local_key": customer_id,
        "integration_key": account_id,
        "local_exists": True,
        "integration_exists": True,
        "coupled": True,
    }
    assert "ck_account_emailaddress1_email" in skipped["error"] and number in skipped["error"]
    listed = demo.coupler("skipped").stdout
    assert "coupler retry" in listed and re.search(r"mapping\W+Business Central\W+Dynamics 365 Sales\W+error", listed)

    demo.execute(demo.erp, "UPDATE customers SET email = 'orders@example.com' WHERE id = ?", (customer_id,))
    [still] = demo.coupler("sync", "CUSTOMER", "--json").json()
    assert (still["job"]["counters"]["skipped"], still["job"]["counters"]["modified"]) == (1, 0), (
        "left out, even when it changes"
    )

    retried = demo.coupler("retry", "CUSTOMER", number, "--json").json()

    assert "1 skipped record will be retried by the next run." in retried["job"]["message"]
    assert demo.coupler("skipped", "--json").json() == []
    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()
    assert (report["job"]["counters"]["modified"], report["job"]["counters"]["failed"]) == (1, 0)
    assert demo.account_by_id(account_id)["emailaddress1"] == "orders@example.com"


def test_restore_recreates_the_deleted_partner_of_a_skipped_record(demo: Demo, coupled: _Coupled) -> None:
    number, customer_id, account_id = _coupled_customer(demo, coupled)
    customer = demo.customer(number)
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (account_id,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE id = ?", (customer_id,))
    for _ in range(2):  # the default deletion policy fails the record; the same failure twice skips it
        [failed] = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()
        assert "its coupled Dynamics 365 Sales Account was deleted" in failed["errors"][0]["message"]

    [skipped] = demo.coupler("skipped", "--json").json()
    assert (skipped["local_exists"], skipped["integration_exists"]) == (True, False)
    assert f"{account_id} (deleted)" in demo.coupler("skipped").stdout

    restored = demo.coupler("restore", "CUSTOMER", number, "--json").json()

    assert (restored["job"]["kind"], restored["job"]["counters"]["inserted"]) == ("restore", 1)
    account = demo.account(customer["displayName"])
    assert account["address1_city"] == "York" and account["accountid"] != account_id
    assert [c["integration_key"] for c in _couplings(demo)] == [account["accountid"]]
    assert demo.coupler("skipped", "--json").json() == []
    status = demo.coupler("status", "CUSTOMER", number, "--json").json()
    assert status["integration"] is not None and status["coupling"]["skipped"] is False


def test_an_uncoupled_record_that_cannot_be_created_twice_is_skipped(demo: Demo, coupled: _Coupled) -> None:
    """The CRM-only account whose name is too long for the ERP: a full synchronization cannot create its customer."""
    _coupled_customer(demo, coupled)
    [long_name] = [n for n in _account_names(demo) if len(n) > 100]
    account_id = demo.account(long_name)["accountid"]

    for _ in range(2):
        report = demo.coupler("sync", "CUSTOMER", "--full", "--json", expect=1).json()
        failed = [e for e in report["errors"] if e["integration_key"] == account_id]
        assert (
            len(failed) == 1
            and f"Name is {len(long_name)} characters; Business Central allows 100." in (failed[0]["message"])
        )

    skipped = demo.coupler("skipped", "--json").json()
    assert [(s["local_key"], s["integration_key"], s["coupled"], s["integration_exists"]) for s in skipped] == [
        (None, account_id, False, True)
    ]
    again = demo.coupler("sync", "CUSTOMER", "--full", "--json").json()
    assert again["job"]["counters"]["skipped"] == 1 and again["job"]["counters"]["failed"] == 0

    demo.coupler("retry", "CUSTOMER", "--all")
    assert demo.coupler("skipped", "--json").json() == []


def test_retry_takes_an_uncoupled_skipped_record_by_its_key(demo: Demo, coupled: _Coupled) -> None:
    _coupled_customer(demo, coupled)
    [long_name] = [n for n in _account_names(demo) if len(n) > 100]
    account_id = demo.account(long_name)["accountid"]
    for _ in range(2):
        demo.coupler("sync", "CUSTOMER", "--full", expect=1)
    assert [s["integration_key"] for s in demo.coupler("skipped", "--json").json()] == [account_id]

    retried = demo.coupler("retry", "CUSTOMER", account_id, "--json").json()  # exit 0: nothing failed

    assert retried["job"]["counters"]["failed"] == 0 and retried["errors"] == [], retried["errors"]
    assert "1 skipped record will be retried by the next run." in retried["job"]["message"]
    assert demo.coupler("skipped", "--json").json() == []


def _account_names(demo: Demo) -> list[str]:
    rows = demo.query(demo.crm, "SELECT name FROM account WHERE statecode = 0 AND customertypecode = 3")
    return [row["name"] for row in rows]


# notices --------------------------------------------------------------------------------------------------------


def test_the_first_synchronization_after_coupling_overwrites_without_a_warning(demo: Demo) -> None:
    """A pair coupled a moment ago has no last synchronization, so nothing "changed since the last synchronization"
    on the target: the data of the side the user chose is written without an overwrite notice."""
    demo.coupler("match", "SALESPEOPLE")
    demo.coupler("match", "CURRENCY", expect=1)
    demo.coupler("sync", "CURRENCY", "--full")
    number, name = next(
        (n, a) for n, a in demo.matched_customers() if demo.account(a)["telephone1"] != demo.customer(n)["phoneNumber"]
    )

    report = demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local", "--json").json()

    assert report["job"]["counters"]["modified"] == 1
    assert "overwrote" not in (report["job"]["message"] or ""), report["job"]["message"]


def test_a_forced_synchronization_names_each_overwritten_field_once(demo: Demo, coupled: _Coupled) -> None:
    """CUSTOMER maps currencyCode/transactioncurrencyid with two one-way field mappings (a lookup each way)."""
    number, _, account_id = _coupled_customer(demo, coupled)
    other = demo.query(demo.crm, "SELECT transactioncurrencyid FROM transactioncurrency WHERE isocurrencycode = 'DKK'")
    demo.execute(demo.crm, "UPDATE account SET telephone1 = '+45 1', transactioncurrencyid = ? WHERE accountid = ?",
                 (other[0]["transactioncurrencyid"], account_id))  # fmt: skip

    report = demo.coupler("sync", "CUSTOMER", number, "--direction", "to-integration", "--json").json()

    assert report["job"]["counters"]["modified"] == 1
    message = report["job"]["message"] or ""
    assert "overwrote" in message and "Phone No." in message
    assert message.count("Currency Code") == 1, message
