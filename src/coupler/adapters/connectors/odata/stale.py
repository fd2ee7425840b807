"""Telling from a refused request that what a connector learnt about the service's schema is stale.

- A property the request names is unknown to the service: Dataverse answers 400 "Could not find a property named
  'x' on type 'Microsoft.Dynamics.CRM.account'" (a ``$select``/``$filter``) or "An undeclared property 'x' which only
  has property annotations was found" (a body), code 0x80060888; Business Central answers 400 "Could not find a
  property named 'x' on type 'Microsoft.NAV.customer'" (BadRequest). The metadata said the property exists.
- A collection (an entity set; in Business Central a company's) is not found: 404 on a path whose last segment
  names a set (``accounts``, ``companies(<id>)/customers``), not a record (``accounts(<id>)``), a record's
  navigation (``customers(<id>)/contactsInformation``: the record may be gone), an action
  (``Microsoft.Dynamics.CRM.CreateMultiple``) or ``$batch``. A connector only sends requests to sets its metadata
  said exist (in a company it learnt).
"""

from __future__ import annotations

__all__ = ["stale_schema"]

_UNKNOWN_PROPERTY = ("could not find a property named", "undeclared property")


def stale_schema(method: str, path: str, status: int, message: str) -> bool:
    """Whether a refusal of ``method`` on ``path`` (relative to the service root, a query allowed) shows that the
    schema changed since it was learnt."""
    if status == 400:
        text = message.lower()
        return any(phrase in text for phrase in _UNKNOWN_PROPERTY)
    if status == 404:
        *before, last = path.split("?", 1)[0].strip("/").split("/")
        if not last or any(mark in last for mark in "($."):
            return False  # a record, an action or $batch
        return all("(" not in segment or segment.startswith("companies(") for segment in before)
    return False
