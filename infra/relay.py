"""Outbox relay: moves committed outbox rows to the broker.

Woken by LISTEN/NOTIFY, polling as a fallback; claims rows with FOR UPDATE SKIP LOCKED so several
relays can run; the broker message id is the outbox id. Enqueue happens before the row is marked
dispatched, so a crash in between re-sends (at least once) and never loses; actors deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import asyncpg
import dramatiq
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from infra import metrics
from infra.broker import events_message
from infra.db import OUTBOX_CHANNEL, Database
from infra.loops import wait_for_wake

log = logging.getLogger("noticehub.relay")
_tracer = trace.get_tracer("noticehub.relay")
BACKLOG_SAMPLE_S = 10.0

_CLAIM = (
    "SELECT tenant_id, id, topic, payload, trace_context, created_at, clock_timestamp() AS now FROM outbox"
    " WHERE dispatched_at IS NULL"
    " ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_MARK = (
    "UPDATE outbox SET dispatched_at = now() FROM unnest($1::uuid[], $2::uuid[]) AS d(tenant_id, id)"
    " WHERE outbox.tenant_id = d.tenant_id AND outbox.id = d.id"
)


class OutboxRelay:
    def __init__(self, db: Database, broker: dramatiq.Broker, *, batch_size: int = 500,
                 poll_interval_s: float = 1.0) -> None:
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()

    def _build(self, rows: list[asyncpg.Record]) -> list[dramatiq.Message[Any]]:
        messages = []
        for r in rows:
            parent = propagate.extract(r["trace_context"] or {})
            with _tracer.start_as_current_span(
                "outbox.relay", context=parent, kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "dramatiq", "messaging.message.id": str(r["id"]),
                            "noticehub.topic": r["topic"]},
            ):
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                messages.append(events_message(str(r["id"]), r["topic"], str(r["tenant_id"]), r["payload"], carrier))
        return messages

    def _enqueue_all(self, messages: list[dramatiq.Message[Any]]) -> None:
        for m in messages:
            self.broker.enqueue(m)

    async def run_once(self) -> int:
        """Relay one batch; returns how many rows were dispatched."""
        async with self.db.system_tx() as conn:
            rows = await conn.fetch(_CLAIM, self.batch_size)
            if not rows:
                return 0
            messages = self._build(rows)
            await asyncio.to_thread(self._enqueue_all, messages)  # broker clients block
            await conn.execute(_MARK, [r["tenant_id"] for r in rows], [r["id"] for r in rows])
        metrics.observe_outbox_relayed((r["created_at"] for r in rows), rows[0]["now"])
        return len(rows)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener: asyncpg.Connection | None = None
        try:
            listener = await self.db.pool.acquire()
            await listener.add_listener(OUTBOX_CHANNEL, self._on_notify)
            sampled = 0.0
            while not stop.is_set():
                # Cleared before the claim: a NOTIFY that arrives while this batch is relayed wakes the
                # next wait at once instead of being lost until the poll interval.
                self._wake.clear()
                if time.monotonic() - sampled > BACKLOG_SAMPLE_S:  # backlog gauges for /metrics
                    sampled = time.monotonic()
                    with contextlib.suppress(OSError, asyncpg.PostgresError):
                        await metrics.sample_backlogs(self.db)
                try:
                    relayed = await self.run_once()
                except (OSError, asyncpg.PostgresError, dramatiq.errors.BrokerError) as exc:
                    log.warning("outbox relay failed, retrying: %s", exc)
                    relayed = 0
                    await asyncio.sleep(self.poll_interval_s)
                if relayed >= self.batch_size:
                    continue
                await wait_for_wake(self._wake, stop, self.poll_interval_s)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.remove_listener(OUTBOX_CHANNEL, self._on_notify)
                await self.db.pool.release(listener)

