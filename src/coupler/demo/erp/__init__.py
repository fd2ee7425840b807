"""The demo ERP: tables named like the Business Central API v2.0, and its deterministic rows."""
