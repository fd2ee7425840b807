"""Enum member names on the wire: Business Central's API publishes an AL enum member by its name, encoded so that it
is an OData identifier (``" "`` -> ``_x0020_``, ``"Non-Inventory"`` -> ``Non_x002D_Inventory``).

The sources (docs/research/bc-sales-sources.md, "Point 1"):

- learn.microsoft.com/dynamics365/business-central/power-bi-faq ("I see some values like _x0020_"): enum fields "are
  encoded to avoid any special character, including the space ... whenever there's an empty option in the AL Enum
  object, it's encoded to ``_x0020_``".
- Microsoft's API v2.0 example payloads (MicrosoftDocs/dynamics365smb-devitpro-pb,
  ``dev-itpro/api-reference/v2.0/api/dynamics_itemledgerentry_get.md``: ``"entryType": "Positive_x0020_Adjmt_x002E_"``,
  ``"sourceType": "_x0020_"``; ``dynamics_opportunity_get.md``: ``"status": "In_x0020_Progress"``).

The escape is .NET's ``XmlConvert.EncodeName`` form (``_xHHHH_``, the UTF-16 code in upper-case hex; an underscore
that would start such a sequence is itself escaped as ``_x005F_``), but the characters kept are those of an OData
identifier, not of an XML name: ``.`` is a valid XML name character, yet Microsoft's example encodes it
(``Adjmt_x002E_``), and so is ``-`` (``Non_x002D_Inventory``, the item type "Non-Inventory", as integrations
observe it). A letter or ``_`` may start a name; digits and combining marks may follow. A character beyond the
Basic Multilingual Plane becomes ``_xHHHHHHHH_`` as in ``XmlConvert`` [inferred: no enum member seen uses one].
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["decode_name", "encode_name"]

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})_")
_START = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl"})
_PART = _START | {"Nd", "Mn", "Mc", "Pc", "Cf"}


def encode_name(name: str) -> str:
    """``name`` (an enum member as AL spells it: ``" "``, ``"In Progress"``) as the API sends it."""
    out: list[str] = []
    for index, char in enumerate(name):
        if char == "_" and _ESCAPE.match(name, index):
            out.append("_x005F_")  # a literal "_x0020_" in a name must not decode to a space
        elif char == "_" or unicodedata.category(char) in (_START if index == 0 else _PART):
            out.append(char)
        elif ord(char) > 0xFFFF:
            out.append(f"_x{ord(char):08X}_")
        else:
            out.append(f"_x{ord(char):04X}_")
    return "".join(out)


def decode_name(wire: str) -> str:
    """The member name that ``wire`` encodes (``_x0020_`` -> ``" "``); text without escapes is returned as is."""
    if "_x" not in wire:
        return wire
    decoded = _ESCAPE.sub(_unescape, wire)
    # A character beyond the BMP may arrive as two escaped UTF-16 halves: join them.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _unescape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code <= 0x10FFFF else match.group(0)
