"""Loading and validating coupler.toml into domain mappings and connection settings.

A broken file gives a ConfigurationError with one message per problem, each naming the file, the mapping and the key.
The file's shape is in ``files`` and building the mappings in ``mappings``; each connected system's settings are
those of its connector kind (coupler.adapters.connectors.kinds), which resolve their own secrets and paths.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from coupler.adapters.connectors.kinds import ConnectorSettings
from coupler.adapters.settings import Place
from coupler.config.files import FileModel
from coupler.config.hooks import HookSettings, hook_settings
from coupler.config.mappings import build_mapping, check_mappings
from coupler.config.queue import queue_settings
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import TableMapping
from coupler.domain.schedules import QueueSettings

__all__ = ["AppConfig", "default_config_path", "load_config", "parse_config"]

CONFIG_ENV = "COUPLER_CONFIG"


@dataclass(frozen=True, kw_only=True, slots=True)
class AppConfig:
    path: Path
    state_url: str
    local: ConnectorSettings
    integration: ConnectorSettings
    mappings: tuple[TableMapping, ...]
    batch_size: int | None = None
    """``[sync] batch_size``: records per page, as set; None: 1,000 per request a system sends at once."""
    overlap_ms: int = 1000
    enabled: bool = True
    queue: QueueSettings | None = None
    """The job queue (``[queue]``), or None: jobs run in the process that asks for them."""
    hooks: HookSettings | None = None
    """Webhooks (``[hooks]``), or None: changes are found by the scheduled runs only."""

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
    mappings = tuple(build_mapping(path, m, problems) for m in model.mappings)
    problems.extend(check_mappings(path, mappings))
    folder = path.resolve().parent
    local = model.local.resolved(Place(path=path, key="local", folder=folder, problems=problems))
    integration = model.integration.resolved(Place(path=path, key="integration", folder=folder, problems=problems))
    state = Place(path=path, key="state", folder=folder, problems=problems)
    state_url = state.database_url(model.state or "sqlite:///coupler-state.db")
    queue = _queue(path, model, state_url, mappings, problems)
    hooks_place = Place(path=path, key="hooks", folder=folder, problems=problems)
    hooks = hook_settings(model.hooks, hooks_place) if model.hooks is not None else None
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
        enabled=model.enabled,
        queue=queue,
        hooks=hooks,
    )


def _queue(
    path: Path, model: FileModel, state_url: str, mappings: tuple[TableMapping, ...], problems: list[str]
) -> QueueSettings | None:
    """The queue's settings when ``[queue]`` is on: it lives in the state store, which must be PostgreSQL."""
    if model.queue is None or not model.queue.enabled:
        return None
    if not state_url.startswith("postgresql"):
        problems.append(
            f"{path}: key queue: the job queue lives in the state store, which must then be PostgreSQL "
            '(state = "postgresql+psycopg://user@host/database")'
        )
    names = {m.name for m in mappings}
    for name in model.queue.mappings:
        if name.upper() not in names:
            problems.append(f"{path}: key queue.mappings.{name}: no table mapping has this name")
    return queue_settings(model.queue)


def _describe(path: Path, data: dict[str, Any], error: Any) -> str:
    location = list(error["loc"])
    label = []
    if location and location[0] == "mappings" and len(location) > 1 and isinstance(location[1], int):
        index = location[1]
        mappings = data.get("mappings") or []
        name = mappings[index].get("name") if index < len(mappings) and isinstance(mappings[index], dict) else None
        label.append(f"mapping {name or f'#{index + 1}'}")
        location = location[2:]
    key = ".".join(str(part) for part in location) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    where = ", ".join([*label, f"key {key}"])
    return f"{path}: {where}: {message}"
