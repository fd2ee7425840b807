"""A stand-in for Microsoft Entra ID's client-credentials flow, real enough for msal.

``oauth_app(issuer)`` serves, per tenant, ``/<tenant>/v2.0/.well-known/openid-configuration`` and
``/<tenant>/oauth2/v2.0/token``. msal requires https: serve it with ``serve(app, tls=make_tls_files(...))`` and
give msal ``http_client=httpx.Client(verify=<ca_file>)`` (msal's own ``verify=`` loses to a REQUESTS_CA_BUNDLE
environment variable) and ``instance_discovery=False`` (else it asks login.microsoftonline.com whether the
authority is known). The issuer hands out opaque bearer tokens the test servers accept (``auth=issuer``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["TokenIssuer", "oauth_app"]


class TokenIssuer:
    """Registered applications (client id -> secret) of one tenant, and the tokens handed out to them."""

    def __init__(self, *, tenant_id: str, clients: Mapping[str, str], lifetime: int = 3599) -> None:
        self.tenant_id = tenant_id
        self._clients = dict(clients)
        self.lifetime = lifetime
        self._tokens: dict[str, tuple[str, str, float]] = {}  # token -> (client, scope, expires at)
        self._lock = threading.Lock()
        self.issued = 0
        """How many tokens were handed out (msal caches them: a second call should not ask again)."""

    def issue(self, client_id: str, client_secret: str, scope: str) -> str:
        if self._clients.get(client_id) != client_secret:
            raise PermissionError(client_id)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (client_id, scope, time.monotonic() + self.lifetime)
            self.issued += 1
        return token

    def accepts(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self._lock:
            entry = self._tokens.get(token.strip())
        return entry is not None and entry[2] > time.monotonic()

    def expire_all(self) -> None:
        """Every token handed out so far stops working (the server answers 401 until the client gets a new one)."""
        with self._lock:
            self._tokens.clear()


def oauth_app(issuer: TokenIssuer) -> Starlette:
    async def discovery(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        if tenant != issuer.tenant_id:
            return _error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": f"{base}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "response_types_supported": ["code", "token"],
                "tenant_region_scope": "EU",
            }
        )

    async def token(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        form = await request.form()
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        if tenant != issuer.tenant_id:
            return _error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if fields.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "AADSTS70003: Only client_credentials is supported here.")
        scope = fields.get("scope", "")
        resources = [s for s in scope.split() if s.endswith("/.default")]
        if not resources:
            return _error(400, "invalid_scope", f"AADSTS1002012: The scope '{scope}' is not <resource>/.default.")
        try:
            access_token = issuer.issue(fields.get("client_id", ""), fields.get("client_secret", ""), resources[0])
        except PermissionError:
            return _error(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided, or unknown application."
            )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": issuer.lifetime,
                "ext_expires_in": issuer.lifetime,
                "access_token": access_token,
            }
        )

    return Starlette(
        routes=[
            Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        ]
    )


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description, "error_codes": [], "timestamp": time.strftime("%F %T")},
        status_code=status,
    )
