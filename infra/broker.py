"""The Dramatiq broker, chosen by environment: Redis, RabbitMQ, or the embedded Redis.

Defaults reviewed deliberately (dramatiq's own are 10-minute time limits, 20 retries and backoff of
up to 7 days, which hide failures for a week): see ACTOR_DEFAULTS.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from infra.settings import Settings

EVENTS_QUEUE = "events"
EVENTS_ACTOR = "dispatch_event"

ACTOR_DEFAULTS: dict[str, Any] = {
    "time_limit": 60_000,  # an event handler that runs a minute is stuck, not slow
    "max_retries": 12,  # with the backoff below: roughly an hour of retrying before dead-lettering
    "min_backoff": 1_000,
    "max_backoff": 600_000,
    "max_age": 7 * 24 * 3600 * 1000,
}

_tracer = trace.get_tracer("noticehub.messaging")


class TracingMiddleware(dramatiq.Middleware):
    """Carries W3C trace context in message options so worker spans join the producer's trace."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        if "otel" not in message.options:  # retries and relayed messages keep their original parent
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            message.options["otel"] = carrier

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        parent = propagate.extract(message.options.get("otel") or {})
        span = _tracer.start_span(
            f"process {message.actor_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "messaging.dramatiq.retries": message.options.get("retries", 0),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append((span, token))

    def _finish(self, exception: BaseException | None) -> None:
        stack = getattr(self._local, "stack", None)
        if not stack:
            return
        span, token = stack.pop()
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        otel_context.detach(token)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self._finish(exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._finish(None)


def build_broker(settings: Settings) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if settings.amqp_url:
        broker = RabbitmqBroker(url=settings.amqp_url, confirm_delivery=True)
    elif settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=settings.broker_namespace)  # type: ignore[no-untyped-call]
    else:
        raise RuntimeError("No broker configured: set REDIS_URL or AMQP_URL (or start via `noticehub dev`).")
    broker.add_middleware(AsyncIO())
    broker.add_middleware(TracingMiddleware())
    broker.declare_queue(EVENTS_QUEUE)
    return broker


def events_message(message_id: str, topic: str, tenant_id: str, payload: dict[str, Any],
                   trace_context: dict[str, str]) -> dramatiq.Message[Any]:
    """The message the relay sends for one outbox row; its id is the outbox id (idempotency key)."""
    return dramatiq.Message(
        queue_name=EVENTS_QUEUE,
        actor_name=EVENTS_ACTOR,
        args=(),
        kwargs={"event_id": message_id, "topic": topic, "tenant_id": tenant_id, "payload": payload},
        options={"otel": trace_context} if trace_context else {},
        message_id=message_id,
    )


def ping(settings: Settings) -> None:
    """Raise if the broker cannot be reached (for /readyz)."""
    if settings.amqp_url:
        import pika

        pika.BlockingConnection(pika.URLParameters(settings.amqp_url)).close()
    elif settings.redis_url:
        import redis

        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    else:
        raise RuntimeError("no broker configured")
