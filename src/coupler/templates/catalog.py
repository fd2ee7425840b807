"""The templates `coupler init` offers, and writing one to a file: its use case, without the command line.

Each template builds the configuration models and renders them with coupler.config's TOML writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from coupler.domain.errors import UsageError
from coupler.templates.bc_sales import render_bc_sales

__all__ = ["CONFIG_FILE", "TEMPLATES", "TemplateExists", "UnknownTemplate", "write_template"]

CONFIG_FILE = "coupler.toml"

TEMPLATES: Mapping[str, Callable[..., str]] = MappingProxyType({"bc-sales": render_bc_sales})
"""Template name -> the function that renders its coupler.toml (its keyword arguments: ``company``,
``dataverse_company``)."""


class TemplateExists(UsageError):
    """The configuration file already exists; use --force to replace it."""


class UnknownTemplate(UsageError):
    """No template has that name."""


def write_template(name: str, path: Path, *, force: bool = False, **options: str | None) -> Path:
    """Write template ``name`` to ``path`` (a file, or a folder that gets coupler.toml); return the file written.

    An existing file is replaced only with ``force``; missing folders are created. ``options`` go to the template
    (bc-sales: ``company``, ``dataverse_company``).
    """
    render = TEMPLATES.get(name)
    if render is None:
        raise UnknownTemplate(f"no template named {name!r}; the templates are: {', '.join(sorted(TEMPLATES))}.")
    target = path / CONFIG_FILE if path.is_dir() else path
    if target.exists() and not force:
        raise TemplateExists(f"{target} already exists; use --force to replace it.")
    if target.exists() and not target.is_file():
        raise UsageError(f"{target} is not a file; name a file or a folder to write {CONFIG_FILE} into.")
    text = render(**options)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(target)
    return target
