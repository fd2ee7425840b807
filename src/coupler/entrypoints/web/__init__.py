"""The web app: the coupling pages in a browser and a JSON REST API under /api (``coupler serve``)."""

from __future__ import annotations
