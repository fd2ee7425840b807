"""Fake installed distributions for tests of entry-point plugins (transforms, connector kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Plugins:
    """A directory on sys.path holding a test's plugin ``module``; ``distribution`` installs distributions there
    that register entry points in ``group``."""

    module: str
    path: Path
    group: str

    def distribution(self, name: str, entry_points: dict[str, str]) -> None:
        """Install (by putting it on sys.path) a distribution registering ``entry_points`` in the group."""
        info = self.path / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
        lines = [f"[{self.group}]", *(f"{key} = {value}" for key, value in entry_points.items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
