"""``[hooks]`` in coupler.toml: the systems notify `coupler serve` of their changes (webhooks) instead of waiting
for the next scheduled run.

    [hooks]
    url = "https://coupler.example.com"     # where the systems reach `coupler serve` (public, https)
    secret = "${COUPLER_HOOKS_SECRET}"      # shared with the systems; written only as an environment variable
    renew_before = "1d"                     # renew Business Central's subscriptions (3 days) this long before expiry
    window = "1s"                           # changes gathered this long before their synchronization starts

Each system that can notify is reached at ``<url>/hooks/<local|integration>``. Polling (`coupler run --every`, the
queue's schedules) stays the safety net for a lost notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from coupler.adapters.settings import Place
from coupler.config.queue import parse_interval

__all__ = ["MIN_SECRET", "HookSettings", "HooksModel", "hook_settings"]

MIN_SECRET = 16
MAX_SECRET = 2048
"""Business Central keeps a ``clientState`` of at most 2048 characters."""
LONGEST_RENEWAL = timedelta(days=3)
"""Business Central's subscriptions live three days: renewing earlier than that renews at every check."""


class HooksModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    url: str
    secret: SecretStr
    renew_before: str = "1d"
    window: str = "1s"
    check_every: str = "10m"
    """How often `coupler serve` (or the queue's workers) renews expiring subscriptions and re-subscribes lost ones."""

    @field_validator("url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("the address the systems reach coupler at, like https://coupler.example.com")
        return value.rstrip("/")

    @field_validator("renew_before", "window", "check_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_interval(value)
        return value

    @field_validator("renew_before")
    @classmethod
    def _shorter_than_a_subscription(cls, value: str) -> str:
        if parse_interval(value) >= LONGEST_RENEWAL:
            raise ValueError("renew before less than 3 days, the life of a Business Central subscription")
        return value


@dataclass(frozen=True, kw_only=True, slots=True)
class HookSettings:
    url: str
    secret: SecretStr
    renew_before: timedelta
    window: timedelta
    check_every: timedelta

    def route(self, side: str) -> str:
        """Where the system on ``side`` (local, integration) sends its notifications."""
        return f"{self.url}/hooks/{side}"


def hook_settings(model: HooksModel, place: Place) -> HookSettings | None:
    """The settings as the file sets them, the secret read from the environment (problems go to ``place``)."""
    if not model.enabled:
        return None
    before = len(place.problems)
    secret = place.secret(model.secret, key="secret")
    fits = secret is None or MIN_SECRET <= len(secret.get_secret_value()) <= MAX_SECRET
    if len(place.problems) == before and not fits:  # the variable is set: its value must fit
        place.problem(
            f"the secret the systems send with each notification has {MIN_SECRET} to {MAX_SECRET} characters",
            key="secret",
        )
    return HookSettings(
        url=model.url,
        secret=secret or SecretStr(""),
        renew_before=parse_interval(model.renew_before),
        window=parse_interval(model.window),
        check_every=parse_interval(model.check_every),
    )
