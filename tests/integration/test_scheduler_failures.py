"""A deadline whose handler fails does not stop the scheduler or the deadlines claimed with it: it is
retried later on its own and set aside as `failed` after MAX_ATTEMPTS."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.ports import UnitOfWork
from domain.services.deadlines import DEADLINE_HANDLERS, DueDeadline
from domain.services.notifications import EMAIL_WAKEUP, WEBHOOK_WAKEUP, ensure_wakeup
from domain.services.statements import SOR_SUBMIT
from domain.services.statements import ensure_wakeup as ensure_sor_wakeup
from infra.scheduler import MAX_ATTEMPTS, Scheduler

KIND = "test.poison"


async def test_a_failing_deadline_is_isolated_retried_later_and_set_aside(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant_id = await (await make_tenant(mode="SANDBOX")).tenant_id(db)
    good = [uuid4(), uuid4(), uuid4()]
    poison = uuid4()
    handled: list[UUID] = []

    async def handler(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
        handled.extend(d.subject_id for d in due)
        if any(d.subject_id == poison for d in due):
            raise ValueError("poisoned")

    for subject in [good[0], poison, *good[1:]]:
        await owner_conn.execute("INSERT INTO deadlines (tenant_id, id, kind, subject_id, due_at)"
                                 " VALUES ($1, $2, $3, $4, now() - interval '1 minute')",
                                 tenant_id, uuid4(), KIND, subject)

    async def state() -> dict[UUID, Any]:
        rows = await owner_conn.fetch("SELECT subject_id, status, attempts, last_error, retry_at > now() AS later"
                                      " FROM deadlines WHERE tenant_id = $1 AND kind = $2", tenant_id, KIND)
        return {r["subject_id"]: r for r in rows}

    scheduler = Scheduler(db, {**DEADLINE_HANDLERS, KIND: handler})
    await scheduler.run_once()  # does not raise

    after = await state()
    assert [after[g]["status"] for g in good] == ["fired"] * 3  # committed apart from the failing one
    failed = after[poison]
    assert (failed["status"], failed["attempts"], failed["later"]) == ("pending", 1, True)
    assert failed["last_error"] == "ValueError: poisoned"

    handled.clear()
    await scheduler.run_once()
    assert poison not in handled  # not retried before its time

    await owner_conn.execute("UPDATE deadlines SET retry_at = now() - interval '1 second', attempts = $3"
                             " WHERE tenant_id = $1 AND subject_id = $2", tenant_id, poison, MAX_ATTEMPTS - 1)
    await scheduler.run_once()
    assert poison in handled
    final = (await state())[poison]
    assert (final["status"], final["attempts"]) == ("failed", MAX_ATTEMPTS)
    handled.clear()
    await scheduler.run_once()
    assert poison not in handled  # set aside for good



BACKOFF = ("UPDATE deadlines SET attempts = 1, retry_at = now() + interval '1 hour'"
           " WHERE tenant_id = $1 AND kind = $2 AND status = 'pending'")
FIRES_AT = ("SELECT d.id, greatest(d.due_at, coalesce(d.retry_at + t.clock_offset, d.due_at)) AS fires_at,"
            " d.attempts, d.retry_at FROM deadlines d JOIN tenants t ON t.id = d.tenant_id"
            " WHERE d.tenant_id = $1 AND d.kind = $2 AND d.status = 'pending' ORDER BY fires_at")


@pytest.mark.parametrize(("mode", "clock_ahead"), [("LIVE", timedelta(0)), ("SANDBOX", timedelta(hours=2))])
@pytest.mark.parametrize("kind", [WEBHOOK_WAKEUP, EMAIL_WAKEUP])
async def test_a_wakeup_in_backoff_does_not_hold_up_the_next_one(
    make_tenant: Any, db: Any, owner_conn: Any, kind: str, mode: str, clock_ahead: timedelta
) -> None:
    """A wake-up whose handler failed stays pending with its past due_at until retry_at; arming a wake-up
    for soon must not take it for armed: the tenant's deliveries would wait up to 6 hours."""
    tenant_id = await (await make_tenant(mode=mode)).tenant_id(db)
    await owner_conn.execute("UPDATE tenants SET clock_offset = $2 WHERE id = $1", tenant_id, clock_ahead)
    await owner_conn.execute("INSERT INTO deadlines (tenant_id, id, kind, subject_id, due_at)"
                             " VALUES ($1, $2, $3, $1, now() + $4::interval - interval '1 minute')",
                             tenant_id, uuid4(), kind, clock_ahead)
    await owner_conn.execute(BACKOFF, tenant_id, kind)
    [stuck] = await owner_conn.fetch(FIRES_AT, tenant_id, kind)

    async with db.uow(tenant_id) as uow:
        soon = uow.clock.now() + timedelta(seconds=30)
        assert await uow.webhooks.pending_wakeup(kind) == stuck["fires_at"]  # in an hour, not a minute ago
        await ensure_wakeup(uow, kind, soon)

    first, second = await owner_conn.fetch(FIRES_AT, tenant_id, kind)
    assert first["fires_at"] == soon < stuck["fires_at"]  # a wake-up fires soon, not at the retry
    assert (second["id"], second["attempts"], second["retry_at"]) == (stuck["id"], 1, stuck["retry_at"])  # kept
    async with db.uow(tenant_id) as uow:
        assert await uow.webhooks.pending_wakeup(kind) == soon


async def test_a_statements_wakeup_in_backoff_is_moved_to_fire_soon(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """The sor_submit wake-up is one per tenant and moved, not added: moving it earlier drops its retry
    time (its due_at is already past) and keeps its attempts, so a handler that keeps failing is set aside."""
    tenant_id = await (await make_tenant()).tenant_id(db)
    await owner_conn.execute("INSERT INTO deadlines (tenant_id, id, kind, subject_id, due_at)"
                             " VALUES ($1, $2, $3, $1, now() - interval '1 minute')", tenant_id, uuid4(), SOR_SUBMIT)
    await owner_conn.execute(BACKOFF, tenant_id, SOR_SUBMIT)
    [stuck] = await owner_conn.fetch(FIRES_AT, tenant_id, SOR_SUBMIT)

    async with db.uow(tenant_id) as uow:
        soon = uow.clock.now() + timedelta(seconds=30)
        await ensure_sor_wakeup(uow, soon)

    [moved] = await owner_conn.fetch(FIRES_AT, tenant_id, SOR_SUBMIT)
    assert moved["id"] == stuck["id"] and moved["fires_at"] == soon < stuck["fires_at"]
    assert (moved["attempts"], moved["retry_at"]) == (1, None)
