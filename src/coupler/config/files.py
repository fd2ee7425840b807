"""The shape of coupler.toml as pydantic models: keys, types and defaults, unknown keys refused.

``[local]`` and ``[integration]`` are checked against the settings class of their connector kind
(coupler.adapters.connectors.kinds), so a kind registered by a distribution is checked like a built-in one.

Checks that span several keys or mappings, and building the domain objects, live in the sibling modules.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from coupler.adapters.connectors.kinds import ConnectorSettings, UnknownConnectorKind, connector_kind
from coupler.config.hooks import HooksModel
from coupler.config.queue import QueueModel
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import ConflictPolicy, DeletePropagation, DeletionPolicy, Direction, Operator

__all__ = [
    "CAPTION_LENGTH",
    "MAPPING_NAME_LENGTH",
    "ConditionModel",
    "FieldModel",
    "FileModel",
    "MappingModel",
    "SideModel",
    "SyncModel",
    "TransformModel",
]

_NAME = re.compile(r"^[A-Z0-9][A-Z0-9_\- ]*$")
MAPPING_NAME_LENGTH = 100
"""The longest mapping name: the state store keeps names (and lock names made from them) in columns of 200."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CAPTION_LENGTH = 80
"""The longest caption: a field's or a table's name as a user reads it on a page."""


def _caption(value: str | None) -> str | None:
    """A caption is one line of 1 to CAPTION_LENGTH characters, without spaces around it."""
    if value is None:
        return None
    if not value.strip():
        raise ValueError('a caption is a name a user reads, like "Post Code"; this one is blank')
    if value != value.strip():
        raise ValueError(f"a caption has no spaces around it: write {value.strip()!r}")
    if len(value) > CAPTION_LENGTH:
        raise ValueError(f"a caption has at most {CAPTION_LENGTH} characters; this one has {len(value)}")
    if any(not c.isprintable() for c in value):
        raise ValueError("a caption is one line of printable characters")
    return value


class ConditionModel(_Strict):
    field: str
    op: Operator = Operator.EQ
    value: Any = None
    or_null: bool = False
    """With ``in``: empty (null) values are in the list too (TOML has no null to write in it)."""

    @model_validator(mode="after")
    def _value_fits_the_operator(self) -> ConditionModel:
        if self.op in (Operator.IN, Operator.NOT_IN) and not isinstance(self.value, list):
            raise ValueError(f"{self.op.value} needs a list of values, like value = [1, 2]")
        if self.or_null and self.op is not Operator.IN:
            raise ValueError('or_null goes with op = "in" only')
        if self.op not in (Operator.IS_NULL, Operator.NOT_NULL, Operator.EQ, Operator.NE) and self.value is None:
            raise ValueError(f"{self.op.value} needs a value")
        return self


class SideModel(_Strict):
    table: str
    caption: str | None = None
    key: str
    display_key: str | None = None
    name_field: str | None = None
    modified_on: str | None = None
    alternate_key: str | None = None
    filter: list[ConditionModel] = Field(default_factory=list)

    @field_validator("caption")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _caption(value)


class TransformModel(BaseModel):
    """One transformation step: ``kind`` and its own settings (checked by coupler.domain.transforms.pipeline)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str
    direction: Direction | None = None


class FieldModel(_Strict):
    caption: str | None = None
    local: str | None = None
    integration: str | None = None
    constant: Any = None
    direction: Direction | None = None
    enabled: bool = True
    match: int | None = Field(default=None, ge=1)
    case_sensitive: bool = False
    lookup: str | None = None
    lookup_local_by: str | None = None
    lookup_integration_by: str | None = None
    clear_on_failed_lookup: bool = False
    not_null: bool = False
    transform: list[TransformModel] = Field(default_factory=list)
    options: dict[str, int | str] | None = None

    @field_validator("caption")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _caption(value)


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
        if len(value) > MAPPING_NAME_LENGTH:
            raise ValueError(f"a mapping name has at most {MAPPING_NAME_LENGTH} characters; this one has {len(value)}")
        return value


class SyncModel(_Strict):
    batch_size: int | None = Field(default=None, ge=1, le=100_000)
    """Records per page; None: ``DEFAULT_BATCH`` times the requests the busier system sends at once."""
    overlap_ms: int = Field(default=1000, ge=0, le=3_600_000)


class FileModel(_Strict):
    enabled: bool = True
    """Business Central's *Enabled* of the connection setup: false stops every synchronization and coupling job."""
    state: str | None = None
    local: SerializeAsAny[ConnectorSettings]
    integration: SerializeAsAny[ConnectorSettings]
    sync: SyncModel = Field(default_factory=SyncModel)
    mappings: list[MappingModel] = Field(min_length=1)
    queue: QueueModel | None = None
    """``[queue]``: jobs run by `coupler worker` from a job queue in the PostgreSQL state store."""
    hooks: HooksModel | None = None
    """``[hooks]``: the systems notify `coupler serve` of their changes (webhooks)."""

    @field_validator("local", "integration", mode="wrap")
    @classmethod
    def _settings_of_its_kind(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> ConnectorSettings:
        """A system's table is checked against the settings class of its ``kind`` (sql when not written)."""
        kind = value.get("kind", "sql") if isinstance(value, dict) else getattr(value, "kind", "sql")
        try:
            settings = connector_kind(str(kind)).settings
        except ConfigurationError as error:
            name = value.get("name") if isinstance(value, dict) else None
            if isinstance(error, UnknownConnectorKind):
                error = UnknownConnectorKind(error.name, system=name if isinstance(name, str) else None)
            problem = PydanticCustomError("connector_kind", "{problem}", {"problem": str(error)})
            raise ValidationError.from_exception_data(
                "connector kind", [InitErrorDetails(type=problem, loc=("kind",), input=kind)]
            ) from None
        return settings.model_validate(value)  # type: ignore[no-any-return]
