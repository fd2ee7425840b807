"""The ``dataverse`` kind: a Dataverse organization (Dynamics 365 Sales) reached through its Web API."""

from __future__ import annotations

from typing import Literal

from coupler.adapters.connectors.kinds.http_service import HttpServiceSettings
from coupler.adapters.connectors.kinds.kind import ConnectorKind
from coupler.ports.connector import Connector

__all__ = ["DATAVERSE", "DataverseSettings", "connect_dataverse"]


class DataverseSettings(HttpServiceSettings):
    """``url``: the organization's URL (``https://contoso.crm.dynamics.com``); the Web API's path is appended."""

    kind: Literal["dataverse"] = "dataverse"


def connect_dataverse(settings: DataverseSettings) -> Connector:
    from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector  # when one is built

    organization = settings.url.split("/api/", 1)[0]
    base_url = settings.url if "/api/data/" in settings.url else settings.url + API_PATH
    auth = settings.auth(scope=f"{organization}/.default")
    client = settings.client(base_url, auth=auth, headers=HEADERS, concurrency=52)
    return DataverseConnector(client, display_name=settings.name, **settings.sizes)


DATAVERSE = ConnectorKind(name="dataverse", settings=DataverseSettings, connect=connect_dataverse)
