"""The ``business-central`` kind: a Business Central company reached through the API v2.0, signed in to with OAuth
client credentials or, on premises, basic authentication with a web service access key."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import SecretStr

from coupler.adapters.connectors.kinds.http_service import HttpServiceSettings, given
from coupler.adapters.connectors.kinds.kind import ConnectorKind
from coupler.adapters.settings import Place
from coupler.ports.connector import Connector

if TYPE_CHECKING:  # the connector and its HTTP client are imported when a connector is built: a command that reads
    # only coupler's state starts faster
    from coupler.adapters.connectors.http_client import Auth

__all__ = ["BUSINESS_CENTRAL", "BusinessCentralSettings", "connect_business_central"]

SCOPE = "https://api.businesscentral.dynamics.com/.default"


class BusinessCentralSettings(HttpServiceSettings):
    """``url``: the environment's API v2.0 URL; ``company``: the company's name or id. On premises, ``username`` and
    ``password`` (a web service access key, as a ``${VAR}`` reference) instead of the OAuth client credentials.
    ``local_currency``: the company's LCY code, when it should not be learnt from the General Ledger Setup (or the
    Company Information)."""

    secrets: ClassVar[tuple[str, ...]] = ("client_secret", "password")

    kind: Literal["business-central"] = "business-central"
    company: str
    username: str | None = None
    password: SecretStr | None = None
    local_currency: str | None = None

    @property
    def basic(self) -> bool:
        """Whether to sign in with basic authentication: a user name or password, and no OAuth credentials."""
        oauth = (self.tenant_id, self.client_id, self.client_secret)
        return (given(self.username) or given(self.password)) and not any(given(value) for value in oauth)

    def check_sign_in(self, place: Place) -> None:
        if not self.basic:
            super().check_sign_in(place)
        elif not (given(self.username) and given(self.password)):
            place.problem("basic authentication needs both username and password")

    def connection(self) -> str:
        """Kind, URL, company and who signs in (the client id, or the user name on premises)."""
        who = self.username if self.basic else self.client_id
        return f"{self.kind} {self.url} company={self.company} as={who or ''}"

    def auth(self, *, scope: str) -> Auth:
        if self.username and self.password and not given(self.client_id):
            from coupler.adapters.connectors.http_client import BasicAuth

            return BasicAuth(self.username, self.password.get_secret_value())
        return super().auth(scope=scope)


def connect_business_central(settings: BusinessCentralSettings) -> Connector:
    from coupler.adapters.connectors.business_central import HEADERS, BusinessCentralConnector

    client = settings.client(settings.url, auth=settings.auth(scope=SCOPE), headers=HEADERS, concurrency=5)
    return BusinessCentralConnector(
        client,
        company=settings.company,
        display_name=settings.name,
        local_currency=settings.local_currency,
        **settings.sizes,
    )


BUSINESS_CENTRAL = ConnectorKind(
    name="business-central", settings=BusinessCentralSettings, connect=connect_business_central
)
