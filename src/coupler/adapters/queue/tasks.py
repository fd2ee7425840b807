"""What a worker runs: every kind of coupler's work as a procrastinate task calling the Python API (``Coupler``).

``register`` declares the tasks on a procrastinate app for the connections the worker serves (each opens its own
``Coupler`` per job, so a changed coupler.toml is read at the next job). Besides the work itself:

- the scheduler (one periodic task per connection): every ``tick`` it defers a round of the mappings that are due
  on their schedules. procrastinate defers a periodic task once per tick whatever the number of workers (a row per
  task, id and tick in ``procrastinate_periodic_defers``, inserted with ON CONFLICT DO NOTHING), and the scheduler's
  jobs hold a lock of their own: one scheduler runs at a time.
- the take-over (one periodic task): jobs of workers that stopped sending heartbeats for ``takeover_after`` (killed,
  their machine lost) are put back in the queue, and another worker runs them again. The engine's creation intents
  make a job that died half-way safe to run again; the mapping's lock in the state store, left by the dead worker,
  expires after the same time (the workers' lock time to live), so a job that finds it still held waits and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import ProcrastinateException

from coupler.domain.errors import CouplerError, MappingBusy
from coupler.domain.mapping import Direction, Side
from coupler.domain.schedules import QueueSettings
from coupler.services.api import Coupler
from coupler.services.context import Progress
from coupler.services.engine.recorder import JobReport
from coupler.services.engine.schedule import Outcome
from coupler.services.operations.matching import SyncAfter
from coupler.services.views.browse.rows import RecordFilter
from coupler.services.views.page_queries import PageQueries
from coupler.services.views.schedules import schedules

from .client import JobQueue, Work, mapping_lock
from .progress import RowProgress, finish
from .written import kept

__all__ = ["JobFailed", "Served", "register"]

log = logging.getLogger("coupler.worker")

KEEP_HOURS = 72
"""Finished jobs stay in the queue this long (failed ones until removed by hand)."""


class JobFailed(Exception):
    """The job stopped half-way (a system unreachable, a broken configuration); its message is in the job log."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Served:
    """A connection a worker serves: how to open its ``Coupler``, and its queue settings."""

    open: Callable[[Progress], Coupler]
    """A ``Coupler`` of the connection that reports its progress to the ``Progress`` given."""
    settings: QueueSettings
    maintain_hooks: Callable[[], Any] | None = None
    """Renew the connection's webhook subscriptions and re-subscribe lost ones (``[hooks]``), or None."""
    hooks_every: timedelta = timedelta(minutes=10)


Result = JobReport | Sequence[JobReport] | None


def _summary(reports: Sequence[JobReport]) -> dict[str, Any]:
    if len(reports) != 1:
        return {"jobs": [_summary([r]) for r in reports]}
    (report,) = reports
    return {"job": report.job.id, "mapping": report.job.mapping, "counters": report.job.counters.as_dict()}


def _matching(coupler: Coupler, mapping: str, search: str | None, filter: str, *, coupled: bool) -> list[str]:
    """The local keys of the records a list's search and filter match ("Select all N matching" in the web app)."""
    return PageQueries(coupler.systems).matching_keys(
        mapping, search=search, filter=RecordFilter(filter), coupled=coupled
    )


