"""Sending webhook notifications as Dataverse's asynchronous service does: once a transaction that created, updated
or deleted rows commits, one system job (``asyncoperations``) per enabled step of that message and table, run after
``WebhookSettings.delay`` in a background thread, POSTing the ``RemoteExecutionContext`` JSON to the endpoint's URL.

Sources (MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/):

- use-webhooks.md, "Data passed to the service": the authentication of HttpHeader in headers, of WebhookKey
  (``?code=``) and HttpQueryString in the query string; the headers ``x-ms-dynamics-organization``,
  ``x-ms-dynamics-entity-name`` (the table's logical name), ``x-ms-dynamics-request-name`` (the message),
  ``x-ms-correlation-request-id``; the body "the JSON value of an instance of the RemoteExecutionContext class" (the
  sample: BusinessUnitId, CorrelationId, Depth, InitiatingUserId, InputParameters [Target], MessageName, Mode,
  OperationCreatedOn, OperationId, OrganizationId, OrganizationName, OwningExtension (the step), PostEntityImages
  [AsynchronousStepPrimaryName], PrimaryEntityId, PrimaryEntityName, Stage 40, UserId).
- use-webhooks.md, "Troubleshoot WebHook registrations": the status code alone is looked at; "The timeout is 60
  seconds"; for 502, 503 and 504 "The WebHook service will make one more attempt".
- register-web-hook.md, "Asynchronous mode": a System Job captures success or failure (statuscode 31 Failed);
  ``asyncautodelete`` deletes it when it succeeds. asynchronous-service.md: StateCode/StatusCode 0/0 Waiting For
  Resources, 1/10 Waiting, 2/20 In Progress, 3/30 Succeeded, 3/31 Failed; ``RetryCount``.
- "When do asynchronous jobs fail, suspend or retry?" (Microsoft Dynamics CRM team blog, 2009-03-25): a failed HTTP
  response or a network error is retried after a while; an HTTP 401 suspends the job.
- bulk-operations.md: Create and Update steps also run for the rows of CreateMultiple and UpdateMultiple (the
  server's bulk handlers write row by row through the same hooks).

How many times and after how long a job is retried is not documented: ``WebhookSettings.retries`` and
``retry_delay`` choose (short, so that tests are fast).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from coupler.testing.dataverse.webhooks import (
    HTTP_HEADER,
    HTTP_QUERY_STRING,
    WEBHOOK_KEY,
    Registry,
    Step,
    parse_settings,
)

__all__ = ["Notifier", "WebhookSettings", "remote_execution_context"]

_PENDING = "coupler.dataverse.webhook_events"
_ONE_MORE = frozenset({502, 503, 504})
_ENTITY = "Entity:http://schemas.microsoft.com/xrm/2011/Contracts"
_REFERENCE = "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts"


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    delay: float = 0.05
    """Seconds between the commit and the first POST (the asynchronous service picking the job up)."""
    retries: int = 3
    """How many times a failed job is tried again before it fails."""
    retry_delay: float = 0.2
    """Seconds before the first retry; doubled for each next one."""
    timeout: float = 60.0
    organization: str = "coupler-test.crm.dynamics.com"
    """The environment's domain name (``x-ms-dynamics-organization``)."""
    organization_id: str = "4ef5b371-e89e-e711-8122-000d3aa2331c"
    organization_name: str = "coupler-test"


@dataclass(frozen=True, kw_only=True)
class Event:
    message: str
    table: str
    key: str
    attributes: Mapping[str, Any]
    primary_name: str | None
    user_id: str


