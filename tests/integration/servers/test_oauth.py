"""The OAuth stub with the real msal: client credentials over https, token caching, bad secrets, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest

from coupler.testing import TokenIssuer, dataverse_app, make_tls_files, oauth_app, serve
from coupler.testing.demo import DEMO_DATAVERSE_TABLES
from coupler.testing.tls import client_context
from integration.servers.conftest import DV_ROOT

TENANT = "00000000-0000-4000-8000-0000000000aa"
CLIENT = "11111111-1111-4111-8111-111111111111"
SECRET = "s3cret-value"
SCOPE = ["https://contoso.crm4.dynamics.com/.default"]


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(tenant_id=TENANT, clients={CLIENT: SECRET})


@pytest.fixture
def authority(issuer: TokenIssuer, tmp_path: Path) -> Iterator[tuple[str, httpx.Client]]:
    """The authority URL and msal's HTTP client: httpx trusting the test CA (msal's own verify= loses to a
    REQUESTS_CA_BUNDLE environment variable)."""
    tls = make_tls_files(tmp_path / "tls")
    with serve(oauth_app(issuer), tls=tls) as url, httpx.Client(verify=client_context(tls.ca_file)) as client:
        yield f"{url}/{TENANT}", client


def application(authority: tuple[str, httpx.Client], secret: str = SECRET) -> msal.ConfidentialClientApplication:
    url, client = authority
    return msal.ConfidentialClientApplication(
        CLIENT, client_credential=secret, authority=url, instance_discovery=False, http_client=client
    )


def test_msal_gets_a_token_that_the_dataverse_server_accepts(
    issuer: TokenIssuer, authority: tuple[str, httpx.Client], demo_dir: Path
) -> None:
    result = application(authority).acquire_token_for_client(scopes=SCOPE)
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    app = dataverse_app(f"sqlite:///{demo_dir / 'crm.db'}", tables=DEMO_DATAVERSE_TABLES, auth=issuer)
    with serve(app) as url:
        anonymous = httpx.get(f"{url}{DV_ROOT}WhoAmI")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "Unauthorized"
        authorized = httpx.get(f"{url}{DV_ROOT}WhoAmI", headers={"Authorization": f"Bearer {result['access_token']}"})
        assert authorized.status_code == 200
        issuer.expire_all()
        expired = httpx.get(f"{url}{DV_ROOT}WhoAmI", headers={"Authorization": f"Bearer {result['access_token']}"})
        assert expired.status_code == 401
        assert SECRET not in expired.text and result["access_token"] not in expired.text


def test_msal_caches_the_token(issuer: TokenIssuer, authority: tuple[str, httpx.Client]) -> None:
    client = application(authority)
    first = client.acquire_token_for_client(scopes=SCOPE)
    second = client.acquire_token_for_client(scopes=SCOPE)
    assert first["access_token"] == second["access_token"]
    assert issuer.issued == 1


def test_a_wrong_secret_is_refused_without_echoing_it(authority: tuple[str, httpx.Client]) -> None:
    result = application(authority, secret="wrong-secret").acquire_token_for_client(scopes=SCOPE)
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]
    assert "wrong-secret" not in result["error_description"]


def test_a_scope_that_is_not_default_is_refused(authority: tuple[str, httpx.Client]) -> None:
    result = application(authority).acquire_token_for_client(
        scopes=["https://contoso.crm4.dynamics.com/user_impersonation"]
    )
    assert result["error"] == "invalid_scope"


def test_an_unknown_tenant_fails_discovery(authority: tuple[str, httpx.Client]) -> None:
    url, client = authority
    with pytest.raises(ValueError, match="tenant"):
        msal.ConfidentialClientApplication(
            CLIENT,
            client_credential=SECRET,
            authority=url.replace(TENANT, "other-tenant"),
            instance_discovery=False,
            http_client=client,
        )
