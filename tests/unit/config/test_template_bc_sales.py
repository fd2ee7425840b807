"""The bc-sales template: it parses, and holds Business Central's default mappings for Sales field by field."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DataverseSettings
from coupler.config import AppConfig, load_config, parse_config
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Direction, Operator, TableMapping
from coupler.domain.transforms.pipeline import apply_transforms
from coupler.templates import write_template
from coupler.templates.bc_sales import BC_SALES, render_bc_sales

ROOT = Path(__file__).resolve().parents[3]
TO, FROM, BOTH = Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION, Direction.BIDIRECTIONAL

# (mapping, local entity set, integration entity set, direction, depends on) as the reference lists them
# (docs/research/bc-sales-sources.md, section 1)
TABLES = {
    "SALESPEOPLE": ("salespeoplePurchasers", "systemusers", FROM, ()),
    "CURRENCY": ("currencies", "transactioncurrencies", TO, ()),
    "PAYMENT TERMS": ("paymentTerms", "account.paymenttermscode", TO, ()),
    "SHIPMENT METHOD": ("shipmentMethods", "account.address1_freighttermscode", TO, ()),
    "UNIT OF MEASURE": ("unitsOfMeasure", "uomschedules", TO, ()),
    "CUSTOMER": ("customers", "accounts", BOTH, ("SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD")),
    "VENDOR": ("vendors", "accounts", BOTH, ("CURRENCY", "PAYMENT TERMS")),
    "CONTACT": ("contacts", "contacts", BOTH, ("CUSTOMER",)),
    "ITEM-PRODUCT": ("items", "products", BOTH, ("UNIT OF MEASURE",)),
}
_ACCOUNT = [
    ("displayName", "name", BOTH),
    ("addressLine1", "address1_line1", BOTH),
    ("addressLine2", "address1_line2", BOTH),
    ("postalCode", "address1_postalcode", BOTH),
    ("city", "address1_city", BOTH),
    ("country", "address1_country", BOTH),
    ("state", "address1_stateorprovince", BOTH),
    ("currencyCode", "transactioncurrencyid", BOTH),
    ("email", "emailaddress1", BOTH),
    ("website", "websiteurl", BOTH),
    ("phoneNumber", "telephone1", BOTH),
    ("paymentTermsId", "paymenttermscode", BOTH),
    ("number", "accountnumber", TO),
]

# (mapping, BC API v2.0 field, Dataverse attribute, direction): the reference's field mappings, in API names
FIELDS = [
    ("SALESPEOPLE", "email", "internalemailaddress", FROM),
    ("SALESPEOPLE", "displayName", "fullname", FROM),
    ("SALESPEOPLE", "phoneNo", "mobilephone", FROM),
    ("SALESPEOPLE", "jobTitle", "jobtitle", FROM),  # Bidirectional in Business Central, in a mapping from Sales
    ("SALESPEOPLE", "email2", "personalemailaddress", FROM),
    ("CURRENCY", "code", "isocurrencycode", TO),
    ("CURRENCY", "symbol", "currencysymbol", TO),
    ("CURRENCY", "displayName", "currencyname", TO),
    ("CURRENCY", "exchangeRate", "exchangerate", TO),
    ("PAYMENT TERMS", "code", "label", TO),
    ("SHIPMENT METHOD", "code", "label", TO),
    ("UNIT OF MEASURE", "code", "name", TO),
    ("UNIT OF MEASURE", "code", "baseuomname", TO),
    *(("CUSTOMER", local, integration, d) for local, integration, d in _ACCOUNT),
    ("CUSTOMER", "salespersonCode", "ownerid", TO),
    ("CUSTOMER", "shipmentMethodId", "address1_freighttermscode", BOTH),
    ("CUSTOMER", "creditLimit", "creditlimit", TO),
    *(("VENDOR", local, integration, d) for local, integration, d in _ACCOUNT),
    ("CONTACT", "displayName", "firstname", TO),
    ("CONTACT", "displayName", "middlename", TO),
    ("CONTACT", "displayName", "lastname", TO),
    ("CONTACT", "displayName", "fullname", FROM),
    ("CONTACT", "addressLine1", "address1_line1", BOTH),
    ("CONTACT", "addressLine2", "address1_line2", BOTH),
    ("CONTACT", "postalCode", "address1_postalcode", BOTH),
    ("CONTACT", "city", "address1_city", BOTH),
    ("CONTACT", "country", "address1_country", BOTH),
    ("CONTACT", "state", "address1_stateorprovince", BOTH),
    ("CONTACT", "email", "emailaddress1", BOTH),
    ("CONTACT", "website", "websiteurl", BOTH),
    ("CONTACT", "mobilePhoneNumber", "mobilephone", BOTH),
    ("CONTACT", "phoneNumber", "telephone1", BOTH),
    ("CONTACT", "customerNumber", "parentcustomerid", BOTH),
    ("ITEM-PRODUCT", "number", "productnumber", TO),
    ("ITEM-PRODUCT", "displayName", "name", BOTH),
    ("ITEM-PRODUCT", "unitPrice", "price", TO),
    ("ITEM-PRODUCT", "unitCost", "standardcost", TO),
    ("ITEM-PRODUCT", "unitCost", "currentcost", TO),
    ("ITEM-PRODUCT", "inventory", "quantityonhand", TO),
    ("ITEM-PRODUCT", "baseUnitOfMeasureCode", "defaultuomscheduleid", BOTH),
    ("ITEM-PRODUCT", "blocked", "statecode", TO),
    ("ITEM-PRODUCT", "blocked", "statuscode", TO),
]
CONSTANTS = {
    ("CUSTOMER", None, "customertypecode", 3, TO),
    ("VENDOR", None, "customertypecode", 11, TO),
    ("CONTACT", None, "parentcustomeridtype", "account", TO),
    ("CONTACT", "type", None, "Person", FROM),
    ("ITEM-PRODUCT", None, "producttypecode", 1, TO),
    ("ITEM-PRODUCT", None, "quantitydecimal", 2, TO),
}
DISABLED = {  # Business Central's extra field mappings, created with Status = Disabled
    ("SALESPEOPLE", "jobTitle"),
    ("SALESPEOPLE", "email2"),
    ("CUSTOMER", "number"),
    ("VENDOR", "number"),
}

# Reference fields the API v2.0 entities do not expose: written as comments, never as field entries.
NOT_IN_THE_API = [
    ("CUSTOMER", "Contact <-> address1_primarycontactname", "address1_primarycontactname"),
    ("CUSTOMER", "Fax No. <-> fax", "fax"),
    ("CUSTOMER", "Primary Contact No. <-> primarycontactid (clear value on failed sync)", "primarycontactid"),
    ("CUSTOMER", "Mobile Phone No. <-> telephone2", "telephone2"),
    ("CUSTOMER", "Shipping Agent Code <-> address1_shippingmethodcode", "address1_shippingmethodcode"),
    ("VENDOR", "Purchaser Code -> ownerid", "ownerid"),
    ("VENDOR", "Shipment Method Code <-> address1_freighttermscode", "address1_freighttermscode"),
    ("VENDOR", "Fax No. <-> fax", "fax"),
    ("CONTACT", "Fax No. <-> fax", "fax"),
    ("CONTACT", "Pager <-> pager", "pager"),
    ("CONTACT", "Salesperson Code -> ownerid", "ownerid"),
    ("CONTACT", "Currency Code <-> transactioncurrencyid", "transactioncurrencyid"),
    ("CONTACT", "Salutation Code <-> salutation", "salutation"),
    ("ITEM-PRODUCT", "Unit Volume -> stockvolume", "stockvolume"),
    ("ITEM-PRODUCT", "Gross Weight -> stockweight", "stockweight"),
    ("ITEM-PRODUCT", "Vendor No. -> vendorid", "vendorid"),
    ("ITEM-PRODUCT", "Vendor Item No. -> vendorpartnumber", "vendorpartnumber"),
]


def _parsed(tmp_path: Path) -> AppConfig:
    """The template parsed as coupler.config does, its systems swapped for SQLite files (the mappings as written)."""
    data = tomllib.loads(render_bc_sales())
    for side in ("local", "integration"):
        database = tmp_path / f"{side}.db"
        sqlite3.connect(database).close()
        data[side] = {"name": data[side]["name"], "kind": "sql", "url": f"sqlite:///{database}"}
    return parse_config(data, path=tmp_path / "coupler.toml")


@pytest.fixture
def mappings(tmp_path: Path) -> dict[str, TableMapping]:
    return {m.name: m for m in _parsed(tmp_path).mappings}


def test_the_file_is_toml_with_both_systems_and_secrets_only_as_references() -> None:
    text = render_bc_sales()
    data = tomllib.loads(text)

    assert data["local"]["kind"] == "business-central"
    assert data["local"]["url"].endswith("/api/v2.0")
    assert data["local"]["company"]
    assert data["integration"]["kind"] == "dataverse"
    assert data["integration"]["url"].startswith("https://")
    assert data["local"]["client_secret"] == "${BC_CLIENT_SECRET}"
    assert data["integration"]["client_secret"] == "${DATAVERSE_CLIENT_SECRET}"
    secrets = [line for line in text.splitlines() if re.search(r"secret|password", line.split("#")[0], re.I)]
    assert secrets and all("${" in line for line in secrets), secrets
    assert [m["name"] for m in data["mappings"]] == list(TABLES)


def test_the_mappings_parse_with_their_tables_directions_and_dependencies(mappings: dict[str, TableMapping]) -> None:
    assert list(mappings) == list(TABLES)
    for name, (local, integration, direction, depends_on) in TABLES.items():
        mapping = mappings[name]
        assert (mapping.local.table, mapping.integration.table) == (local, integration), name
        assert mapping.direction is direction, name
        assert mapping.depends_on == depends_on, name
        assert (mapping.local.key, mapping.local.modified_on) == ("id", "lastModifiedDateTime"), name
        if "." in integration:  # an option set: its values are the records
            assert (mapping.integration.key, mapping.integration.modified_on) == ("value", None), name
            continue
        assert mapping.integration.modified_on == "modifiedon", name
        singular = integration.removesuffix("s").replace("currencie", "currency")
        assert mapping.integration.key == f"{singular}id", name
        assert mapping.sync_only_coupled, name


@pytest.mark.parametrize(("mapping", "local", "integration", "direction"), FIELDS)
def test_each_reference_field_is_mapped(
    mappings: dict[str, TableMapping], mapping: str, local: str, integration: str, direction: Direction
) -> None:
    found = [
        f for f in mappings[mapping].fields if (f.local, f.integration, f.direction) == (local, integration, direction)
    ]
    assert len(found) == 1, f"{mapping}: {local} / {integration} / {direction.value}"


def test_no_field_is_mapped_but_those_of_the_reference(mappings: dict[str, TableMapping]) -> None:
    expected = {(m, local, integration, d) for m, local, integration, d in FIELDS}
    constants, fields, disabled = set(), set(), set()
    for mapping in mappings.values():
        for field in mapping.fields:
            if field.has_constant:
                constants.add((mapping.name, field.local, field.integration, field.constant, field.direction))
            else:
                fields.add((mapping.name, field.local, field.integration, field.direction))
            if not field.enabled:
                disabled.add((mapping.name, field.local))
    assert (fields, constants, disabled) == (expected, CONSTANTS, DISABLED)


@pytest.mark.parametrize(("mapping", "bc", "attribute"), NOT_IN_THE_API)
def test_fields_the_api_does_not_expose_are_documented_not_mapped(
    mappings: dict[str, TableMapping], mapping: str, bc: str, attribute: str
) -> None:
    assert all(f.integration != attribute for f in mappings[mapping].fields)
    fields = next(m for m in BC_SALES if m.name == mapping).fields
    (documented,) = [f for f in fields if f.bc == bc]
    assert documented.entry is None and "not mapped" in documented.note
    assert f"# {bc}: not mapped" in render_bc_sales()


def test_filters_follow_business_central(mappings: dict[str, TableMapping]) -> None:
    def conditions(mapping: str, side: str) -> set[tuple[str, Operator, Any]]:
        spec = getattr(mappings[mapping], side)
        return {(c.field, c.op, c.value) for c in spec.filter}

    eq, ne, not_null = Operator.EQ, Operator.NE, Operator.NOT_NULL
    assert conditions("SALESPEOPLE", "integration") == {
        ("isdisabled", eq, False),
        ("islicensed", eq, True),
        ("isintegrationuser", eq, False),
    }
    assert conditions("CUSTOMER", "local") == conditions("VENDOR", "local") == {("blocked", eq, " ")}
    assert conditions("CUSTOMER", "integration") == {("statecode", eq, 0), ("customertypecode", eq, 3)}
    assert conditions("VENDOR", "integration") == {("statecode", eq, 0), ("customertypecode", eq, 11)}
    assert conditions("CONTACT", "local") == {
        ("type", eq, "Person"),
        ("companyNumber", ne, ""),
        ("customerNumber", ne, ""),
    }
    assert conditions("CONTACT", "integration") == {
        ("statecode", eq, 0),
        ("parentcustomerid", not_null, None),
        ("parentcustomeridtype", eq, "account"),
    }
    assert conditions("ITEM-PRODUCT", "local") == {("blocked", eq, False)}
    assert conditions("ITEM-PRODUCT", "integration") == {("producttypecode", eq, 1), ("statecode", eq, 0)}
    for name in ("CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "UNIT OF MEASURE"):
        assert not conditions(name, "local") and not conditions(name, "integration"), name


def test_lookups_go_through_the_referenced_mappings_couplings(mappings: dict[str, TableMapping]) -> None:
    def lookup(mapping: str, integration: str) -> tuple[str | None, str | None, bool, bool]:
        field = next(f for f in mappings[mapping].fields if f.integration == integration)
        assert field.lookup is not None, (mapping, integration)
        return field.lookup.mapping, field.lookup.local_by, field.not_null, field.clear_on_failed_lookup

    assert lookup("CUSTOMER", "ownerid") == ("SALESPEOPLE", "code", True, False)
    for account in ("CUSTOMER", "VENDOR"):
        assert lookup(account, "transactioncurrencyid") == ("CURRENCY", None, False, False)
        assert lookup(account, "paymenttermscode") == ("PAYMENT TERMS", "id", False, False)
    assert lookup("CUSTOMER", "address1_freighttermscode") == ("SHIPMENT METHOD", "id", False, False)
    assert lookup("CONTACT", "parentcustomerid") == ("CUSTOMER", None, False, False)
    assert lookup("ITEM-PRODUCT", "defaultuomscheduleid") == ("UNIT OF MEASURE", None, False, False)


def test_product_amounts_never_go_below_zero_and_blocked_items_retire_their_product(
    mappings: dict[str, TableMapping],
) -> None:
    fields = {(f.local, f.integration, f.direction): f for f in mappings["ITEM-PRODUCT"].fields}
    for local, attribute in (("unitPrice", "price"), ("unitCost", "standardcost"), ("inventory", "quantityonhand")):
        sent = fields[(local, attribute, TO)]
        assert apply_transforms(sent.transforms, -5, TO.value) == 0, attribute
        assert apply_transforms(sent.transforms, 12.345, TO.value) == Decimal("12.35"), attribute
    state, status = fields[("blocked", "statecode", TO)], fields[("blocked", "statuscode", TO)]
    assert [apply_transforms(state.transforms, b, TO.value) for b in (False, True)] == [0, 1]
    assert [apply_transforms(status.transforms, b, TO.value) for b in (False, True)] == [1, 2]


def test_match_based_coupling_fields(mappings: dict[str, TableMapping]) -> None:
    matched = {m.name: [(f.local, f.integration) for f in m.fields if f.match_priority == 1] for m in mappings.values()}
    assert matched == {
        "SALESPEOPLE": [("email", "internalemailaddress")],
        "CURRENCY": [("code", "isocurrencycode")],
        "PAYMENT TERMS": [("code", "label")],
        "SHIPMENT METHOD": [("code", "label")],
        "UNIT OF MEASURE": [("code", "baseuomname")],
        "CUSTOMER": [("displayName", "name")],
        "VENDOR": [("displayName", "name")],
        "CONTACT": [("email", "emailaddress1")],
        "ITEM-PRODUCT": [("number", "productnumber")],
    }


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Anna Hansen", ("Anna", "", "Hansen")),
        ("Anna Marie J. Hansen", ("Anna", "Marie J.", "Hansen")),
        ("  Søren   Kierkegaard ", ("Søren", "", "Kierkegaard")),
        ("Madonna", ("", "", "Madonna")),
        (None, (None, None, None)),
    ],
)
def test_a_contacts_display_name_is_split_into_dataverse_name_parts(
    mappings: dict[str, TableMapping], name: str | None, parts: tuple[str | None, ...]
) -> None:
    fields = {f.integration: f for f in mappings["CONTACT"].fields if f.direction is TO}
    split = tuple(
        apply_transforms(fields[a].transforms, name, TO.value) for a in ("firstname", "middlename", "lastname")
    )
    assert split == parts


def test_every_mapping_and_field_has_a_comment() -> None:
    text = render_bc_sales()
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line == "[[mappings]]":
            assert lines[index - 1].startswith("# "), f"no comment above the mapping at line {index + 1}"
        if line.startswith("  { "):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above the field at line {index + 1}"
    for mapping in BC_SALES:
        for field in mapping.fields:
            assert field.note and f"# {field.bc}: " in text


def test_the_guide_documents_every_field() -> None:
    guide = (ROOT / "docs" / "bc-sales.md").read_text(encoding="utf-8")
    for mapping in BC_SALES:
        section = guide.split(f"## {mapping.name}\n", 1)
        assert len(section) == 2, f"docs/bc-sales.md has no section ## {mapping.name}"
        body = section[1].split("\n## ", 1)[0]
        rows = [line for line in body.splitlines() if line.startswith("| ")]
        for field in mapping.fields:
            names = (field.entry.local, field.entry.integration) if field.entry else ()
            wanted = [f"`{name}`" for name in names if name is not None]
            bc_name = field.bc.split(" ")[0]
            assert any(bc_name in row and all(w in row for w in wanted) for row in rows), (
                f"docs/bc-sales.md, {mapping.name}: no table row for {field.bc} ({', '.join(wanted) or 'not mapped'})"
            )


def test_the_written_file_loads_once_the_secrets_are_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written = write_template("bc-sales", tmp_path)
    monkeypatch.delenv("BC_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("DATAVERSE_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigurationError) as missing:
        load_config(written)
    assert missing.value.problems == [
        f"{written}: key local.client_secret: environment variable BC_CLIENT_SECRET is not set",
        f"{written}: key integration.client_secret: environment variable DATAVERSE_CLIENT_SECRET is not set",
    ]

    monkeypatch.setenv("BC_CLIENT_SECRET", "bc-secret-value")
    monkeypatch.setenv("DATAVERSE_CLIENT_SECRET", "dv-secret-value")
    config = load_config(written)
    local, integration = config.local, config.integration
    assert isinstance(local, BusinessCentralSettings) and isinstance(integration, DataverseSettings)
    assert (local.kind, integration.kind) == ("business-central", "dataverse")
    assert local.company == "CRONUS USA, Inc."
    assert local.client_secret and integration.client_secret
    secrets = (local.client_secret.get_secret_value(), integration.client_secret.get_secret_value())
    assert secrets == ("bc-secret-value", "dv-secret-value")
    assert "secret-value" not in repr(config.local) + repr(config.integration)
    assert [m.name for m in config.mappings] == list(TABLES)


def test_the_on_premises_alternative_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uncommenting username and password (and dropping the three OAuth lines) gives basic authentication."""
    text = render_bc_sales()
    local, rest = text.split("[integration]", 1)
    for line in ('tenant_id = "', 'client_id = "', "client_secret = "):
        local = "\n".join(x for x in local.splitlines() if not x.startswith(line)) + "\n"
    local = local.replace('# username = "ADMIN"', 'username = "ADMIN"').replace("# password = ", "password = ")
    config_file = tmp_path / "coupler.toml"
    config_file.write_text(local + "[integration]" + rest, encoding="utf-8")
    monkeypatch.setenv("BC_WEB_SERVICE_KEY", "key-value")
    monkeypatch.setenv("DATAVERSE_CLIENT_SECRET", "dv-secret-value")
    local = load_config(config_file).local
    assert isinstance(local, BusinessCentralSettings) and local.password
    assert (local.username, local.password.get_secret_value(), local.client_id) == ("ADMIN", "key-value", None)


