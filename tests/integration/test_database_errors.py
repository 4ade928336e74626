"""Database refusals reach the caller as typed errors (infra.db._typed_database_errors)."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.errors import Conflict


async def test_a_deadlock_between_two_units_of_work_is_a_conflict_to_retry(make_tenant: Any, db: Any) -> None:
    """Two transactions taking the same rows in opposite orders: PostgreSQL rolls one back; its caller gets
    a typed Conflict (try again), not "Unexpected error.", and the other commits."""
    tenant_id = await (await make_tenant(mode="SANDBOX")).tenant_id(db)
    both_hold_one = asyncio.Barrier(2)

    async def take(first: str, second: str) -> str:
        async with db.uow(tenant_id) as uow:
            await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", first)
            await both_hold_one.wait()
            await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", second)
        return "committed"

    outcomes = await asyncio.gather(take("a", "b"), take("b", "a"), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "str"], outcomes
    [conflict] = [o for o in outcomes if isinstance(o, Conflict)]
    assert "Try again" in conflict.message
