"""``[hooks]``: the address of `coupler serve`, the secret as an environment variable (never in the file, never in a
message), renewal and the window; each problem named with its key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from coupler.config import load_config

from .test_config import VALID, problems, write

SECRET = "a-long-enough-shared-secret"
HOOKS = '\n[hooks]\nurl = "https://coupler.example.com/"\nsecret = "${COUPLER_HOOKS_SECRET}"\n'


def test_without_a_hooks_section_there_are_no_webhooks(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID)).hooks is None


def test_the_hooks_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", SECRET)
    hooks = load_config(write(tmp_path, VALID + HOOKS + 'renew_before = "12h"\n')).hooks
    assert hooks is not None and hooks.secret.get_secret_value() == SECRET
    assert hooks.route("local") == "https://coupler.example.com/hooks/local"
    assert hooks.renew_before == timedelta(hours=12) and hooks.window == timedelta(seconds=1)
    assert load_config(write(tmp_path, VALID + HOOKS + "enabled = false\n")).hooks is None


def test_the_secret_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COUPLER_HOOKS_SECRET", raising=False)
    found = problems(tmp_path, VALID + HOOKS)
    assert any("key hooks.secret" in p and "COUPLER_HOOKS_SECRET is not set" in p for p in found), found
    written = VALID + HOOKS.replace("${COUPLER_HOOKS_SECRET}", SECRET)
    found = problems(tmp_path, written)
    assert any("key hooks.secret" in p and "environment variable reference" in p for p in found), found
    assert not any(SECRET in p for p in found)
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", "short")
    found = problems(tmp_path, VALID + HOOKS)
    assert any("key hooks.secret" in p and "16 to 2048 characters" in p for p in found), found
    assert not any("'short'" in p for p in found)


def test_the_url_and_durations_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", SECRET)
    text = VALID + HOOKS.replace("https://coupler.example.com/", "coupler.example.com") + 'renew_before = "3d"\n'
    found = problems(tmp_path, text + 'window = "soon"\n')
    assert any("key hooks.url" in p and "like https://" in p for p in found), found
    assert any("key hooks.renew_before" in p and "less than 3 days" in p for p in found), found
    assert any("key hooks.window" in p and "not a duration" in p for p in found), found