class Notifier:
    """Queues the system jobs of committed changes and runs them in one background thread."""

    def __init__(
        self, registry: Registry, settings: WebhookSettings, *, settled: AbstractContextManager[Any] | None = None
    ) -> None:
        self.registry = registry
        self.settings = settings
        self._settled = settled
        """Entered before each POST: held by a transaction until it has committed (the store's lock), so that a
        receiver reading the record back finds the change (the "commit" event comes just before the commit)."""
        self._queue: list[tuple[float, int, str, Step, bytes, dict[str, str]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = 0
        self._closed = False

    # -- collecting changes ----------------------------------------------------------------------------------
    def attach(self, engine: sa.Engine) -> None:
        """Send what a transaction changed once it commits; nothing when it rolls back."""
        sa.event.listen(engine, "commit", self._committed)
        sa.event.listen(engine, "rollback", lambda conn: conn.info.pop(_PENDING, None))

    def changed(self, conn: sa.Connection, event: Event) -> None:
        if self.registry.steps:  # no registration: nothing to keep
            conn.info.setdefault(_PENDING, []).append(event)

    def _committed(self, conn: sa.Connection) -> None:
        for event in conn.info.pop(_PENDING, None) or []:
            for step in self.registry.steps_for(event.message, event.table):
                if step.filtering and event.message == "Update" and not step.filtering & set(event.attributes):
                    continue  # filteringattributes: none of them changed
                self._enqueue(step, event)

    def _enqueue(self, step: Step, event: Event) -> None:
        operation = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        body = remote_execution_context(
            event, step=step, operation_id=operation, correlation_id=correlation, settings=self.settings
        )
        headers = {
            "content-type": "application/json",
            "x-ms-dynamics-organization": self.settings.organization,
            "x-ms-dynamics-entity-name": event.table,
            "x-ms-dynamics-request-name": event.message,
            "x-ms-correlation-request-id": correlation,
        }
        with self.registry.lock:
            self.registry.jobs[operation] = {
                "asyncoperationid": operation,
                "name": f"{event.message} of {event.table} ({step.url})",
                "messagename": event.message,
                "primaryentitytype": event.table,
                "_owningextensionid_value": step.id,
                "_regardingobjectid_value": event.key,
                "operationtype": 1,  # Event
                "statecode": 0,
                "statuscode": 0,  # Waiting For Resources
                "retrycount": 0,
                "errorcode": None,
                "message": None,
                "friendlymessage": None,
                "createdon": _now(),
                "completedon": None,
            }
        self._schedule(time.monotonic() + self.settings.delay, operation, step, json.dumps(body).encode(), headers)

    # -- running jobs ----------------------------------------------------------------------------------------
    def _schedule(self, due: float, operation: str, step: Step, body: bytes, headers: dict[str, str]) -> None:
        with self._wake:
            if self._closed:
                return
            heapq.heappush(self._queue, (due, next(self._order), operation, step, body, headers))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dataverse-webhooks", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every job has run to its end (succeeded, failed or suspended); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._queue or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._queue.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=self.settings.timeout) as client:
            while True:
                with self._wake:
                    while not self._closed and (not self._queue or self._queue[0][0] > time.monotonic()):
                        wait = self._queue[0][0] - time.monotonic() if self._queue else None
                        self._wake.wait(wait)
                    if self._closed:
                        return
                    _, _, operation, step, body, headers = heapq.heappop(self._queue)
                    self._running += 1
                try:
                    if self._settled is not None:
                        with self._settled:
                            pass
                    self._attempt(client, operation, step, body, headers)
                finally:
                    with self._wake:
                        self._running -= 1
                        self._wake.notify_all()

    def _attempt(self, client: httpx.Client, operation: str, step: Step, body: bytes, headers: dict[str, str]) -> None:
        self._job(operation, statecode=2, statuscode=20)  # In Progress
        status, problem = _post(client, step, body, headers)
        if status in _ONE_MORE:
            status, problem = _post(client, step, body, headers)  # "one more attempt" (use-webhooks.md)
        if status is not None and 200 <= status < 300:
            if step.asyncautodelete:
                with self.registry.lock:
                    self.registry.jobs.pop(operation, None)
            else:
                self._job(operation, statecode=3, statuscode=30, completedon=_now())
            return
        if status == 401:  # suspended until someone resumes it
            self._job(operation, statecode=1, statuscode=10, message=problem, friendlymessage=problem)
            return
        with self.registry.lock:
            job = self.registry.jobs.get(operation)
            retries = 0 if job is None else int(job["retrycount"])
        if retries >= self.settings.retries:
            failed = {"message": problem, "friendlymessage": problem, "completedon": _now()}
            self._job(operation, statecode=3, statuscode=31, **failed)
            return
        self._job(operation, statecode=0, statuscode=10, retrycount=retries + 1, message=problem)  # Waiting
        due = time.monotonic() + self.settings.retry_delay * 2**retries
        self._schedule(due, operation, step, body, headers)

    def _job(self, operation: str, **values: Any) -> None:
        with self.registry.lock:
            job = self.registry.jobs.get(operation)
            if job is not None:
                job.update(values)


def _post(client: httpx.Client, step: Step, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    sent = dict(headers)
    params: dict[str, str] = {}
    if step.authtype == HTTP_HEADER:
        sent.update(parse_settings(step.authvalue))
    elif step.authtype == HTTP_QUERY_STRING:
        params.update(parse_settings(step.authvalue))
    elif step.authtype == WEBHOOK_KEY:
        params["code"] = step.authvalue
    try:
        response = client.post(step.url, content=body, headers=sent, params=params)
    except httpx.HTTPError as error:
        return None, f"The webhook could not be reached: {type(error).__name__}"
    return response.status_code, f"The webhook answered {response.status_code}"


def remote_execution_context(
    event: Event, *, step: Step, operation_id: str, correlation_id: str, settings: WebhookSettings
) -> dict[str, Any]:
    """The RemoteExecutionContext of one change, shaped as use-webhooks.md's sample."""
    if event.message == "Delete":
        target: dict[str, Any] = _reference(event.table, event.key)
        images: list[dict[str, Any]] = []  # a Delete has no post image (register-plug-in.md)
    else:
        attributes = {**event.attributes}
        target = _entity(event.table, event.key, attributes)
        images = []
        if event.primary_name:
            shown = {event.primary_name: attributes.get(event.primary_name)}
            images = [{"key": "AsynchronousStepPrimaryName", "value": _entity(event.table, event.key, shown)}]
    return {
        "BusinessUnitId": None,
        "CorrelationId": correlation_id,
        "Depth": 1,
        "InitiatingUserId": event.user_id,
        "InputParameters": [{"key": "Target", "value": target}],
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "IsOfflinePlayback": False,
        "IsolationMode": 1,
        "MessageName": event.message,
        "Mode": 1,
        "OperationCreatedOn": _date(datetime.now(UTC)),
        "OperationId": operation_id,
        "OrganizationId": settings.organization_id,
        "OrganizationName": settings.organization_name,
        "OutputParameters": [{"key": "id", "value": event.key}] if event.message == "Create" else [],
        "OwningExtension": {
            "Id": step.id,
            "KeyAttributes": [],
            "LogicalName": "sdkmessageprocessingstep",
            "Name": None,
            "RowVersion": None,
        },
        "ParentContext": None,
        "PostEntityImages": images,
        "PreEntityImages": [],
        "PrimaryEntityId": event.key,
        "PrimaryEntityName": event.table,
        "RequestId": None,
        "SecondaryEntityName": "none",
        "SharedVariables": [],
        "Stage": 40,
        "UserId": event.user_id,
    }


def _entity(table: str, key: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "__type": _ENTITY,
        "Attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
        "EntityState": None,
        "FormattedValues": [],
        "Id": key,
        "KeyAttributes": [],
        "LogicalName": table,
        "RelatedEntities": [],
        "RowVersion": None,
    }


def _reference(table: str, key: str) -> dict[str, Any]:
    return {
        "__type": _REFERENCE,
        "Id": key,
        "KeyAttributes": [],
        "LogicalName": table,
        "Name": None,
        "RowVersion": None,
    }


def reference(table: str, key: str) -> dict[str, Any]:
    """A lookup's value in a context's attributes (an EntityReference)."""
    return _reference(table, key)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _date(value)
    if isinstance(value, str | int | float | bool | dict | list) or value is None:
        return value
    return str(value)


def _date(moment: datetime) -> str:
    """``/Date(<milliseconds since 1970>)/``, as the sample's ``modifiedon``."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"/Date({int(aware.timestamp() * 1000)})/"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
