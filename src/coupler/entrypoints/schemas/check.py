"""The JSON shape of the connection check: each system's answer and every mapped table or column that is missing."""

from __future__ import annotations

from pydantic import Field

from coupler.entrypoints.schemas.base import Out
from coupler.services.views.check import CheckReport

__all__ = ["CheckOut", "FindingOut", "SystemStatusOut"]


class SystemStatusOut(Out):
    role: str = Field(description="local, integration or state.")
    name: str
    ok: bool
    message: str


class FindingOut(Out):
    role: str = Field(description="local or integration.")
    name: str = Field(description="The system's name.")
    topic: str = Field(description="What was checked: API v2.0, local currency, sign-in, CreateMultiple accounts ...")
    ok: bool
    message: str
    advice: str = Field(description="What to do when it is not ok; empty otherwise.")


class CheckOut(Out):
    ok: bool = Field(description="Both systems and the state store answer; every mapped table and column exists.")
    systems: list[SystemStatusOut]
    problems: list[str] = Field(description="What is wrong, one line each.")
    warnings: list[str] = Field(
        description="What works but is not safe, one line each (e.g. creations that cannot be made idempotent)."
    )

    findings: list[FindingOut] = Field(
        default_factory=list, description="Each system's preflight, one line each (coupler check only)."
    )

    @classmethod
    def of(cls, report: CheckReport) -> CheckOut:
        return cls.model_validate(report)
