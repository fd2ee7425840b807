"""The README's screenshot of the records list at 100,000 customers.

    python bench/screenshot_list.py [--rows 100000] [--dir /tmp/coupler-screenshot] [--reuse] [--out PATH]

Seeds the demo with ``--rows`` more customers as ``bench/web_pages.py`` does (its ``build``), starts ``coupler
serve`` on loopback and saves a Chromium screenshot (Playwright, Debian's /usr/bin/chromium) of the CUSTOMER
records list to docs/screenshots/records-100k.png.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from playwright.sync_api import sync_playwright

from web_pages import MAPPING, build, free_port, start_server

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "records-100k.png"
CHROMIUM = "/usr/bin/chromium"


def screenshot(base: str, out: Path) -> None:
    """The records list at ``base``, 1280 px wide, as a PNG in ``out``."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/mappings/{MAPPING}/records", wait_until="networkidle")
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-screenshot"))
    parser.add_argument("--reuse", action="store_true", help="serve the data already built in --dir")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    config = args.dir / "coupler.toml"
    if not (args.reuse and config.exists()):
        print(f"building the demo with {args.rows:,} more customers in {args.dir} ...", flush=True)
        config = build(args.dir, args.rows)
    port = free_port()
    server = start_server(config, port)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(f"http://127.0.0.1:{port}", args.out)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
