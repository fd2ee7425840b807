"""Changing coupler.toml in place: comments and layout kept, the old file kept, the result valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from coupler.config.edit import FieldChange, change_field, enabled_in, set_enabled
from coupler.demo.config_template import render_demo_config
from coupler.domain.errors import ConfigurationError, UnknownMapping, UsageError


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


def _demo(tmp_path: Path) -> Path:
    path = tmp_path / "coupler.toml"
    path.write_text(render_demo_config(), encoding="utf-8")
    return path


def test_a_field_mapping_is_switched_off_redirected_and_given_a_match_priority(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    change_field(path, "customer", "email", FieldChange(enabled=False))
    change_field(path, "CUSTOMER", "phoneNumber|telephone1", FieldChange(direction="to-integration", match=2))
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    fields = {f.get("local"): f for f in next(m for m in data["mappings"] if m["name"] == "CUSTOMER")["fields"]}
    assert fields["email"]["enabled"] is False
    assert (fields["phoneNumber"]["direction"], fields["phoneNumber"]["match"]) == ("to-integration", 2)
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert all(line in path.read_text(encoding="utf-8") for line in comments), "every comment kept"

    change_field(path, "CUSTOMER", "email", FieldChange(enabled=True))
    change_field(path, "CUSTOMER", "phoneNumber", FieldChange(match=0))
    fields = {
        f.get("local"): f
        for f in next(m for m in tomllib.loads(path.read_text())["mappings"] if m["name"] == "CUSTOMER")["fields"]
    }
    assert "enabled" not in fields["email"] and "match" not in fields["phoneNumber"], "defaults are not written"


def test_unknown_ambiguous_and_invalid_changes_are_refused_and_the_file_is_left_alone(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    with pytest.raises(UnknownMapping, match="No table mapping is named 'NOPE'"):
        change_field(path, "NOPE", "email", FieldChange(enabled=False))
    with pytest.raises(UsageError, match=r"CUSTOMER has no field mapping 'fax'; its field mappings are: displayName"):
        change_field(path, "CUSTOMER", "fax", FieldChange(enabled=False))
    with pytest.raises(
        UsageError, match=r"'currencyCode' names several field mappings .*name it as local\|integration"
    ):
        change_field(path, "CUSTOMER", "currencyCode", FieldChange(enabled=False))
    with pytest.raises(ConfigurationError):
        change_field(path, "CURRENCY", "code", FieldChange(direction="from-integration"))
    assert path.read_text(encoding="utf-8") == original
    assert not (tmp_path / "coupler.toml.bak").exists()
