"""Connector kinds: the value of ``kind`` in coupler.toml's ``[local]`` and ``[integration]`` tables, mapped to the
settings class that table is checked against and the function that builds the connector.

A kind is one :class:`ConnectorKind` (``kinds/sql.py`` and its neighbours are the built-in ones), listed in
``registry.BUILT_IN`` or registered by a distribution in the ``coupler.connectors`` entry point group.
"""

from __future__ import annotations

from coupler.adapters.connectors.kinds.kind import ConnectorKind, ConnectorSettings
from coupler.adapters.connectors.kinds.registry import GROUP, UnknownConnectorKind, connector_kind, kind_names
from coupler.adapters.settings import Place

__all__ = [
    "GROUP",
    "ConnectorKind",
    "ConnectorSettings",
    "Place",
    "UnknownConnectorKind",
    "connector_kind",
    "kind_names",
]
