"""Entity paths: ``accounts``, ``accounts(<guid>)``, ``accounts(accountnumber='A1')``, ``accounts/<action>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from coupler.testing.odata.http import ODataError

__all__ = ["EntityPath", "parse_path"]

_PATH = re.compile(r"^(?P<set>[A-Za-z_][\w.]*)(?:\((?P<key>[^)]*)\))?(?:/(?P<rest>.+))?$")
_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_PAIR = re.compile(r"\s*([\w]+)\s*=\s*('(?:[^']|'')*'|[^,]+)\s*(?:,|$)")


@dataclass(frozen=True, kw_only=True)
class EntityPath:
    entity_set: str
    key: str | None = None
    """The primary key (a GUID, lower case), when the path names one."""
    alternate: dict[str, object] | None = None
    """Alternate key values (``accountnumber='A1'``), when the path names a record by them."""
    rest: str | None = None


def parse_path(path: str) -> EntityPath:
    match = _PATH.match(path)
    if match is None:
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{path}'.")
    key_text = match.group("key")
    key = alternate = None
    if key_text is not None:
        key_text = key_text.strip()
        guid = _GUID.match(key_text) or _GUID.match(key_text.strip("'"))
        if guid:
            key = guid.group(1).lower()
        else:
            alternate = _alternate(key_text)
    return EntityPath(entity_set=match.group("set"), key=key, alternate=alternate, rest=match.group("rest"))


def _alternate(text: str) -> dict[str, object]:
    values: dict[str, object] = {}
    position = 0
    while position < len(text):
        match = _PAIR.match(text, position)
        if match is None:
            raise ODataError(400, "0x80060888", f"'{text}' is neither a GUID nor a list of key=value pairs.")
        name, raw = match.group(1), match.group(2).strip()
        if raw.startswith("'"):
            values[name] = raw[1:-1].replace("''", "'")
        else:
            try:
                values[name] = int(raw)
            except ValueError:
                raise ODataError(400, "0x80060888", f"The key value {raw} of '{name}' is not valid.") from None
        position = match.end()
    return values
