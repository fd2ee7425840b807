"""Changing coupler.toml in place: comments and layout kept, the old file kept, the result valid."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from coupler.config.edit import (
    FieldChange,
    TableChange,
    change_field,
    change_fields,
    change_table,
    enabled_in,
    set_enabled,
)
from coupler.config.filters import parse_condition
from coupler.demo.config_template import render_demo_config
from coupler.domain.errors import ConfigurationError, UnknownMapping, UsageError
from coupler.domain.mapping import TableMapping


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


def _customer(path: Path) -> dict[str, Any]:
    mappings = tomllib.loads(path.read_text(encoding="utf-8"))["mappings"]
    customer: dict[str, Any] = next(m for m in mappings if m["name"] == "CUSTOMER")
    return customer


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_a_field_caption_is_written_first_changed_in_place_and_removed(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    change_field(path, "CUSTOMER", "email", FieldChange(caption="Email"))
    change_field(path, "CUSTOMER", 10, FieldChange(caption="Credit Limit", direction="bidirectional"))
    written = path.read_text(encoding="utf-8")
    assert '{ caption = "Email", local = "email", integration = "emailaddress1" }' in written, "changed in place"
    fields = _customer(path)["fields"]
    assert fields[10]["caption"] == "Credit Limit" and "direction" not in fields[10], "the mapping's own direction"
    assert (tmp_path / "coupler.toml.bak").read_text(encoding="utf-8") != original, "the backup is the file before"

    change_field(path, "CUSTOMER", "email", FieldChange(caption=""))
    assert "caption" not in _customer(path)["fields"][8], "an empty caption removes it"
    change_field(path, "CUSTOMER", "email", FieldChange(caption="E-Mail"))
    assert list(_customer(path)["fields"][8]) == ["caption", "local", "integration"], "first, as coupler writes it"
    assert _comments(path.read_text(encoding="utf-8")) == _comments(original)


def test_table_captions_and_filters_are_written_in_the_sides_inline_tables(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    backup = change_table(
        path,
        "customer",
        TableChange(
            local_caption="Debtor",
            integration_caption="",
            local_filter=[parse_condition('blocked=""'), parse_condition("displayName startswith A")],
            integration_filter=[],
        ),
    )
    assert backup.read_text(encoding="utf-8") == original
    customer = _customer(path)
    assert customer["local"]["caption"] == "Debtor" and "caption" not in customer["integration"]
    assert customer["local"]["filter"] == [
        {"field": "blocked", "op": "eq", "value": ""},
        {"field": "displayName", "op": "startswith", "value": "A"},
    ]
    assert "filter" not in customer["integration"], "no conditions: no filter key"
    written = path.read_text(encoding="utf-8")
    assert 'integration = { table = "account", key = "accountid",' in written, "one line, no gap left"
    assert _comments(written) == _comments(original)
    changed = [line for line in written.splitlines() if line not in original.splitlines()]
    assert [line.split(" = ", 1)[0] for line in changed] == ["local", "integration"], "only the two sides changed"

    change_table(path, "CUSTOMER", TableChange(integration_caption="Account"))
    assert 'integration = { table = "account", caption = "Account", key' in path.read_text(encoding="utf-8")


def test_an_invalid_caption_or_filter_is_refused_and_the_file_is_left_alone(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    with pytest.raises(ConfigurationError, match="caption has at most 80 characters"):
        change_field(path, "CUSTOMER", "email", FieldChange(caption="E" * 81))
    with pytest.raises(ConfigurationError, match="a caption is one line"):
        change_table(path, "CUSTOMER", TableChange(local_caption="Cus\ntomer"))
    with pytest.raises(ConfigurationError, match="needs a list of values"):
        change_table(path, "CUSTOMER", TableChange(local_filter=[{"field": "blocked", "op": "in", "value": 1}]))
    with pytest.raises(UsageError, match="there is none at position 99"):
        change_field(path, "CUSTOMER", 99, FieldChange(caption="x"))
    assert path.read_text(encoding="utf-8") == original
    assert not (tmp_path / "coupler.toml.bak").exists()


def test_a_further_check_sees_the_changed_mappings_and_refuses_with_its_problems(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    original = path.read_text(encoding="utf-8")
    seen: list[TableMapping] = []

    def check(mappings: tuple[TableMapping, ...]) -> list[str]:
        seen.extend(m for m in mappings if m.name == "CUSTOMER")
        return ["customers has no column 'nope'"]

    with pytest.raises(ConfigurationError) as refused:
        change_table(path, "CUSTOMER", TableChange(local_filter=[parse_condition("nope=1")]), check=check)
    assert refused.value.problems == ["customers has no column 'nope'"]
    assert [c.field for c in seen[0].local.filter] == ["nope"], "the check is given the changed mapping"
    assert path.read_text(encoding="utf-8") == original


def test_several_field_mappings_change_in_one_write(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    change_fields(path, "CUSTOMER", {0: FieldChange(match=0), 7: FieldChange(match=1), 8: FieldChange(match=2)})
    fields = _customer(path)["fields"]
    assert [f.get("match") for f in fields[:9]] == [None, None, None, None, None, None, None, 1, 2]


def test_an_in_filter_with_empty_values_keeps_or_null(tmp_path: Path) -> None:
    path = _demo(tmp_path)
    change_table(path, "CUSTOMER", TableChange(integration_filter=[parse_condition("statecode in 0, 1, (empty)")]))
    assert _customer(path)["integration"]["filter"] == [
        {"field": "statecode", "op": "in", "value": [0, 1], "or_null": True}
    ]
