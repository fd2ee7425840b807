"""The Dataverse connector against the strict test server and the believable tenant: navigation properties,
multi-table lookups, CreateMultiple availability, products, currencies, option sets, companies and the preflight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.domain.mapping import Condition, Operator, TableSpec
from coupler.domain.records import RecordUpdate
from coupler.testing import dataverse_app, serve
from coupler.testing.tenant.dataverse import DataverseTenant, dataverse_tenant, guid

CONTACTS = TableSpec(table="contacts", key="contactid", modified_on="modifiedon")
ACCOUNTS = TableSpec(table="accounts", key="accountid", modified_on="modifiedon")
PRODUCTS = TableSpec(table="products", key="productid", modified_on="modifiedon")
CURRENCIES = TableSpec(table="transactioncurrencies", key="transactioncurrencyid", modified_on="modifiedon")
USERS = TableSpec(table="systemusers", key="systemuserid", modified_on="modifiedon")
TERMS = TableSpec(table="account.paymenttermscode", key="value")
ADATUM = guid("account:Adatum Corporation")


class Counted(httpx.BaseTransport):
    """The real transport, recording each request sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix(API_PATH) for r in self.requests]


@pytest.fixture
def tenant(tmp_path: Path) -> DataverseTenant:
    return dataverse_tenant(tmp_path / "dataverse.db")


@pytest.fixture
def served(tenant: DataverseTenant) -> Iterator[tuple[DataverseConnector, Counted]]:
    app = dataverse_app(tenant.db_url, tables=tenant.tables, app_user_id=tenant.app_user_id)
    counted = Counted()
    with serve(app) as url:
        client = HttpClient(url + API_PATH, system="Sales", headers=HEADERS, transport=counted)
        connector = DataverseConnector(client, display_name="Sales")
        yield connector, counted
        connector.close()


def test_a_custom_lookup_and_a_multi_table_lookup_bind_with_the_learnt_names(
    served: tuple[DataverseConnector, Counted], tenant: DataverseTenant
) -> None:
    connector, _ = served
    row = {
        "lastname": "Sharp",
        "firstname": "Stan",
        "parentcustomerid": ADATUM,
        "parentcustomeridtype": "account",
        "bcbi_companyid": tenant.company_id,
    }
    [result] = connector.insert(CONTACTS, [row])
    assert result.error is None, result.error
    [read] = connector.read(
        CONTACTS, [str(result.key)], columns=["parentcustomerid", "parentcustomeridtype", "bcbi_companyid"]
    )
    assert read.values == {
        "parentcustomerid": ADATUM,
        "parentcustomeridtype": "account",
        "bcbi_companyid": tenant.company_id,
    }
    [moved] = connector.update(
        CONTACTS,
        [
            RecordUpdate(
                key=str(result.key), values={"parentcustomerid": guid("contact:Kim"), "parentcustomeridtype": "contact"}
            )
        ],
    )
    assert moved.error is None, moved.error
    [again] = connector.read(CONTACTS, [str(result.key)], columns=["parentcustomeridtype"])
    assert again.values["parentcustomeridtype"] == "contact"


def test_a_filter_on_the_lookups_table_is_checked_per_row_and_asks_for_the_annotation(
    served: tuple[DataverseConnector, Counted],
) -> None:
    connector, counted = served
    spec = TableSpec(
        table="contacts",
        key="contactid",
        modified_on="modifiedon",
        filter=(
            Condition(field="parentcustomeridtype", op=Operator.EQ, value="account"),
            Condition(field="statecode", op=Operator.EQ, value=0),
        ),
    )
    names = [
        r.values["lastname"]
        for page in connector.changed_since(spec, None, columns=["lastname"], page_size=50)
        for r in page
    ]
    assert sorted(names) == ["Abercrombie", "Townes"], "Nancy Davolio's parent is a contact"
    read = next(r for r in counted.requests if r.url.path.endswith("/contacts"))
    assert "parentcustomeridtype" not in str(read.url)
    assert 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"' in read.headers["Prefer"]


def test_a_company_filter_keeps_the_companys_rows_and_those_of_no_company(
    served: tuple[DataverseConnector, Counted], tenant: DataverseTenant
) -> None:
    connector, counted = served
    other = connector.insert(ACCOUNTS, [{"name": "Other Co", "bcbi_companyid": tenant.company_id}])[0].key
    spec = TableSpec(
        table="accounts",
        key="accountid",
        modified_on="modifiedon",
        filter=(Condition(field="bcbi_companyid", op=Operator.IN, value=[tenant.company_id, None]),),
    )
    keys = {r.key for page in connector.changed_since(spec, None, columns=["name"], page_size=50) for r in page}
    assert other in keys and ADATUM in keys
    read = [r for r in counted.requests if r.url.path.endswith("/accounts") and r.method == "GET"][-1]
    assert read.url.params["$filter"] == (
        f"(_bcbi_companyid_value eq {tenant.company_id} or _bcbi_companyid_value eq null)"
    )