def register(app: procrastinate.App, served: Mapping[str, Served]) -> None:
    """Declare coupler's tasks (and the periodic scheduler and take-over) on ``app`` for the connections served."""
    if not served:
        raise ValueError("a worker serves one connection at least")
    takeover = min(s.settings.takeover_after for s in served.values())
    busy = procrastinate.RetryStrategy(
        max_attempts=10_000, wait=max(1, int(takeover.total_seconds() // 4)), retry_exceptions={MappingBusy}
    )

    def work(name: Work) -> Callable[[Callable[..., Result]], Any]:
        """Declare a kind of work: ``run(coupler, mapping, **arguments)`` on a ``Coupler`` of the job's connection
        that reports its progress in the job's progress row; the reports' job ids (or its error) end the row."""

        def declare(run: Callable[..., Result]) -> Any:
            def job(context: procrastinate.JobContext, /, connection: str, mapping: str, **arguments: Any) -> Any:
                if connection not in served:
                    raise JobFailed(f"this worker does not serve the connection {connection!r}")
                assert context.job.id is not None
                job_id, task = context.job.id, arguments.pop("task", None)
                progress = RowProgress(app, job_id)
                progress.start(f"Starting on {mapping}")  # a worker took it (after waiting, perhaps)
                try:
                    with served[connection].open(progress) as coupler:
                        result = run(
                            coupler, mapping, queue=JobQueue(app, connection=connection), task=task, **arguments
                        )
                except MappingBusy:
                    progress.start(f"Waiting while another run synchronizes {mapping}")  # tried again
                    raise
                except CouplerError as error:
                    finish(app, job_id, error=error.message)
                    raise
                except JobFailed as error:  # a round's mapping that failed, with the run's message
                    finish(app, job_id, error=str(error))
                    raise
                except Exception as error:
                    finish(app, job_id, error=f"internal error: {type(error).__name__}: {error}")
                    raise
                reports = [] if result is None else [result] if isinstance(result, JobReport) else list(result)
                finish(app, job_id, jobs=[r.job.id for r in reports], written=kept(reports))
                return {"mapping": mapping, **_summary(reports)}

            job.__name__ = job.__qualname__ = run.__name__
            return app.task(name=name.value, retry=busy, pass_context=True)(job)

        return declare

    @work(Work.INCREMENTAL)
    def incremental(
        coupler: Coupler,
        mapping: str,
        *,
        queue: JobQueue,
        task: Mapping[str, Any] | None,
        then: Sequence[str] = (),
        scheduled: bool = False,
        round_id: str | None = None,
    ) -> Result:
        run = coupler.run_once([mapping])[0]
        if run.outcome is Outcome.BUSY:
            raise MappingBusy(run.message or f"{mapping} is busy")
        if then:  # the next mapping of the round, whatever this one came to (a round goes on past a failure)
            queue.round(then, scheduled=scheduled, task=task, round_id=round_id)  # once, if run again
        if run.outcome is Outcome.FAILED:
            raise JobFailed(run.message or f"{mapping} failed")
        return run.report

    @work(Work.FULL)
    def full(coupler: Coupler, mapping: str, force: bool = False, **_: Any) -> Result:
        return coupler.sync_full(mapping, force=force)

    @work(Work.SYNC_NOW)
    def sync_now(
        coupler: Coupler,
        mapping: str,
        refs: Sequence[str] = (),
        direction: str | None = None,
        create: Sequence[str] = (),
        search: str | None = None,
        filter: str | None = None,
        **_: Any,
    ) -> Result:
        """Synchronize now: ``refs`` (or the records ``search`` and ``filter`` match), after creating the
        counterparts of the uncoupled records ``create`` names."""
        chosen = Direction(direction) if direction else None
        created = coupler.create_many(mapping, create) if create else None
        if filter is not None:
            refs = _matching(coupler, mapping, search, filter, coupled=True)
        elif created is not None and not refs:
            return created
        return coupler.sync(mapping, refs, direction=chosen)

    @work(Work.MATCH)
    def match(
        coupler: Coupler,
        mapping: str,
        groups: Sequence[Sequence[str]] | None = None,
        create_missing: bool = False,
        sync_after: str | None = None,
        refs: Sequence[str] | None = None,
        search: str | None = None,
        filter: str | None = None,
        **_: Any,
    ) -> Result:
        if filter is not None and not (search is None and filter in (RecordFilter.ALL, RecordFilter.UNCOUPLED)):
            refs = _matching(coupler, mapping, search, filter, coupled=False)
        after: SyncAfter = "both" if sync_after == "both" else Side(sync_after) if sync_after else None
        return coupler.match(mapping, groups=groups, create_missing=create_missing, sync_after=after, refs=refs)

    @work(Work.COUPLE)
    def couple(
        coupler: Coupler, mapping: str, local: str, integration: str, sync_after: str | None = None, **_: Any
    ) -> Result:
        side = Side(sync_after) if sync_after else None
        return coupler.couple(mapping, local, integration, sync_after=side)

    @work(Work.CREATE)
    def create(coupler: Coupler, mapping: str, ref: str, source: str = Side.LOCAL.value, **_: Any) -> Result:
        return coupler.create(mapping, ref, source=Side(source))

    @work(Work.DECOUPLE)
    def decouple(
        coupler: Coupler,
        mapping: str,
        refs: Sequence[str] = (),
        everything: bool = False,
        search: str | None = None,
        filter: str | None = None,
        **_: Any,
    ) -> Result:
        """Decouple ``refs``, the records ``search`` and ``filter`` match, or ``everything``."""
        if filter is not None:
            everything = search is None and filter in (RecordFilter.ALL, RecordFilter.COUPLED)
            refs = [] if everything else _matching(coupler, mapping, search, filter, coupled=True)
        return coupler.decouple_all(mapping) if everything else coupler.decouple(mapping, refs)

    @work(Work.RETRY)
    def retry(coupler: Coupler, mapping: str, refs: Sequence[str] = (), everything: bool = False, **_: Any) -> Result:
        return coupler.retry(mapping, refs, everything=everything)

    @work(Work.RESTORE)
    def restore(coupler: Coupler, mapping: str, refs: Sequence[str], **_: Any) -> Result:
        return coupler.restore(mapping, refs)

    @work(Work.APPROVE)
    def approve(coupler: Coupler, mapping: str, refs: Sequence[str] = (), everything: bool = False, **_: Any) -> Result:
        return coupler.approve(mapping, refs, everything=everything)

    @work(Work.NOTIFIED)
    def notified(
        coupler: Coupler, mapping: str, side: str, keys: Sequence[str] = (), everything: bool = False, **_: Any
    ) -> Result:
        """What a system's notification named (``keys`` of ``side``), or everything changed since the last run."""
        return coupler.sync_changed(mapping, Side(side), keys, everything=everything)

    hooked = {name: each for name, each in served.items() if each.maintain_hooks is not None}
    if hooked:
        hooks = app.task(name=Work.HOOKS.value)(_hooks(hooked))
        every = min(each.hooks_every for each in hooked.values())
        app.periodic(cron=_cron_minutes(every), periodic_id="hooks", queueing_lock="coupler:hooks")(hooks)

    scheduler = app.task(name=Work.SCHEDULER.value)(_scheduler(app, served))
    for connection, each in served.items():
        if not each.settings.scheduled:
            continue
        lock = f"{mapping_lock(connection, '')}scheduler"
        app.periodic(
            cron=_cron(each.settings.tick),
            periodic_id=connection,
            lock=lock,
            queueing_lock=lock,
            task_kwargs={"connection": connection},
        )(scheduler)

    tick = min(s.settings.tick for s in served.values())
    take_over = app.task(name=Work.TAKE_OVER.value, pass_context=False)(_take_over(app, takeover))
    app.periodic(cron=_cron(tick), periodic_id="take-over", queueing_lock="coupler:take-over")(take_over)
    # finished jobs stay KEEP_HOURS for `coupler queue`, then are removed (the state store keeps the job log)
    cleanup = app.task(name=Work.CLEANUP.value)(_cleanup(app))
    app.periodic(cron="17 * * * *", periodic_id="cleanup", queueing_lock="coupler:cleanup")(cleanup)


def _cleanup(app: procrastinate.App) -> Callable[..., Any]:
    async def cleanup(timestamp: int) -> None:
        await app.job_manager.delete_old_jobs(nb_hours=KEEP_HOURS)
        await app.connector.execute_query_async(
            "DELETE FROM coupler_queue_progress p "
            "WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = p.job_id)"
        )

    return cleanup


def _scheduler(app: procrastinate.App, served: Mapping[str, Served]) -> Callable[..., dict[str, Any]]:
    def scheduler(timestamp: int, connection: str) -> dict[str, Any]:
        """Defer a round of the mappings due on their schedules (those waiting in the queue already are passed)."""
        each = served[connection]
        with each.open(Progress()) as coupler:
            states = schedules(coupler.systems, each.settings.schedule)
            now = coupler.systems.clock()
        due = [state.mapping for state in states if state.state.due(now)]
        first = JobQueue(app, connection=connection).round(due, scheduled=True) if due else None
        return {"due": due, "job": first}

    return scheduler


def _hooks(served: Mapping[str, Served]) -> Callable[..., dict[str, Any]]:
    def hooks(timestamp: int) -> dict[str, Any]:
        """Renew the webhook subscriptions about to expire and re-subscribe the lost ones, per connection."""
        done: dict[str, Any] = {}
        for connection, each in served.items():
            assert each.maintain_hooks is not None
            try:
                done[connection] = str(each.maintain_hooks())
            except CouplerError as error:  # the next period tries again
                log.warning("renewing the webhook subscriptions of %s failed: %s", connection, error.message)
                done[connection] = error.message
        return done

    return hooks


def _cron_minutes(every: timedelta) -> str:
    """A cron expression for ``every``: under a minute, a divisor of a minute in seconds; else whole minutes (an
    hour at most)."""
    seconds = int(every.total_seconds())
    if seconds < 60:
        return _cron(timedelta(seconds=next(d for d in (30, 20, 15, 10, 6, 5, 4, 3, 2, 1) if d <= max(1, seconds))))
    minutes = min(60, seconds // 60)
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"


def _take_over(app: procrastinate.App, after: timedelta) -> Callable[..., Any]:
    async def take_over(timestamp: int) -> list[int]:
        """Put back in the queue the jobs of workers silent for ``after``: another worker runs them again."""
        taken = []
        stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=after.total_seconds())
        for job in stalled:
            if job.task_name == Work.TAKE_OVER.value or job.id is None:
                continue
            try:
                await app.job_manager.retry_job(job)
            except ProcrastinateException:  # another take-over put it back first
                continue
            log.warning("job %s (%s) of a worker that stopped answering is back in the queue", job.id, job.task_name)
            taken.append(job.id)
        return taken

    return take_over


def _cron(every: timedelta) -> str:
    """A cron expression with seconds (procrastinate's sixth column) for ``every``, a divisor of a minute."""
    seconds = int(every.total_seconds())
    return "* * * * *" if seconds >= 60 else f"* * * * * */{seconds}"
