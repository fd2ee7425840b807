"""What a connector kind is: the settings its ``[local]`` or ``[integration]`` table holds, and how a connector is
built from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from coupler.adapters.settings import Place
from coupler.ports.connector import Connector

__all__ = ["ConnectorKind", "ConnectorSettings"]


class ConnectorSettings(BaseModel):
    """A connected system as coupler.toml writes it: ``name`` shown in messages and pages, ``kind`` choosing the
    connector. Each kind's settings add their own keys; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: str

    def resolved(self, place: Place) -> Self:
        """These settings with what they refer to resolved (secrets read from the environment, paths against the
        file's folder), each problem recorded at ``place``. Settings that refer to nothing are returned as they are."""
        return self

    def connection(self) -> str | None:
        """What names the connected system for what coupler keeps about it between processes (its schema's
        metadata): kind, URL, company, the client signed in as, never a secret. None: nothing is kept."""
        return None


S = TypeVar("S", bound=ConnectorSettings)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectorKind(Generic[S]):
    """A kind of connected system: its ``kind`` value in coupler.toml, the settings class its table is checked
    against, and ``connect``, which builds the connector (with its engine or client) from resolved settings."""

    name: str
    settings: type[S]
    connect: Callable[[S], Connector]

    def build(self, settings: ConnectorSettings) -> Connector:
        """The connector for ``settings``, which were checked against this kind's settings class."""
        if not isinstance(settings, self.settings):
            raise TypeError(f"a {self.name} connector is built from {self.settings.__name__}, not {settings!r}")
        return self.connect(settings)
