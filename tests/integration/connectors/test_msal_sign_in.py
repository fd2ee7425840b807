"""msal signs in for real against coupler.testing's token endpoint (over TLS), and the Dataverse server accepts
the token: the connector's OAuth path end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector
from coupler.adapters.connectors.http_client import HttpClient, MsalAuth
from coupler.domain.errors import PermanentConnectorError
from coupler.testing import DEFAULT_APP_USER_ID, TokenIssuer, dataverse_app, make_tls_files, oauth_app, serve

TENANT = "00000000-0000-0000-0000-000000000000"
CLIENT = "11111111-1111-1111-1111-111111111111"


def test_client_credentials_through_msal_reach_the_dataverse_server(tmp_path: Path) -> None:
    sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}").dispose()
    tls = make_tls_files(tmp_path)
    issuer = TokenIssuer(tenant_id=TENANT, clients={CLIENT: "the-secret"})
    with (
        serve(oauth_app(issuer), tls=tls) as authority,
        serve(dataverse_app(f"sqlite:///{tmp_path / 'crm.db'}", tables={}, auth=issuer)) as org,
    ):

        def connector(secret: str) -> DataverseConnector:
            auth = MsalAuth(
                system="Sales",
                tenant_id=TENANT,
                client_id=CLIENT,
                client_secret=secret,
                scope=f"{org}/.default",
                authority=str(authority),
                verify=str(tls.ca_file),
            )
            return DataverseConnector(HttpClient(str(org) + API_PATH, system="Sales", auth=auth, headers=HEADERS))

        good = connector("the-secret")
        assert good.app_user_id() == DEFAULT_APP_USER_ID.lower()
        good.close()

        bad = connector("wrong-secret")
        with pytest.raises(PermanentConnectorError, match="Sales: sign-in as client 1111") as caught:
            bad.ping()
        assert "wrong-secret" not in str(caught.value)
        bad.close()
