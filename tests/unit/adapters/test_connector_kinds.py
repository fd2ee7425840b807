"""The connector kinds: the built-in ones, a kind registered in the ``coupler.connectors`` entry point group of a real
(temporary) distribution, and the messages for a kind that is unknown or cannot be loaded."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from coupler.adapters.connectors.dataverse import DataverseConnector
from coupler.adapters.connectors.kinds import GROUP, ConnectorKind, UnknownConnectorKind, connector_kind, kind_names
from coupler.adapters.connectors.kinds.business_central import BUSINESS_CENTRAL, BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DATAVERSE, DataverseSettings
from coupler.adapters.connectors.kinds.registry import BUILT_IN
from coupler.adapters.connectors.kinds.sql import SQL, SqlSettings
from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.bootstrap import _connector
from coupler.config import load_config
from coupler.domain.errors import ConfigurationError
from distributions import Plugins

MAPPING = """
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
local = { table = "customers", key = "id", modified_on = "modified" }
integration = { table = "account", key = "accountid", modified_on = "modifiedon" }
fields = [{ local = "name", integration = "name" }]
"""

PLUGIN = """
from typing import Literal

from coupler.adapters.connectors.kinds import ConnectorKind, ConnectorSettings
from coupler.adapters.connectors.memory.connector import InMemoryConnector


class AcmeSettings(ConnectorSettings):
    kind: Literal["acme"] = "acme"
    region: str
    tables: int = 1


def connect(settings):
    return InMemoryConnector(display_name=f"{settings.name} ({settings.region})")


ACME = ConnectorKind(name="acme", settings=AcmeSettings, connect=connect)
MISNAMED = ConnectorKind(name="other", settings=AcmeSettings, connect=connect)
NOT_A_KIND = 42
"""


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Plugins]:
    """A directory on sys.path holding a module with connector kinds, uniquely named for each test."""
    module = f"coupler_test_kinds_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / f"{module}_broken.py").write_text("raise RuntimeError('the plugin is broken')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield Plugins(module=module, path=tmp_path, group=GROUP)
    for name in (module, f"{module}_broken"):
        sys.modules.pop(name, None)


@pytest.fixture
def installed(plugins: Plugins) -> Plugins:
    plugins.distribution(
        "acme-coupler",
        {
            "acme": f"{plugins.module}:ACME",
            "misnamed": f"{plugins.module}:MISNAMED",
            "number": f"{plugins.module}:NOT_A_KIND",
            "broken": f"{plugins.module}_broken:ANYTHING",
            "sql": f"{plugins.module}:ACME",
        },
    )
    return plugins


def write(folder: Path, local: str, integration: str = 'name = "CRM"\nurl = "sqlite:///crm.db"') -> Path:
    (folder / "crm.db").touch()
    path = folder / "coupler.toml"
    path.write_text(f"[local]\n{local}\n\n[integration]\n{integration}\n{MAPPING}", encoding="utf-8")
    return path


def test_the_built_in_kinds_map_to_their_settings_and_connectors() -> None:
    assert dict(BUILT_IN) == {"sql": SQL, "dataverse": DATAVERSE, "business-central": BUSINESS_CENTRAL}
    assert (SQL.settings, DATAVERSE.settings, BUSINESS_CENTRAL.settings) == (
        SqlSettings,
        DataverseSettings,
        BusinessCentralSettings,
    )
    for name, kind in BUILT_IN.items():
        assert connector_kind(name) is kind
        assert kind.settings.model_fields["kind"].default == name, "a kind's settings default to their own kind"
    assert {"sql", "dataverse", "business-central"} <= set(kind_names())


def test_a_kind_builds_its_connector_from_its_own_settings_only(tmp_path: Path) -> None:
    database = tmp_path / "erp.db"
    database.touch()
    connector = SQL.build(SqlSettings(name="ERP", url=f"sqlite:///{database}"))
    try:
        assert isinstance(connector, SqlConnector) and connector.display_name == "ERP"
    finally:
        connector.close()
    with pytest.raises(TypeError, match="a dataverse connector is built from DataverseSettings, not SqlSettings"):
        DATAVERSE.build(SqlSettings(name="ERP", url="sqlite://"))


def test_the_system_of_a_built_in_kind_is_built_by_bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_SECRET", "s3cret")
    settings = 'name = "ERP"\nkind = "dataverse"\nurl = "https://erp.example.com"\ntenant_id = "t"\nclient_id = "c"'
    config = load_config(write(tmp_path, settings + '\nclient_secret = "${ERP_SECRET}"'))
    assert isinstance(config.local, DataverseSettings)
    connector = _connector(config.local)
    try:
        assert isinstance(connector, DataverseConnector) and connector.display_name == "ERP"
    finally:
        connector.close()


def test_a_kind_registered_by_entry_point_is_loaded_checked_and_connected(installed: Plugins, tmp_path: Path) -> None:
    kind = connector_kind("acme")
    assert isinstance(kind, ConnectorKind) and kind.name == "acme"
    assert {"acme", "sql", "dataverse", "business-central"} <= set(kind_names())

    config = load_config(write(tmp_path, 'name = "ERP"\nkind = "acme"\nregion = "eu"'))
    assert type(config.local) is kind.settings
    connector = _connector(config.local)
    assert isinstance(connector, InMemoryConnector) and connector.display_name == "ERP (eu)"

    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, 'name = "ERP"\nkind = "acme"\ncolour = "red"'))
    assert caught.value.problems == [
        f"{tmp_path / 'coupler.toml'}: key local.region: required key is missing",
        f"{tmp_path / 'coupler.toml'}: key local.colour: unknown key",
    ]


def test_a_built_in_kind_is_not_replaced_by_an_entry_point(installed: Plugins) -> None:
    assert connector_kind("sql") is SQL


def test_an_unknown_kind_names_the_file_the_system_and_the_known_kinds(installed: Plugins, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, 'name = "ERP"\nkind = "sap"\nurl = "https://sap.example.com"'))
    assert caught.value.problems == [
        f"{tmp_path / 'coupler.toml'}: key local.kind: no connector kind named 'sap' for the system 'ERP'; the kinds "
        f"are: {', '.join(kind_names())} (more come from distributions registering one in the entry point group "
        "'coupler.connectors')"
    ]
    assert "acme" in kind_names() and "business-central, dataverse" in caught.value.problems[0]
    with pytest.raises(UnknownConnectorKind) as unknown:
        connector_kind("sap")
    assert unknown.value.name == "sap" and unknown.value.known == kind_names()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken", r"\(\S+_broken:ANYTHING from acme-coupler 1.0\) could not be loaded: RuntimeError: the plugin is "),
        ("number", r"\(\S+:NOT_A_KIND from acme-coupler 1.0\) is not a ConnectorKind: 42$"),
        ("misnamed", r"\(\S+:MISNAMED from acme-coupler 1.0\) is named 'other': register it under its own name$"),
    ],
)
def test_an_entry_point_that_is_no_kind_is_a_configuration_error(
    installed: Plugins, tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"^the connector kind '{name}' {message}"):
        connector_kind(name)
    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, f'name = "ERP"\nkind = "{name}"'))
    (problem,) = caught.value.problems
    assert problem.startswith(f"{tmp_path / 'coupler.toml'}: key local.kind: the connector kind '{name}' (")


def test_a_kind_registered_twice_differently_is_refused(installed: Plugins) -> None:
    installed.distribution("other-coupler", {"acme": f"{installed.module}:MISNAMED"})
    with pytest.raises(ConfigurationError, match="the connector kind 'acme' is registered more than once"):
        connector_kind("acme")
