"""The connector kinds: the built-in ones, and those installed distributions register in the ``coupler.connectors``
entry point group, e.g. in their pyproject.toml::

    [project.entry-points."coupler.connectors"]
    acme = "acme_coupler.kind:ACME"

where ``ACME`` is a :class:`ConnectorKind` named ``acme``; a ``[local]`` or ``[integration]`` table with
``kind = "acme"`` is then checked against its settings class and connected with its ``connect``. A built-in kind
cannot be replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Any

from coupler.adapters.connectors.kinds.business_central import BUSINESS_CENTRAL
from coupler.adapters.connectors.kinds.dataverse import DATAVERSE
from coupler.adapters.connectors.kinds.kind import ConnectorKind, ConnectorSettings
from coupler.adapters.connectors.kinds.sql import SQL
from coupler.domain.errors import ConfigurationError

__all__ = ["BUILT_IN", "GROUP", "UnknownConnectorKind", "connector_kind", "kind_names"]

GROUP = "coupler.connectors"

BUILT_IN: Mapping[str, ConnectorKind[Any]] = MappingProxyType({k.name: k for k in (SQL, DATAVERSE, BUSINESS_CENTRAL)})


class UnknownConnectorKind(ConfigurationError):
    """No connector kind has that name."""

    def __init__(self, name: str, *, system: str | None = None) -> None:
        self.name = name
        self.known = kind_names()
        of = f" for the system {system!r}" if system else ""
        super().__init__(
            f"no connector kind named {name!r}{of}; the kinds are: {', '.join(self.known)} (more come from "
            f"distributions registering one in the entry point group {GROUP!r})"
        )


def kind_names() -> tuple[str, ...]:
    """The names of the built-in kinds and of those registered in the entry point group, sorted."""
    return tuple(sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=GROUP))}))


def connector_kind(name: str) -> ConnectorKind[Any]:
    """The kind named ``name``: a built-in one, or the one an installed distribution registers under that name.

    Raises UnknownConnectorKind, or a ConfigurationError naming the entry point that could not be loaded.
    """
    if name in BUILT_IN:
        return BUILT_IN[name]
    found = list(entry_points(group=GROUP).select(name=name))
    if not found:
        raise UnknownConnectorKind(name)
    if len({ep.value for ep in found}) > 1:
        raise ConfigurationError(
            f"the connector kind {name!r} is registered more than once in {GROUP!r}: {'; '.join(map(_where, found))}"
        )
    return _load(found[0])


def _load(entry_point: EntryPoint) -> ConnectorKind[Any]:
    where = f"the connector kind {entry_point.name!r} ({_where(entry_point)})"
    try:
        kind = entry_point.load()
    except Exception as error:  # importing a distribution's code can fail in any way: a configuration problem
        raise ConfigurationError(f"{where} could not be loaded: {type(error).__name__}: {error}") from error
    if not isinstance(kind, ConnectorKind):
        raise ConfigurationError(f"{where} is not a ConnectorKind: {kind!r}")
    if kind.name != entry_point.name:
        raise ConfigurationError(f"{where} is named {kind.name!r}: register it under its own name")
    if not (isinstance(kind.settings, type) and issubclass(kind.settings, ConnectorSettings)):
        raise ConfigurationError(f"{where} has settings that do not derive from ConnectorSettings: {kind.settings!r}")
    return kind


def _where(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    origin = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"{entry_point.value}{origin}"
