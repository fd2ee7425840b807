"""Loading and validating coupler.toml into domain mappings and connection settings.

A broken file gives a ConfigurationError with one message per problem, each naming the file, the mapping and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import (
    Condition,
    ConflictPolicy,
    DeletePropagation,
    DeletionPolicy,
    Direction,
    FieldMapping,
    Lookup,
    Operator,
    TableMapping,
    TableSpec,
)
from coupler.domain.transforms import Transform, TransformError, check_transform

__all__ = ["AppConfig", "SystemConfig", "default_config_path", "load_config", "parse_config"]

CONFIG_ENV = "COUPLER_CONFIG"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Z0-9][A-Z0-9_\- ]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConditionModel(_Strict):
    field: str
    op: Operator = Operator.EQ
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_the_operator(self) -> ConditionModel:
        if self.op in (Operator.IN, Operator.NOT_IN) and not isinstance(self.value, list):
            raise ValueError(f"{self.op.value} needs a list of values, like value = [1, 2]")
        if self.op not in (Operator.IS_NULL, Operator.NOT_NULL, Operator.EQ, Operator.NE) and self.value is None:
            raise ValueError(f"{self.op.value} needs a value")
        return self


class SideModel(_Strict):
    table: str
    key: str
    display_key: str | None = None
    modified_on: str | None = None
    filter: list[ConditionModel] = Field(default_factory=list)


class TransformModel(BaseModel):
    """One transformation step: ``kind`` and its own settings (checked by coupler.domain.transforms)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str
    direction: Direction | None = None


class FieldModel(_Strict):
    local: str | None = None
    integration: str | None = None
    direction: Direction | None = None
    enabled: bool = True
    constant: Any = None
    match: int | None = Field(default=None, ge=1)
    case_sensitive: bool = False
    lookup: str | None = None
    lookup_local_by: str | None = None
    lookup_integration_by: str | None = None
    clear_on_failed_lookup: bool = False
    not_null: bool = False
    transform: list[TransformModel] = Field(default_factory=list)
    options: dict[str, int | str] | None = None


class MappingModel(_Strict):
    name: str
    direction: Direction
    sync_only_coupled: bool = True
    depends_on: list[str] = Field(default_factory=list)
    update_conflict: ConflictPolicy = ConflictPolicy.NONE
    deletion_conflict: DeletionPolicy = DeletionPolicy.NONE
    delete: DeletePropagation = DeletePropagation.IGNORE
    local: SideModel
    integration: SideModel
    fields: list[FieldModel] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _upper_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("a mapping name is written in capitals, like CUSTOMER or ITEM-PRODUCT")
        return value


class SqlSystemModel(_Strict):
    name: str
    kind: Literal["sql"] = "sql"
    url: str


class _HttpSystemModel(_Strict):
    """A service reached over HTTP; secrets are written as ``${VAR}`` references."""

    name: str
    url: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    authority: str | None = None
    verify: bool | str = True
    page_size: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)


class DataverseSystemModel(_HttpSystemModel):
    kind: Literal["dataverse"]


class BusinessCentralSystemModel(_HttpSystemModel):
    kind: Literal["business-central"]
    company: str
    username: str | None = None
    password: str | None = None


def _system_kind(value: Any) -> str:
    kind = value.get("kind", "sql") if isinstance(value, dict) else getattr(value, "kind", "sql")
    return str(kind)


SystemModel = Annotated[
    Annotated[SqlSystemModel, Tag("sql")]
    | Annotated[DataverseSystemModel, Tag("dataverse")]
    | Annotated[BusinessCentralSystemModel, Tag("business-central")],
    Discriminator(_system_kind),
]
_SYSTEM_KINDS = ("sql", "dataverse", "business-central")


class SyncModel(_Strict):
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    overlap_ms: int = Field(default=1000, ge=0, le=3_600_000)


