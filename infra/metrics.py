"""Metrics through the OpenTelemetry metrics API, exposed for Prometheus (and OTLP when configured).

Every process installs one MeterProvider (`configure_metrics`) with a PrometheusMetricReader:
- the API serves the scrape at `GET /metrics` on its own port (`metrics_response`);
- workers and the scheduler serve it on `NOTICEHUB_METRICS_PORT` (+0..15: the first free port, so
  several worker processes on one host each get one; the chosen port is logged), bound to
  `NOTICEHUB_METRICS_HOST` (127.0.0.1 by default).
With `OTEL_METRICS_EXPORTER=otlp` the same instruments are also pushed over OTLP/HTTP.

Instruments are module-level and created through the global meter, so code may record before the
provider is installed (the API's proxy forwards once it is). Helpers below are the only way other
modules record: names, units and attribute sets are defined here once. Attributes never carry tenant
ids, personal data or free text (cardinality and privacy).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

log = logging.getLogger("noticehub.metrics")
_meter = metrics.get_meter("noticehub")
_configured = False
_server_port: int | None = None

# ----- instruments -------------------------------------------------------------------------------

notices_received = _meter.create_counter(
    "noticehub.notices.received", unit="1", description="Notices accepted for intake (one per notice).")
decisions = _meter.create_counter(
    "noticehub.decisions", unit="1",
    description="Decisions written to the hash-chained log, by kind, outcome and whether automated.")
notice_to_action = _meter.create_histogram(
    "noticehub.notice_to_action", unit="s",
    description="Time from a notice's receipt to a measure on its case (stage: requested, applied).",
    explicit_bucket_boundaries_advisory=[1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400,
                                         7 * 86400])
deadline_lag = _meter.create_histogram(
    "noticehub.deadline.lag", unit="s", description="How late a durable deadline fired after its due time.",
    explicit_bucket_boundaries_advisory=[0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600])
deadline_failures = _meter.create_counter(
    "noticehub.deadline.failures", unit="1",
    description="Deadline handler failures by kind; final=true when the deadline was set aside as failed.")
outbox_relay_age = _meter.create_histogram(
    "noticehub.outbox.relay_age", unit="s", description="Time from an outbox row's commit to its relay to the broker.",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60])
webhook_attempts = _meter.create_counter(
    "noticehub.webhook.attempts", unit="1",
    description="Webhook delivery attempts by result (delivered, failed, dead) and status class (2xx…, error).")
webhook_failures = _meter.create_counter(
    "noticehub.webhook.failures", unit="1", description="Failed webhook attempts by reason (http, timeout, "
                                                        "network, refused).")
webhook_latency = _meter.create_histogram(
    "noticehub.webhook.latency", unit="s", description="Webhook request latency (request sent to response read).",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
webhook_acknowledgements = _meter.create_counter(
    "noticehub.webhook.acknowledgements", unit="1", description="Receiver acknowledgements that recorded a delivery.")
emails = _meter.create_counter(
    "noticehub.emails", unit="1",
    description="Emails to parties by result (sent, failed, dead, skipped) and transport.")
archive_runs = _meter.create_counter(
    "noticehub.archive.runs", unit="1", description="Archiving runs by outcome (ok, failed).")
archive_cases = _meter.create_counter(
    "noticehub.archive.cases", unit="1", description="Cases archived into bundles.")
archive_duration = _meter.create_histogram(
    "noticehub.archive.duration", unit="s", description="Duration of one archiving run.",
    explicit_bucket_boundaries_advisory=[0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600])

# Gauges sampled by whoever runs the relay (outbox) or by the scheduler (deliveries): last values.
_gauges: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}


def _observe(name: str) -> Any:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(v, dict(k)) for k, v in _gauges.get(name, {}).items()]
    return callback


_meter.create_observable_gauge("noticehub.outbox.backlog", [_observe("outbox.backlog")], unit="1",
                               description="Outbox rows committed but not yet relayed to the broker.")
_meter.create_observable_gauge("noticehub.outbox.oldest_age", [_observe("outbox.oldest_age")], unit="s",
                               description="Age of the oldest outbox row not yet relayed (0 when empty).")
_meter.create_observable_gauge("noticehub.webhook.backlog", [_observe("webhook.backlog")], unit="1",
                               description="Webhook deliveries not yet delivered or dead, by status.")


def _set_gauge(name: str, value: float, **attributes: str) -> None:
    _gauges.setdefault(name, {})[tuple(sorted(attributes.items()))] = value


# ----- recording helpers -------------------------------------------------------------------------


def record_notice_received(channel: str = "api") -> None:
    notices_received.add(1, {"channel": channel})


def record_decisions(items: Iterable[tuple[str, str, bool]]) -> None:
    """(kind, outcome, automated) per decision written; one counter call per distinct combination."""
    for (kind, outcome, automated), n in Counter(items).items():
        decisions.add(n, {"kind": kind, "outcome": outcome, "automated": automated})


def observe_notice_to_action(seconds: float, stage: str) -> None:
    notice_to_action.record(max(0.0, seconds), {"stage": stage})


def observe_deadline_lag(kind: str, seconds: float) -> None:
    deadline_lag.record(max(0.0, seconds), {"kind": kind})


def record_deadline_failure(kind: str, final: bool) -> None:
    deadline_failures.add(1, {"kind": kind, "final": final})


def observe_outbox_relayed(created: Iterable[datetime], now: datetime) -> None:
    for c in created:
        outbox_relay_age.record(max(0.0, (now - c).total_seconds()))


def set_outbox_backlog(count: int, oldest_age_s: float) -> None:
    _set_gauge("outbox.backlog", count)
    _set_gauge("outbox.oldest_age", oldest_age_s)


def set_webhook_backlog(by_status: dict[str, int]) -> None:
    for status in ("pending", "sending", "failed"):
        _set_gauge("webhook.backlog", by_status.get(status, 0), status=status)


def record_webhook_attempt(result: str, status_code: int | None, error: str | None, latency_s: float) -> None:
    status_class = f"{status_code // 100}xx" if status_code else "error"
    webhook_attempts.add(1, {"result": result, "status_class": status_class})
    if result != "delivered":
        if status_code:
            reason = "http"
        elif error and error.startswith("refused"):
            reason = "refused"
        elif error and error.startswith("timeout"):
            reason = "timeout"
        elif error and error.startswith("unexpected"):
            reason = "unexpected"  # a bug in the sender (logged with its traceback), not the receiver
        else:
            reason = "network"
        webhook_failures.add(1, {"reason": reason})
    if status_code:
        webhook_latency.record(latency_s, {"status_class": status_class})


def record_webhook_acknowledgement() -> None:
    webhook_acknowledgements.add(1)


def record_email(result: str, transport: str) -> None:
    emails.add(1, {"result": result, "transport": transport})


def record_archive_run(outcome: str, cases: int = 0, duration_s: float | None = None) -> None:
    """For the archiver: one call per run. outcome: "ok" or "failed"."""
    archive_runs.add(1, {"outcome": outcome})
    if cases:
        archive_cases.add(cases)
    if duration_s is not None:
        archive_duration.record(duration_s, {"outcome": outcome})


class Timer:
    """`with Timer() as t: ...; t.seconds`"""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


# ----- set-up ------------------------------------------------------------------------------------


def configure_metrics(service_name: str, *, serve: bool = False) -> None:
    """Install the MeterProvider once per process; with `serve`, start the scrape endpoint on its own port."""
    global _configured
    if _configured:
        return
    _configured = True
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    readers: list[MetricReader] = [PrometheusMetricReader()]
    if "otlp" in os.environ.get("OTEL_METRICS_EXPORTER", ""):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    if serve and os.environ.get("NOTICEHUB_METRICS_PORT"):
        start_metrics_server(int(os.environ["NOTICEHUB_METRICS_PORT"]),
                             os.environ.get("NOTICEHUB_METRICS_HOST", "127.0.0.1"))


def start_metrics_server(base_port: int, host: str = "127.0.0.1", tries: int = 16) -> int | None:
    """Serve /metrics on the first free port from base_port; returns it (None if all were taken)."""
    global _server_port
    from prometheus_client import start_http_server

    for port in range(base_port, base_port + tries):
        try:
            start_http_server(port, addr=host)
        except OSError:
            continue
        _server_port = port
        log.info("metrics served on http://%s:%d/metrics", host, port)
        return port
    log.warning("no free port for metrics in %d..%d", base_port, base_port + tries - 1)
    return None


def metrics_payload() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process's metrics: (body, content type)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


async def sample_backlogs(db: Any) -> None:
    """Outbox and webhook backlog gauges, read as the system role (cheap: partial indexes)."""
    async with db.system_tx() as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age FROM outbox"
            " WHERE dispatched_at IS NULL")
        set_outbox_backlog(int(row["n"]), float(row["age"] or 0.0))
        rows = await conn.fetch("SELECT status, count(*) AS n FROM webhook_deliveries"
                                " WHERE status IN ('pending', 'sending', 'failed') GROUP BY status")
        set_webhook_backlog({r["status"]: int(r["n"]) for r in rows})
