"""Sender actors: deliver a tenant's due webhooks / emails, outside any transaction.

One message means "this tenant may have something due"; a run claims batches (leases) until nothing
is due or its time budget is used, sending each batch concurrently, and records the results. Many
triggers for one tenant coalesce: a run that finds nothing claimable ends after one query. Retries
are not dramatiq retries: the delivery rows carry the schedule and a durable wake-up deadline
re-triggers (domain/services/notifications.py); dramatiq's own retry only covers a run that failed
before it could claim anything (database unreachable).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from uuid import UUID

import dramatiq

from domain.services import notifications
from infra import metrics
from infra.db import Database
from infra.mailer import Mailer
from infra.settings import get_settings
from infra.webhook_sender import WebhookSender
from workers import runtime
from workers.notification_handlers import DELIVER_WEBHOOKS, EMAILS_QUEUE, SEND_EMAILS, WEBHOOKS_QUEUE

log = logging.getLogger("noticehub.notifications")

BATCH_SIZE = 200
RUN_BUDGET_S = 30.0
SENDER_OPTIONS: dict[str, Any] = {
    "time_limit": 120_000,  # a run is bounded by RUN_BUDGET_S plus one batch (10 s timeouts)
    "max_retries": 12, "min_backoff": 1_000, "max_backoff": 300_000, "max_age": 24 * 3600 * 1000,
}

_sender: WebhookSender | None = None
_sender_loop: asyncio.AbstractEventLoop | None = None


def webhook_sender() -> WebhookSender:
    """One pooled HTTP client per event loop (the AsyncIO middleware's loop in a worker process)."""
    global _sender, _sender_loop
    loop = asyncio.get_running_loop()
    if _sender is None or _sender_loop is not loop:
        _sender, _sender_loop = WebhookSender(), loop
    return _sender


async def deliver_for_tenant(db: Database, tenant_id: UUID, sender: WebhookSender, *,
                             batch_size: int = BATCH_SIZE, budget_s: float = RUN_BUDGET_S) -> tuple[int, bool]:
    """Send what is due; returns (attempts made, whether work may remain because the budget ran out)."""
    attempts = 0
    ends = time.monotonic() + budget_s
    while True:
        async with db.uow(tenant_id) as uow:
            claimed = await notifications.claim_deliveries(uow, batch_size)
        if not claimed:
            return attempts, False
        results = await sender.send_many(claimed)
        async with db.uow(tenant_id) as uow:
            records = await notifications.record_attempts(uow, claimed, results)
        for r in records:
            metrics.record_webhook_attempt(r.status.value, r.result.status_code, r.result.error,
                                           r.result.latency_ms / 1000)
            if r.status.value == "dead":
                log.warning("webhook delivery %s is dead after %d attempts: %s", r.delivery_id, r.attempt,
                            r.result.error)
        attempts += len(records)
        if time.monotonic() > ends:
            return attempts, True


async def send_emails_for_tenant(db: Database, tenant_id: UUID, mailer: Mailer, *,
                                 batch_size: int = 20) -> int:
    sent = 0
    while True:
        async with db.uow(tenant_id) as uow:
            claimed = await notifications.claim_emails(uow, batch_size)
        if not claimed:
            return sent
        results = await mailer.send_many(claimed)
        async with db.uow(tenant_id) as uow:
            outcomes = await notifications.record_emails(uow, claimed, results)
        for email, status in outcomes:
            metrics.record_email(status, mailer.transport)
            if status != "sent":
                log.warning("email %s (%s) %s", email.id, email.template, status)
        sent += len(outcomes)


@dramatiq.actor(actor_name=DELIVER_WEBHOOKS, queue_name=WEBHOOKS_QUEUE, **SENDER_OPTIONS)
async def deliver_webhooks(tenant_id: str) -> None:
    db = await runtime.database()
    _, more = await deliver_for_tenant(db, UUID(tenant_id), webhook_sender())
    if more:  # let other tenants' runs in, then continue
        deliver_webhooks.send(tenant_id)


@dramatiq.actor(actor_name=SEND_EMAILS, queue_name=EMAILS_QUEUE, **SENDER_OPTIONS)
async def send_emails(tenant_id: str) -> None:
    db = await runtime.database()
    await send_emails_for_tenant(db, UUID(tenant_id), Mailer.from_environment(get_settings().data_dir))
