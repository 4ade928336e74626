"""Dramatiq actors. Thin: find the handlers for the event, run them once, inside one transaction."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any
from uuid import UUID

import dramatiq

from infra.broker import ACTOR_DEFAULTS, EVENTS_ACTOR, EVENTS_QUEUE, build_broker
from infra.logs import configure_logging
from infra.metrics import configure_metrics
from infra.process import tune_gc
from infra.settings import get_settings
from infra.telemetry import configure_tracing
from workers import runtime
from workers.handlers import handlers_for

log = logging.getLogger("noticehub.worker")

if os.environ.get("NOTICEHUB_WORKER_UVLOOP", "1") != "0":
    # The AsyncIO middleware's loop (created at worker boot) is then uvloop: ~1.4x the webhook
    # sender's throughput on this project's machine (docs/performance.md).
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
configure_tracing("noticehub-worker")
configure_logging("noticehub-worker")
configure_metrics("noticehub-worker", serve=True)  # NOTICEHUB_METRICS_PORT
broker = build_broker(get_settings())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name=EVENTS_ACTOR, queue_name=EVENTS_QUEUE, **ACTOR_DEFAULTS)
async def dispatch_event(event_id: str, topic: str, tenant_id: str, payload: dict[str, Any]) -> None:
    handlers = handlers_for(topic)
    if not handlers:  # nothing to do: no transaction, no processed row
        return
    db = await runtime.database()
    async with db.uow(UUID(tenant_id)) as uow:
        if not await uow.processed.claim(UUID(event_id), EVENTS_ACTOR):
            log.info("event %s already processed; skipping duplicate delivery", event_id)
            return
        for handler in handlers:
            await handler(uow, event_id, payload)


from workers import notification_actors  # noqa: E402, F401 - deliver_webhooks, send_emails (need the broker)

tune_gc()  # after every actor module is imported: see infra/process.py
