"""Writing a configuration model as coupler.toml, with the comments a template puts around its values.

The writer writes the keys a model was given, in the order the model declares them, and always a table mapping's
every key (its direction and policies are decisions a reader should see) and a system's ``kind``. Systems are
tables, mappings an array of tables; a mapping's sides are inline tables and its fields one inline table per line.
Comments are placed by key path: ``()`` is the head of the file, then ``("local", "url")``,
``("mappings", "CUSTOMER")``, ``("mappings", "CUSTOMER", "fields", 3)``. tomlkit writes the values.

A secret is written only as a ``${VAR}`` reference: the writer refuses to put a secret itself into a file.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tomlkit
from pydantic import BaseModel, SecretStr
from tomlkit.container import Container
from tomlkit.items import AoT, Array, InlineTable, Item, KeyType, SingleKey, Table, Whitespace

from coupler.adapters.connectors.kinds import ConnectorSettings
from coupler.adapters.settings import ENV_REFERENCE
from coupler.config.files import FieldModel, FileModel, MappingModel
from coupler.domain.mapping import Direction

__all__ = ["Comments", "KeyPath", "commented_mapping", "inline_table", "render_config"]

KeyPath = tuple[str | int, ...]
"""Where a comment goes: keys and mapping names from the top of the file, and a field's index in its mapping."""

_COMMENT_COLUMN = 37
"""Where a note beside a value starts (at least two spaces after the value)."""
_CHOICES = {
    "direction": " | ".join(d.value for d in Direction),
    "update_conflict": "none (park it for `coupler resolve`) | local-wins | integration-wins",
    "deletion_conflict": "none (fail) | restore | remove-coupling",
    "delete": "ignore | propagate (a deletion waits for `coupler approve`)",
}
"""The choices of a mapping's decisions, written beside them in every file."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Comments:
    """A template's comments, by key path: ``above`` are whole lines before a key, table, mapping or field (at
    ``()``: the head of the file), ``beside`` a note after a key's value, ``below`` lines at the end of a table or
    of a mapping's fields. Each line is written with ``# `` before it."""

    above: Mapping[KeyPath, str] = field(default_factory=dict)
    beside: Mapping[KeyPath, str] = field(default_factory=dict)
    below: Mapping[KeyPath, str] = field(default_factory=dict)

    @staticmethod
    def merge(*parts: Comments) -> Comments:
        """The comments of all ``parts`` (a later part's comment at the same place wins)."""
        return Comments(
            above={path: text for part in parts for path, text in part.above.items()},
            beside={path: text for part in parts for path, text in part.beside.items()},
            below={path: text for part in parts for path, text in part.below.items()},
        )


def commented_mapping(
    *, comment: str, fields: Sequence[FieldModel | str], **settings: Any
) -> tuple[MappingModel, Comments]:
    """A table mapping and its comments: ``comment`` above it, and the strings among ``fields``, each a comment line
    above the field after it (after the last field: at the end of the list)."""
    mapping = MappingModel(fields=[f for f in fields if isinstance(f, FieldModel)], **settings)
    path: KeyPath = ("mappings", mapping.name)
    lines: dict[int, list[str]] = {}
    index = 0
    for entry in fields:
        if isinstance(entry, FieldModel):
            index += 1
        else:
            lines.setdefault(index, []).append(entry)
    above: dict[KeyPath, str] = {path: comment}
    above.update({(*path, "fields", i): "\n".join(text) for i, text in lines.items() if i < index})
    below = {(*path, "fields"): "\n".join(lines[index])} if index in lines else {}
    return mapping, Comments(above=above, below=below)


def render_config(config: FileModel, comments: Comments | None = None) -> str:
    """coupler.toml for ``config``, with ``comments`` placed around its keys."""
    notes = comments or Comments()
    document = tomlkit.document()
    _comment_lines(document, notes.above.get(()))
    last: Container | Table = document
    for key, value in _written(config).items():
        if isinstance(value, BaseModel):
            last = _add_table(document, key, _table(value, (key,), notes), after=last, above=notes.above.get((key,)))
        elif _models(value):
            tables = tomlkit.aot()
            document.add(key, tables)
            for model in value:
                path: KeyPath = (key, getattr(model, "name", len(tables)))
                last = _add_table(tables, key, _table(model, path, notes), after=last, above=notes.above.get(path))
        else:
            _comment_lines(document, notes.above.get((key,)))
            document.add(key, _value(value))
    return document.as_string()


