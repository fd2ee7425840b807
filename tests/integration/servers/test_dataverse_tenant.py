"""The Dataverse test server as strict as the service, over the believable tenant (testing/tenant/dataverse.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coupler.testing import dataverse_app, serve
from coupler.testing.tenant.dataverse import DataverseTenant, dataverse_tenant, guid

ROOT = "/api/data/v9.2/"
PCS_GROUP, PCS = guid("uomschedule:NAV PCS"), guid("uom:PCS")
PICKLIST = (
    "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='paymenttermscode')/"
    "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
)


@pytest.fixture
def tenant(tmp_path: Path) -> DataverseTenant:
    return dataverse_tenant(tmp_path / "dataverse.db")


@pytest.fixture
def client(tenant: DataverseTenant) -> Iterator[httpx.Client]:
    app = dataverse_app(tenant.db_url, tables=tenant.tables, app_user_id=tenant.app_user_id)
    with serve(app) as url, httpx.Client(base_url=url + ROOT, timeout=10) as http:
        yield http


def error(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


def product(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Side Panel",
        "productnumber": "70000",
        "quantitydecimal": 2,
        "defaultuomscheduleid@odata.bind": f"/uomschedules({PCS_GROUP})",
        "defaultuomid@odata.bind": f"/uoms({PCS})",
        **extra,
    }


def test_a_custom_lookup_binds_only_with_its_schema_name(client: httpx.Client, tenant: DataverseTenant) -> None:
    lowercase = client.post(
        "accounts", json={"name": "X", "bcbi_companyid@odata.bind": f"/bcbi_companies({tenant.company_id})"}
    )
    assert lowercase.status_code == 400
    assert error(lowercase).startswith(
        "An undeclared property 'bcbi_companyid' which only has property annotations in the payload but no property "
        "value was found in the payload."
    )
    right = client.post(
        "accounts",
        json={"name": "X", "bcbi_CompanyId@odata.bind": f"/bcbi_companies({tenant.company_id})"},
        headers={"Prefer": "return=representation"},
    )
    assert right.status_code == 201 and right.json()["_bcbi_companyid_value"] == tenant.company_id


def test_relationships_name_one_navigation_property_per_target(client: httpx.Client) -> None:
    answer = client.get(
        "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships",
        params={"$select": "ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName"},
    ).json()["value"]
    pairs = {
        (r["ReferencingAttribute"], r["ReferencedEntity"]): r["ReferencingEntityNavigationPropertyName"] for r in answer
    }
    assert pairs[("parentcustomerid", "account")] == "parentcustomerid_account"
    assert pairs[("parentcustomerid", "contact")] == "parentcustomerid_contact"
    assert pairs[("bcbi_companyid", "bcbi_company")] == "bcbi_CompanyId"
    assert pairs[("ownerid", "owner")] == "ownerid"


def test_the_table_of_a_multi_table_lookup_comes_only_when_asked(client: httpx.Client) -> None:
    params = {"$select": "fullname,_parentcustomerid_value", "$filter": "lastname eq 'Davolio'"}
    plain = client.get("contacts", params=params).json()["value"][0]
    assert not any("@" in name and "lookuplogicalname" in name for name in plain)
    prefer = {"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'}
    annotated = client.get("contacts", params=params, headers=prefer).json()["value"][0]
    assert annotated["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert client.get("contacts", params={"$select": "parentcustomeridtype"}).status_code == 400


def test_sdkmessagefilters_say_which_tables_have_create_multiple(client: httpx.Client) -> None:
    def available(table: str) -> bool:
        params = {
            "$select": "sdkmessagefilterid",
            "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
            "@message": "'CreateMultiple'",
            "@table": f"'{table}'",
        }
        return bool(client.get("sdkmessagefilters", params=params).json()["value"])

    assert available("account") and available("product") and available("uomschedule")
    assert not available("systemuser") and not available("transactioncurrency")
    refused = client.post(
        "systemusers/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "fullname": "X"}]},
    )
    assert refused.status_code == 400 and "CreateMultiple" in error(refused)


def test_a_product_needs_its_units_starts_draft_and_changes_state_by_valid_pairs(client: httpx.Client) -> None:
    missing = client.post("products", json={k: v for k, v in product().items() if not k.startswith("defaultuomid")})
    assert missing.status_code == 400 and "'defaultuomid'" in error(missing)
    negative = client.post("products", json=product(quantityonhand=-5))
    assert negative.status_code == 400
    assert error(negative) == (
        "A validation error occurred. The value -5 of 'quantityonhand' on record of type 'product' is outside the "
        "valid range. Accepted Values: 0 to 1000000000"
    )
    created = client.post("products", json=product(), headers={"Prefer": "return=representation"}).json()
    assert (created["statecode"], created["statuscode"]) == (2, 0), "Draft"
    url = f"products({created['productid']})"
    wrong = client.patch(url, json={"statecode": 0, "statuscode": 0})
    assert wrong.status_code == 400 and "ProductState.Active" in error(wrong)
    assert client.patch(url, json={"statecode": 0, "statuscode": 1}).status_code == 204
    assert client.get(url, params={"$select": "statecode,statuscode"}).json()["statuscode"] == 1


def test_a_new_unit_group_gets_its_base_unit(client: httpx.Client) -> None:
    group = client.post("uomschedules", json={"name": "NAV BOX", "baseuomname": "BOX"}).headers["odata-entityid"]
    key = group.rsplit("(", 1)[1].rstrip(")")
    units = client.get("uoms", params={"$filter": f"_uomscheduleid_value eq {key} and isschedulebaseuom eq true"})
    assert [(u["name"], u["quantity"]) for u in units.json()["value"]] == [("BOX", 1.0)]


def test_a_currency_needs_its_columns_in_range_and_the_base_rate_stays(
    client: httpx.Client, tenant: DataverseTenant
) -> None:
    gbp = {"isocurrencycode": "GBP", "currencyname": "Pound Sterling", "exchangerate": 0.78, "currencyprecision": 2}
    assert "'currencysymbol'" in error(client.post("transactioncurrencies", json=gbp))
    too_precise = client.post("transactioncurrencies", json={**gbp, "currencysymbol": "£", "currencyprecision": 11})
    assert "Accepted Values: 0 to 10" in error(too_precise)
    assert client.post("transactioncurrencies", json={**gbp, "currencysymbol": "£"}).status_code == 204
    base = client.patch(f"transactioncurrencies({tenant.base_currency_id})", json={"exchangerate": 2})
    assert base.status_code == 400 and "base currency" in error(base)


def test_option_values_are_added_relabelled_and_checked(client: httpx.Client) -> None:
    label = {"LocalizedLabels": [{"Label": "14 DAYS", "LanguageCode": 1033}]}
    target = {"EntityLogicalName": "account", "AttributeLogicalName": "paymenttermscode"}
    added = client.post("InsertOptionValue", json={**target, "Label": label}).json()
    assert added["NewOptionValue"] == 100000001, "after the admin's 100000000"
    relabel = {"LocalizedLabels": [{"Label": "Net 14 days", "LanguageCode": 1033}]}
    assert client.post("UpdateOptionValue", json={**target, "Value": 100000001, "Label": relabel}).status_code == 204
    options = client.get(PICKLIST, params={"$select": "LogicalName", "$expand": "OptionSet"}).json()
    labels = {o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in options["OptionSet"]["Options"]}
    assert labels[100000001] == "Net 14 days" and labels[1] == "Net 30"
    assert client.post("accounts", json={"name": "Y", "paymenttermscode": 100000001}).status_code == 204
    unknown = client.post("accounts", json={"name": "Y", "paymenttermscode": 7})
    assert unknown.status_code == 400 and "outside the valid range" in error(unknown)
