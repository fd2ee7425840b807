"""Who may call a test server: bearer tokens from the OAuth stub, HTTP basic credentials, or anyone."""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

from coupler.testing.odata.http import ODataError, Request

__all__ = ["AnyOf", "Authenticator", "BasicAuth", "check_auth"]


class Authenticator(Protocol):
    def accepts(self, authorization: str) -> bool:
        """Whether the ``Authorization`` header value grants access."""


class BasicAuth:
    """Business Central on-premises: a user name and its web service access key."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = (username, password)

    def accepts(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == self._expected


class AnyOf:
    def __init__(self, *authenticators: Authenticator) -> None:
        self._authenticators = authenticators

    def accepts(self, authorization: str) -> bool:
        return any(a.accepts(authorization) for a in self._authenticators)


def check_auth(auth: Authenticator | None, request: Request) -> None:
    if auth is None:
        return
    header = request.header("authorization")
    if header is None or not auth.accepts(header):
        reason = "No Authorization header was sent" if header is None else "The access token is invalid or expired"
        raise ODataError(401, "Unauthorized", f"{reason}.", headers={"www-authenticate": 'Bearer realm=""'})
