"""Configuration templates (`coupler init`): a coupler.toml for a known pair of systems, documented line by line.

``bc-sales`` couples a Business Central environment and a Dynamics 365 Sales (Dataverse) organization with Business
Central's default mappings. Nothing happens at import time.
"""

from __future__ import annotations

from coupler.templates.catalog import CONFIG_FILE, TEMPLATES, TemplateExists, UnknownTemplate, write_template

__all__ = ["CONFIG_FILE", "TEMPLATES", "TemplateExists", "UnknownTemplate", "write_template"]
