"""The layers point inward (entrypoints -> bootstrap -> config/demo -> adapters -> services -> ports -> domain)."""

from __future__ import annotations

import ast
import subprocess
import sys
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
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


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
