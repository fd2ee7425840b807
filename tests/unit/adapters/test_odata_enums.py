"""Enum member names as Business Central's API v2.0 sends them (odata/enums.py)."""

from __future__ import annotations

import pytest

from coupler.adapters.connectors.odata.enums import decode_name, encode_name


@pytest.mark.parametrize(
    ("member", "wire"),
    [
        (" ", "_x0020_"),  # learn.microsoft.com/dynamics365/business-central/power-bi-faq
        ("In Progress", "In_x0020_Progress"),  # devitpro dynamics_opportunity_get.md
        ("Positive Adjmt.", "Positive_x0020_Adjmt_x002E_"),  # devitpro dynamics_itemledgerentry_get.md
        ("Bank Account", "Bank_x0020_Account"),
        ("G/L Account", "G_x002F_L_x0020_Account"),
        ("Non-Inventory", "Non_x002D_Inventory"),
        ("Ship", "Ship"),
        ("", ""),
    ],
)
def test_members_travel_as_identifiers(member: str, wire: str) -> None:
    assert encode_name(member) == wire
    assert decode_name(wire) == member


def test_letters_beyond_ascii_stay_and_a_leading_digit_is_escaped() -> None:
    assert encode_name("Größe Ø") == "Größe_x0020_Ø"
    assert encode_name("1099 Code") == "_x0031_099_x0020_Code"
    assert decode_name("_x0031_099_x0020_Code") == "1099 Code"


def test_an_escape_written_in_a_name_is_escaped_itself() -> None:
    assert encode_name("_x0020_") == "_x005F_x0020_"
    assert decode_name("_x005F_x0020_") == "_x0020_", "the escaped underscore is consumed; the rest stays text"
    assert encode_name("a_x00zz_b") == "a_x00zz_b", "not an escape: kept"
    assert encode_name("_Blank") == "_Blank"


def test_characters_beyond_the_bmp() -> None:
    assert encode_name("A😀") == "A_x0001F600_"
    assert decode_name("A_x0001F600_") == "A😀"
    assert decode_name("A_xD83D__xDE00_") == "A😀", "two escaped UTF-16 halves make one character"
    assert decode_name("_x110000FF_") == "_x110000FF_", "no such character: left as it is"


@pytest.mark.parametrize(
    "member",
    [" ", "  ", "a b.c-d/e", "_x0020_x", "__x0020__", "_x0001F600_", "tab\there", "e\u0301", "ǅ", "٣", "😀 😀", "x_"],
)
def test_decoding_undoes_encoding(member: str) -> None:
    wire = encode_name(member)
    assert decode_name(wire) == member
    assert not any(c in wire for c in " .-/\t"), "only identifier characters travel"
