"""docs/alerts.yml, the example Prometheus alert rules: valid YAML in Prometheus' rule-file shape, the same rules as
docs/operations.md shows, and every expression names only metrics, labels and label values that coupler exports
(read from a real registry: the telemetry's families, the state store's gauges and the job queue's, on PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from coupler.adapters.metrics import Metrics
from coupler.adapters.metrics.collector import WAITING
from coupler.adapters.metrics.queue import STATUSES
from coupler.adapters.queue.client import JobQueue, Work
from coupler.adapters.queue.connection import conninfo, ensure_schema, queue_app
from coupler.domain.jobs import Counters, Job, JobKind
from coupler.domain.mapping import Side
from coupler.domain.records import ChangeCursor
from coupler.ports.telemetry import JobOutcome, NotificationOutcome
from coupler.services.lease import lock_name
from pgdb import fresh_pg_database
from unit.services.conftest import customer_mapping, make_world

pytestmark = pytest.mark.postgres

DOCS = Path(__file__).parents[2] / "docs"
PROMQL_WORDS = {
    *("sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile", "group"),
    *("rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "absent", "absent_over_time"),
    *("max_over_time", "min_over_time", "avg_over_time", "time", "timestamp", "histogram_quantile", "clamp_min"),
    *("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"),
}
KNOWN_VALUES = {
    "outcome": {o.value for o in JobOutcome},
    "reason": set(WAITING),
    "status": set(STATUSES),
    "kind": {k.value for k in JobKind},
}
"""Labels whose values coupler enumerates: a matcher with another value never matches anything."""
KNOWN_BY_METRIC = {("coupler_notifications_total", "outcome"): {o.value for o in NotificationOutcome}}
"""The same where one metric's label has its own values (a notification's outcome is no job's)."""


def rules(document: Any) -> list[dict[str, Any]]:
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def exported() -> Iterator[dict[str, set[str]]]:
    """Every sample name a scrape of coupler's metrics gives, with its label names: a job counted, a request and a
    429 counted, notifications received and a synchronization they started, a coupling, a watermark, a job running
    on a mapping, and a job waiting in the queue."""
    now = datetime.now(UTC)  # when the fixture runs, not when the module was collected: the lock must not have expired
    world = make_world(customer_mapping(only_coupled=False))
    world.customer("C1")
    world.coupler.sync_modified()
    world.store.cursors.set_watermark("CUSTOMER", Side.INTEGRATION, ChangeCursor(stamp=now - timedelta(minutes=5)))
    running = Job(id="j9", mapping="CUSTOMER", kind=JobKind.FULL, direction="-", started_at=now - timedelta(seconds=9))
    world.store.jobs.add(running)
    world.store.cursors.acquire_lock(lock_name("CUSTOMER"), "j9", until=now + timedelta(minutes=5), now=now)
    with fresh_pg_database("coupler_alerts") as url:
        state_url = url.render_as_string(hide_password=False)
        ensure_schema(state_url)
        app = queue_app(state_url)
        with app.open():
            JobQueue(app, connection="cronus").defer(Work.FULL, "CUSTOMER")
        metrics = Metrics(lambda: world.coupler.systems, queue=conninfo(state_url), connections=["cronus"])
        try:
            done = Job(id="j1", mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="-", started_at=now)
            metrics.telemetry.job_started(done)
            metrics.telemetry.job_finished(done.finish(at=now, counters=Counters(modified=1)), JobOutcome.OK)
            metrics.telemetry.request_done("Business Central", "GET", 429, 0.1)
            metrics.telemetry.throttled("Business Central", 1.0)
            metrics.telemetry.receiving_notifications(("Business Central", "Dynamics 365 Sales"))
            metrics.telemetry.notification_received("Business Central", NotificationOutcome.FORGED)
            metrics.telemetry.notified_sync_started("Business Central", "CUSTOMER")
            names: dict[str, set[str]] = {}
            for family in metrics.registry.collect():
                for sample in family.samples:
                    names.setdefault(sample.name, set()).update(sample.labels)
        finally:
            metrics.close()
    yield names


def selectors(expr: str) -> tuple[list[tuple[str, dict[str, tuple[str, str]]]], list[str]]:
    """The metric selectors of a PromQL expression (each name and its matchers: label -> (operator, value)), and
    the label names its ``by``/``on``/``without``/``ignoring`` clauses use."""
    grouping = [
        label.strip()
        for clause in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)
        for label in clause.split(",")
        if label.strip()
    ]
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)  # range durations
    found = []
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)\s*(\{([^}]*)\})?", bare):
        name, matchers = match.group(1), match.group(3) or ""
        if name in PROMQL_WORDS:
            continue
        parsed = {
            label: (operator, value)
            for label, operator, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers)
        }
        found.append((name, parsed))
    return found, grouping


