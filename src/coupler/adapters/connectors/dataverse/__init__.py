"""The Dataverse (Dynamics 365 Sales) connector, over the Web API v9.2 (see ``connector.py``)."""

from coupler.adapters.connectors.dataverse.connector import API_PATH, HEADERS, DataverseConnector

__all__ = ["API_PATH", "HEADERS", "DataverseConnector"]
