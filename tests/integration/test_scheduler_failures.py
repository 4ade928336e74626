"""A deadline whose handler fails does not stop the scheduler or the deadlines claimed with it: it is
retried later on its own and set aside as `failed` after MAX_ATTEMPTS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from domain.ports import UnitOfWork
from domain.services.deadlines import DEADLINE_HANDLERS, DueDeadline
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

