"""The connection's Enabled switch over the API: off, every job is refused with the reason, in the systems' names;
the configuration file keeps its comments and its previous version."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient


def test_switched_off_nothing_runs_and_the_reason_is_given_then_on_again(
    api: TestClient, config: Path, fabrikam: str
) -> None:
    before = config.read_text(encoding="utf-8")
    assert api.get("/api/connection/enabled").json()["enabled"] is True

    off = api.put("/api/connection/enabled", json={"enabled": False}).json()
    assert off == {"enabled": False, "local": off["local"], "integration": off["integration"]}
    written = config.read_text(encoding="utf-8")
    assert "enabled = false" in written and all(line in written for line in before.splitlines() if line.startswith("#"))
    assert (config.parent / "coupler.toml.bak").read_text(encoding="utf-8") == before

    refused = api.post("/api/mappings/CUSTOMER/sync", json={"refs": [fabrikam]})
    assert refused.status_code in (409, 422), refused.text
    detail = refused.json()["detail"]
    assert f"between {off['local']} and {off['integration']} is disabled" in detail and "coupler" not in detail

    assert api.put("/api/connection/enabled", json={"enabled": True}).json()["enabled"] is True
    report = api.post("/api/mappings/CUSTOMER/sync", json={"refs": [fabrikam]}).json()
    assert report["job"]["kind"] == "manual"
