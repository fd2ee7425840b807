"""Every template and static file of the web app (subfolders included) is package data, so `pip install .` ships
it: the pyproject globs are expanded the way setuptools expands them (``glob`` with ``**``)."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "src" / "coupler"
WEB = PACKAGE / "entrypoints" / "web"


def _patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: list[str] = config["tool"]["setuptools"]["package-data"]["coupler"]
    return patterns


def _expand(base: Path, pattern: str) -> set[Path]:
    """What setuptools ships for ``pattern``: it expands package data with ``glob.glob(..., recursive=True)``."""
    return {Path(p) for p in glob.glob(str(base / pattern), recursive=True) if Path(p).is_file()}  # noqa: PTH207


def _package_data() -> set[Path]:
    return {path for pattern in _patterns() for path in _expand(PACKAGE, pattern)}


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


def test_every_template_and_static_file_is_package_data() -> None:
    shipped = _package_data()
    for folder in (WEB / "templates", WEB / "static"):
        files = _files(folder)
        assert files, f"{folder} holds no files"
        missing = sorted(str(p.relative_to(PACKAGE)) for p in files - shipped)
        assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_the_globs_reach_into_subfolders(tmp_path: Path) -> None:
    """A file in a new subfolder (static/vendor/, templates/partials/) is matched by the same patterns."""
    for relative in ("entrypoints/web/static/vendor/fonts/a.woff2", "entrypoints/web/templates/partials/row.html"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
        assert any(path in _expand(tmp_path, pattern) for pattern in _patterns()), relative