def test_one_of_several_companies_filters_and_stamps_its_dataverse_records(tmp_path: Path) -> None:
    """Several Business Central companies against one Dataverse environment, as Business Central does it
    (CDSIntTableSubscriber.SetCompanyId; the integration table filters `CompanyId = <id> | <empty>`)."""
    company = "5b0e3c2a-0000-4000-8000-00000000bcb1"
    data = tomllib.loads(render_bc_sales(company="CRONUS Canada", dataverse_company=company))
    assert data["local"]["company"] == "CRONUS Canada"
    for side in ("local", "integration"):
        database = tmp_path / f"{side}.db"
        sqlite3.connect(database).close()
        data[side] = {"name": data[side]["name"], "kind": "sql", "url": f"sqlite:///{database}"}
    mappings = {m.name: m for m in parse_config(data, path=tmp_path / "coupler.toml").mappings}
    for name, mapping in mappings.items():
        stamped = [f for f in mapping.fields if f.integration == "bcbi_companyid"]
        companies = [c for c in mapping.integration.filter if c.field == "bcbi_companyid"]
        if name in ("CUSTOMER", "VENDOR", "CONTACT", "ITEM-PRODUCT"):
            assert [(f.constant, f.direction) for f in stamped] == [(company, TO)], name
            assert [(c.op, c.value) for c in companies] == [(Operator.IN, [company, None])], name
            assert companies[0].matches({"bcbi_companyid": None}) and companies[0].matches({"bcbi_companyid": company})
            assert not companies[0].matches({"bcbi_companyid": "another-company"})
        else:
            assert not stamped and not companies, name
    assert "bcbi" not in render_bc_sales(), "one company: no company filter"


def test_or_null_goes_with_in_only(tmp_path: Path) -> None:
    data = tomllib.loads(render_bc_sales())
    for side in ("local", "integration"):
        database = tmp_path / f"{side}.db"
        sqlite3.connect(database).close()
        data[side] = {"name": data[side]["name"], "kind": "sql", "url": f"sqlite:///{database}"}
    data["mappings"][0]["local"]["filter"] = [{"field": "code", "op": "eq", "value": "JR", "or_null": True}]
    with pytest.raises(ConfigurationError, match=r"or_null goes with op = \"in\" only"):
        parse_config(data, path=tmp_path / "coupler.toml")