class FileModel(_Strict):
    state: str | None = None
    local: SystemModel
    integration: SystemModel
    sync: SyncModel = Field(default_factory=SyncModel)
    mappings: list[MappingModel] = Field(min_length=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemConfig:
    """One connected system. ``kind`` "sql" uses ``url`` only; "dataverse" and "business-central" use the rest
    (secrets already read from the environment, kept out of ``repr``)."""

    name: str
    kind: str
    url: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = dataclass_field(default=None, repr=False)
    authority: str | None = None
    company: str | None = None
    username: str | None = None
    password: str | None = dataclass_field(default=None, repr=False)
    verify: bool | str = True
    page_size: int | None = None
    batch_size: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AppConfig:
    path: Path
    state_url: str
    local: SystemConfig
    integration: SystemConfig
    mappings: tuple[TableMapping, ...]
    batch_size: int = 1000
    overlap_ms: int = 1000

    def mapping(self, name: str) -> TableMapping:
        for mapping in self.mappings:
            if mapping.name == name.upper():
                return mapping
        from coupler.domain.errors import UnknownMapping

        known = ", ".join(m.name for m in self.mappings)
        raise UnknownMapping(f"{self.path.name}: no table mapping named {name!r}; the mappings are: {known}.")


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "coupler.toml")


def load_config(path: Path | None = None) -> AppConfig:
    path = path or default_config_path()
    if not path.is_file():
        raise ConfigurationError(
            f"{path}: no configuration file here. Create one with `coupler demo DIR`, or pass --config PATH "
            f"(or set {CONFIG_ENV})."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: not valid TOML: {error}") from None
    return parse_config(data, path=path)


def parse_config(data: dict[str, Any], *, path: Path) -> AppConfig:
    try:
        model = FileModel.model_validate(data)
    except ValidationError as error:
        raise ConfigurationError(problems=[_describe(path, data, e) for e in error.errors()]) from None
    problems: list[str] = []
    mappings = tuple(_mapping(path, m, problems) for m in model.mappings)
    problems.extend(_check_mappings(path, mappings))
    base = path.resolve().parent
    local = _system(path, "local", model.local, base, problems)
    integration = _system(path, "integration", model.integration, base, problems)
    state_url = _url(path, "state", model.state or "sqlite:///coupler-state.db", base, problems)
    if problems:
        raise ConfigurationError(problems=problems)
    return AppConfig(
        path=path,
        state_url=state_url,
        local=local,
        integration=integration,
        mappings=mappings,
        batch_size=model.sync.batch_size,
        overlap_ms=model.sync.overlap_ms,
    )


def _describe(path: Path, data: dict[str, Any], error: Any) -> str:
    location = list(error["loc"])
    label = []
    if location and location[0] == "mappings" and len(location) > 1 and isinstance(location[1], int):
        index = location[1]
        mappings = data.get("mappings") or []
        name = mappings[index].get("name") if index < len(mappings) and isinstance(mappings[index], dict) else None
        label.append(f"mapping {name or f'#{index + 1}'}")
        location = location[2:]
    if len(location) > 1 and location[0] in ("local", "integration") and location[1] in _SYSTEM_KINDS:
        location = [location[0], *location[2:]]  # the connector kind the union chose is no key of the file
    key = ".".join(str(part) for part in location) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    where = ", ".join([*label, f"key {key}"])
    return f"{path}: {where}: {message}"


def _spec(side: SideModel) -> TableSpec:
    return TableSpec(
        table=side.table,
        key=side.key,
        modified_on=side.modified_on,
        display_key=side.display_key,
        filter=tuple(Condition(field=c.field, op=c.op, value=c.value) for c in side.filter),
    )


def _mapping(path: Path, model: MappingModel, problems: list[str]) -> TableMapping:
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


def _check_mappings(path: Path, mappings: Iterable[TableMapping]) -> list[str]:
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


def _system(
    path: Path,
    key: str,
    model: SqlSystemModel | DataverseSystemModel | BusinessCentralSystemModel,
    base: Path,
    problems: list[str],
) -> SystemConfig:
    if isinstance(model, SqlSystemModel):
        url = _url(path, f"{key}.url", model.url, base, problems, must_exist=True)
        return SystemConfig(name=model.name, kind=model.kind, url=url)
    return _http_system(path, key, model, base, problems)


def _http_system(
    path: Path, key: str, model: DataverseSystemModel | BusinessCentralSystemModel, base: Path, problems: list[str]
) -> SystemConfig:
    """Check an HTTP service's settings: an http(s) URL, complete credentials, secrets as ``${VAR}`` references."""
    where = f"{path}: key {key}"
    url = model.url.strip()
    if not re.match(r"^https?://[^/\s]+", url):
        problems.append(f"{where}.url: not an http(s) URL: {url!r}")
    secrets: dict[str, str | None] = {}
    for name in ("client_secret", "password"):
        raw = getattr(model, name, None)
        if raw is None:
            secrets[name] = None
            continue
        if not _ENV_REFERENCE.search(raw):
            problems.append(
                f"{where}.{name}: write the secret as an environment variable reference, like ${{MY_SECRET}}"
            )
            secrets[name] = None
            continue
        missing = [v for v in _ENV_REFERENCE.findall(raw) if v not in os.environ]
        if missing:
            problems.append(f"{where}.{name}: environment variable {', '.join(missing)} is not set")
        secrets[name] = _ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), ""), raw)
    oauth = (model.tenant_id, model.client_id, model.client_secret)
    basic = (getattr(model, "username", None), getattr(model, "password", None))
    if isinstance(model, BusinessCentralSystemModel) and any(basic) and not any(oauth):
        if not all(basic):
            problems.append(f"{where}: basic authentication needs both username and password")
    elif not all(oauth):
        absent = [n for n, v in zip(("tenant_id", "client_id", "client_secret"), oauth, strict=True) if not v]
        problems.append(f"{where}: {', '.join(absent)} missing: sign-in needs tenant_id, client_id and client_secret")
    verify: bool | str = model.verify
    if isinstance(verify, str):
        ca = Path(verify) if Path(verify).is_absolute() else base / verify
        if not ca.is_file():
            problems.append(f"{where}.verify: no CA certificate file at {ca}")
        verify = str(ca)
    return SystemConfig(
        name=model.name,
        kind=model.kind,
        url=url.rstrip("/"),
        tenant_id=model.tenant_id,
        client_id=model.client_id,
        client_secret=secrets["client_secret"],
        authority=model.authority,
        company=getattr(model, "company", None),
        username=getattr(model, "username", None),
        password=secrets["password"],
        verify=verify,
        page_size=model.page_size,
        batch_size=model.batch_size,
    )


