"""The seeded Business Central tenant behind the strict server: the LCY on customers and vendors, read-only entity
sets, contactsInformation, table relations, the salesperson's code and a tenant before Business Central 26
(src/coupler/testing/business_central/rules.py cites the sources)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coupler.testing import business_central_app, serve
from coupler.testing.tenant.business_central import BC_COMPANY, bc_id, business_central_tenant

BLANK = "00000000-0000-0000-0000-000000000000"
ROOT = "/v2.0/tenant-1/production/api/v2.0/"


def _client(path: Path, version: int) -> Iterator[httpx.Client]:
    tenant = business_central_tenant(path, version=version)
    app = business_central_app(tenant.db_url, companies=tenant.companies, tables=tenant.tables, rules=tenant.rules)
    with serve(app) as url, httpx.Client(base_url=f"{url}{ROOT}companies({BC_COMPANY.id})/", timeout=10) as client:
        yield client


@pytest.fixture
def bc(tmp_path: Path) -> Iterator[httpx.Client]:
    yield from _client(tmp_path / "bc.db", 26)


def one(client: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return dict(body["value"][0] if "value" in body else body)


def error(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["message"])


def test_a_local_currency_customer_answers_the_lcy_code_and_a_blank_currency_id(bc: httpx.Client) -> None:
    adatum = one(bc, "customers", **{"$filter": "number eq 'C00010'"})
    assert (adatum["currencyCode"], adatum["currencyId"]) == ("USD", BLANK)
    trey = one(bc, "customers", **{"$filter": "number eq 'C00020'"})
    assert trey["currencyCode"] == "EUR" and trey["currencyId"] == bc_id("currency", "EUR")
    assert one(bc, "vendors", **{"$filter": "number eq '10000'"})["currencyCode"] == "USD"
    codes = [c["code"] for c in bc.get("currencies").json()["value"]]
    assert sorted(codes) == ["CAD", "EUR", "GBP"]  # no row for the LCY


def test_writing_the_lcy_code_stores_blank_and_an_unknown_code_is_refused(bc: httpx.Client) -> None:
    trey = one(bc, "customers", **{"$filter": "number eq 'C00020'"})
    patched = bc.patch(f"customers({trey['id']})", json={"currencyCode": "USD"}, headers={"If-Match": "*"})
    assert patched.status_code == 200 and patched.json()["currencyId"] == BLANK
    assert patched.json()["currencyCode"] == "USD"
    stored = bc.get("customers", params={"$filter": "currencyId eq " + BLANK, "$select": "number"}).json()
    assert "C00020" in [c["number"] for c in stored["value"]]
    refused = bc.patch(f"customers({trey['id']})", json={"currencyCode": "XXX"}, headers={"If-Match": "*"})
    assert 'The "currencyCode" does not match to a Currency.' in error(refused)
    by_id = bc.patch(
        f"customers({trey['id']})", json={"currencyId": bc_id("currency", "GBP")}, headers={"If-Match": "*"}
    )
    assert by_id.json()["currencyCode"] == "GBP"


def test_company_information_and_general_ledger_setup_are_read_only(bc: httpx.Client) -> None:
    assert one(bc, "companyInformation")["currencyCode"] == "USD"
    setup = one(bc, "generalLedgerSetup")
    assert (setup["localCurrencyCode"], setup["localCurrencySymbol"]) == ("USD", "$")
    assert "not allowed" in error(bc.post("generalLedgerSetup", json={"localCurrencyCode": "EUR"}), 405)
    rate = one(bc, "currencyExchangeRates", **{"$filter": "currencyCode eq 'GBP'"})
    assert (rate["exchangeRateAmount"], rate["relationalExchangeRateAmount"], rate["startingDate"]) == (
        100.0,
        127.0,
        "2026-01-01",
    )
    headers = {"If-Match": "*"}
    assert "not allowed" in error(bc.patch(f"currencyExchangeRates({rate['id']})", json={}, headers=headers), 405)


def test_contacts_information_lists_the_persons_or_the_company_contact(bc: httpx.Client) -> None:
    adatum = bc.get(f"customers({bc_id('customer', 'C00010')})/contactsInformation").json()["value"]
    assert [(c["contactNumber"], c["contactType"], c["relatedType"]) for c in adatum] == [
        ("CT000011", "Person", "Customer"),
        ("CT000012", "Person", "Customer"),
    ]
    assert set(adatum[0]) == {"contactId", "contactNumber", "contactName", "contactType", "relatedId", "relatedType"}
    art = bc.get(f"customers({bc_id('customer', 'C00030')})/contactsInformation").json()["value"]
    assert [(c["contactNumber"], c["contactType"]) for c in art] == [("CT000030", "Company")]
    fabrikam = bc.get(f"vendors({bc_id('vendor', '10000')})/contactsInformation").json()["value"]
    assert [c["contactNumber"] for c in fabrikam] == ["CT000041"]
    assert bc.get(f"customers({bc_id('customer', 'C00080')})/contactsInformation").json()["value"] == []
    post = bc.post(f"customers({bc_id('customer', 'C00010')})/contactsInformation", json={})
    assert post.status_code == 405


def test_a_person_needs_a_company_contact_and_inherits_its_name(bc: httpx.Client) -> None:
    refused = bc.post("contacts", json={"type": "Person", "displayName": "Ann Beebe", "companyNumber": "CT000011"})
    assert "Company No. of table Contact contains a value (CT000011)" in error(refused)
    made = bc.post("contacts", json={"type": "Person", "displayName": "Ann Beebe", "companyNumber": "CT000020"})
    assert made.status_code == 201, made.text
    assert (made.json()["companyName"], made.json()["number"]) == ("Trey Research", "CT000092")
    company = one(bc, "contacts", **{"$filter": "number eq 'CT000011'"})
    assert (company["companyNumber"], company["type"]) == ("CT000010", "Person")


def test_a_salesperson_needs_a_code(bc: httpx.Client) -> None:
    refused = bc.post("salespeoplePurchasers", json={"displayName": "Annette Hill"})
    assert "Code must have a value in Salesperson/Purchaser" in error(refused)
    made = bc.post("salespeoplePurchasers", json={"code": "AH", "displayName": "Annette Hill"})
    assert made.status_code == 201 and made.json()["email"] == ""
    fields = set(made.json()) - {"@odata.etag"}
    assert fields == {"id", "code", "displayName", "email", "email2", "phoneNo", "jobTitle", "commisionPercent",
                      "privacyBlocked", "blocked", "lastModifiedDateTime"}  # fmt: skip


def test_items_base_unit_must_exist_and_vendors_blocked_enum(bc: httpx.Client) -> None:
    desk = one(bc, "items", **{"$filter": "number eq '1896-S'"})
    assert (desk["baseUnitOfMeasureCode"], desk["inventory"]) == ("PCS", -5.0)
    headers = {"If-Match": "*"}
    refused = bc.patch(f"items({desk['id']})", json={"baseUnitOfMeasureCode": "KG"}, headers=headers)
    assert "Base Unit of Measure of table Item contains a value (KG)" in error(refused)
    boxed = bc.patch(f"items({desk['id']})", json={"baseUnitOfMeasureCode": "BOX"}, headers=headers)
    assert boxed.json()["baseUnitOfMeasureId"] == bc_id("unitOfMeasure", "BOX")
    blocked = bc.get("vendors", params={"$filter": "blocked eq 'All'", "$select": "number"}).json()["value"]
    assert [v["number"] for v in blocked] == ["30000"]
    assert "not a valid enumeration" in error(bc.get("vendors", params={"$filter": "blocked eq 'Ship'"}))
    terms = [t["code"] for t in bc.get("paymentTerms").json()["value"]]
    methods = [m["code"] for m in bc.get("shipmentMethods").json()["value"]]
    assert sorted(terms) == ["14 DAYS", "1M(8D)", "30 DAYS", "CM"] and sorted(methods) == [
        "CIF",
        "EXW",
        "FOB",
        "PICKUP",
    ]


def test_before_business_central_26_there_is_no_salespeople_entity(tmp_path: Path) -> None:
    for bc in _client(tmp_path / "bc25.db", 25):
        metadata = httpx.get(str(bc.base_url).split("companies(")[0] + "$metadata").text
        assert "salespeoplePurchasers" not in metadata and 'EntitySet Name="customers"' in metadata
        assert bc.get("salespeoplePurchasers").status_code == 404
        assert bc.get("customers").status_code == 200


def test_the_existing_strictness_stays(bc: httpx.Client) -> None:
    assert "null" in error(bc.get("customers", params={"$filter": "email eq null"}))
    adatum = one(bc, "customers", **{"$filter": "number eq 'C00010'"})
    assert "concurrency token" in error(bc.patch(f"customers({adatum['id']})", json={"displayName": "A"}))
