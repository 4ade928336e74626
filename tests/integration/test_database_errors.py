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


async def test_a_conflict_on_a_mutation_whose_union_lacks_conflict_error_is_a_top_level_typed_error(
    make_tenant: Any, monkeypatch: Any
) -> None:
    """AdvanceTestClockPayload has no ConflictError member (nor do SubmitNotices, UpsertListings,
    DisclosureRedact and SubmitStatementsNow payloads): the Conflict a deadlock raises in the use case reaches
    the client as a top-level error with extensions.code CONFLICT, not as "Unexpected error."."""
    from api import schema as api_schema

    tenant = await make_tenant(mode="SANDBOX")

    async def deadlocked(*args: Any, **kwargs: Any) -> Any:
        raise Conflict("Another change to the same records happened at the same time; nothing was saved. "
                       "Try again.")

    monkeypatch.setattr(api_schema.tenancy_service, "advance_test_clock", deadlocked)
    response = await tenant.admin.raw(
        """mutation { advanceTestClock(input: {seconds: 60}) { __typename ... on Error { code } } }""")
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "CONFLICT"}
    assert error["path"] == ["advanceTestClock"]
    assert "Try again" in error["message"] and error["message"] != "Unexpected error."
