"""The administrator's sequence with the bc-sales template, against the strict servers seeded as a believable tenant
(coupler.testing.tenant): `init`, `check`, `review`, `match` and full synchronizations as `review` advises, an
incremental run, edits on both sides, and a run that writes nothing. Each request the services refused is named."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from coupler.config.files import FileModel
from coupler.config.writer import render_config
from coupler.templates.bc_sales import BC_SALES_COMMENTS
from coupler.testing import TlsFiles, TokenIssuer
from coupler.testing.tenant import ServedTenant, serve_tenant
from coupler.testing.tenant.dataverse import guid
from e2e.cli.support import run_coupler

from .support import BC_CLIENT, DV_CLIENT, SECRETS, TENANT

pytestmark = pytest.mark.e2e

CREATE_MISSING = ("CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "UNIT OF MEASURE")
"""Business Central's *Create New in Case of No Match* (CDSSetupDefaults: currencies, payment terms, shipment
methods; UNIT OF MEASURE's groups are created by its synchronization)."""
WAITING = re.compile(
    r"Business Central Customer C00030\b[^:]*: Salesperson Code 'PS' refers to a SALESPEOPLE record that is not "
    r"coupled yet: couple it, or synchronize SALESPEOPLE first; this record is retried on the next run\."
)
"""Peter Saddow (PS) has no user in Sales: his customer waits, as it would in Business Central."""
ORDER = (
    "SALESPEOPLE",
    "CURRENCY",
    "PAYMENT TERMS",
    "SHIPMENT METHOD",
    "UNIT OF MEASURE",
    "CUSTOMER",
    "VENDOR",
    "CONTACT",
    "ITEM-PRODUCT",
)


@pytest.fixture
def tenant(tmp_path: Path, issuer: TokenIssuer, tls: TlsFiles) -> Iterator[ServedTenant]:
    with serve_tenant(tmp_path / "servers", auth=issuer, tls=tls) as served:
        yield served


def _configure(tenant: ServedTenant, folder: Path, oauth: str, tls: TlsFiles, *init: str) -> Path:
    """`coupler init --template bc-sales`, then the administrator fills in the URLs and app registrations."""
    run_coupler("init", "--template", "bc-sales", *init, cwd=folder, expect=0)
    written = folder / "coupler.toml"
    data = tomllib.loads(written.read_text(encoding="utf-8"))
    sign_in = {"tenant_id": TENANT, "authority": oauth, "verify": str(tls.ca_file)}
    data["local"].update(
        url=tenant.business_central_url,
        company=tenant.company,
        client_id=BC_CLIENT,
        client_secret="${HTTP_E2E_BC_SECRET}",
        **sign_in,
    )
    data["integration"].update(
        url=tenant.dataverse_url, client_id=DV_CLIENT, client_secret="${HTTP_E2E_DATAVERSE_SECRET}", **sign_in
    )
    written.write_text(render_config(FileModel.model_validate(data), BC_SALES_COMMENTS), encoding="utf-8")
    return written


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _jobs(report: Any) -> list[dict[str, Any]]:
    return report if isinstance(report, list) else report.get("jobs", [report])


def _refused(report: Any) -> list[str]:
    return [e["message"] for job in _jobs(report) for e in job.get("errors", [])]


def _written(report: Any) -> dict[str, int]:
    """Records written per mapping (inserted, modified or deleted on either side)."""
    written = {}
    for job in _jobs(report):
        counters = job["job"]["counters"]
        count = counters["inserted"] + counters["modified"] + counters["deleted"]
        if count:
            written[job["job"]["mapping"]] = count
    return written


def _as_review_advises(
    coupler: Callable[..., Any], coupled: Callable[[str], list[Any]], only: tuple[str, ...] = ORDER
) -> None:
    """Each mapping in order (``only`` those), as `coupler review` advises: match what both sides share (creating
    what Business Central creates when nothing matches), then a full synchronization for the rest."""
    review = {r["mapping"]: r for r in coupler("review").json()}
    assert list(review) == list(ORDER)
    for mapping in (m for m in ORDER if m in only):
        if review[mapping]["advice"] == "match-based coupling":
            create = ("--create-missing",) if mapping in CREATE_MISSING else ()
            source = "integration" if mapping == "SALESPEOPLE" else "local"
            matched = coupler("match", mapping, *create, "--sync-after", source, expect=None).json()
            unmatched = [
                e["message"]
                for e in matched.get("errors", [])
                if not e["message"].endswith("no match in Dynamics 365 Sales")
            ]
            assert all("nothing to match on" in m for m in unmatched), unmatched
        force = () if coupled(mapping) else ("--force",)  # nothing matched: nothing to duplicate
        full = coupler("sync", mapping, "--full", *force, expect=None).json()
        refused = [e["message"] for e in full.get("errors", [])]
        assert [bool(WAITING.fullmatch(m)) for m in refused] == ([True] if mapping == "CUSTOMER" else []), refused