def test_the_alert_rules_are_a_prometheus_rule_file_and_the_docs_show_them() -> None:
    document = yaml.safe_load((DOCS / "alerts.yml").read_text(encoding="utf-8"))
    assert [group["name"] for group in document["groups"]] == ["coupler", "coupler-queue"]
    names = [rule["alert"] for rule in rules(document)]
    assert len(names) == len(set(names)) >= 12
    for rule in rules(document):
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(")"), rule
        assert "for" not in rule or re.fullmatch(r"\d+[smhd]", rule["for"]), rule
        assert rule["annotations"]["summary"], rule
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    shown = re.search(r"### Example alert rules\n.*?```yaml\n(.*?)```", operations, flags=re.S)
    assert shown is not None
    assert yaml.safe_load(shown.group(1)) == document, "docs/operations.md shows docs/alerts.yml as it is"
    queue = " ".join(rule["expr"] for rule in rules(document) if rule["alert"].startswith("CouplerQueue"))
    for gauge in ("coupler_queue_up", "coupler_queue_jobs", "coupler_queue_oldest_waiting_seconds"):
        assert gauge in queue or gauge in " ".join(r["expr"] for r in rules(document))


def test_every_expression_names_metrics_labels_and_values_coupler_exports(exported: dict[str, set[str]]) -> None:
    assert {"coupler_queue_up", "coupler_queue_jobs", "coupler_jobs_total", "coupler_watermark_lag_seconds"} <= set(
        exported
    ), sorted(exported)
    document = yaml.safe_load((DOCS / "alerts.yml").read_text(encoding="utf-8"))
    for rule in rules(document):
        found, grouping = selectors(rule["expr"])
        assert found, rule
        labels: set[str] = set()
        for name, matchers in found:
            assert name in exported, f"{rule['alert']}: coupler exports no metric {name}"
            labels |= exported[name]
            for label, (operator, value) in matchers.items():
                assert label in exported[name], f"{rule['alert']}: {name} has no label {label}"
                known = KNOWN_BY_METRIC.get((name, label), KNOWN_VALUES.get(label))
                if known is not None and operator in ("=", "=~"):
                    values = value.split("|") if operator == "=~" else [value]
                    unknown = set(values) - known
                    assert not unknown, f"{rule['alert']}: {name}{{{label}}} is never {unknown}"
        assert set(grouping) <= labels, f"{rule['alert']}: grouped by labels its metrics lack: {grouping}"
        for label in re.findall(r"\$labels\.(\w+)", str(rule.get("annotations", {}))):
            assert label in labels, f"{rule['alert']}: its summary names {label}, which its result does not carry"


def test_the_expression_reader_catches_unknown_metrics_labels_and_values(exported: dict[str, set[str]]) -> None:
    # the checks above would let a typo through if the reader found nothing: it finds these
    found, grouping = selectors('sum by (mapping) (increase(coupler_jobz_total{outcome="stoped"}[1h])) > 0')
    assert found == [("coupler_jobz_total", {"outcome": ("=", "stoped")})] and grouping == ["mapping"]
    assert "coupler_jobz_total" not in exported
    assert "stoped" not in KNOWN_VALUES["outcome"]
    assert "forged" not in KNOWN_VALUES["outcome"]  # a job's outcome is never a notification's
    assert "coupler_notifications_total" in exported and "coupler_notified_synchronizations_total" in exported
    [(name, _)] = selectors("coupler_queue_up == 0")[0]
    assert name == "coupler_queue_up"


def test_a_failed_job_is_counted_by_the_queue_gauge_the_failed_jobs_rule_reads() -> None:
    with fresh_pg_database("coupler_alerts") as url:
        state_url = url.render_as_string(hide_password=False)
        ensure_schema(state_url)
        app = queue_app(state_url)
        with app.open():
            queue = JobQueue(app, connection="cronus")
            failing, waiting = queue.defer(Work.FULL, "CUSTOMER"), queue.defer(Work.FULL, "CONTACT")
        with psycopg.connect(conninfo(state_url), autocommit=True) as database:
            database.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", (failing,))
            database.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", (failing,))
        metrics = Metrics(lambda: None, queue=conninfo(state_url), connections=["cronus"])
        try:
            registry = metrics.registry
            jobs = {
                status: registry.get_sample_value("coupler_queue_jobs", {"connection": "cronus", "status": status})
                for status in STATUSES
            }
        finally:
            metrics.close()
    assert waiting and jobs == {"todo": 1, "doing": 0, "failed": 1}
