"""``python -m coupler.testing DEMO_DIR``: the demo's crm.db behind the Dataverse server, its erp.db behind the
Business Central server, and the OAuth token endpoint (https, its CA file in DEMO_DIR/test-servers-tls), until
Ctrl-C. Prints the coupler.toml sides that reach them.

``python -m coupler.testing --tenant DIR``: the believable tenant instead (``coupler.testing.tenant``: CRONUS USA,
Inc. in Business Central and a Dynamics 365 Sales organization, both as strict as the real services), its databases
written in DIR; try `coupler init --template bc-sales` and docs/real-tenant.md against it."""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from coupler.testing.business_central.server import business_central_app
from coupler.testing.dataverse.server import dataverse_app
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY, DEMO_DATAVERSE_TABLES
from coupler.testing.oauth import TokenIssuer, oauth_app
from coupler.testing.serving import serve
from coupler.testing.tls import make_tls_files

TENANT_ID = "00000000-0000-4000-8000-000000000001"
DATAVERSE_CLIENT_ID = "11111111-1111-4111-8111-111111111111"
BC_CLIENT_ID = "22222222-2222-4222-8222-222222222222"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coupler.testing", description=__doc__)
    parser.add_argument(
        "demo_dir", type=Path, help="a folder written by `coupler demo` (erp.db and crm.db), or for --tenant any folder"
    )
    parser.add_argument("--tenant", action="store_true", help="serve the believable tenant, written in the folder")
    parser.add_argument("--dataverse-port", type=int, default=0)
    parser.add_argument("--bc-port", type=int, default=0)
    parser.add_argument("--oauth-port", type=int, default=0)
    args = parser.parse_args(argv)
    folder: Path = args.demo_dir.resolve()
    if args.tenant:
        return _serve_tenant(folder)
    missing = [name for name in ("erp.db", "crm.db") if not (folder / name).is_file()]
    if missing:
        print(f"error: {folder} has no {' and no '.join(missing)}; write the demo first: coupler demo {folder}")
        return 2
    secret_dv, secret_bc = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    issuer = TokenIssuer(tenant_id=TENANT_ID, clients={DATAVERSE_CLIENT_ID: secret_dv, BC_CLIENT_ID: secret_bc})
    tls = make_tls_files(folder / "test-servers-tls")
    with ExitStack() as stack:
        oauth = stack.enter_context(serve(oauth_app(issuer), tls=tls, port=args.oauth_port))
        crm = stack.enter_context(
            serve(
                dataverse_app(f"sqlite:///{folder / 'crm.db'}", tables=DEMO_DATAVERSE_TABLES, auth=issuer),
                port=args.dataverse_port,
            )
        )
        erp = stack.enter_context(
            serve(
                business_central_app(
                    f"sqlite:///{folder / 'erp.db'}", companies=[DEMO_COMPANY], tables=DEMO_BC_TABLES, auth=issuer
                ),
                port=args.bc_port,
            )
        )
        print(_snippet(str(oauth), str(crm), str(erp), tls.ca_file))
        print(f"export DATAVERSE_CLIENT_SECRET={secret_dv}\nexport BC_CLIENT_SECRET={secret_bc}")
        _wait()
    return 0


def _serve_tenant(folder: Path) -> int:
    from coupler.testing.tenant import serve_tenant

    secret_dv, secret_bc = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    issuer = TokenIssuer(tenant_id=TENANT_ID, clients={DATAVERSE_CLIENT_ID: secret_dv, BC_CLIENT_ID: secret_bc})
    tls = make_tls_files(folder / "test-servers-tls")
    with serve(oauth_app(issuer), tls=tls) as oauth, serve_tenant(folder, auth=issuer) as tenant:
        erp = tenant.business_central_url.split("/v2.0/", 1)[0]
        print(_snippet(str(oauth), tenant.dataverse_url, erp, tls.ca_file, company=tenant.company))
        print(f"export DATAVERSE_CLIENT_SECRET={secret_dv}\nexport BC_CLIENT_SECRET={secret_bc}")
        _wait()
    return 0


def _wait() -> None:
    print("Serving; Ctrl-C stops.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _snippet(oauth: str, crm: str, erp: str, ca_file: Path, *, company: str = DEMO_COMPANY.name) -> str:
    return f"""\
# coupler.toml sides for the local servers (the token endpoint is https with a test CA: {ca_file})
[integration]
name = "Dynamics 365 Sales (local test server)"
kind = "dataverse"
url = "{crm}"
tenant_id = "{TENANT_ID}"
client_id = "{DATAVERSE_CLIENT_ID}"
client_secret = "${{DATAVERSE_CLIENT_SECRET}}"
authority = "{oauth}"
verify = "{ca_file}"

[local]
name = "Business Central (local test server)"
kind = "business-central"
url = "{erp}/v2.0/{TENANT_ID}/production/api/v2.0"
company = "{company}"
tenant_id = "{TENANT_ID}"
client_id = "{BC_CLIENT_ID}"
client_secret = "${{BC_CLIENT_SECRET}}"
authority = "{oauth}"
verify = "{ca_file}"
"""


if __name__ == "__main__":
    sys.exit(main())
