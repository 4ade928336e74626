"""Event handlers for notifications and metrics; registered into workers.handlers.HANDLERS.

They run inside the event worker's transaction (idempotent through processed_messages): they only
write rows and outbox triggers; network I/O happens in the sender actors after commit
(workers/notification_actors.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

import dramatiq

from domain.services import notifications
from domain.webhooks import EVENT_TOPICS
from infra import mailer, metrics

if TYPE_CHECKING:
    from infra.db import PgUnitOfWork
    from workers.handlers import Handler

WEBHOOKS_QUEUE = "webhooks"
EMAILS_QUEUE = "emails"
DELIVER_WEBHOOKS = "deliver_webhooks"
SEND_EMAILS = "send_emails"


def _enqueue(queue: str, actor: str, tenant_id: UUID) -> dramatiq.Message[Any]:
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=(), kwargs={"tenant_id": str(tenant_id)}, options={})
    return dramatiq.get_broker().enqueue(message)


def _fan_out(topic: str) -> Handler:
    async def handle(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
        await notifications.fan_out(uow, UUID(event_id), topic, payload)
    handle.__name__ = f"webhooks_fan_out[{topic}]"
    return handle


def _emails(topic: str) -> Handler:
    async def handle(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
        await notifications.queue_emails(uow, UUID(event_id), topic, payload, mailer.render)
    handle.__name__ = f"emails[{topic}]"
    return handle


async def _webhook_due(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    # The rows this trigger is about are committed (this message was written in their transaction).
    await asyncio.to_thread(_enqueue, WEBHOOKS_QUEUE, DELIVER_WEBHOOKS, uow.tenant_id)


async def _email_due(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    await asyncio.to_thread(_enqueue, EMAILS_QUEUE, SEND_EMAILS, uow.tenant_id)


async def _acknowledged(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    if await notifications.acknowledge_delivery(uow, payload):
        metrics.record_webhook_acknowledgement()


async def _notice_received(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    metrics.record_notice_received()


_ACTION_STAGES = {"measures_requested": "requested", "measures_applied": "applied"}


async def _case_changed(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    stage = _ACTION_STAGES.get(str(payload.get("to")))
    if stage is None or not payload.get("notice_id"):
        return
    [notice] = await uow.notices.get_many([UUID(str(payload["notice_id"]))])
    if notice is not None:
        metrics.observe_notice_to_action((uow.clock.now() - notice.received_at).total_seconds(), stage)


def notification_handlers() -> dict[str, tuple[Handler, ...]]:
    table: dict[str, tuple[Handler, ...]] = {topic: (_fan_out(topic),) for topic in EVENT_TOPICS}
    table["notice.forwarded"] += (_emails("notice.forwarded"),)
    table["declaration.forwarded"] += (_emails("declaration.forwarded"),)
    table["notice.received"] += (_notice_received,)
    table["case.state_changed"] += (_case_changed,)
    table[notifications.WEBHOOK_DUE] = (_webhook_due,)
    table[notifications.EMAIL_DUE] = (_email_due,)
    table[notifications.WEBHOOK_ACKNOWLEDGED] = (_acknowledged,)
    return table
