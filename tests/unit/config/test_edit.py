"""Changing coupler.toml in place: comments and layout kept, the old file kept, the result valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from coupler.config.edit import enabled_in, set_enabled
from coupler.demo.config_template import render_demo_config
from coupler.domain.errors import ConfigurationError


def test_switching_off_and_on_keeps_every_comment_and_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "coupler.toml"
    original = render_demo_config()
    path.write_text(original, encoding="utf-8")

    backup = set_enabled(path, False)
    written = path.read_text(encoding="utf-8")
    assert backup.read_text(encoding="utf-8") == original
    assert tomllib.loads(written)["enabled"] is False
    assert [line for line in written.splitlines() if line != "enabled = false"] == original.splitlines()
    assert written.index("enabled = false") < written.index("[local]"), "a top-level key, before the first table"
    assert enabled_in(path, otherwise=True) is False

    set_enabled(path, True)
    assert path.read_text(encoding="utf-8").count("enabled") == written.count("enabled"), "the same key, changed"
    assert enabled_in(path, otherwise=False) is True


def test_a_file_that_cannot_be_read_is_named_and_the_loaded_value_stands(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigurationError, match=r"nowhere\.toml: cannot be read"):
        set_enabled(missing, False)
    assert enabled_in(missing, otherwise=False) is False
    broken = tmp_path / "broken.toml"
    broken.write_text("enabled = [", encoding="utf-8")
    assert enabled_in(broken, otherwise=True) is True
