"""The bc-sales template: it parses, and holds Business Central's default mappings for Sales field by field."""

from __future__ import annotations

import re
import sqlite3
import tomllib
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
TABLES = {
    "SALESPEOPLE": ("salespeoplePurchasers", "systemusers", FROM, ()),
    "CURRENCY": ("currencies", "transactioncurrencies", TO, ()),
    "CUSTOMER": ("customers", "accounts", BOTH, ("SALESPEOPLE", "CURRENCY")),
    "CONTACT": ("contacts", "contacts", BOTH, ("CUSTOMER",)),
    "ITEM-PRODUCT": ("items", "products", BOTH, ()),
}

# (mapping, BC API v2.0 field, Dataverse attribute, direction): the reference's field mappings, in API names
FIELDS = [
    ("SALESPEOPLE", "email", "internalemailaddress", FROM),
    ("SALESPEOPLE", "displayName", "fullname", FROM),
    ("SALESPEOPLE", "phoneNo", "mobilephone", FROM),
    ("CURRENCY", "code", "isocurrencycode", TO),
    ("CURRENCY", "symbol", "currencysymbol", TO),
    ("CURRENCY", "displayName", "currencyname", TO),
    ("CUSTOMER", "displayName", "name", BOTH),
    ("CUSTOMER", "addressLine1", "address1_line1", BOTH),
    ("CUSTOMER", "addressLine2", "address1_line2", BOTH),
    ("CUSTOMER", "postalCode", "address1_postalcode", BOTH),
    ("CUSTOMER", "city", "address1_city", BOTH),
    ("CUSTOMER", "country", "address1_country", BOTH),
    ("CUSTOMER", "state", "address1_stateorprovince", BOTH),
    ("CUSTOMER", "email", "emailaddress1", BOTH),
    ("CUSTOMER", "website", "websiteurl", BOTH),
    ("CUSTOMER", "phoneNumber", "telephone1", BOTH),
    ("CUSTOMER", "currencyCode", "transactioncurrencyid", TO),
    ("CUSTOMER", "currencyCode", "transactioncurrencyid", FROM),
    ("CUSTOMER", "salespersonCode", "ownerid", TO),
    ("CUSTOMER", "creditLimit", "creditlimit", TO),
    ("CUSTOMER", "number", "accountnumber", TO),
    ("CUSTOMER", "paymentTermsId", "paymenttermscode", BOTH),
    ("CUSTOMER", "shipmentMethodId", "address1_freighttermscode", BOTH),
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
    ("CONTACT", "companyNumber", "parentcustomerid", BOTH),
    ("ITEM-PRODUCT", "number", "productnumber", BOTH),
    ("ITEM-PRODUCT", "displayName", "name", BOTH),
    ("ITEM-PRODUCT", "unitPrice", "price", BOTH),
    ("ITEM-PRODUCT", "unitCost", "standardcost", TO),
    ("ITEM-PRODUCT", "unitCost", "currentcost", TO),
    ("ITEM-PRODUCT", "inventory", "quantityonhand", TO),
]

# Reference fields the API v2.0 entities do not expose: written as comments, never as field entries.
NOT_IN_THE_API = [
    ("CUSTOMER", "Contact <-> address1_primarycontactname", "address1_primarycontactname"),
    ("CUSTOMER", "Fax <-> fax", "fax"),
    ("CUSTOMER", "Primary Contact No. <-> primarycontactid", "primarycontactid"),
    ("CUSTOMER", "Shipping Agent Code <-> address1_shippingmethodcode", "address1_shippingmethodcode"),
    ("CONTACT", "Fax <-> fax", "fax"),
    ("CONTACT", "Pager <-> pager", "pager"),
    ("CONTACT", "Salesperson Code -> ownerid", "ownerid"),
    ("CONTACT", "Currency Code -> transactioncurrencyid", "transactioncurrencyid"),
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
        assert mapping.integration.modified_on == "modifiedon", name
        assert mapping.integration.key == f"{integration.removesuffix('s').replace('currencie', 'currency')}id", name
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
    constants = {("CUSTOMER", "customertypecode", 3), ("ITEM-PRODUCT", "producttypecode", 1)}
    for mapping in mappings.values():
        for field in mapping.fields:
            if field.has_constant:
                assert (mapping.name, field.integration, field.constant) in constants
                assert field.direction is TO
            else:
                assert (mapping.name, field.local, field.integration, field.direction) in expected


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
    assert conditions("CUSTOMER", "local") == {("blocked", eq, " ")}
    assert conditions("CUSTOMER", "integration") == {("statecode", eq, 0), ("customertypecode", eq, 3)}
    assert conditions("CONTACT", "local") == {("type", eq, "Person"), ("companyNumber", ne, "")}
    assert conditions("CONTACT", "integration") == {("statecode", eq, 0), ("parentcustomerid", not_null, None)}
    assert conditions("ITEM-PRODUCT", "local") == {("blocked", eq, False)}
    assert conditions("ITEM-PRODUCT", "integration") == {("statecode", eq, 0)}
    assert not conditions("CURRENCY", "local") and not conditions("CURRENCY", "integration")


def test_lookups_go_through_the_referenced_mappings_couplings(mappings: dict[str, TableMapping]) -> None:
    def field(mapping: str, integration: str, direction: Direction) -> Any:
        return next(f for f in mappings[mapping].fields if f.integration == integration and f.direction is direction)

    owner = field("CUSTOMER", "ownerid", TO)
    assert owner.lookup is not None and (owner.lookup.mapping, owner.lookup.local_by) == ("SALESPEOPLE", "code")
    assert owner.not_null
    sent = field("CUSTOMER", "transactioncurrencyid", TO)
    got = field("CUSTOMER", "transactioncurrencyid", FROM)
    assert sent.lookup is not None and sent.lookup.mapping == "CURRENCY" and not sent.clear_on_failed_lookup
    assert got.lookup is not None and got.lookup.mapping == "CURRENCY" and got.clear_on_failed_lookup
    parent = field("CONTACT", "parentcustomerid", BOTH)
    assert parent.lookup is not None and parent.lookup.mapping == "CUSTOMER"


def test_option_mappings_and_the_disabled_account_number(mappings: dict[str, TableMapping]) -> None:
    by_integration = {f.integration: f for f in mappings["CUSTOMER"].fields}
    for attribute in ("paymenttermscode", "address1_freighttermscode"):
        options = by_integration[attribute]
        assert not options.enabled, "the option keys are placeholders until the user fills in the ids"
        assert [t.kind for t in options.transforms] == ["options"]
        assert all(isinstance(v, int) for v in options.transforms[0].params["values"].values())
    assert not by_integration["accountnumber"].enabled, "disabled by default, as in Business Central"


def test_match_based_coupling_fields(mappings: dict[str, TableMapping]) -> None:
    matched = {m.name: [(f.local, f.integration) for f in m.fields if f.match_priority == 1] for m in mappings.values()}
    assert matched == {
        "SALESPEOPLE": [("email", "internalemailaddress")],
        "CURRENCY": [("code", "isocurrencycode")],
        "CUSTOMER": [("displayName", "name")],
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
