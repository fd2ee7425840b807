"""Local HTTP servers reproducing the Dataverse Web API and the Business Central API v2.0 over SQLite, an OAuth
token endpoint stub, and fault injection: for coupler's tests and for trying coupler without a tenant.

Nothing in coupler's runtime imports this package.
"""

from __future__ import annotations

from coupler.testing.auth import AnyOf, BasicAuth
from coupler.testing.business_central.server import business_central_app
from coupler.testing.dataverse.server import DEFAULT_APP_USER_ID, dataverse_app
from coupler.testing.faults import Faults
from coupler.testing.oauth import TokenIssuer, oauth_app
from coupler.testing.odata.tables import BcCompany, BcTable, DataverseTable
from coupler.testing.service_model import ServiceModel
from coupler.testing.serving import ServedUrl, serve
from coupler.testing.tls import TlsFiles, make_tls_files

__all__ = [
    "DEFAULT_APP_USER_ID",
    "AnyOf",
    "BasicAuth",
    "BcCompany",
    "BcTable",
    "DataverseTable",
    "Faults",
    "ServedUrl",
    "ServiceModel",
    "TlsFiles",
    "TokenIssuer",
    "business_central_app",
    "dataverse_app",
    "make_tls_files",
    "oauth_app",
    "serve",
]
