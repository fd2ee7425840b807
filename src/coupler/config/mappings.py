"""Building the domain's table mappings from coupler.toml's mapping models, and the checks across mappings:
names used once, dependencies that exist and form no cycle, lookups into mappings depended on."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from coupler.config.files import FieldModel, MappingModel, SideModel
from coupler.domain.mapping import Condition, Direction, FieldMapping, Lookup, TableMapping, TableSpec
from coupler.domain.transforms.pipeline import Transform, TransformError, check_transform

__all__ = ["build_mapping", "check_mappings"]


def build_mapping(path: Path, model: MappingModel, problems: list[str]) -> TableMapping:
    fields = []
    for index, f in enumerate(model.fields):
        where = f"{path}: mapping {model.name}, key fields[{index}]"
        direction = f.direction or model.direction
        has_constant = f.constant is not None
        if not model.direction.allows(direction):
            problems.append(f"{where}.direction: {direction.value} is not allowed in a {model.direction.value} mapping")
        if has_constant:
            if direction is Direction.BIDIRECTIONAL:
                problems.append(f"{where}.constant: a constant needs a one-way direction (the field it fills)")
            else:
                if getattr(f, direction.source.value) is not None:
                    problems.append(
                        f"{where}.constant: give either a constant or a {direction.source.value} field, not both"
                    )
                if getattr(f, direction.target.value) is None:
                    problems.append(f"{where}: a constant needs the {direction.target.value} field it fills")
        elif f.local is None or f.integration is None:
            problems.append(f"{where}: a field mapping needs both local and integration (or a constant)")
        if f.lookup and has_constant:
            problems.append(f"{where}.lookup: a lookup translates a field's value; it cannot have a constant")
        if (f.lookup_local_by or f.lookup_integration_by) and not f.lookup:
            problems.append(f"{where}: lookup_local_by and lookup_integration_by need a lookup")
        fields.append(
            FieldMapping(
                local=f.local,
                integration=f.integration,
                direction=direction,
                enabled=f.enabled,
                constant=f.constant,
                has_constant=has_constant,
                match_priority=f.match,
                case_sensitive=f.case_sensitive,
                lookup=Lookup(
                    mapping=f.lookup.upper(), local_by=f.lookup_local_by, integration_by=f.lookup_integration_by
                )
                if f.lookup
                else None,
                clear_on_failed_lookup=f.clear_on_failed_lookup,
                not_null=f.not_null,
                transforms=_transforms(where, f, direction, problems),
                caption=f.caption,
            )
        )
    mapping = TableMapping(
        name=model.name,
        local=_spec(model.local),
        integration=_spec(model.integration),
        direction=model.direction,
        fields=tuple(fields),
        sync_only_coupled=model.sync_only_coupled,
        depends_on=tuple(d.upper() for d in model.depends_on),
        update_conflict=model.update_conflict,
        deletion_conflict=model.deletion_conflict,
        delete=model.delete,
    )
    for one_way in model.direction.one_way:
        if not mapping.spec(one_way.source).modified_on:
            problems.append(
                f"{path}: mapping {model.name}, key {one_way.source.value}.modified_on: a {model.direction.value} "
                f"mapping reads changes from the {one_way.source.value} side, which needs its modified-on column"
            )
        if not mapping.fields_for(one_way):
            problems.append(
                f"{path}: mapping {model.name}, key fields: no enabled field mapping flows {one_way.value}, "
                f"which a {model.direction.value} mapping needs"
            )
    return mapping


def _spec(side: SideModel) -> TableSpec:
    return TableSpec(
        table=side.table,
        key=side.key,
        modified_on=side.modified_on,
        display_key=side.display_key,
        filter=tuple(
            Condition(field=c.field, op=c.op, value=[*c.value, None] if c.or_null else c.value) for c in side.filter
        ),
        alternate_key=side.alternate_key,
        caption=side.caption,
        name_field=side.name_field,
    )


def _transforms(where: str, model: FieldModel, direction: Direction, problems: list[str]) -> tuple[Transform, ...]:
    field_direction = direction.value
    steps = []
    for index, step in enumerate(model.transform):
        params = {k: v for k, v in (step.model_extra or {}).items()}
        transform = Transform(kind=step.kind, params=params, direction=step.direction.value if step.direction else None)
        try:
            check_transform(transform, field_direction=field_direction)
        except TransformError as error:
            problems.append(f"{where}.transform[{index}]: {error}")
        steps.append(transform)
    if model.options is not None:
        transform = Transform(kind="options", params={"values": dict(model.options)})
        try:
            check_transform(transform, field_direction=field_direction)
        except TransformError as error:
            problems.append(f"{where}.options: {error}")
        steps.append(transform)
    return tuple(steps)


def check_mappings(path: Path, mappings: Iterable[TableMapping]) -> list[str]:
    problems = []
    by_name: dict[str, TableMapping] = {}
    for mapping in mappings:
        if mapping.name in by_name:
            problems.append(f"{path}: mapping {mapping.name}: the name is used twice")
        by_name[mapping.name] = mapping
    for mapping in by_name.values():
        for dependency in mapping.depends_on:
            if dependency not in by_name:
                problems.append(f"{path}: mapping {mapping.name}, key depends_on: no mapping named {dependency!r}")
    for mapping in by_name.values():
        for index, field in enumerate(mapping.fields):
            if field.lookup and field.lookup.mapping not in by_name:
                problems.append(
                    f"{path}: mapping {mapping.name}, key fields[{index}].lookup: no mapping named "
                    f"{field.lookup.mapping!r}"
                )
            elif field.lookup and field.lookup.mapping not in mapping.depends_on:
                problems.append(
                    f"{path}: mapping {mapping.name}, key depends_on: fields[{index}] looks up "
                    f"{field.lookup.mapping}, so the mapping must depend on it"
                )
    cycle = _find_cycle(by_name)
    if cycle:
        problems.append(f"{path}: key depends_on: the mappings depend on each other in a cycle: {' -> '.join(cycle)}")
    return problems


def _find_cycle(by_name: dict[str, TableMapping]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        for dependency in by_name[name].depends_on:
            if dependency not in by_name:
                continue
            if state.get(dependency) == 1:
                return [*stack[stack.index(dependency) :], dependency]
            if dependency not in state:
                found = visit(dependency)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return []

    for name in by_name:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []
