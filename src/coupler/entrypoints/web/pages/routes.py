"""The HTML pages of the web app, server-rendered with Jinja2 and htmx, after Business Central's pages: integration
table mappings, the records list of each mapping, the record card with its Set up coupling and Synchronize now
dialogs, the synchronization log, errors, skipped records and conflicts.

The routes live in ``pages_records`` and ``pages_admin``; ``render_error`` is the HTML answer app.py installs for
errors on the pages.
"""

from __future__ import annotations

from fastapi import APIRouter

from coupler.entrypoints.web.pages import admin as pages_admin
from coupler.entrypoints.web.pages import attention as pages_attention
from coupler.entrypoints.web.pages import connection as pages_connection
from coupler.entrypoints.web.pages import mapping_edit as pages_mapping_edit
from coupler.entrypoints.web.pages import records as pages_records
from coupler.entrypoints.web.pages.common import render_error

__all__ = ["render_error", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(pages_admin.router)
router.include_router(pages_attention.router)
router.include_router(pages_connection.router)
router.include_router(pages_mapping_edit.router)
router.include_router(pages_records.router)
