"""OpenTelemetry set-up from the standard OTEL_* variables, once per process.

OTEL_TRACES_EXPORTER: `otlp` (OTLP/HTTP), `console`, or `none`. When unset we export OTLP only if
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, so a machine without a collector does
not log connection errors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

_configured = False
tracer = trace.get_tracer("noticehub")


def configure_tracing(service_name: str, extra_processor: SpanProcessor | None = None) -> None:
    """Install the tracer provider and instrumentations; later calls are no-ops (one provider per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER")
    has_endpoint = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    if exporter_name is None:
        exporter_name = "otlp" if has_endpoint else "none"
    for name in (n.strip() for n in exporter_name.split(",")):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)

    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor

    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    LoggingInstrumentor().instrument(set_logging_format=False)
    logging.getLogger(__name__).debug("tracing configured: exporter=%s", exporter_name)


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()


def current_trace_ids() -> tuple[str | None, str | None]:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


@contextmanager
def span(name: str, kind: trace.SpanKind = trace.SpanKind.INTERNAL, **attributes: Any) -> Iterator[trace.Span]:
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as s:
        yield s
