"""A table mapping's page, and editing the mapping on it, as Business Central's Integration Table Mappings and
Integration Field Mappings pages do: a field mapping switched on or off, its direction and caption; the tables'
captions and filters.

Each change is written to coupler.toml (``config/edit.py``: comments kept, validated as at load time and against the
systems' tables and columns, the previous file kept as a backup), and the app works with it from the next request
on (``WebState.change_config``). The page then says what changed, in the user's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from coupler.config.edit import FieldChange, TableChange, change_field, change_table
from coupler.config.files import CAPTION_LENGTH
from coupler.config.filters import OPERATOR_WORDS, condition, shown_value
from coupler.domain.errors import CouplerError, UsageError
from coupler.domain.mapping import Direction, FieldMapping, Operator, Side, TableMapping
from coupler.entrypoints.web.deps import WebState, get_state
from coupler.entrypoints.web.mapping_changes import changes_of_field, changes_of_table, direction_words
from coupler.entrypoints.web.pages.common import Notice, coupler_of, queries_of, redirect, render
from coupler.services.operations.match_rules import matchable

__all__ = ["OPERATOR_WORDS", "FilterRow", "columns_of", "direction_words", "directions_of", "filter_rows", "router"]

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
Texts = Annotated[list[str], Form(default_factory=list)]


# what the page shows ----------------------------------------------------------------------------------------
def directions_of(mapping: TableMapping, field: FieldMapping) -> tuple[Direction, ...]:
    """The directions ``field`` may have within ``mapping``'s: a one-way mapping's own, else all three; a constant
    (or a field of one side only) flows only towards the field it fills."""
    if mapping.direction is not Direction.BIDIRECTIONAL:
        return (mapping.direction,)
    if field.local is None or field.integration is None or field.has_constant:
        return (field.direction,)
    return (Direction.BIDIRECTIONAL, Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION)


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterRow:
    """One condition of a table filter as its form shows it (an empty row adds a condition)."""

    field: str = ""
    op: str = Operator.EQ.value
    value: str = ""


def filter_rows(mapping: TableMapping, side: Side) -> list[FilterRow]:
    """The side's filter as form rows, and one empty row to add a condition."""
    rows = [FilterRow(field=c.field, op=c.op.value, value=shown_value(c.value)) for c in mapping.spec(side).filter]
    return [*rows, FilterRow()]


def columns_of(state: WebState, mapping: TableMapping, side: Side) -> list[tuple[str, str]]:
    """The columns a filter of ``side`` may test, as (column, caption), by caption: those the system lists, else
    those the mapping knows when the system cannot be asked."""
    spec = mapping.spec(side)
    names: list[str] = [*mapping.columns(side)]
    try:
        described = state.coupler.systems.connector(side).describe(spec.table)
    except CouplerError:
        described = None
    if described:
        names = [*described]
    return sorted(((n, mapping.caption_of(side, n)) for n in dict.fromkeys(names)), key=lambda c: c[1].lower())


# the forms --------------------------------------------------------------------------------------------------
# the mapping page ------------------------------------------------------------------------------------------
@router.get("/mappings/{name}", response_class=HTMLResponse)
def mapping_page(request: Request, name: str) -> Response:
    changed = request.query_params.get("changed", "")
    notice = get_state(request).notice_of(changed) if 0 < len(changed) <= 64 else None
    return show_mapping(request, name, notices=[notice] if isinstance(notice, Notice) else [])


def show_mapping(request: Request, name: str, *, notices: Sequence[Notice] = (), status: int = 200) -> Response:
    """The mapping's page: its setup (with the forms that change it), its counts, its actions, its field mappings."""
    state = get_state(request)
    coupler = coupler_of(request)
    mapping = coupler.systems.mapping(name)
    overview = next(o for o in coupler.mappings() if o.name == mapping.name)
    review = queries_of(request).review(mapping.name)[0] if state.connection().ok else None
    context = {
        "nav": "mappings",
        "overview": overview,
        "mapping": mapping,
        "review": review,
        "task": state.task(request.query_params.get("task")),
        "directions": [directions_of(mapping, f) for f in mapping.fields],
        "direction_words": lambda d: direction_words(d, state.system_names()),
        "filters": {side.value: filter_rows(mapping, side) for side in Side},
        "columns": {side.value: columns_of(state, mapping, side) for side in Side},
        "operators": OPERATOR_WORDS,
        "matchable": [(i, f) for i, f in enumerate(mapping.fields) if matchable(f)],
    }
    return render(request, "mapping.html", context, notices=notices, status=status)


def _changed(request: Request, name: str, said: list[str]) -> Response:
    """Back to the mapping's page, which says what changed."""
    text = "; ".join(said) + "." if said else "Nothing changed."
    notice = get_state(request).remember_notice(Notice(kind="ok", text=text))
    return redirect(f"/mappings/{name}", changed=notice)