def rows(database: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(database)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def test_the_administrators_sequence_ends_with_every_record_as_business_central_would_have_it(
    tenant: ServedTenant, tmp_path: Path, oauth: str, tls: TlsFiles
) -> None:
    folder = tmp_path / "admin"
    folder.mkdir()
    config = _configure(tenant, folder, oauth, tls)

    def coupler(*args: str, expect: int | None = 0) -> Any:
        return run_coupler(*args, "--json", "--config", config, cwd=folder, env=SECRETS, expect=expect)

    state = folder / "coupler-state.db"
    bc, dv = tenant.business_central.path, Path(tenant.dataverse.db_url.removeprefix("sqlite:///"))

    def coupled(mapping: str) -> list[dict[str, Any]]:
        return rows(state, "SELECT * FROM coupler_couplings WHERE mapping = ?", mapping)

    check = coupler("check", expect=None).json()
    assert check["ok"], check
    _as_review_advises(coupler, coupled)

    # Peter Saddow (PS) has no user in Sales: his customer waits, as in Business Central, with the reason named
    (waiting,) = [e for e in coupler("errors", "--mapping", "CUSTOMER").json() if "no match" not in e["message"]]
    assert WAITING.fullmatch(waiting["message"]), waiting["message"]
    # ... until the administrator gives him a user in Sales and couples the two
    with closing(sqlite3.connect(dv)) as db, db:
        db.execute(
            "INSERT INTO systemuser (systemuserid, fullname, internalemailaddress, isdisabled, islicensed, "
            "isintegrationuser, accessmode, modifiedon) VALUES (?, 'Peter Saddow', 'peter.saddow@cronus.example', 0, "
            "1, 0, 0, ?)",
            (guid("user:Peter Saddow"), _now()),
        )
    assert coupler("match", "SALESPEOPLE").json()["job"]["counters"]["coupled"] == 1
    first = coupler("sync").json()  # an incremental run of every mapping retries the customer
    assert _refused(first) == [], _refused(first)
    waits = {m["name"]: m["counts"] for m in coupler("mappings").json()}
    assert all(c["failed"] == c["skipped"] == c["conflicts"] == 0 for c in waits.values()), "nothing waits any more"

    annette = rows(bc, "SELECT code, email FROM salespeoplePurchasers WHERE displayName = 'Annette Hill'")
    assert annette == [{"code": "SP NO. 00001", "email": "annette.hill@cronus.example"}], "a code as BC makes one"
    bc_customers = {r["number"]: r for r in rows(bc, "SELECT * FROM customers")}
    customers = {c["local_key"]: c["integration_key"] for c in coupled("CUSTOMER")}
    numbers = {r["id"]: r["number"] for r in bc_customers.values()}
    unblocked = {r["number"] for r in bc_customers.values() if r["blocked"] == ""}
    assert {numbers[key] for key in customers} == unblocked, "every unblocked customer, and no blocked one"
    assert "C00050" not in unblocked and "C00060" not in unblocked
    accounts = {r["accountid"]: r for r in rows(dv, "SELECT * FROM account")}
    assert len(set(customers.values())) == len(customers), "one account per customer"
    names = Counter(a["name"] for a in accounts.values())
    assert max(names.values()) == 1, names
    by_number = {numbers[key]: accounts[account] for key, account in customers.items()}
    base = tenant.dataverse.base_currency_id
    for local_currency in ("C00010", "C00040", "C00080"):
        assert by_number[local_currency]["transactioncurrencyid"] == base, "LCY customers on the base currency"
        assert bc_customers[local_currency]["currencyCode"] == "", "still blank in Business Central"
    currencies = {r["isocurrencycode"]: r for r in rows(dv, "SELECT * FROM transactioncurrency")}
    assert by_number["C00030"]["transactioncurrencyid"] == currencies["GBP"]["transactioncurrencyid"]
    for created, rate in (("GBP", 0.7874015748), ("CAD", 1.3679890561)):
        assert currencies[created]["currencyprecision"] == 2, created
        assert float(currencies[created]["exchangerate"]) == pytest.approx(rate), created
    assert currencies["CAD"]["currencysymbol"] == "CAD", "a blank symbol becomes the ISO code"
    assert by_number["C00010"]["ownerid"] == guid("user:John Roberts")

    options = {
        (r["attribute"], r["label"]): r["value"] for r in rows(dv, "SELECT * FROM _optionsets WHERE entity = 'account'")
    }
    # 30 DAYS coupled to the existing "30 Days" by label, case-insensitively, then relabelled with the code, as
    # Business Central's option synchronization does (UpdateOptionSetMetadata)
    assert options[("paymenttermscode", "30 DAYS")] == 100000000
    for code in ("14 DAYS", "1M(8D)", "CM"):
        assert ("paymenttermscode", code) in options, f"{code} added to the option set"
    assert by_number["C00010"]["paymenttermscode"] == 100000000
    assert by_number["C00020"]["paymenttermscode"] == options[("paymenttermscode", "14 DAYS")]
    assert by_number["C00010"]["address1_freighttermscode"] == 1, "FOB coupled to the existing choice"
    assert by_number["C00080"]["address1_freighttermscode"] is None, "no shipment method: no choice"

    contacts = {r["number"]: r for r in rows(bc, "SELECT * FROM contacts")}
    dv_contacts = {r["contactid"]: r for r in rows(dv, "SELECT * FROM contact")}
    contact_couplings = {c["local_key"]: c["integration_key"] for c in coupled("CONTACT")}
    by_contact = {
        contacts_by_id["number"]: dv_contacts[key]
        for local, key in contact_couplings.items()
        for contacts_by_id in [next(c for c in contacts.values() if c["id"] == local)]
    }
    adatum, trey = by_number["C00010"]["accountid"], by_number["C00020"]["accountid"]
    assert by_contact["CT000011"]["parentcustomerid"] == adatum, "Robert Townes under Adatum"
    assert by_contact["CT000012"]["parentcustomerid"] == adatum, "Stan Sharp created under Adatum"
    assert by_contact["CT000021"]["parentcustomerid"] == trey
    assert "CT000091" not in by_contact, "Pat Coleman's company has no business relation: left alone"
    kim = next(c for c in contacts.values() if c["displayName"] == "Kim Abercrombie")
    litware = next(c for c in contacts.values() if c["type"] == "Company" and c["displayName"] == "Litware, Inc.")
    assert (kim["type"], kim["companyNumber"]) == ("Person", litware["number"]), "under Litware's company contact"
    assert not any(c["displayName"] == "Nancy Davolio" for c in contacts.values()), "her parent is a contact"

    products = {r["productnumber"]: r for r in rows(dv, "SELECT * FROM product")}
    groups = {r["name"]: r["uomscheduleid"] for r in rows(dv, "SELECT * FROM uomschedule")}
    for number, group in (("1896-S", "NAV PCS"), ("1900-S", "NAV PCS"), ("70000", "NAV BOX")):
        product = products[number]
        assert (product["statecode"], product["statuscode"]) == (0, 1), f"{number} Active"
        assert product["defaultuomscheduleid"] == groups[group], number
        assert product["defaultuomid"] and float(product["quantityonhand"]) >= 0, number
    assert float(products["1896-S"]["quantityonhand"]) == 0, "a negative inventory arrives as 0"
    assert "1906-S" not in products, "a blocked item is not created"

    # edits on both sides, then one incremental run carries them, and the next writes nothing
    with closing(sqlite3.connect(bc)) as db, db:
        db.execute(
            "UPDATE customers SET phoneNumber = '+1 425 555 0100', lastModifiedDateTime = ? WHERE number = 'C00010'",
            (_now(),),
        )
        db.execute("UPDATE items SET inventory = -7, lastModifiedDateTime = ? WHERE number = '1900-S'", (_now(),))
    with closing(sqlite3.connect(dv)) as db, db:
        db.execute(
            "UPDATE account SET websiteurl = 'https://trey.example', modifiedon = ? WHERE accountid = ?", (_now(), trey)
        )
    edits = coupler("sync").json()
    assert _refused(edits) == [], _refused(edits)
    assert _written(edits) == {"CUSTOMER": 2, "ITEM-PRODUCT": 1}, _written(edits)
    assert rows(dv, "SELECT telephone1 FROM account WHERE accountid = ?", adatum) == [{"telephone1": "+1 425 555 0100"}]
    assert rows(bc, "SELECT website FROM customers WHERE number = 'C00020'") == [{"website": "https://trey.example"}]
    assert rows(dv, "SELECT quantityonhand FROM product WHERE productnumber = '1900-S'")[0]["quantityonhand"] == 0
    quiet = coupler("sync").json()
    assert _written(quiet) == {}, "the second run writes nothing"

    # a blocked item leaves the filter; Synchronize now on it retires its product, as Business Central does
    # (CRMIntTableSubscriber: UpdateCRMProductStateCodeIfChanged on modify)
    with closing(sqlite3.connect(bc)) as db, db:
        db.execute("UPDATE items SET blocked = 1, lastModifiedDateTime = ? WHERE number = '1900-S'", (_now(),))
    incremental = coupler("sync", "ITEM-PRODUCT").json()
    assert _written(incremental) == {}, "outside the filter: a scheduled run leaves it, as Business Central's does"
    assert coupler("sync", "ITEM-PRODUCT", "1900-S").json()["job"]["counters"]["modified"] == 1
    state_of = rows(dv, "SELECT statecode, statuscode FROM product WHERE productnumber = '1900-S'")
    assert state_of == [{"statecode": 1, "statuscode": 2}], state_of
    assert [r for r in tenant.refusals if r.status not in (412, 429)] == []


def test_one_of_several_companies_reads_its_records_and_those_of_none_and_stamps_what_it_writes(
    tenant: ServedTenant, tmp_path: Path, oauth: str, tls: TlsFiles
) -> None:
    """Several Business Central companies against one Dataverse environment, as Business Central does it: this
    company's configuration (`coupler init --dataverse-company`) leaves another company's accounts alone."""
    dv = Path(tenant.dataverse.db_url.removeprefix("sqlite:///"))
    canada = guid("bcbi_company:CRONUS Canada")
    with closing(sqlite3.connect(dv)) as db, db:
        db.execute(
            "INSERT INTO bcbi_company VALUES (?, '5b0e3c2a-0000-4000-8000-00000000bcb1', 'CRONUS Canada', ?)",
            (canada, _now()),
        )
        db.execute(
            "INSERT INTO account (accountid, name, customertypecode, bcbi_companyid, statecode, statuscode, "
            "modifiedon) VALUES (?, 'Northwind Canada', 3, ?, 0, 1, ?)",
            (guid("account:Northwind Canada"), canada, _now()),
        )
    folder = tmp_path / "usa"
    folder.mkdir()
    company = tenant.dataverse.company_id
    config = _configure(tenant, folder, oauth, tls, "--dataverse-company", company)
    state = folder / "coupler-state.db"

    def coupler(*args: str, expect: int | None = 0) -> Any:
        return run_coupler(*args, "--json", "--config", config, cwd=folder, env=SECRETS, expect=expect)

    def coupled(mapping: str) -> list[dict[str, Any]]:
        return rows(state, "SELECT * FROM coupler_couplings WHERE mapping = ?", mapping)

    check = coupler("check", expect=None).json()
    companies = next(f for f in check["findings"] if f["topic"] == "bcbi_company")
    assert f"CRONUS USA, Inc. ({company})" in companies["message"], "check names the id to configure"
    # the mappings of accounts and contacts and what they look up (vendors, units and products: as in the other test)
    _as_review_advises(
        coupler, coupled, ("SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "CUSTOMER", "CONTACT")
    )

    accounts = {r["accountid"]: r for r in rows(dv, "SELECT * FROM account")}
    customers = {c["integration_key"] for c in coupled("CUSTOMER")}
    assert guid("account:Northwind Canada") not in customers, "another company's account is left alone"
    assert guid("account:Litware, Inc.") in customers, "an account of no company is this company's too"
    assert all(accounts[key]["bcbi_companyid"] == company for key in customers), "written accounts are stamped"
    contacts = {c["integration_key"] for c in coupled("CONTACT")}
    stamped = rows(dv, "SELECT contactid, bcbi_companyid FROM contact")
    assert all(r["bcbi_companyid"] == company for r in stamped if r["contactid"] in contacts)
