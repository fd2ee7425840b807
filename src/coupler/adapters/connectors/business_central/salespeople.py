"""A code for a salesperson created from Dynamics 365 Sales, as Business Central makes one.

Salesperson/Purchaser's Code is its primary key and may not be blank (``NotBlank = true``, BCApps
``src/Layers/W1/BaseApp/CRM/Team/SalespersonPurchaser.Table.al``). When SALESPEOPLE inserts a salesperson from a
Dataverse user, ``CRMIntTableSubscriber.UpdateSalesPersOnBeforeInsertRecord`` (and the same procedure in
``CDSIntTableSubscriber``; BCApps ``src/Layers/W1/BaseApp/Integration/``) filters the codes on ``'SP NO. 0*'``, takes
the last and ``IncStr``s it, or starts at ``'SP NO. 00001'`` (labels ``NewCodePatternTxt = 'SP NO. %1'`` and
``SalespersonPurchaserCodeFilterLbl = 'SP NO. 0*'``). The code does not come from the name."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CODE_PREFIX", "inc_str", "next_codes"]

CODE_PREFIX = "SP NO. 0"
FIRST_CODE = "SP NO. 00001"


def inc_str(text: str) -> str:
    """AL's ``IncStr``: the number at the end of ``text`` plus one, keeping its width (``SP NO. 00009`` ->
    ``SP NO. 00010``)."""
    start = len(text)
    while start > 0 and text[start - 1].isdigit():
        start -= 1
    if start == len(text):
        return text + "1"
    digits = text[start:]
    return text[:start] + str(int(digits) + 1).zfill(len(digits))


def next_codes(existing: Iterable[str], count: int) -> list[str]:
    """``count`` new codes after the last of ``existing`` that matches ``SP NO. 0*`` (in Business Central's code
    order, which for these codes of one width is the text order)."""
    matching = sorted(code for code in existing if code.upper().startswith(CODE_PREFIX))
    codes: list[str] = []
    last = matching[-1] if matching else None
    for _ in range(count):
        last = inc_str(last) if last is not None else FIRST_CODE
        codes.append(last)
    return codes
