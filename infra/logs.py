"""Structured logs: one JSON object per line, with the current trace and span ids.

`configure_logging` puts the JSON formatter on the root logger's handlers (adding a stderr handler
when there is none, e.g. under uvicorn or the scheduler; dramatiq's worker processes already have
one, which then writes JSON too). NOTICEHUB_LOG_FORMAT=text keeps plain lines for local debugging;
NOTICEHUB_LOG_LEVEL sets the level (INFO).

Log messages must not contain personal data (emails, names, addresses) or secrets; code logs ids.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message", "asctime", "otelTraceID", "otelSpanID", "otelTraceSampled", "otelServiceName", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.service:
            entry["service"] = self.service
        trace_id, span_id = _ids(record)
        if trace_id:
            entry["trace_id"] = trace_id
            entry["span_id"] = span_id
        for key, value in record.__dict__.items():  # `extra={...}` fields
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def _ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    """From the LoggingInstrumentor's record fields when present, else from the current span."""
    trace_id = getattr(record, "otelTraceID", None)
    span_id = getattr(record, "otelSpanID", None)
    if trace_id and trace_id != "0":
        return trace_id, span_id
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    return None, None


_configured = False


def configure_logging(service: str) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    root.setLevel(os.environ.get("NOTICEHUB_LOG_LEVEL", "INFO").upper())
    if os.environ.get("NOTICEHUB_LOG_FORMAT", "json").lower() == "text":
        if not root.handlers:
            logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
        return
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    formatter = JsonFormatter(service)
    for handler in root.handlers:
        if type(handler).__module__.startswith("_pytest"):  # leave pytest's capture handlers alone
            continue
        handler.setFormatter(formatter)
