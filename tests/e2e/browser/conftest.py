"""Browser tests: the real `coupler serve` on a fresh demo, driven by Playwright in Debian's Chromium.

Screenshots of every page go to one folder per run; its path is printed at the end of the run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from coupler.demo import create_demo

CHROMIUM = "/usr/bin/chromium"
_SHOTS: list[Path] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("COUPLER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    _SHOTS.append(folder)
    return folder


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo(tmp_path_factory.mktemp("browser-demo") / "demo").directory


@pytest.fixture(scope="session")
def server(demo: Path) -> Iterator[str]:
    """`coupler serve` on the demo, on a free port; yields its base URL once it answers."""
    with serving(demo) as base:
        yield base


@contextmanager
def serving(demo: Path) -> Iterator[str]:
    """`coupler serve` on a demo folder, on a free port, while the block runs (a test module that changes the demo
    in ways the others do not expect serves its own)."""
    port = _free_port()
    command = [sys.executable, "-c", "from coupler.entrypoints.cli.app import run; run()", "serve", "--port", str(port)]
    command += ["--config", str(demo / "coupler.toml")]
    env = {k: v for k, v in os.environ.items() if k != "COUPLER_WEB_TOKEN"}
    log = demo / "serve.log"
    output = log.open("wb")
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"coupler serve exited with {process.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{base}/api/connection", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("coupler serve did not answer within 30 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


@pytest.fixture(scope="package")  # not the session: Playwright's event loop must not outlive these tests
def browser() -> Iterator[Browser]:
    # assertions wait as long as actions do: a loaded CI machine answers an htmx request in more than 5 s at times
    expect.set_options(timeout=15_000)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in _SHOTS:
        count = len(list(folder.glob("*.png")))
        terminalreporter.write_line(f"browser screenshots ({count}): {folder}")
