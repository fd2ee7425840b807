"""coupler: couple records between an ERP and a CRM and keep them synchronized."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
