"""The Business Central connector (API v2.0): ``connector.py``, with what it computes beside it."""

from __future__ import annotations

from coupler.adapters.connectors.business_central.connector import (
    ALTERNATE_KEYS,
    BLANK_GUID,
    HEADERS,
    BusinessCentralConnector,
)

__all__ = ["ALTERNATE_KEYS", "BLANK_GUID", "HEADERS", "BusinessCentralConnector"]
