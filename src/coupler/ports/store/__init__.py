"""The state store port: coupler's own state, one small port per aggregate (``Couplings``, ``Attention``, ``Jobs``,
``Cursors``, ``Metadata``) and ``StateStore``, which holds them and saves a chunk's changes across them at once."""

from __future__ import annotations

from coupler.ports.store.attention import Attention
from coupler.ports.store.couplings import Couplings
from coupler.ports.store.cursors import Cursors
from coupler.ports.store.jobs import Jobs
from coupler.ports.store.metadata import KnownEntry, Metadata
from coupler.ports.store.store import CouplingStats, StateStore

__all__ = ["Attention", "CouplingStats", "Couplings", "Cursors", "Jobs", "KnownEntry", "Metadata", "StateStore"]
