"""coupler.toml's [local] / [integration] tables for the HTTP connectors, and bootstrap building them."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.dataverse import DataverseConnector
from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DataverseSettings
from coupler.bootstrap import _connector
from coupler.config import load_config
from coupler.domain.errors import ConfigurationError

MAPPING = """
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
local = { table = "customers", key = "id", modified_on = "lastModifiedDateTime" }
integration = { table = "accounts", key = "accountid", modified_on = "modifiedon" }
fields = [{ local = "displayName", integration = "name" }]
"""
SYSTEMS = """
[local]
name = "Business Central"
kind = "business-central"
url = "https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0"
company = "CRONUS USA, Inc."
{local_auth}

[integration]
name = "Dynamics 365 Sales"
kind = "dataverse"
url = "https://contoso.crm4.dynamics.com"
tenant_id = "00000000-0000-0000-0000-000000000000"
client_id = "11111111-1111-1111-1111-111111111111"
client_secret = "{secret}"
page_size = 2000
"""


def write(
    tmp_path: Path, *, secret: str = "${DV_SECRET}", local_auth: str = 'username = "ADMIN"\npassword = "${BC_KEY}"'
) -> Path:
    path = tmp_path / "coupler.toml"
    path.write_text(SYSTEMS.format(secret=secret, local_auth=local_auth) + MAPPING, encoding="utf-8")
    return path


def test_http_systems_load_with_secrets_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DV_SECRET", "dv-s3cret")
    monkeypatch.setenv("BC_KEY", "bc-s3cret")
    config = load_config(write(tmp_path))

    assert isinstance(config.integration, DataverseSettings) and config.integration.client_secret
    assert config.integration.kind == "dataverse"
    assert config.integration.client_secret.get_secret_value() == "dv-s3cret"
    assert config.integration.page_size == 2000
    assert isinstance(config.local, BusinessCentralSettings) and config.local.password
    assert config.local.company == "CRONUS USA, Inc." and config.local.password.get_secret_value() == "bc-s3cret"
    assert "s3cret" not in repr(config), "secrets stay out of repr"
    integration, local = _connector(config.integration), _connector(config.local)
    try:
        assert isinstance(integration, DataverseConnector) and isinstance(local, BusinessCentralConnector)
        assert integration.client.base_url == "https://contoso.crm4.dynamics.com/api/data/v9.2/"
    finally:
        integration.close()
        local.close()


def test_a_secret_written_into_the_file_and_missing_credentials_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BC_KEY", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, secret="plain-text-secret", local_auth='password = "${BC_KEY}"'))

    problems = "\n".join(caught.value.problems)
    assert "key integration.client_secret: write the secret as an environment variable reference" in problems
    assert "key local.password: environment variable BC_KEY is not set" in problems
    assert "key local: basic authentication needs both username and password" in problems
    assert "plain-text-secret" not in problems


def test_a_missing_company_is_named_without_the_union_tag(tmp_path: Path) -> None:
    path = tmp_path / "coupler.toml"
    text = SYSTEMS.format(secret="${X}", local_auth="").replace('company = "CRONUS USA, Inc."', "") + MAPPING
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert f"{path}: key local.company: required key is missing" in caught.value.problems
