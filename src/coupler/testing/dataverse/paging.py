"""Dataverse's server-driven paging: ``odata.maxpagesize``, and ``$skiptoken`` paging cookies carrying the sort values
of the last row served."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from coupler.testing.odata.http import ODataError, Request
from coupler.testing.odata.query import decode_cookie, encode_cookie

__all__ = ["MAX_PAGE_SIZE", "next_link", "page_size", "skiptoken_values"]

MAX_PAGE_SIZE = 5000
_COOKIE = re.compile(r'pagingcookie="([^"]*)"')


def page_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise ODataError(400, "0x80060888", f"odata.maxpagesize must be an integer, not '{text}'.") from None
    if size < 1:
        raise ODataError(400, "0x80060888", "odata.maxpagesize must be at least 1.")
    return min(size, MAX_PAGE_SIZE)


def skiptoken_values(token: str) -> tuple[list[Any], int]:
    """The sort values of the last row served and that page's number."""
    match = _COOKIE.search(token)
    payload = decode_cookie(match.group(1) if match else token)
    values, page = payload.get("after"), payload.get("page", 1)
    if not isinstance(values, list) or not isinstance(page, int):
        raise ODataError(400, "0x80060888", "The $skiptoken is not a paging cookie this server issued.")
    return values, page


def next_link(request: Request, entity_set: str, options: Mapping[str, str], last: list[Any], page: int) -> str:
    """The original request with a paging cookie for the page after ``last`` (page number ``page``)."""
    cookie = encode_cookie({"after": last, "page": page})
    token = f'<cookie pagenumber="{page}" pagingcookie="{cookie}" istracking="False" />'
    rest = {k: v for k, v in options.items() if k != "$skiptoken"}
    rest["$skiptoken"] = token
    return f"{request.root}{entity_set}?{urlencode(rest, quote_via=quote, safe='$,()')}"
