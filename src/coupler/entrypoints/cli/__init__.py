"""The ``coupler`` command line (Typer)."""
