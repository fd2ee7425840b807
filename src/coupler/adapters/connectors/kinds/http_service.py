"""What the kinds of HTTP services share: a URL, a sign-in with OAuth client credentials (the secret as a ``${VAR}``
reference), a CA file, page and batch sizes, and the pooled, paced client built from them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import Field, SecretStr

from coupler.adapters.connectors.kinds.kind import ConnectorSettings
from coupler.adapters.settings import Place

if TYPE_CHECKING:  # httpx and msal are imported when a client is built, not by every command that reads the config
    from coupler.adapters.connectors.http_client import Auth, HttpClient

__all__ = ["HttpServiceSettings", "given"]

_HTTP_URL = re.compile(r"^https?://[^/\s]+")


def given(value: str | SecretStr | None) -> bool:
    """Whether a setting is written and not empty."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(value)


class HttpServiceSettings(ConnectorSettings):
    """A service reached over HTTP(S), signed in to with OAuth client credentials (``tenant_id``, ``client_id``,
    ``client_secret``; ``authority`` for a sign-in service other than Microsoft Entra ID). ``verify``: false, or a CA
    file for a server with a private certificate. ``page_size`` and ``batch_size`` override the connector's own."""

    secrets: ClassVar[tuple[str, ...]] = ("client_secret",)
    """The keys that hold secrets, written as ``${VAR}`` references."""

    url: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    authority: str | None = None
    verify: bool | str = True
    page_size: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)

    def resolved(self, place: Place) -> Self:
        """An http(s) URL without its trailing slash, the secrets read from the environment, complete sign-in
        settings, the CA file found."""
        url = self.url.strip()
        if not _HTTP_URL.match(url):
            place.problem(f"not an http(s) URL: {url!r}", key="url")
        secrets = {key: place.secret(getattr(self, key), key=key) for key in self.secrets}
        self.check_sign_in(place)
        verify = place.file(self.verify, key="verify") if isinstance(self.verify, str) else self.verify
        return self.model_copy(update={"url": url.rstrip("/"), **secrets, "verify": verify})

    def connection(self) -> str:
        """Kind, URL and client id: another client may sign in as another user (``WhoAmI``) who sees other tables."""
        return f"{self.kind} {self.url} client={self.client_id or ''}"

    def check_sign_in(self, place: Place) -> None:
        """OAuth client credentials need all of tenant_id, client_id and client_secret."""
        credentials = {"tenant_id": self.tenant_id, "client_id": self.client_id, "client_secret": self.client_secret}
        absent = [key for key, value in credentials.items() if not given(value)]
        if absent:
            place.problem(f"{', '.join(absent)} missing: sign-in needs tenant_id, client_id and client_secret")

    def auth(self, *, scope: str) -> Auth:
        """Signing in with the client credentials for ``scope``."""
        from coupler.adapters.connectors.http_client import MsalAuth

        return MsalAuth(
            system=self.name,
            tenant_id=self.tenant_id or "",
            client_id=self.client_id or "",
            client_secret=self.client_secret.get_secret_value() if self.client_secret else "",
            scope=scope,
            authority=self.authority or "https://login.microsoftonline.com",
            verify=self.verify,
        )

    def client(self, base_url: str, *, auth: Auth, headers: Mapping[str, str], concurrency: int) -> HttpClient:
        """The pooled client at ``base_url``, paced to ``concurrency`` requests in flight."""
        from coupler.adapters.connectors.http_client import HttpClient, Pacer

        return HttpClient(
            base_url,
            system=self.name,
            auth=auth,
            headers=headers,
            verify=self.verify,
            pacer=Pacer(concurrency=concurrency),
        )

    @property
    def sizes(self) -> dict[str, int]:
        """The page and batch sizes written, as the connector's keyword arguments."""
        return {key: value for key, value in (("page_size", self.page_size), ("batch_size", self.batch_size)) if value}
