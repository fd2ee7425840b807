"""``python -m coupler.testing DEMO_DIR`` serves the demo and prints a config that reaches it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msal
import pytest

from coupler.testing.tls import client_context


@pytest.mark.parametrize("tenant", [False, True], ids=["demo", "tenant"])
def test_serves_the_demo_behind_both_servers_with_tokens(demo_dir: Path, tmp_path: Path, tenant: bool) -> None:
    """The demo, or with --tenant the believable tenant (whose accounts include Adatum Corporation)."""
    args = ["--tenant", str(tmp_path / "tenant")] if tenant else [str(demo_dir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "coupler.testing", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Serving"):
                break
        output = "".join(lines)
        assert "Serving" in output, output
        values = dict(re.findall(r'^(\w+) = "([^"]*)"', output, re.MULTILINE))
        secrets = dict(re.findall(r"^export (\w+)=(\S+)", output, re.MULTILINE))
        urls = re.findall(r'^url = "([^"]+)"', output, re.MULTILINE)
        assert len(urls) == 2
        with httpx.Client(verify=client_context(values["verify"])) as https:
            client = msal.ConfidentialClientApplication(
                values["client_id"],
                client_credential=secrets["BC_CLIENT_SECRET"],
                authority=f"{values['authority']}/{values['tenant_id']}",
                instance_discovery=False,
                http_client=https,
            )
            token = client.acquire_token_for_client(scopes=["https://api.businesscentral.dynamics.com/.default"])
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        companies = httpx.get(f"{urls[1]}/companies", headers=headers)
        assert companies.status_code == 200
        assert companies.json()["value"][0]["name"] == "CRONUS USA, Inc."
        accounts = httpx.get(f"{urls[0]}/api/data/v9.2/accounts?$select=name", headers=headers)
        assert accounts.status_code == 200 and accounts.json()["value"]
        assert tenant == ("Adatum Corporation" in {a["name"] for a in accounts.json()["value"]})
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_folder_without_the_demo_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coupler.testing", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "coupler demo" in result.stdout and "Traceback" not in result.stderr
