"""Changing a setting of coupler.toml in place: its comments and layout kept (tomlkit), the result validated as at
load time before it is written, the old file kept beside it as ``<name>.bak``, the new one swapped in atomically."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError

from coupler.config.files import FileModel
from coupler.config.mappings import build_mapping, check_mappings
from coupler.config.writer import inline_table
from coupler.domain.errors import ConfigurationError, UnknownMapping, UsageError

__all__ = ["FieldChange", "change_field", "enabled_in", "set_enabled"]


def set_enabled(path: Path, enabled: bool) -> Path:
    """Write ``enabled = true|false`` at the top of the configuration file; return the backup's path."""
    text = _read(path)
    document = tomlkit.parse(text)
    if "enabled" in document:
        document["enabled"] = enabled
    else:
        document.body.insert(_first_key(document), (tomlkit.key("enabled"), tomlkit.item(enabled)))
    return _write(path, text, tomlkit.dumps(document))


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldChange:
    """What to change in one field mapping; None leaves a setting as it is. ``match`` 0 takes the field out of
    match-based coupling."""

    enabled: bool | None = None
    direction: str | None = None
    match: int | None = None


def change_field(path: Path, mapping: str, field: str, change: FieldChange) -> Path:
    """Change the field mapping of ``mapping`` that ``field`` names (its local or integration field, or
    ``local|integration``); return the backup's path. An unknown mapping or field, or one named ambiguously, is a
    UsageError listing what there is; a change that makes the mapping invalid is refused with load time's message."""
    text = _read(path)
    document = tomlkit.parse(text)
    mappings = document.get("mappings") or []
    table = next((m for m in mappings if str(m.get("name", "")).upper() == mapping.upper()), None)
    if table is None:
        known = ", ".join(str(m.get("name")) for m in mappings)
        raise UnknownMapping(f"No table mapping is named {mapping!r}. The mappings are: {known}.")
    fields, index = _field(table, field)
    values = fields[index].unwrap()
    if change.enabled is not None:
        _set(values, "enabled", change.enabled, default=True)
    if change.direction is not None:
        values["direction"] = change.direction
    if change.match is not None:
        _set(values, "match", change.match or None, default=None)
    fields[index] = inline_table(values)  # written as coupler writes it: { local = "...", integration = "..." }
    return _write(path, text, tomlkit.dumps(document))


def _field(table: Any, name: str) -> tuple[Any, int]:
    """The mapping's fields array and the index of the one ``name`` names."""
    fields = table.get("fields") or []

    def label(entry: Any) -> str:
        return f"{entry.get('local') or '(constant)'}|{entry.get('integration') or '(constant)'}"

    found = [i for i, f in enumerate(fields) if name in (label(f), f.get("local"), f.get("integration"))]
    if len(found) == 1:
        return fields, found[0]
    found_fields = [fields[i] for i in found]
    listed = ", ".join(label(f) for f in (found_fields or fields))
    if found:
        raise UsageError(
            f"{table['name']}: {name!r} names several field mappings ({listed}); name it as local|integration."
        )
    raise UsageError(f"{table['name']} has no field mapping {name!r}; its field mappings are: {listed}.")


def _set(entry: dict[str, Any], key: str, value: Any, *, default: Any) -> None:
    """Write ``key``, or drop it where the value is the default (the file stays as short as it was written)."""
    if value == default:
        entry.pop(key, None)
    else:
        entry[key] = value


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
    """Validate ``new`` as loading validates its mappings (the systems' secrets aside), keep ``old`` as the backup,
    swap ``new`` in."""
    try:
        model = FileModel.model_validate(tomllib.loads(new))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise ConfigurationError(f"{path}: the change would make the file invalid: {error}") from None
    problems: list[str] = []
    built = tuple(build_mapping(path, m, problems) for m in model.mappings)
    problems.extend(check_mappings(path, built))
    if problems:
        raise ConfigurationError(problems=problems)
    backup = path.with_name(path.name + ".bak")
    backup.write_text(old, encoding="utf-8")
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(new, encoding="utf-8")
    scratch.replace(path)
    return backup
