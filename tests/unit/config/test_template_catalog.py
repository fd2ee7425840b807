"""write_template: where the file goes, refusing to replace it, and the templates the CLI offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupler.domain.errors import UsageError
from coupler.entrypoints.cli.commands.init import TemplateChoice
from coupler.templates import TEMPLATES, TemplateExists, UnknownTemplate, write_template
from coupler.templates.bc_sales import render_bc_sales


def test_the_cli_offers_exactly_the_templates() -> None:
    assert sorted(c.value for c in TemplateChoice) == sorted(TEMPLATES)


def test_writes_a_file_or_into_a_folder(tmp_path: Path) -> None:
    assert write_template("bc-sales", tmp_path) == tmp_path / "coupler.toml"
    assert (tmp_path / "coupler.toml").read_text(encoding="utf-8") == render_bc_sales()
    nested = tmp_path / "a" / "b" / "sales.toml"
    assert write_template("bc-sales", nested) == nested
    assert nested.read_text(encoding="utf-8") == render_bc_sales()


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    target = tmp_path / "coupler.toml"
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(TemplateExists, match=r"coupler\.toml already exists; use --force to replace it\."):
        write_template("bc-sales", target)
    assert target.read_text(encoding="utf-8") == "mine"
    write_template("bc-sales", target, force=True)
    assert target.read_text(encoding="utf-8") == render_bc_sales()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coupler.toml"]


def test_a_folder_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "coupler.toml").mkdir()
    with pytest.raises(UsageError, match="is not a file"):
        write_template("bc-sales", tmp_path, force=True)


def test_an_unknown_template_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownTemplate, match="no template named 'nope'; the templates are: bc-sales"):
        write_template("nope", tmp_path)
    assert not any(tmp_path.iterdir())