def test_create_multiple_is_asked_once_and_a_table_without_it_gets_a_batch(
    served: tuple[DataverseConnector, Counted],
) -> None:
    connector, counted = served
    rows = [{"fullname": f"User {i}", "internalemailaddress": f"u{i}@cronus.example"} for i in range(3)]
    rows.append({"fullname": "x" * 300})  # too long: only this one fails
    results = connector.insert(USERS, rows)
    assert [r.error is None for r in results] == [True, True, True, False]
    assert not any(p.endswith("CreateMultiple") for p in counted.paths()), "systemuser has no CreateMultiple"
    assert counted.paths().count("$batch") >= 1
    connector.insert(USERS, [{"fullname": "Another"}])
    assert counted.paths().count("sdkmessagefilters") == 1


def test_a_product_created_active_ends_active_with_its_groups_base_unit(
    served: tuple[DataverseConnector, Counted],
) -> None:
    connector, _ = served
    row = {
        "name": "Side Panel",
        "productnumber": "70000",
        "quantitydecimal": 2,
        "defaultuomscheduleid": guid("uomschedule:NAV PCS"),
        "statecode": 0,
        "statuscode": 1,
    }
    [result] = connector.insert(PRODUCTS, [row])
    assert result.error is None, result.error
    [read] = connector.read(PRODUCTS, [str(result.key)], columns=["statecode", "statuscode", "defaultuomid"])
    assert read.values == {"statecode": 0, "statuscode": 1, "defaultuomid": guid("uom:PCS")}


def test_a_new_currency_gets_business_centrals_symbol_and_precision(
    served: tuple[DataverseConnector, Counted],
) -> None:
    connector, _ = served
    row = {"isocurrencycode": "CAD", "currencyname": "Canadian Dollar", "currencysymbol": "", "exchangerate": 1.37}
    [result] = connector.insert(CURRENCIES, [row])
    assert result.error is None, result.error
    [update] = connector.update(CURRENCIES, [RecordUpdate(key=str(result.key), values={"currencysymbol": " "})])
    assert update.error is None, update.error
    [read] = connector.read(CURRENCIES, [str(result.key)], columns=["currencysymbol", "currencyprecision"])
    assert read.values == {"currencysymbol": "CAD", "currencyprecision": 2}


def test_an_option_set_is_a_table_of_values_and_labels(served: tuple[DataverseConnector, Counted]) -> None:
    connector, _ = served
    assert connector.describe("account.paymenttermscode") is not None
    pages = list(connector.changed_since(TERMS, None, columns=["value", "label"], page_size=100))
    assert [(r.key, r.values["label"]) for r in pages[0]][-1] == ("100000000", "30 Days")
    [found] = connector.find(TERMS, {"label": "30 DAYS"}, columns=["label"], case_sensitive=False)
    assert found.key == "100000000", "labels compare case-insensitively, as Business Central matches them"
    assert [r.key for r in connector.find_any(TERMS, "label", ["net 45", "CM"], columns=["label"])] == ["3"]
    [added] = connector.insert(TERMS, [{"label": "14 DAYS"}])
    assert added.key == "100000001" and added.error is None
    [relabelled] = connector.update(TERMS, [RecordUpdate(key="100000001", values={"label": "14 Days"})])
    assert relabelled.error is None
    assert connector.read(TERMS, ["100000001"], columns=["label"])[0].values == {"label": "14 Days"}
    [refused] = connector.delete(TERMS, ["100000001"])
    assert refused.error and "does not delete choices" in refused.error
    [account] = connector.insert(ACCOUNTS, [{"name": "Terms Co", "paymenttermscode": "100000001"}])
    assert account.error is None, account.error
    assert connector.read(ACCOUNTS, [str(account.key)], columns=["paymenttermscode"])[0].values == {
        "paymenttermscode": 100000001
    }


def test_the_preflight_speaks_of_sign_in_currency_products_create_multiple_and_companies(
    served: tuple[DataverseConnector, Counted],
) -> None:
    connector, _ = served
    mapped = {
        "accounts": ["name"],
        "systemusers": ["fullname"],
        "account.paymenttermscode": ["label"],
        "uomschedules": ["name"],
    }
    findings = {f.topic: f for f in connector.preflight(mapped)}
    assert findings["sign-in"].ok and "'# coupler'" in findings["sign-in"].message
    assert findings["base currency"].message.startswith("Base currency USD (US Dollar)")
    assert "Draft" in findings["products"].message
    assert "Business Central names them: NAV PCS;" in findings["unit groups"].message
    assert "CreateMultiple requests" in findings["CreateMultiple accounts"].message
    assert "no CreateMultiple" in findings["CreateMultiple systemusers"].message
    assert findings["bcbi_company"].ok and "CRONUS USA, Inc. (" in findings["bcbi_company"].message
    assert "CreateMultiple account.paymenttermscode" not in findings, "an option set is not created so"
