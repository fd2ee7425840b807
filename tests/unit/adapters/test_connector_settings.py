"""Each built-in kind's settings: the keys its table takes, and resolving them (secrets read from the environment,
paths against the file's folder), every problem naming the file and the key, no secret in a repr or a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr, ValidationError

from coupler.adapters.connectors.http_client import BasicAuth, MsalAuth
from coupler.adapters.connectors.kinds import ConnectorSettings, Place
from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DataverseSettings
from coupler.adapters.connectors.kinds.sql import SqlSettings

S = TypeVar("S", bound=ConnectorSettings)
OAUTH = {"tenant_id": "tenant", "client_id": "client", "client_secret": "${TEST_CLIENT_SECRET}"}


def resolve(settings: S, folder: Path) -> tuple[S, list[str]]:
    problems: list[str] = []
    place = Place(path=folder / "coupler.toml", key="local", folder=folder, problems=problems)
    return settings.resolved(place), problems


def refused(settings: type[ConnectorSettings], **values: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        settings.model_validate(values)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in caught.value.errors()]


def test_sql_takes_a_url_and_resolves_a_relative_sqlite_file(tmp_path: Path) -> None:
    assert refused(SqlSettings, name="ERP", kind="sql") == [("url", "missing")]
    assert refused(SqlSettings, name="ERP", url="sqlite://", tenant_id="t") == [("tenant_id", "extra_forbidden")]
    assert refused(SqlSettings, name="ERP", kind="dataverse", url="sqlite://") == [("kind", "literal_error")]
    (tmp_path / "erp.db").touch()
    settings, problems = resolve(SqlSettings(name="ERP", url="sqlite:///erp.db"), tmp_path)
    assert problems == []
    assert settings == SqlSettings(name="ERP", url=f"sqlite:///{tmp_path / 'erp.db'}")


def test_sql_refuses_a_missing_file_and_a_password_written_into_the_url(tmp_path: Path) -> None:
    _, problems = resolve(SqlSettings(name="ERP", url="sqlite:///gone.db"), tmp_path)
    assert problems == [f"{tmp_path / 'coupler.toml'}: key local.url: no SQLite database at {tmp_path / 'gone.db'}"]
    _, problems = resolve(SqlSettings(name="ERP", url="postgresql://erp:hunter2@db/erp"), tmp_path)
    assert len(problems) == 1 and "key local.url: the URL holds a password" in problems[0]
    assert "hunter2" not in problems[0]


def test_dataverse_reads_its_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CLIENT_SECRET", "dv-s3cret")
    written = DataverseSettings.model_validate({"name": "CRM", "url": " https://contoso.crm.dynamics.com/ ", **OAUTH})
    settings, problems = resolve(written, tmp_path)
    assert problems == []
    assert settings.url == "https://contoso.crm.dynamics.com"
    assert settings.client_secret == SecretStr("dv-s3cret")
    assert written.client_secret == SecretStr("${TEST_CLIENT_SECRET}"), "the settings as written are unchanged"
    assert "s3cret" not in repr(settings) + str(settings)
    auth = settings.auth(scope="https://contoso.crm.dynamics.com/.default")
    assert isinstance(auth, MsalAuth) and "s3cret" not in repr(auth)


def test_dataverse_problems_name_each_key_and_never_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_CLIENT_SECRET", raising=False)
    where = f"{tmp_path / 'coupler.toml'}: key local"
    _, problems = resolve(
        DataverseSettings(
            name="CRM", url="contoso.crm.dynamics.com", client_secret=SecretStr("pl41n"), verify="ca.pem"
        ),
        tmp_path,
    )
    assert problems == [
        f"{where}.url: not an http(s) URL: 'contoso.crm.dynamics.com'",
        f"{where}.client_secret: write the secret as an environment variable reference, like ${{MY_SECRET}}",
        f"{where}: tenant_id, client_id missing: sign-in needs tenant_id, client_id and client_secret",
        f"{where}.verify: no CA certificate file at {tmp_path / 'ca.pem'}",
    ]
    assert not any("pl41n" in p for p in problems)
    _, problems = resolve(
        DataverseSettings.model_validate({"name": "CRM", "url": "https://x.example", **OAUTH}), tmp_path
    )
    assert problems == [f"{where}.client_secret: environment variable TEST_CLIENT_SECRET is not set"]
    assert refused(DataverseSettings, name="CRM", url="https://x.example", page_size=0) == [
        ("page_size", "greater_than_equal")
    ]


def test_business_central_needs_a_company_and_signs_in_with_oauth_or_basic_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://bc.example/api/v2.0"
    assert refused(BusinessCentralSettings, name="BC", url=url) == [("company", "missing")]
    monkeypatch.setenv("TEST_BC_KEY", "bc-k3y")
    basic = BusinessCentralSettings.model_validate(
        {"name": "BC", "url": url, "company": "CRONUS", "username": "ADMIN", "password": "${TEST_BC_KEY}"}
    )
    settings, problems = resolve(basic, tmp_path)
    assert problems == [] and settings.password == SecretStr("bc-k3y")
    auth = settings.auth(scope="any")
    assert isinstance(auth, BasicAuth) and "bc-k3y" not in repr(auth) + repr(settings)

    _, problems = resolve(basic.model_copy(update={"username": None}), tmp_path)
    assert problems == [
        f"{tmp_path / 'coupler.toml'}: key local: basic authentication needs both username and password"
    ]
    monkeypatch.setenv("TEST_CLIENT_SECRET", "bc-s3cret")
    oauth = BusinessCentralSettings.model_validate({"name": "BC", "url": url, "company": "CRONUS", **OAUTH})
    settings, problems = resolve(oauth, tmp_path)
    assert problems == [] and isinstance(settings.auth(scope="any"), MsalAuth)


def test_a_connection_names_the_system_and_who_signs_in_never_a_secret() -> None:
    """What coupler keeps about a system's schema between runs is kept under its connection."""
    url = "https://api.businesscentral.dynamics.com/v2.0/t/production/api/v2.0"
    bc = BusinessCentralSettings.model_validate({"name": "BC", "url": url, "company": "CRONUS USA, Inc.", **OAUTH})
    assert bc.connection() == f"business-central {url} company=CRONUS USA, Inc. as=client"
    other = bc.model_copy(update={"company": "CRONUS Canada"})
    assert other.connection() != bc.connection()
    on_premises = BusinessCentralSettings(name="BC", url=url, company="C", username="ADMIN", password=SecretStr("k"))
    assert on_premises.connection() == f"business-central {url} company=C as=ADMIN"
    dv = DataverseSettings.model_validate({"name": "Sales", "url": "https://contoso.crm.dynamics.com", **OAUTH})
    assert dv.connection() == "dataverse https://contoso.crm.dynamics.com client=client"
    assert "TEST_CLIENT_SECRET" not in bc.connection() + dv.connection()
    assert SqlSettings(name="ERP", url="sqlite:///erp.db").connection() is None, "a database is not asked twice"


def test_business_central_takes_the_local_currency_from_the_settings(tmp_path: Path) -> None:
    from coupler.adapters.connectors.kinds.business_central import connect_business_central

    url = "https://bc.example/api/v2.0"
    plain = {"name": "BC", "url": url, "company": "CRONUS", "username": "ADMIN", "password": "k"}
    assert BusinessCentralSettings.model_validate(plain).local_currency is None
    settings = BusinessCentralSettings.model_validate({**plain, "local_currency": "usd"})
    connector = connect_business_central(settings)
    try:
        assert connector._lcy_setting == "USD"  # type: ignore[attr-defined]
    finally:
        connector.close()
