from __future__ import annotations

from datetime import UTC, datetime

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, Side

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_created_coupling_is_in_sync_on_both_sides() -> None:
    coupling = Coupling.created(
        mapping="CUSTOMER",
        direction=Direction.FROM_INTEGRATION,
        source_key="I1",
        target_key="L1",
        source_modified_on=T0,
        target_modified_on=None,
        job_id="j",
        at=T0,
    )
    assert (coupling.local_key, coupling.integration_key) == ("L1", "I1")
    assert coupling.integration_modified_on == T0
    assert coupling.from_integration_result is SyncResult.SUCCESS
    assert coupling.from_integration_job == "j"
    assert coupling.key(Side.LOCAL) == "L1"


def test_two_failures_with_the_same_message_make_a_record_skipped() -> None:
    coupling = Coupling(mapping="M", local_key="L", integration_key="I", coupled_at=T0)
    once = coupling.failed(direction=Direction.TO_INTEGRATION, job_id="1", message="boom")
    assert not once.skipped and once.to_integration_result is SyncResult.FAILURE
    other = once.failed(direction=Direction.TO_INTEGRATION, job_id="2", message="different")
    assert not other.skipped and other.failure_count == 1
    twice = other.failed(direction=Direction.TO_INTEGRATION, job_id="3", message="different")
    assert twice.skipped
    healed = twice.succeeded(
        direction=Direction.TO_INTEGRATION, job_id="4", local_modified_on=T0, integration_modified_on=T0, at=T0
    )
    assert not healed.skipped and healed.last_error is None and healed.failure_count == 0


def test_direction_passes_run_local_to_integration_first() -> None:
    assert Direction.BIDIRECTIONAL.one_way == (Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION)
    assert Direction.FROM_INTEGRATION.source is Side.INTEGRATION
    assert not Direction.TO_INTEGRATION.allows(Direction.FROM_INTEGRATION)


def test_passing_failures_are_retried_but_never_make_a_record_skipped() -> None:
    coupling = Coupling(mapping="M", local_key="L", integration_key="I", coupled_at=T0)
    for job in ("1", "2", "3"):
        coupling = coupling.failed(direction=Direction.TO_INTEGRATION, job_id=job, message="throttled", retryable=True)
    assert coupling.to_integration_result is SyncResult.FAILURE
    assert not coupling.skipped and coupling.failure_count == 0


def test_a_chosen_direction_settles_the_other_directions_failure() -> None:
    coupling = Coupling(mapping="M", local_key="L", integration_key="I", coupled_at=T0)
    conflicted = coupling.failed(direction=Direction.TO_INTEGRATION, job_id="1", message="conflict")
    plain = conflicted.succeeded(
        direction=Direction.FROM_INTEGRATION, job_id="2", local_modified_on=T0, integration_modified_on=T0, at=T0
    )
    assert plain.to_integration_result is SyncResult.FAILURE
    settled = conflicted.succeeded(
        direction=Direction.FROM_INTEGRATION,
        job_id="2",
        local_modified_on=T0,
        integration_modified_on=T0,
        at=T0,
        settles=True,
    )
    assert settled.to_integration_result is None, "settled: neither failed nor to be retried"
