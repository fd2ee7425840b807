"""The demo's rows for both databases, generated from one seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coupler.demo.crm.seed import seed_crm
from coupler.demo.erp.seed import Row, Seeder

__all__ = ["DemoData", "demo_data"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoData:
    """Rows per table of each database, in insertion order."""

    erp: Mapping[str, Sequence[Row]]
    crm: Mapping[str, Sequence[Row]]


def demo_data(seed: int) -> DemoData:
    """The same seed always gives the same rows."""
    seeder = Seeder(seed)
    erp = seeder.erp()
    return DemoData(erp=erp, crm=seed_crm(seeder, erp))
