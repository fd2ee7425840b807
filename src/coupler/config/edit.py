"""Changing a setting of coupler.toml in place: its comments and layout kept (tomlkit), the result validated as at
load time before it is written, the old file kept beside it as ``<name>.bak``, the new one swapped in atomically."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError

from coupler.config.files import FileModel
from coupler.domain.errors import ConfigurationError

__all__ = ["enabled_in", "set_enabled"]


def set_enabled(path: Path, enabled: bool) -> Path:
    """Write ``enabled = true|false`` at the top of the configuration file; return the backup's path."""
    text = _read(path)
    document = tomlkit.parse(text)
    if "enabled" in document:
        document["enabled"] = enabled
    else:
        document.body.insert(_first_key(document), (tomlkit.key("enabled"), tomlkit.item(enabled)))
    return _write(path, text, tomlkit.dumps(document))


def enabled_in(path: Path, *, otherwise: bool) -> bool:
    """The file's ``enabled`` as it is now (a long-running process asks before each job); ``otherwise`` when the
    file cannot be read."""
    try:
        value = tomllib.loads(path.read_text(encoding="utf-8")).get("enabled", True)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return otherwise
    return value if isinstance(value, bool) else otherwise


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot be read: {error.strerror or error}") from None


def _first_key(document: Any) -> int:
    """Where a top-level key goes: after the leading comments, before the first key or table."""
    for index, (key, _) in enumerate(document.body):
        if key is not None:
            return index
    return len(document.body)


def _write(path: Path, old: str, new: str) -> Path:
    try:
        FileModel.model_validate(tomllib.loads(new))
    except (tomllib.TOMLDecodeError, ValidationError) as error:  # pragma: no cover - the edit keeps a valid file
        raise ConfigurationError(f"{path}: the change would make the file invalid: {error}") from None
    backup = path.with_name(path.name + ".bak")
    backup.write_text(old, encoding="utf-8")
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(new, encoding="utf-8")
    scratch.replace(path)
    return backup
