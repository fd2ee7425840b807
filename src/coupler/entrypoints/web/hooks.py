"""The webhook routes of `coupler serve`: ``/hooks/local`` and ``/hooks/integration`` receive the systems'
notifications (``[hooks]`` in the configuration).

Each request goes to the connector of the side it names (``ports.webhooks.SendsNotifications``):

- a validation handshake (Business Central's ``?validationToken=``, on GET or POST) is answered with the token as
  text/plain;
- a notification is authenticated by the connector: one that does not carry the secret, or replays an old one, is
  answered 401 and one that is no notification 400, with nothing said about why (the reason goes to the log, never
  the secret); the routes carry no CSRF check (the systems post from their own servers) and no sign-in token;
- what it told of is gathered by the ``Coalescer`` for ``window``, then one targeted synchronization per mapping is
  started: as a job of the queue when ``[queue]`` is configured (a worker runs it), else on the web app's thread pool.

Each request on a route is counted by its outcome (taken, forged, malformed, unavailable), and each targeted
synchronization started, through the app's telemetry (``coupler_notifications_total``,
``coupler_notified_synchronizations_total`` at ``/metrics``).

The same ``HookReceiver`` renews the subscriptions about to expire and re-subscribes lost ones every ``check_every``
(without a queue: with one, the workers' periodic task does it). Polling stays the safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from coupler.adapters.queue.client import Work as QueueWork
from coupler.config import load_config
from coupler.config.hooks import HookSettings
from coupler.domain.errors import CouplerError, MappingBusy
from coupler.domain.mapping import Side, TableMapping
from coupler.entrypoints.web.deps import WebState
from coupler.entrypoints.web.queued import Asked
from coupler.entrypoints.web.tasks import TaskProgress
from coupler.ports.telemetry import NotificationOutcome
from coupler.ports.webhooks import Forged, Malformed, SendsNotifications
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.notifications import Coalescer, Targeted
from coupler.services.subscriptions import maintain
from coupler.services.wording import plural

__all__ = ["MAX_BODY", "HookReceiver", "router"]

log = logging.getLogger("coupler.hooks")
router = APIRouter()

MAX_BODY = 4 * 1024 * 1024
"""A notification larger than this is refused (Business Central's hold at most 1,000 changes)."""
BUSY_TRIES = 30


class HookReceiver:
    """Receives one configuration's notifications and starts their synchronizations; renews its subscriptions."""

    first_check = 2.0
    """Seconds after start before the first renewal check (the server must answer the handshake by then)."""

    def __init__(
        self, state: WebState, settings: HookSettings, mappings: Sequence[TableMapping], *, renew: bool = True
    ) -> None:
        self.state, self.settings, self.renew = state, settings, renew
        self.coalescer = Coalescer(mappings, window=settings.window)
        self.started: list[Targeted] = []
        """The synchronizations started, latest last (kept short: for the pages and tests)."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        telemetry = self.state.telemetry
        if telemetry is not None:
            telemetry.receiving_notifications(tuple(self.state.system_names()[side.value] for side in Side))
        loops: list[Callable[[], None]] = [self._dispatching]
        if self.renew:
            loops.append(self._renewing)
        for loop in loops:
            thread = threading.Thread(target=loop, daemon=True, name=f"coupler-hooks-{loop.__name__}")
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def connector(self, side: Side) -> SendsNotifications | None:
        connector = self.state.coupler.systems.connector(side)
        return connector if isinstance(connector, SendsNotifications) else None

    # receiving ---------------------------------------------------------------------------------------------
    def count(self, side: Side, outcome: NotificationOutcome) -> None:
        """Tell the telemetry what became of a request on ``side``'s route."""
        telemetry = self.state.telemetry
        if telemetry is not None:
            telemetry.notification_received(self.state.system_names()[side.value], outcome)

    def receive(self, side: Side, headers: dict[str, str], body: bytes) -> int:
        """Authenticate and take in one notification (raises Forged); how many changes concern a mapping."""
        connector = self.connector(side)
        if connector is None:
            raise Malformed(f"{self.state.coupler.systems.name(side)} sends no notifications")
        notified = connector.notifications(headers, body, secret=self.settings.secret.get_secret_value())
        taken = self.coalescer.add(side, notified)
        if taken:
            self._wake.set()
        return taken

    # starting the synchronizations -------------------------------------------------------------------------
    def _dispatching(self) -> None:
        while not self._stop.is_set():
            due = self.coalescer.next_due()
            wait = 1.0 if due is None else max(0.0, (due - self.coalescer.clock()).total_seconds())
            self._wake.wait(timeout=min(wait, 1.0))
            self._wake.clear()
            for targeted in self.coalescer.due():
                try:
                    self.dispatch(targeted)
                except (CouplerError, HTTPException) as error:  # the scheduled runs find these changes
                    log.warning("a notified synchronization of %s could not start: %s", targeted.mapping, error)

    def dispatch(self, targeted: Targeted) -> None:
        systems = self.state.coupler.systems
        what = "changes" if targeted.everything else plural(len(targeted.keys), "changed record")
        label = f"{systems.name(targeted.side)} notified {what} of {targeted.mapping}"
        asked = Asked(
            work=QueueWork.NOTIFIED,
            mapping=targeted.mapping,
            arguments={"side": targeted.side.value, "keys": list(targeted.keys), "everything": targeted.everything},
        )
        self.state.background(label, _work(targeted), asked)
        self.started = [*self.started[-99:], targeted]
        telemetry = self.state.telemetry
        if telemetry is not None:
            telemetry.notified_sync_started(self.state.system_names()[targeted.side.value], targeted.mapping)

    # renewing ----------------------------------------------------------------------------------------------
    def _renewing(self) -> None:
        wait = self.first_check
        while not self._stop.wait(wait):
            self.check()
            wait = self.settings.check_every.total_seconds()

    def check(self) -> None:
        """Renew what expires soon and re-subscribe what was lost (logged; the next check tries again)."""
        try:
            systems = self.state.coupler.systems
            done = maintain(
                systems,
                lambda side: self.settings.route(side.value),
                self.settings.secret.get_secret_value(),
                now=systems.clock(),
                renew_before=self.settings.renew_before,
            )
        except CouplerError as error:
            log.warning("the webhook subscriptions could not be checked: %s", error.message)
            return
        for problem in done.failed:
            log.warning("webhook subscriptions: %s", problem)


def _work(targeted: Targeted) -> Callable[[Coupler, TaskProgress], JobReport]:
    def run(coupler: Coupler, progress: TaskProgress) -> JobReport:
        for _ in range(BUSY_TRIES):  # another run holds the mapping: it may well be synchronizing these very records
            try:
                return coupler.sync_changed(
                    targeted.mapping, targeted.side, targeted.keys, everything=targeted.everything
                )
            except MappingBusy:
                time.sleep(1.0)
        return coupler.sync_changed(targeted.mapping, targeted.side, targeted.keys, everything=targeted.everything)

    return run


def receiver_for(state: WebState) -> HookReceiver | None:
    """The receiver of the app's configuration when it has ``[hooks]``; renewing only without a queue (the workers
    renew otherwise). None without hooks, or when the file cannot be read (the pages say why). Systems that cannot
    be reached do not stop it: a notification is answered 503 meanwhile, which the service sends again (a 404 would
    make Business Central delete the subscription)."""
    try:
        config = load_config(state.config_path)
        if config.hooks is None:
            return None
        receiver = HookReceiver(state, config.hooks, config.mappings, renew=config.queue is None)
    except CouplerError as error:
        log.warning("webhooks are off: %s", error.message)
        return None
    receiver.start()
    return receiver


def _side(system: str) -> Side:
    try:
        return Side(system)
    except ValueError:
        raise HTTPException(status_code=404) from None


def _receiver(request: Request) -> HookReceiver:
    receiver: HookReceiver | None = getattr(request.app.state, "hooks", None)
    if receiver is None:
        raise HTTPException(status_code=404)
    return receiver


@router.get("/hooks/{system}", include_in_schema=False)
async def handshake(system: str, request: Request) -> Response:
    return await _handshake(_receiver(request), _side(system), request)


async def _handshake(receiver: HookReceiver, side: Side, request: Request) -> Response:
    try:
        connector = await run_in_threadpool(receiver.connector, side)
    except CouplerError as error:
        log.warning("a validation request on the %s webhook route could not be answered: %s", side.value, error.message)
        return Response(status_code=503)
    token = connector.handshake(dict(request.query_params)) if connector is not None else None
    if token is None:
        log.warning("a request on the %s webhook route that is no validation request was refused", side.value)
        return Response(status_code=400)
    return PlainTextResponse(token, status_code=200)


@router.post("/hooks/{system}", include_in_schema=False)
async def notification(system: str, request: Request) -> Response:
    receiver, side = _receiver(request), _side(system)
    if "validationToken" in request.query_params:  # Business Central's handshake comes as a POST too
        return await _handshake(receiver, side, request)
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY:
            log.warning(
                "a notification on the %s webhook route was refused: larger than %d bytes", side.value, MAX_BODY
            )
            receiver.count(side, NotificationOutcome.MALFORMED)
            return Response(status_code=400)
    headers = {name.lower(): value for name, value in request.headers.items()}
    client = request.client.host if request.client else "?"
    try:
        await run_in_threadpool(receiver.receive, side, headers, body)
    except Malformed as error:
        log.warning("a request on the %s webhook route from %s was refused: %s", side.value, client, error)
        receiver.count(side, NotificationOutcome.MALFORMED)
        return Response(status_code=400)
    except Forged as error:
        log.warning("a notification on the %s webhook route from %s was refused: %s", side.value, client, error)
        receiver.count(side, NotificationOutcome.FORGED)
        return Response(status_code=401)
    except CouplerError as error:  # the system could not be asked (its company): it sends again (503 is retried)
        log.warning("a notification on the %s webhook route could not be read: %s", side.value, error.message)
        receiver.count(side, NotificationOutcome.UNAVAILABLE)
        return Response(status_code=503)
    receiver.count(side, NotificationOutcome.TAKEN)
    return Response(status_code=200)
