"""Changing a setting of coupler.toml in place: its comments and layout kept (tomlkit), the result validated as at
load time before it is written, the old file kept beside it as ``<name>.bak``, the new one swapped in atomically."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError
from tomlkit.items import InlineTable

from coupler.config.files import FileModel
from coupler.config.mappings import build_mapping, check_mappings
from coupler.config.writer import inline_table
from coupler.domain.errors import ConfigurationError, UnknownMapping, UsageError
from coupler.domain.mapping import TableMapping

__all__ = [
    "Check",
    "FieldChange",
    "TableChange",
    "change_field",
    "change_fields",
    "change_table",
    "enabled_in",
    "set_enabled",
]

Check = Callable[[tuple[TableMapping, ...]], Sequence[str]]
"""A further check of the changed mappings before anything is written (the web app checks that the systems have
the tables and columns, as opening them does); one message per problem."""


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
    match-based coupling; ``caption`` "" removes the caption (the field is then shown by its name)."""

    enabled: bool | None = None
    direction: str | None = None
    match: int | None = None
    caption: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TableChange:
    """What to change in a table mapping's sides; None leaves it as it is. A caption "" removes it; a filter is
    the whole new filter, its conditions as coupler.toml writes them (``{ field, op, value }``), () for none."""

    local_caption: str | None = None
    integration_caption: str | None = None
    local_filter: Sequence[Mapping[str, Any]] | None = None
    integration_filter: Sequence[Mapping[str, Any]] | None = None


def change_field(
    path: Path, mapping: str, field: str | int, change: FieldChange, *, check: Check | None = None
) -> Path:
    """Change the field mapping of ``mapping`` that ``field`` names (its local or integration field, or
    ``local|integration``, or its position from 0); return the backup's path. An unknown mapping or field, or one
    named ambiguously, is a UsageError listing what there is; a change that makes the mapping invalid is refused
    with load time's message."""
    return change_fields(path, mapping, {field: change}, check=check)


def change_fields(
    path: Path, mapping: str, changes: Mapping[str | int, FieldChange], *, check: Check | None = None
) -> Path:
    """Change several field mappings of ``mapping`` in one write (see ``change_field``)."""
    text = _read(path)
    document = tomlkit.parse(text)
    table = _mapping(document, mapping)
    for field, change in changes.items():
        fields, index = _field(table, field)
        values = fields[index].unwrap()
        if change.enabled is not None:
            _set(values, "enabled", change.enabled, default=True)
        if change.direction is not None:  # the mapping's own direction is not written again
            _set(values, "direction", change.direction, default=str(table.get("direction")))
        if change.match is not None:
            _set(values, "match", change.match or None, default=None)
        if change.caption is not None:
            values = {"caption": change.caption, **values} if "caption" not in values else values
            _set(values, "caption", change.caption, default="")
        fields[index] = inline_table(values)  # written as coupler writes it: { local = "...", integration = "..." }
    return _write(path, text, tomlkit.dumps(document), check)


def change_table(path: Path, mapping: str, change: TableChange, *, check: Check | None = None) -> Path:
    """Change the captions and filters of ``mapping``'s sides; return the backup's path."""
    text = _read(path)
    document = tomlkit.parse(text)
    table = _mapping(document, mapping)
    for side, caption, conditions in (
        ("local", change.local_caption, change.local_filter),
        ("integration", change.integration_caption, change.integration_filter),
    ):
        if caption is None and conditions is None:
            continue
        inline = isinstance(table[side], InlineTable)
        spec = table[side].unwrap() if inline else table[side]  # an inline table is written again, whole
        if caption is not None:
            if "caption" not in spec and caption and inline:
                spec = _after_table(spec, caption)
            _set(spec, "caption", caption, default="")
        if conditions is not None:
            _set(spec, "filter", [dict(c) for c in conditions] or None, default=None)
        if inline:
            table[side] = inline_table(spec)
    return _write(path, text, tomlkit.dumps(document), check)


def _after_table(spec: Mapping[str, Any], caption: str) -> dict[str, Any]:
    """The side's settings with its caption after its table's name, as coupler writes them."""
    written: dict[str, Any] = {}
    for key, value in spec.items():
        written[key] = value
        if key == "table":
            written["caption"] = caption
    return written


def _mapping(document: Any, name: str) -> Any:
    mappings = document.get("mappings") or []
    table = next((m for m in mappings if str(m.get("name", "")).upper() == name.upper()), None)
    if table is None:
        known = ", ".join(str(m.get("name")) for m in mappings)
        raise UnknownMapping(f"No table mapping is named {name!r}. The mappings are: {known}.")
    return table


def _field(table: Any, name: str | int) -> tuple[Any, int]:
    """The mapping's fields array and the index of the one ``name`` names (or ``name``, a position)."""
    fields = table.get("fields") or []
    if isinstance(name, int):
        if 0 <= name < len(fields):
            return fields, name
        raise UsageError(f"{table['name']} has {len(fields)} field mappings; there is none at position {name}.")

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


def _write(path: Path, old: str, new: str, check: Check | None = None) -> Path:
    """Validate ``new`` as loading validates its mappings (the systems' secrets aside) and as ``check`` does, keep
    ``old`` as the backup, swap ``new`` in."""
    try:
        model = FileModel.model_validate(tomllib.loads(new))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise ConfigurationError(f"{path}: the change would make the file invalid: {error}") from None
    problems: list[str] = []
    built = tuple(build_mapping(path, m, problems) for m in model.mappings)
    problems.extend(check_mappings(path, built))
    if not problems and check is not None:
        problems.extend(check(built))
    if problems:
        raise ConfigurationError(problems=problems)
    backup = path.with_name(path.name + ".bak")
    backup.write_text(old, encoding="utf-8")
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(new, encoding="utf-8")
    scratch.replace(path)
    return backup
