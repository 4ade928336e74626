"""Durable deadlines: claims due rows with FOR UPDATE SKIP LOCKED and hands them to their handler.

A deadline is due when its due time has passed on its tenant's clock (the sandbox test clock for
sandbox tenants). Workers being down only delays a deadline; claiming and marking it fired happen
in the handler's transaction, so none fires twice. A batch whose handler raises is split until the
deadline that fails is alone; that one is retried later with backoff, and set aside as `failed` after
MAX_ATTEMPTS, so one bad row neither stops the scheduler nor holds up the deadlines claimed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg
from opentelemetry import propagate, trace

from domain.services.deadlines import DeadlineHandler, DueDeadline
from infra import metrics
from infra.db import DEADLINE_CHANNEL, Database
from infra.loops import wait_for_wake

log = logging.getLogger("noticehub.scheduler")
_tracer = trace.get_tracer("noticehub.scheduler")


# Candidates across tenants: bounded by the largest test-clock offset so the partial index serves it.
_FIND_DUE = """
SELECT d.tenant_id, d.id FROM deadlines d JOIN tenants t ON t.id = d.tenant_id
WHERE d.status = 'pending'
  AND d.due_at <= now() + (SELECT coalesce(max(clock_offset), '0') FROM tenants)
  AND d.due_at <= now() + t.clock_offset
  AND d.id <> ALL($2::uuid[])
  AND (d.retry_at IS NULL OR d.retry_at <= now())
ORDER BY d.due_at LIMIT $1
"""
_CLAIM = """
UPDATE deadlines SET status = 'fired', fired_at = now()
WHERE id = any($1::uuid[]) AND status = 'pending'
  AND id IN (SELECT id FROM deadlines WHERE id = any($1::uuid[]) AND status = 'pending' FOR UPDATE SKIP LOCKED)
RETURNING id, kind, subject_id, due_at, payload, trace_context
"""
MAX_ATTEMPTS = 10  # retried after 1, 2, 4 ... minutes (at most 6 hours): about 8.5 hours in all
_FAILED = """
UPDATE deadlines SET attempts = attempts + 1, last_error = $2,
  status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
  retry_at = now() + least(interval '1 minute' * power(2, attempts), interval '6 hours')
WHERE id = $1 AND status = 'pending'
RETURNING kind, attempts, status
"""
# Losing the database retries the whole pass; any other error is the batch's own. (Not OSError: a statement
# timeout is a TimeoutError, an OSError, and a batch that takes too long must be split like any other failure.)
_CONNECTION_TROUBLE = (ConnectionError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                       asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)


class Scheduler:
    """Fires due deadlines in batches, `concurrency` batches in flight: while one batch's statements
    run in the database, the next one's Python work (decisions, effects) proceeds; the tenant's chain
    head and shared counter rows, locked in one order, serialize only the tail of each transaction."""

    def __init__(self, db: Database, handlers: Mapping[str, DeadlineHandler], *, batch_size: int = 1000,
                 poll_interval_s: float = 1.0, concurrency: int = 2) -> None:
        self.db = db
        self.handlers = handlers
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._in_flight: set[UUID] = set()  # found by one pass, not yet committed: the others skip them
        self._finding = asyncio.Lock()

    async def run_once(self) -> int:
        """Fire one batch of due deadlines; returns how many fired."""
        async with self._finding:
            async with self.db.system_tx() as conn:
                candidates = await conn.fetch(_FIND_DUE, self.batch_size, list(self._in_flight))
            found = [r["id"] for r in candidates]
            self._in_flight.update(found)
        try:
            by_tenant: dict[UUID, list[UUID]] = defaultdict(list)
            for r in candidates:
                by_tenant[r["tenant_id"]].append(r["id"])
            fired = 0
            for tenant_id, ids in by_tenant.items():
                fired += await self._fire_isolating_failures(tenant_id, ids)
            return fired
        finally:
            self._in_flight.difference_update(found)

    async def drain(self) -> int:
        """Fire until nothing is due (tests, benchmarks, `noticehub scheduler --once`)."""
        async def passes() -> int:
            total = 0
            while n := await self.run_once():
                total += n
            return total

        return sum(await asyncio.gather(*(passes() for _ in range(self.concurrency))))

    async def _fire_isolating_failures(self, tenant_id: UUID, ids: list[UUID]) -> int:
        """Fire a tenant's batch; if it fails, fire its halves apart until the failing deadline is alone."""
        try:
            return await self._fire_for_tenant(tenant_id, ids)
        except _CONNECTION_TROUBLE:
            raise
        except Exception as exc:
            if len(ids) > 1:
                half = len(ids) // 2
                return (await self._fire_isolating_failures(tenant_id, ids[:half])
                        + await self._fire_isolating_failures(tenant_id, ids[half:]))
            await self._record_failure(tenant_id, ids[0], exc)
            return 0

    async def _record_failure(self, tenant_id: UUID, deadline_id: UUID, exc: Exception) -> None:
        async with self.db.uow(tenant_id) as uow:
            row = await uow.conn.fetchrow(_FAILED, deadline_id, f"{type(exc).__name__}: {exc}"[:2000], MAX_ATTEMPTS)
        if row is None:  # fired or cancelled meanwhile
            return
        final = row["status"] == "failed"
        metrics.record_deadline_failure(row["kind"], final)
        log.error("deadline %s (%s) of tenant %s failed (attempt %d%s)", deadline_id, row["kind"], tenant_id,
                  row["attempts"], ", set aside as failed" if final else ", will retry", exc_info=exc)

    async def _fire_for_tenant(self, tenant_id: UUID, ids: list[UUID]) -> int:
        async with self.db.uow(tenant_id) as uow:
            rows = await uow.conn.fetch(_CLAIM, ids)
            by_kind: dict[str, list[DueDeadline]] = defaultdict(list)
            now = uow.clock.now()
            for r in rows:
                by_kind[r["kind"]].append(DueDeadline(r["id"], r["kind"], r["subject_id"], r["due_at"], r["payload"]))
                metrics.observe_deadline_lag(r["kind"], (now - r["due_at"]).total_seconds())
            for kind, due in by_kind.items():
                handler = self.handlers.get(kind)
                if handler is None:
                    log.error("no handler for deadline kind %s; %d deadlines marked fired", kind, len(due))
                    continue
                first = next(r for r in rows if r["kind"] == kind)
                with _tracer.start_as_current_span(
                    f"deadline {kind}", context=propagate.extract(first["trace_context"] or {}),
                    attributes={"noticehub.deadline.kind": kind, "noticehub.deadline.count": len(due)},
                ):
                    await handler(uow, due)
            return len(rows)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener: asyncpg.Connection = await self.db.pool.acquire()
        try:
            await listener.add_listener(DEADLINE_CHANNEL, self._on_notify)
            await asyncio.gather(*(self._passes(stop) for _ in range(self.concurrency)))
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(DEADLINE_CHANNEL, self._on_notify)
            await self.db.pool.release(listener)

    async def _passes(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the claim, so a NOTIFY during the pass is not lost
            try:
                fired = await self.run_once()
            except Exception:  # a pass that fails is tried again; the scheduler keeps running
                log.warning("scheduler pass failed, retrying", exc_info=True)
                fired = 0
            if fired >= self.batch_size:
                continue
            await wait_for_wake(self._wake, stop, self.poll_interval_s)