def _add_table(
    parent: Container | AoT, key: str, table: Table, *, after: Container | Table, above: str | None
) -> Table:
    """Add ``table`` (at ``key`` of the document, or to the array of tables there) after a blank line, its comment
    lines right above its header: at the end of what comes ``after``."""
    first = isinstance(after, Container) and not after.body
    if above:
        if not first:
            after.add(tomlkit.nl())
        _comment_lines(after, above)
    if isinstance(parent, AoT):
        parent.append(table)
    else:
        parent.add(key, table)
    table.trivia.indent = "" if above or first else "\n"  # with a comment, the blank line goes before it
    return table


def _table(model: BaseModel, path: KeyPath, notes: Comments) -> Table:
    table = tomlkit.table()
    for key, value in _written(model).items():
        _comment_lines(table, notes.above.get((*path, key)))
        item = _lines(value, (*path, key), notes) if _models(value) else _value(value)
        table.add(key, item)
        note = notes.beside.get((*path, key)) or (_CHOICES.get(key) if isinstance(model, MappingModel) else None)
        if note:
            item.comment(note)
            item.trivia.comment_ws = " " * max(2, _COMMENT_COLUMN - len(f"{key} = {item.as_string()}"))
    below = notes.below.get(path)
    if below:
        _comment_lines(table, below)
    return table


def _lines(models: Sequence[BaseModel], path: KeyPath, notes: Comments) -> Array:
    """A list of models one inline table per line, each with its comment lines above it."""
    array = tomlkit.array()
    for index, model in enumerate(models):
        for line in _split(notes.above.get((*path, index))):
            array.add_line(indent="  ", comment=line)
        array.add_line(_value(model), indent="  ")
    for line in _split(notes.below.get(path)):
        array.add_line(indent="  ", comment=line)
    array.add_line(indent="")
    return array


def _written(model: BaseModel) -> dict[str, Any]:
    """The keys the model was given (and those always written), in the order the model declares them."""
    shown = model.model_fields_set | _always(model)
    keys = [name for name in type(model).model_fields if name in shown]
    values = {name: getattr(model, name) for name in keys}
    values.update(model.model_extra or {})
    return {key: value for key, value in values.items() if value is not None}


def _always(model: BaseModel) -> set[str]:
    """The keys written even when the model was not given them: a mapping's every key, a system's kind."""
    if isinstance(model, MappingModel):
        return set(type(model).model_fields)
    return {"kind"} if isinstance(model, ConnectorSettings) else set()


def _models(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, BaseModel) for v in value)


def _value(value: Any) -> Item:
    if isinstance(value, BaseModel):
        return _inline(_written(value))
    if isinstance(value, Mapping):
        return _inline(value)
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        array.extend(_value(v) for v in value)
        return array
    if isinstance(value, SecretStr):
        value = _reference(value)
    elif isinstance(value, enum.Enum):
        value = value.value
    item: Item = tomlkit.item(value)  # a string, number or boolean
    return item


def inline_table(values: Mapping[str, Any]) -> InlineTable:
    """``values`` as coupler writes an inline table (a field mapping, a filter condition)."""
    return _inline(values)


def _inline(values: Mapping[str, Any]) -> InlineTable:
    """``{ a = 1, b = "x" }``: quoted keys all alike when one needs quotes (``{ "30 DAYS" = 1, "CM" = 3 }``)."""
    table = tomlkit.inline_table()
    quoted = any(not _bare(str(key)) for key in values)
    for key, value in values.items():
        table.append(SingleKey(str(key), t=KeyType.Basic) if quoted else str(key), _value(value))
    if values:
        next(iter(table.value.body))[1].trivia.indent = " "
        table.append(None, Whitespace(" "))
    return table


def _bare(key: str) -> bool:
    return bool(key) and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)


def _reference(secret: SecretStr) -> str:
    written = secret.get_secret_value()
    if not ENV_REFERENCE.search(written):
        raise ValueError("a secret is written to a file only as an environment variable reference, like ${MY_SECRET}")
    return written


def _split(text: str | None) -> Iterable[str]:
    return text.splitlines() if text else ()


def _comment_lines(container: Container | Table, text: str | None) -> None:
    for line in _split(text):
        container.add(tomlkit.comment(line))
