"""`coupler serve`: refuses to bind beyond loopback without a token (exit 2) and serves the demo on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

COUPLER = [sys.executable, "-m", "coupler.entrypoints.cli.app"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "from coupler.entrypoints.cli.app import run; run()"
    environment = {k: v for k, v in os.environ.items() if k not in ("COUPLER_WEB_TOKEN", "COUPLER_CONFIG")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, env=environment | (env or {})
    )


def test_binding_beyond_loopback_without_a_token_exits_2(config: Path) -> None:
    result = _run("serve", "--host", "0.0.0.0", "--config", str(config))
    assert result.returncode == 2, result
    assert "COUPLER_WEB_TOKEN" in result.stderr and "0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    result = _run("serve", "--config", str(tmp_path / "none.toml"))
    assert result.returncode == 2 and "no configuration file" in result.stderr


def test_serve_answers_on_loopback(config: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from coupler.entrypoints.cli.app import run; run()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/connection", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "coupler serve did not answer within 30 s"
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["ok"] is True
    finally:
        server.terminate()
        server.communicate(timeout=10)
