"""The layers point inward (entrypoints -> bootstrap -> templates/demo -> config -> adapters -> services -> ports ->
domain), and inside services the API and the read models and coupling operations sit over the synchronization
engine."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import coupler

PACKAGE = Path(coupler.__file__).parent
ROOT = PACKAGE.parent.parent


def test_import_linter_contracts_hold() -> None:
    executable = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(executable), "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


def test_inside_services_the_engine_sits_below_the_read_models_and_the_operations() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [services] = [c for c in config["contracts"] if c.get("containers") == ["coupler.services"]]
    assert services["type"] == "layers"
    assert services["layers"][:3] == ["api", "views | operations", "engine"]


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"coupler"}
    for path in (PACKAGE / "domain").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "coupler":
                    assert name.startswith("coupler.domain"), f"{path.name} imports {name}"
