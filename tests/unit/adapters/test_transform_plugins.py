"""User transforms loaded from the ``coupler.transforms`` entry point group of a real (temporary) distribution."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.transform_plugins import (
    GROUP,
    available_transforms,
    load_transform,
    resolve_mappings,
    resolve_transforms,
)
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Direction, FieldMapping, TableMapping, TableSpec
from coupler.domain.transforms.pipeline import Transform, compile_transforms
from distributions import Plugins


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Plugins]:
    """A directory on sys.path holding a module of transforms, with a uniquely named module for each test."""
    module = f"coupler_test_transforms_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        "def vat(value):\n"
        "    return None if value is None else 'DE' + str(value).replace(' ', '')\n"
        "\n"
        "def shout(value):\n"
        "    return str(value).upper() + '!'\n"
        "\n"
        "NOT_CALLABLE = 42\n",
        encoding="utf-8",
    )
    (tmp_path / f"{module}_broken.py").write_text("raise RuntimeError('the plugin is broken')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield Plugins(module=module, path=tmp_path, group=GROUP)
    for name in (module, f"{module}_broken"):
        sys.modules.pop(name, None)


@pytest.fixture
def installed(plugins: Plugins) -> Plugins:
    plugins.distribution(
        "acme-coupler-transforms",
        {
            "vat": f"{plugins.module}:vat",
            "shout": f"{plugins.module}:shout",
            "constant": f"{plugins.module}:NOT_CALLABLE",
            "broken": f"{plugins.module}_broken:anything",
            "gone": f"{plugins.module}:no_such_function",
        },
    )
    return plugins


def test_a_registered_function_is_loaded_and_runs(installed: Plugins) -> None:
    vat = load_transform("vat")
    assert vat("123 456") == "DE123456"
    assert {"vat", "shout", "constant", "broken", "gone"} <= set(available_transforms())


def test_an_unknown_name_lists_the_available_ones(installed: Plugins) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_transform("iban")
    message = str(caught.value)
    assert message.startswith("no transform named 'iban' in the entry point group 'coupler.transforms'")
    assert "the available ones: " in message
    assert "broken, constant, gone, shout, vat" in message


def test_with_nothing_registered_the_message_says_so(plugins: Plugins) -> None:
    with pytest.raises(ConfigurationError, match=r"^no transform named 'vat' in the entry point group") as caught:
        load_transform("vat")
    names = ", ".join(available_transforms()) or "none is installed"
    assert str(caught.value).endswith(f"the available ones: {names}")


def test_an_entry_point_that_fails_to_import_is_a_configuration_error(installed: Plugins) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_transform("broken")
    message = str(caught.value)
    assert message.startswith(
        f"the transform 'broken' ({installed.module}_broken:anything from acme-coupler-transforms"
    )
    assert message.endswith("could not be loaded: RuntimeError: the plugin is broken")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_an_entry_point_naming_a_missing_attribute_is_a_configuration_error(installed: Plugins) -> None:
    with pytest.raises(ConfigurationError, match=r"the transform 'gone' .* could not be loaded: AttributeError"):
        load_transform("gone")


def test_an_entry_point_that_is_not_a_function_is_refused(installed: Plugins) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_transform("constant")
    assert str(caught.value) == (
        f"the transform 'constant' ({installed.module}:NOT_CALLABLE from acme-coupler-transforms 1.0) "
        "is not a function: 42"
    )


def test_a_name_registered_twice_differently_is_refused(installed: Plugins) -> None:
    installed.distribution("other-transforms", {"vat": f"{installed.module}:shout"})
    with pytest.raises(ConfigurationError) as caught:
        load_transform("vat")
    message = str(caught.value)
    assert "the transform 'vat' is registered more than once in 'coupler.transforms'" in message
    assert f"{installed.module}:vat from acme-coupler-transforms 1.0" in message
    assert f"{installed.module}:shout from other-transforms 1.0" in message


def test_resolved_steps_carry_their_function_into_compiled_transforms(installed: Plugins) -> None:
    steps = (Transform(kind="trim"), Transform(kind="python", params={"name": "vat"}))
    resolved = resolve_transforms(steps)
    assert resolved[0] is steps[0]
    assert resolved[1].params["name"] == "vat"
    assert compile_transforms(resolved, Direction.TO_INTEGRATION)(" 12 3 ") == "DE123"
    assert "function" not in steps[1].params  # the original step is unchanged


def test_a_step_with_a_function_is_kept_and_nothing_is_loaded_for_it() -> None:
    def loader(name: str) -> Any:
        raise AssertionError(f"loaded {name}")

    step = Transform(kind="python", params={"name": "own", "function": str.upper})
    assert resolve_transforms([step], loader=loader) == (step,)


def mapping(*fields: FieldMapping) -> TableMapping:
    return TableMapping(
        name="CUSTOMER",
        local=TableSpec(table="customers", key="id", modified_on="mod"),
        integration=TableSpec(table="account", key="accountid", modified_on="modifiedon"),
        direction=Direction.BIDIRECTIONAL,
        fields=fields,
    )


def test_resolve_mappings_loads_each_name_once_and_keeps_other_fields(installed: Plugins) -> None:
    loaded: list[str] = []

    def loader(name: str) -> Any:
        loaded.append(name)
        return load_transform(name)

    plain = FieldMapping(local="name", integration="name", direction=Direction.BIDIRECTIONAL)
    vat = Transform(kind="python", params={"name": "vat"})
    shout = Transform(kind="python", params={"name": "shout"}, direction="from-integration")
    fields = (
        plain,
        FieldMapping(local="vat", integration="vatnumber", direction=Direction.TO_INTEGRATION, transforms=(vat,)),
        FieldMapping(local="vat2", integration="vat2", direction=Direction.BIDIRECTIONAL, transforms=(vat, shout)),
    )
    (resolved,) = resolve_mappings([mapping(*fields)], loader=loader)
    assert sorted(loaded) == ["shout", "vat"]
    assert resolved.fields[0] is plain
    assert resolved.name == "CUSTOMER"
    both = resolved.fields[2].transforms
    assert compile_transforms(both, Direction.TO_INTEGRATION)("1") == "DE1"
    assert compile_transforms(both, Direction.FROM_INTEGRATION)("1") == "DE1!"


def test_resolve_mappings_reports_a_missing_transform(plugins: Plugins) -> None:
    field = FieldMapping(
        local="vat",
        integration="vatnumber",
        direction=Direction.TO_INTEGRATION,
        transforms=(Transform(kind="python", params={"name": "nowhere"}),),
    )
    with pytest.raises(ConfigurationError, match="no transform named 'nowhere'"):
        resolve_mappings([mapping(field)])
