"""``[queue]``: off by default; on, it needs a PostgreSQL state store and names only known mappings; each mapping
gets the queue's schedule or its own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from coupler.config import load_config
from coupler.domain.schedules import Schedule

from .test_config import VALID, problems, write

PG = 'state = "postgresql+psycopg://postgres@127.0.0.1/coupler"\n'


def test_without_a_queue_section_jobs_run_in_process(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID)).queue is None
    assert load_config(write(tmp_path, PG + VALID + "\n[queue]\nenabled = false\n")).queue is None


def test_the_queue_schedules_every_mapping_and_a_mapping_may_have_its_own(tmp_path: Path) -> None:
    text = PG + VALID + '\n[queue]\nevery = "5m"\nidle_after = 3\nidle_every = "1h"\n'
    text += '[queue.mappings.CUSTOMER]\nevery = "1m"\n[queue.mappings.currency]\nenabled = false\n'
    queue = load_config(write(tmp_path, text)).queue
    assert queue is not None
    assert queue.connection == "default" and queue.takeover_after == timedelta(seconds=60)
    assert queue.schedule("CUSTOMER") == Schedule(
        every=timedelta(minutes=1), idle_after=3, idle_every=timedelta(hours=1)
    )
    assert not queue.schedule("CURRENCY").enabled
    assert queue.schedule("OTHER") == Schedule(every=timedelta(minutes=5), idle_after=3, idle_every=timedelta(hours=1))


def test_the_queue_needs_postgresql_known_mappings_and_durations(tmp_path: Path) -> None:
    found = problems(tmp_path, VALID + '\n[queue]\n[queue.mappings.ITEM]\nevery = "1m"\n')
    assert any("must then be PostgreSQL" in p for p in found), found
    assert any("queue.mappings.ITEM: no table mapping" in p for p in found), found
    found = problems(tmp_path, PG + VALID + '\n[queue]\nevery = "soon"\ntick = "7s"\n')
    assert any("key queue.every" in p and "not a duration" in p for p in found), found
    assert any("key queue.tick" in p and "divides a minute" in p for p in found), found
