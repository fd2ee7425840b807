"""``python -m coupler``: the command line, as the ``coupler`` console script runs it."""

from __future__ import annotations

from coupler.entrypoints.cli.app import run

if __name__ == "__main__":
    run()
