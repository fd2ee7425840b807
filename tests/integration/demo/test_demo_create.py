"""create_demo: the files, the row counts, refusal and replacement, determinism, and the seed data's shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import coupler.demo
from coupler.demo import DemoExists, DemoResult, create_demo
from coupler.domain.errors import CouplerError

from .support import ISO_MS, connect, one, rows

ERP_TABLES = ("customers", "contacts", "salespeoplePurchasers", "currencies", "items")
CRM_TABLES = ("account", "contact", "systemuser", "transactioncurrency", "product")


def test_public_names() -> None:
    assert sorted(coupler.demo.__all__) == ["DemoExists", "DemoResult", "create_demo"]


def test_creates_the_three_files_and_no_state(shared_demo: DemoResult) -> None:
    directory = shared_demo.directory
    assert shared_demo.erp == directory / "erp.db"
    assert shared_demo.crm == directory / "crm.db"
    assert shared_demo.config == directory / "coupler.toml"
    assert all(p.is_file() for p in (shared_demo.erp, shared_demo.crm, shared_demo.config))
    assert not (directory / "coupler-state.db").exists()
    assert sorted(p.name for p in directory.iterdir()) == ["coupler.toml", "crm.db", "erp.db"]


def test_result_is_frozen(shared_demo: DemoResult) -> None:
    with pytest.raises(AttributeError):
        shared_demo.erp = Path("x")  # type: ignore[misc]


def test_counts_match_the_databases(shared_demo: DemoResult) -> None:
    assert set(shared_demo.erp_counts) == set(ERP_TABLES)
    assert set(shared_demo.crm_counts) == set(CRM_TABLES)
    for path, counts in ((shared_demo.erp, shared_demo.erp_counts), (shared_demo.crm, shared_demo.crm_counts)):
        with connect(path) as db:
            for table, count in counts.items():
                assert one(db, f'SELECT count(*) AS n FROM "{table}"')["n"] == count, table


def test_row_counts_are_the_documented_ones(shared_demo: DemoResult) -> None:
    erp, crm = shared_demo.erp_counts, shared_demo.crm_counts
    assert erp["customers"] == 40
    assert erp["salespeoplePurchasers"] == 6
    assert erp["currencies"] == 4  # the local currency, USD, is not listed
    assert erp["items"] == 25
    assert 40 + 60 <= erp["contacts"] <= 40 + 120  # a company contact per customer, 2-3 persons for most
    assert crm["account"] == 15 + 8
    assert crm["systemuser"] == 6 + 2
    assert crm["transactioncurrency"] == 2
    assert 8 <= crm["contact"] <= 30
    assert 8 <= crm["product"] <= 12


def test_every_row_has_a_modified_on_and_a_guid(shared_demo: DemoResult) -> None:
    for path, tables, modified_on in (
        (shared_demo.erp, ERP_TABLES, "lastModifiedDateTime"),
        (shared_demo.crm, CRM_TABLES, "modifiedon"),
    ):
        for table in tables:
            key = "id" if path == shared_demo.erp else f"{table}id"
            for row in rows(path, table):
                assert re.match(ISO_MS, str(row[modified_on])), (table, row[modified_on])
                assert re.match(r"^[0-9a-f-]{36}$", str(row[key])), (table, row[key])


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    result = create_demo(tmp_path)
    before = {p: p.read_bytes() for p in (result.erp, result.crm, result.config)}
    with pytest.raises(DemoExists) as raised:
        create_demo(tmp_path)
    message = str(raised.value)
    assert "erp.db" in message and "crm.db" in message and "coupler.toml" in message
    assert "--force" in message
    assert isinstance(raised.value, CouplerError)
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("name", ["erp.db", "crm.db", "coupler.toml", "coupler-state.db"])
def test_any_one_existing_file_is_enough_to_refuse(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("mine", encoding="utf-8")
    with pytest.raises(DemoExists, match=re.escape(name)):
        create_demo(tmp_path)
    assert (tmp_path / name).read_text(encoding="utf-8") == "mine"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_force_replaces_the_demo_and_removes_the_state(tmp_path: Path) -> None:
    result = create_demo(tmp_path)
    with connect(result.erp) as db:
        db.execute("DELETE FROM customers")
        db.commit()
    result.config.write_text("# edited\n", encoding="utf-8")
    state = tmp_path / "coupler-state.db"
    state.write_bytes(b"old couplings")
    (tmp_path / "coupler-state.db-wal").write_bytes(b"old wal")
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")

    again = create_demo(tmp_path, force=True)

    assert again.erp_counts["customers"] == 40
    assert len(rows(again.erp, "customers")) == 40
    assert again.config.read_text(encoding="utf-8").startswith("# coupler configuration")
    assert not state.exists()
    assert not (tmp_path / "coupler-state.db-wal").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".coupler-demo-")]


def test_creates_a_missing_folder(tmp_path: Path) -> None:
    result = create_demo(tmp_path / "a" / "b")
    assert result.directory == tmp_path / "a" / "b"
    assert result.erp.is_file()


def _contents(result: DemoResult) -> dict[str, object]:
    erp = {t: rows(result.erp, t, without=("lastModifiedDateTime",)) for t in ERP_TABLES}
    crm = {t: rows(result.crm, t, without=("modifiedon",)) for t in CRM_TABLES}
    return {"erp": erp, "crm": crm, "config": result.config.read_text(encoding="utf-8")}


def test_the_same_seed_gives_the_same_demo(tmp_path: Path) -> None:
    first = _contents(create_demo(tmp_path / "one", seed=11))
    second = _contents(create_demo(tmp_path / "two", seed=11))
    assert first == second


def test_another_seed_gives_other_data(tmp_path: Path, shared_demo: DemoResult) -> None:
    seven = _contents(shared_demo)
    eight = _contents(create_demo(tmp_path, seed=8))
    assert seven["config"] == eight["config"]
    assert seven["erp"] != eight["erp"]
    assert seven["crm"] != eight["crm"]


def test_erp_seed_data(shared_demo: DemoResult) -> None:
    customers = rows(shared_demo.erp, "customers")
    blocked = [c["blocked"] for c in customers]
    assert blocked.count("All") >= 2 and blocked.count("Invoice") >= 1
    assert blocked.count("") >= 30
    assert len({c["displayName"] for c in customers}) == 40
    codes = {s["code"] for s in rows(shared_demo.erp, "salespeoplePurchasers")}
    assert {c["salespersonCode"] for c in customers} <= codes
    currencies = {c["code"] for c in rows(shared_demo.erp, "currencies")}
    assert currencies == {"EUR", "GBP", "DKK", "CAD"}
    assert {c["currencyCode"] for c in customers} == currencies | {None}  # blank: the local currency (USD)
    assert all((c["currencyCode"] is None) == (c["country"] == "US") for c in customers)
    assert {c["paymentTermsCode"] for c in customers} <= {"30 DAYS", "14 DAYS", "CM", "60 DAYS", "7 DAYS", "COD"}
    assert len({c["paymentTermsCode"] for c in customers}) >= 4
    contacts = rows(shared_demo.erp, "contacts")
    persons = [c for c in contacts if c["type"] == "Person"]
    companies = {c["companyNumber"]: c for c in contacts if c["type"] == "Company"}
    by_number = {c["number"]: c for c in customers}
    assert len(companies) == 40 and set(companies) == set(by_number)  # a company contact per customer
    assert all(c["companyName"] == by_number[n]["displayName"] for n, c in companies.items())
    per_company: dict[object, int] = {}
    for person in persons:
        assert person["companyNumber"] in by_number, "a contact's companyNumber is its customer's number"
        assert person["companyName"] == by_number[person["companyNumber"]]["displayName"]
        per_company[person["companyNumber"]] = per_company.get(person["companyNumber"], 0) + 1
        assert person["displayName"] == " ".join(
            str(p) for p in (person["firstName"], person["middleName"], person["surname"]) if p
        )
    assert set(per_company.values()) <= {2, 3}
    assert len(per_company) >= 25  # most customers have contact persons
    items = rows(shared_demo.erp, "items")
    assert {i["blocked"] for i in items} == {0, 1}
    assert {i["type"] for i in items} >= {"Inventory", "Service"}


def test_crm_seed_data_overlaps_the_erp_without_couplings(shared_demo: DemoResult) -> None:
    customers = {str(c["displayName"]).lower(): c for c in rows(shared_demo.erp, "customers")}
    accounts = rows(shared_demo.crm, "account")
    same = [a for a in accounts if str(a["name"]).lower() in customers]
    assert len(same) == 15
    assert all(customers[str(a["name"]).lower()]["blocked"] == "" for a in same)
    assert any(a["name"] != customers[str(a["name"]).lower()]["displayName"] for a in same)  # other case
    assert any(a["telephone1"] != customers[str(a["name"]).lower()]["phoneNumber"] for a in same)
    own = [a for a in accounts if str(a["name"]).lower() not in customers]
    assert len(own) == 8
    assert any(a["statecode"] == 1 for a in own) and any(a["customertypecode"] != 3 for a in own)
    assert any(len(str(a["name"])) > 100 for a in own)  # too long for the ERP: a record that will fail

    users = rows(shared_demo.crm, "systemuser")
    names = {s["displayName"] for s in rows(shared_demo.erp, "salespeoplePurchasers")}
    assert names <= {u["fullname"] for u in users}
    assert [u["isintegrationuser"] for u in users].count(1) == 1
    assert [u["isdisabled"] for u in users].count(1) == 1

    currencies = {c["isocurrencycode"]: c for c in rows(shared_demo.crm, "transactioncurrency")}
    assert set(currencies) == {"EUR", "USD"} and currencies["USD"]["exchangerate"] == 1.0  # the base currency
    currency_ids = {c["transactioncurrencyid"]: code for code, c in currencies.items()}
    user_ids = {u["systemuserid"]: u["fullname"] for u in users}
    salespeople = {s["code"]: s["displayName"] for s in rows(shared_demo.erp, "salespeoplePurchasers")}
    terms = {"30 DAYS": 1, "14 DAYS": 2, "CM": 3, "60 DAYS": 4, "7 DAYS": 5, "COD": 6}
    for account in same:  # the shared accounts hold what coupler would write from their customer
        customer = customers[str(account["name"]).lower()]
        assert user_ids[account["ownerid"]] == salespeople[customer["salespersonCode"]]
        assert currency_ids.get(account["transactioncurrencyid"]) == (
            customer["currencyCode"] if customer["currencyCode"] in currencies else None
        )
        assert account["paymenttermscode"] == terms[customer["paymentTermsCode"]]
    assert all(a["paymenttermscode"] in terms.values() for a in own)
    assert any(currency_ids.get(a["transactioncurrencyid"]) == "USD" for a in own), "an account in the base currency"
    item_numbers = {i["number"] for i in rows(shared_demo.erp, "items")}
    products = rows(shared_demo.crm, "product")
    assert 3 <= len([p for p in products if p["productnumber"] in item_numbers]) < len(products)

    account_ids = {a["accountid"] for a in accounts}
    contacts = rows(shared_demo.crm, "contact")
    assert all(c["parentcustomerid"] in account_ids for c in contacts if c["parentcustomerid"])
    persons = {p["email"]: p for p in rows(shared_demo.erp, "contacts") if p["type"] == "Person"}
    names = {a["accountid"]: str(a["name"]).lower() for a in accounts}
    shared_people = [c for c in contacts if c["emailaddress1"] in persons]
    assert shared_people, "some contacts are on both sides (the same e-mail address)"
    for contact in shared_people:  # at the account of the person's customer
        person = persons[contact["emailaddress1"]]
        assert (
            names[contact["parentcustomerid"]]
            == str(customers[str(person["companyName"]).lower()]["displayName"]).lower()
        )
    erp_ids = {r["id"] for t in ERP_TABLES for r in rows(shared_demo.erp, t)}
    crm_ids = {r[f"{t}id"] for t in CRM_TABLES for r in rows(shared_demo.crm, t)}
    assert not erp_ids & crm_ids


def test_databases_pass_integrity_checks(shared_demo: DemoResult) -> None:
    for path in (shared_demo.erp, shared_demo.crm):
        with connect(path) as db:
            assert one(db, "PRAGMA integrity_check")[0] == "ok"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
