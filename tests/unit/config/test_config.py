from __future__ import annotations

from pathlib import Path

import pytest

from coupler.config import load_config
from coupler.domain.errors import ConfigurationError, UnknownMapping
from coupler.domain.mapping import Direction, Operator

VALID = """
[local]
name = "ERP"
url = "sqlite:///erp.db"

[integration]
name = "CRM"
url = "sqlite:///crm.db"

[[mappings]]
name = "CURRENCY"
direction = "to-integration"
local = { table = "currencies", key = "id", display_key = "code", modified_on = "lastModifiedDateTime" }
integration = { table = "transactioncurrency", key = "transactioncurrencyid", modified_on = "modifiedon" }
fields = [{ local = "code", integration = "isocurrencycode" }]

[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
depends_on = ["CURRENCY"]
local = { table = "customers", key = "id", modified_on = "mod", filter = [{ field = "blocked", value = "" }] }
integration = { table = "account", key = "accountid", modified_on = "mod", filter = [{ field = "statecode" }] }
fields = [
  { local = "displayName", integration = "name" },
  { local = "creditLimit", integration = "creditlimit", direction = "to-integration" },
  { integration = "customertypecode", constant = 3, direction = "to-integration" },
]
"""


def write(tmp_path: Path, text: str) -> Path:
    for database in ("erp.db", "crm.db"):
        (tmp_path / database).touch()
    path = tmp_path / "coupler.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, text))
    return caught.value.problems


def test_a_valid_file_becomes_domain_mappings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    customer = config.mapping("customer")
    assert customer.direction is Direction.BIDIRECTIONAL
    assert customer.local.filter[0].op is Operator.EQ
    assert customer.fields[2].has_constant and customer.fields[2].constant == 3
    assert config.local.url == f"sqlite:///{tmp_path / 'erp.db'}"
    assert config.state_url == f"sqlite:///{tmp_path / 'coupler-state.db'}"
    with pytest.raises(UnknownMapping, match="CURRENCY, CUSTOMER"):
        config.mapping("VENDOR")


def test_each_problem_names_the_file_the_mapping_and_the_key(tmp_path: Path) -> None:
    text = VALID.replace('direction = "bidirectional"', 'direction = "sideways"').replace(
        'display_key = "code"', 'display_key = "code", colour = "red"'
    )
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert any("mapping CUSTOMER, key direction" in p for p in found)
    assert any("mapping CURRENCY, key local.colour: unknown key" in p for p in found)
    assert all(p.startswith(str(tmp_path / "coupler.toml")) for p in found)


def test_semantic_problems(tmp_path: Path) -> None:
    text = VALID.replace('depends_on = ["CURRENCY"]', 'depends_on = ["PAYMENT TERMS"]').replace(
        '{ local = "code", integration = "isocurrencycode" }',
        '{ local = "code", integration = "isocurrencycode", direction = "from-integration" }',
    )
    found = problems(tmp_path, text)
    assert any("mapping CUSTOMER, key depends_on: no mapping named 'PAYMENT TERMS'" in p for p in found)
    assert any("mapping CURRENCY, key fields[0].direction: from-integration is not allowed" in p for p in found)
    assert any("no enabled field mapping flows to-integration" in p for p in found)


def test_dependency_cycle_is_an_error(tmp_path: Path) -> None:
    text = VALID.replace(
        'fields = [{ local = "code", integration = "isocurrencycode" }]',
        'depends_on = ["CUSTOMER"]\nfields = [{ local = "code", integration = "isocurrencycode" }]',
    )
    found = problems(tmp_path, text)
    assert any(
        "cycle: CURRENCY -> CUSTOMER -> CURRENCY" in p or "cycle: CUSTOMER -> CURRENCY -> CUSTOMER" in p for p in found
    )


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in problems(tmp_path, "[local\nname=")[0]
    with pytest.raises(ConfigurationError, match="no configuration file"):
        load_config(tmp_path / "missing.toml")


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    literal = VALID.replace('url = "sqlite:///crm.db"', 'url = "postgresql://sales:hunter2@db/crm"')
    found = problems(tmp_path, literal)
    assert any("key integration.url: the URL holds a password" in p for p in found)
    assert not any("hunter2" in p for p in found)
    referenced = VALID.replace('url = "sqlite:///crm.db"', 'url = "postgresql://sales:${CRM_PASSWORD}@db/crm"')
    assert any("CRM_PASSWORD is not set" in p for p in problems(tmp_path, referenced))
    monkeypatch.setenv("CRM_PASSWORD", "s3cret")
    assert load_config(write(tmp_path, referenced)).integration.url == "postgresql://sales:s3cret@db/crm"


def test_constant_rules(tmp_path: Path) -> None:
    text = VALID.replace(
        '{ integration = "customertypecode", constant = 3, direction = "to-integration" }',
        '{ local = "x", integration = "customertypecode", constant = 3, direction = "to-integration" }, '
        '{ integration = "y", constant = 1 }',
    )
    found = problems(tmp_path, text)
    assert any("fields[2].constant: give either a constant or a local field" in p for p in found)
    assert any("fields[3].constant: a constant needs a one-way direction" in p for p in found)


def test_config_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, VALID)
    monkeypatch.setenv("COUPLER_CONFIG", str(path))
    assert load_config().path == path


def test_a_password_next_to_a_variable_is_still_a_literal_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_HOST", "db.example")
    mixed = VALID.replace('url = "sqlite:///crm.db"', 'url = "postgresql://sales:hunter2@${CRM_HOST}/crm"')
    assert any("the URL holds a password" in p for p in problems(tmp_path, mixed))
    monkeypatch.setenv("CRM_URL", "postgresql+psycopg://sales:s3cret@db/crm")
    whole = VALID.replace('url = "sqlite:///crm.db"', 'url = "${CRM_URL}"')
    assert load_config(write(tmp_path, whole)).integration.url == "postgresql+psycopg://sales:s3cret@db/crm"


def test_a_missing_sqlite_database_of_a_system_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("sqlite:///crm.db", "sqlite:///crm-typo.db"))
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}: key integration.url: no SQLite database at {tmp_path / 'crm-typo.db'}"]


def test_filter_values_must_fit_their_operator(tmp_path: Path) -> None:
    text = VALID.replace('{ field = "statecode" }', '{ field = "statecode", op = "in", value = 0 }')
    found = problems(tmp_path, text)
    assert len(found) == 1
    assert "mapping CUSTOMER, key integration.filter.0" in found[0] and "in needs a list" in found[0]


def test_the_source_side_needs_a_modified_on_column(tmp_path: Path) -> None:
    text = VALID.replace('display_key = "code", modified_on = "lastModifiedDateTime"', 'display_key = "code"')
    found = problems(tmp_path, text)
    assert found == [
        f"{tmp_path / 'coupler.toml'}: mapping CURRENCY, key local.modified_on: a to-integration mapping reads "
        "changes from the local side, which needs its modified-on column"
    ]


def test_the_longest_mapping_name_fits_the_state_store() -> None:
    """Mapping names, and the lock names made from them ("mapping:NAME"), fit every column that holds them."""
    from coupler.adapters.store.sql import schema
    from coupler.config.files import MAPPING_NAME_LENGTH

    needed = len("mapping:") + MAPPING_NAME_LENGTH
    columns = [c for t in schema.metadata.tables.values() for c in t.c if c.name in ("mapping", "name")]
    assert columns and all(c.type.length >= needed for c in columns)