def _url(path: Path, key: str, raw: str, base: Path, problems: list[str], *, must_exist: bool = False) -> str:
    """Expand ``${VAR}`` references; refuse a password written into the file; resolve relative SQLite paths."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    missing = [name for name in _ENV_REFERENCE.findall(raw) if name not in os.environ]
    if missing:
        problems.append(f"{path}: key {key}: environment variable {', '.join(missing)} is not set")
        return raw
    placeholders = _ENV_REFERENCE.sub(lambda m: f"envref{m.start()}x", raw)
    try:
        written = make_url(placeholders)
    except ArgumentError:
        written = None  # e.g. the whole URL is one ${VAR}: then it comes from the environment, password and all
    if written is not None and written.password and "envref" not in str(written.password):
        problems.append(
            f"{path}: key {key}: the URL holds a password; write it as an environment variable reference, "
            "like postgresql+psycopg://user:${PGPASSWORD}@host/db"
        )
        return raw
    try:
        url = make_url(_ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], raw))
    except ArgumentError:
        problems.append(f"{path}: key {key}: not a database URL (like sqlite:///file.db or postgresql://host/db)")
        return raw
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        if not database.is_absolute():
            database = base / database
            url = url.set(database=str(database))
        if must_exist and not database.is_file():
            problems.append(f"{path}: key {key}: no SQLite database at {database}")
    return url.render_as_string(hide_password=False)
