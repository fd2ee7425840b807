"""The embedded demo: a Business Central-like ERP, a Dynamics 365 Sales-like CRM (both SQLite) and a coupler.toml.

``create_demo(directory)`` writes ``erp.db``, ``crm.db`` and ``coupler.toml``; nothing happens at import time.
"""

from __future__ import annotations

from coupler.demo.create import DemoExists, DemoResult, create_demo

__all__ = ["DemoExists", "DemoResult", "create_demo"]
