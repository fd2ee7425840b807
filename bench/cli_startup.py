"""Benchmark: how long the `coupler` command takes as a whole process, start-up included, on the demo.

    python bench/cli_startup.py [--src PATH] [--runs 7] [--commands "jobs,mappings"]

Builds the demo in a temporary folder (couples and synchronizes the currencies so that the read commands have jobs,
couplings and errors to show), then runs each command ``--runs`` times after one warm-up and prints the wall time's
minimum, median and maximum. ``--src`` times another checkout's ``src`` folder (a "before" to compare with); the
tree's bytecode is compiled first, as an installed package's is. Targets (issue 13): ``--help`` under 0.3 s, the read
commands under 0.5 s. Also lists the heavy libraries that loading the command line (what ``--help`` needs) imports.

The machine is shared: quote medians, and compare before and after in the same call or close together. The CPU
column (user + system seconds of the process, median) moves less than the wall time when other work loads the
machine: compare it when the load is high.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_TARGET = 0.3
READ_TARGET = 0.5
READ_COMMANDS = (
    "mappings",
    "jobs",
    "errors",
    "conflicts",
    "skipped",
    "deletions",
    "locks",
    "status CURRENCY EUR",
    "review",
)
HEAVY = ("sqlalchemy", "alembic", "httpx", "fastapi", "starlette", "uvicorn", "pydantic", "jinja2", "msal")
RUN = "from coupler.entrypoints.cli.app import run; run()"


def coupler(src: Path, args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    env.pop("COUPLER_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"coupler {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def timed(src: Path, args: list[str], cwd: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run."""
    coupler(src, args, cwd)  # the warm-up
    times, cpu = [], []
    for _ in range(runs):
        used = _children_cpu()
        started = time.perf_counter()
        coupler(src, args, cwd, check=False)
        times.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - used)
    return times, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def heavy_imports(src: Path) -> list[str]:
    probe = "import sys, coupler.entrypoints.cli.app; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    env = {**os.environ, "PYTHONPATH": str(src)}
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return sorted(set(loaded.stdout.split()) & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--commands", help="comma-separated commands to time after --help (default: the read ones)")
    options = parser.parse_args()
    src = options.src.resolve()
    compileall.compile_dir(src, quiet=1)
    commands = options.commands.split(",") if options.commands else list(READ_COMMANDS)

    with tempfile.TemporaryDirectory(prefix="coupler-startup-") as folder:
        demo = Path(folder) / "demo"
        coupler(src, ["demo", str(demo)], Path(folder))
        for setup in (["check"], ["match", "CURRENCY"], ["sync", "CURRENCY", "--full"]):
            coupler(src, setup, demo)

        print(f"coupler start-up, {src}, {options.runs} runs each after a warm-up (wall seconds)")
        print(f"{'command':<24}{'min':>8}{'median':>8}{'max':>8}{'cpu':>8}  target")
        for command in ["--help", *commands]:
            times, cpu = timed(src, command.split(), demo, options.runs)
            target = HELP_TARGET if command == "--help" else READ_TARGET
            median = statistics.median(times)
            verdict = "met" if median < target else "MISSED"
            print(
                f"{command:<24}{min(times):8.3f}{median:8.3f}{max(times):8.3f}{statistics.median(cpu):8.3f}"
                f"  < {target} s {verdict}"
            )
    heavy = heavy_imports(src)
    print(f"heavy libraries the command line loads before a command runs: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