def _refused(request: Request, name: str, error: CouplerError) -> Response:
    """The mapping's page again, saying why nothing was written."""

    problems = getattr(error, "problems", [])
    first, *rest = problems if len(problems) > 1 else [error.message]
    notice = Notice(kind="error", text=f"Nothing was changed. {first}", items=tuple(rest))
    return show_mapping(request, name, notices=[notice], status=422)


@router.post("/mappings/{name}/fields/{index}")
def edit_field(
    request: Request,
    name: str,
    index: int,
    enabled: Annotated[str, Form(max_length=10)] = "",
    direction: Annotated[str, Form(max_length=20)] = "",
    caption: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """A field mapping switched on or off, given a direction or a caption."""
    state = get_state(request)
    mapping = state.coupler.systems.mapping(name)
    try:
        if not 0 <= index < len(mapping.fields):
            raise UsageError(f"{mapping.name} has no field mapping at position {index}.")
        before = mapping.fields[index]
        change = FieldChange(
            enabled={"true": True, "false": False}.get(enabled),
            direction=_direction(mapping, before, direction),
            caption=_caption(before.title, caption),
        )
        state.change_config(lambda path, check: change_field(path, mapping.name, index, change, check=check))
    except CouplerError as error:
        return _refused(request, mapping.name, error)
    after = state.coupler.systems.mapping(mapping.name).fields[index]
    return _changed(request, mapping.name, changes_of_field(before, after, state.system_names()))


def _direction(mapping: TableMapping, field: FieldMapping, value: str) -> str | None:
    if not value:
        return None
    allowed = directions_of(mapping, field)
    if value not in {d.value for d in allowed}:
        words = ", ".join(d.value for d in allowed)
        raise UsageError(f"{field.title}: the direction {value!r} is not one of {words}.")
    return value


@router.post("/mappings/{name}/tables")
def edit_tables(
    request: Request,
    name: str,
    local_caption: Annotated[str | None, Form(max_length=200)] = None,
    integration_caption: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """The captions of the mapping's tables ("Customer", "Account")."""
    state = get_state(request)
    before = state.coupler.systems.mapping(name)
    names = state.system_names()
    try:
        change = TableChange(
            local_caption=_caption(f"{names['local']} table", local_caption),
            integration_caption=_caption(f"{names['integration']} table", integration_caption),
        )
    except UsageError as error:
        return _refused(request, before.name, error)
    return _table_change(request, state, before, change)


def _caption(title: str, text: str | None) -> str | None:
    """A caption typed in a form, trimmed ("" removes it); a UsageError naming what it captions when too long."""
    if text is None:
        return None
    caption = " ".join(text.split())
    if len(caption) > CAPTION_LENGTH:
        raise UsageError(f"{title}: a caption has at most {CAPTION_LENGTH} characters; this one has {len(caption)}.")
    return caption


@router.post("/mappings/{name}/filter/{side}")
def edit_filter(request: Request, name: str, side: str, field: Texts, op: Texts, value: Texts) -> Response:
    """A table filter, condition by condition (a row without a field is left out)."""
    state = get_state(request)
    before = state.coupler.systems.mapping(name)
    try:
        which = Side(side)
    except ValueError:
        return _refused(request, before.name, UsageError(f"A filter is of {' or '.join(s.value for s in Side)}."))
    try:
        conditions = _conditions(state, before, which, field, op, value)
    except CouplerError as error:
        return _refused(request, before.name, error)
    change = TableChange(local_filter=conditions) if which is Side.LOCAL else TableChange(integration_filter=conditions)
    return _table_change(request, state, before, change)


def _conditions(
    state: WebState, mapping: TableMapping, side: Side, fields: list[str], ops: list[str], values: list[str]
) -> list[dict[str, Any]]:
    """The filter the form's rows say; a UsageError naming the system, the field and what is wrong."""
    if not len(fields) == len(ops) == len(values):
        raise UsageError("The filter form was sent incomplete: reload the page and try again.")
    known = dict(columns_of(state, mapping, side))
    where = f"{state.system_names()[side.value]} filter"
    conditions = []
    for column, op, text in zip(fields, ops, values, strict=True):
        if not column:
            continue
        if column not in known:
            raise UsageError(f"{where}: {mapping.spec(side).title} has no field {column!r}.")
        try:
            conditions.append(condition(column, op, text, caption=known[column]))
        except UsageError as error:
            raise UsageError(f"{where}, {error.message}") from None
    return conditions


def _table_change(request: Request, state: WebState, before: TableMapping, change: TableChange) -> Response:
    try:
        state.change_config(lambda path, check: change_table(path, before.name, change, check=check))
    except CouplerError as error:
        return _refused(request, before.name, error)
    after = state.coupler.systems.mapping(before.name)
    return _changed(request, before.name, changes_of_table(before, after, state.system_names()))
