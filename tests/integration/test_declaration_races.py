"""Declarations racing each other and the cases' other decisions: one wins, the other is refused and leaves
nothing; a declaration waiting for review stops the merchant's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from strawberry import relay

from domain.decisions import Reason
from domain.services.case_work import DECLARATION_DEADLINE
from domain.services.deadlines import DEADLINE_HANDLERS
from domain.services.declarations import review_declaration
from domain.services.notices import settle_case
from domain.tenancy import Principal, Role
from infra.scheduler import Scheduler
from tests.e2e.test_preset_flows import (
    ADVANCE,
    DECLARE,
    DELIVER,
    REVIEW_DECLARATION,
    _fire_due_deadlines,
    _seed,
    apply_measures,
    cn_declaration,
    cn_notice,
    submitted_cases,
)
from tests.e2e.test_trust_flows import DECIDE_SUSPENSION, LEGAL_STATUS, OUTCOME, SUSPEND
from tests.integration.test_cases_behaviour import _deadlines

DAY = 86400


def _uuid(global_id: str) -> UUID:
    return UUID(relay.GlobalID.from_id(global_id).node_id)


def _declaration(case_id: str, explanation: str = "Genuine goods.") -> dict[str, Any]:
    return {"input": cn_declaration([case_id], explanation=explanation)}


async def _declared_case(make_tenant: Any, db: Any) -> tuple[dict[str, Any], dict[str, Any], str, UUID]:
    """A sandbox tenant's applied case with a declaration waiting for review: (seed, case, declaration id,
    tenant id)."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = await _applied_cases(s)
    return s, case, await _declare(s, case["id"]), await tenant.tenant_id(db)


async def _applied_cases(s: dict[str, Any]) -> list[dict[str, Any]]:
    """One cn-ecl notice for every seeded listing, accepted and confirmed: its cases are MEASURES_APPLIED."""
    cases = await submitted_cases(s, cn_notice(s))
    for case in cases:
        await apply_measures(s, case["id"])
    return cases


async def _declare(s: dict[str, Any], case_id: str) -> str:
    declared = (await s["integration"](DECLARE, _declaration(case_id)))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    assert declared["declaration"]["status"] == "SUBMITTED"  # cn-ecl: a reviewer decides
    declaration_id: str = declared["declaration"]["id"]
    return declaration_id


async def _review(s: dict[str, Any], declaration_id: str, accept: bool) -> dict[str, Any]:
    reasons = [] if accept else [{"code": "insufficient_evidence"}]
    result: dict[str, Any] = (await s["reviewer"](REVIEW_DECLARATION, {"input": {
        "declarationId": declaration_id, "accept": accept, "reasons": reasons}}))["reviewDeclaration"]
    return result


async def _until_blocked_by(owner_conn: Any, pid: int) -> None:
    """Wait until another transaction waits for a lock the backend `pid` holds: the race is then set up."""
    for _ in range(400):
        if await owner_conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = any(pg_blocking_pids(pid))", pid):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the second transaction never waited for the first")


async def _while_held(db: Any, tenant_id: UUID, owner_conn: Any, first: Callable[[Any], Awaitable[object]],
                      second: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run `first` in a transaction kept open until `second` waits for its locks; `second`'s result."""
    async with db.uow(tenant_id) as uow:
        await first(uow)
        task = asyncio.create_task(second())
        await _until_blocked_by(owner_conn, await uow.conn.fetchval("SELECT pg_backend_pid()"))
    return await asyncio.wait_for(task, 10)


async def _case_row(owner_conn: Any, case_id: str) -> Any:
    return await owner_conn.fetchrow("SELECT state, declaration_id FROM cases WHERE id = $1", _uuid(case_id))


async def _review_outcomes(owner_conn: Any, declaration_id: str) -> list[str]:
    return [r["outcome"] for r in await owner_conn.fetch(
        "SELECT outcome FROM decisions WHERE subject_id = $1 AND kind = 'declaration.review' ORDER BY seq",
        _uuid(declaration_id))]


# ----- declarations and reviews racing other decisions ------------------------------------------------


async def test_two_declarations_for_one_case_at_once_one_wins(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    cases = await _applied_cases(s)
    results = await asyncio.gather(*(s["integration"](DECLARE, _declaration(c["id"], text))
                                     for c in cases for text in ("first", "second")))
    tenant_id = await tenant.tenant_id(db)
    for n, case in enumerate(cases):
        pair = [r["submitDeclaration"] for r in results[2 * n:2 * n + 2]]
        assert sorted(r["__typename"] for r in pair) == ["ConflictError", "DeclarationSuccess"], pair
        [won] = [r["declaration"] for r in pair if r["__typename"] == "DeclarationSuccess"]
        case_id = relay.GlobalID.from_id(case["id"]).node_id
        stored = await owner_conn.fetchval("SELECT declaration_id::text FROM cases WHERE id = $1::uuid", case_id)
        assert stored == relay.GlobalID.from_id(won["id"]).node_id
    # The losers left no declaration, decision or event behind.
    assert await owner_conn.fetchval("SELECT count(*) FROM declarations WHERE tenant_id = $1", tenant_id) == 3
    assert await owner_conn.fetchval("SELECT count(*) FROM decisions WHERE tenant_id = $1"
                                     " AND kind = 'declaration.receive'", tenant_id) == 3
    assert await owner_conn.fetchval("SELECT count(*) FROM outbox WHERE tenant_id = $1"
                                     " AND topic = 'declaration.received'", tenant_id) == 3


@pytest.mark.parametrize("first_accepts", [True, False], ids=["accept-first", "reject-first"])
async def test_accepting_and_rejecting_one_declaration_at_once_one_review_wins(
    make_tenant: Any, db: Any, owner_conn: Any, first_accepts: bool
) -> None:
    """The second review waits for the first's row lock, then finds the declaration reviewed and is refused:
    it used to overwrite the outcome, leaving a rejected declaration with its case stuck in DECLARED."""
    s, case, declaration_id, tenant_id = await _declared_case(make_tenant, db)
    reviewer = Principal(tenant_id, uuid4(), frozenset({Role.REVIEWER}))
    reasons = [] if first_accepts else [Reason("insufficient_evidence")]

    second = await _while_held(
        db, tenant_id, owner_conn,
        lambda uow: review_declaration(uow, reviewer, _uuid(declaration_id), first_accepts, reasons),
        lambda: _review(s, declaration_id, not first_accepts))

    assert second["__typename"] == "ConflictError", second
    assert second["message"] == "The declaration was reviewed concurrently."
    status = await owner_conn.fetchval("SELECT status FROM declarations WHERE id = $1", _uuid(declaration_id))
    row = await _case_row(owner_conn, case["id"])
    assert await _review_outcomes(owner_conn, declaration_id) == ["accepted" if first_accepts else "rejected"]
    if first_accepts:
        assert (status, row["state"], row["declaration_id"]) == ("accepted", "declared", _uuid(declaration_id))
        delivered = (await s["integration"](DELIVER, {"input": {"declarationId": declaration_id}}))["confirmDelivery"]
        assert delivered["__typename"] == "DeclarationSuccess", delivered
        assert delivered["declaration"]["cases"][0]["state"] == "WAITING"
    else:
        assert (status, row["state"], row["declaration_id"]) == ("rejected", "measures_applied", None)
        await _declare(s, case["id"])  # the case is free to be answered again


async def test_a_rejection_racing_a_settlement_of_its_case_is_refused_whole(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """Clearing the case's declaration is a write checked against the revision read: when the case changed
    meanwhile the rejection is a Conflict (it used to be recorded while that write was silently dropped)."""
    s, case, declaration_id, tenant_id = await _declared_case(make_tenant, db)
    marketplace = Principal(tenant_id, uuid4(), frozenset({Role.INTEGRATION}))

    rejected = await _while_held(db, tenant_id, owner_conn,
                                 lambda uow: settle_case(uow, marketplace, _uuid(case["id"]), "Listing removed."),
                                 lambda: _review(s, declaration_id, False))

    assert rejected["__typename"] == "ConflictError", rejected
    assert await owner_conn.fetchval("SELECT status FROM declarations WHERE id = $1",
                                     _uuid(declaration_id)) == "submitted"
    assert await _review_outcomes(owner_conn, declaration_id) == []
    again = await _review(s, declaration_id, False)  # reloaded: the settled case lets go of the declaration
    assert again["__typename"] == "DeclarationSuccess", again
    row = await _case_row(owner_conn, case["id"])
    assert (row["state"], row["declaration_id"]) == ("closed", None)


# ----- the merchant's clock while a declaration waits for review ------------------------------------------


async def _declared_at(owner_conn: Any, declaration_id: str) -> Any:
    return await owner_conn.fetchval("SELECT received_at FROM declarations WHERE id = $1", _uuid(declaration_id))


async def _unanswered(owner_conn: Any, case_id: str) -> tuple[int, int]:
    """How many times the case was closed as unanswered, and its strikes."""
    closed = await owner_conn.fetchval("SELECT count(*) FROM decisions WHERE case_id = $1"
                                       " AND kind = 'case.declaration_deadline_passed'", _uuid(case_id))
    strikes = await owner_conn.fetchval("SELECT count(*) FROM strikes WHERE case_id = $1", _uuid(case_id))
    return closed, strikes


async def test_a_declaration_waiting_for_review_stops_the_merchants_clock(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """The declaration deadline used to run on while the declaration waited: passing, it closed the case as
    unanswered with a strike, and the review then failed on the closed case. Now the clock stops at the
    declaration; acceptance cancels it, rejection gives the merchant back the time it had left."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    to_accept, to_reject = await _applied_cases(s)
    [(_, _, due)] = await _deadlines(owner_conn, to_reject["id"])  # cn-ecl: 30 days to declare
    await tenant.admin(ADVANCE, {"s": 10 * DAY})
    accepted_id, rejected_id = [await _declare(s, c["id"]) for c in (to_accept, to_reject)]
    left = due - await _declared_at(owner_conn, rejected_id)  # 20 days
    await tenant.admin(ADVANCE, {"s": 25 * DAY})  # past the deadline as first set
    await _fire_due_deadlines(db)
    for case in (to_accept, to_reject):
        assert (await _case_row(owner_conn, case["id"]))["state"] == "measures_applied"
        assert await _unanswered(owner_conn, case["id"]) == (0, 0)
        assert [(k, st) for k, st, _ in await _deadlines(owner_conn, case["id"])] == [
            ("declaration_deadline", "paused")]

    accepted = await _review(s, accepted_id, True)
    assert accepted["__typename"] == "DeclarationSuccess", accepted
    assert accepted["declaration"]["cases"][0]["state"] == "DECLARED"
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, to_accept["id"])] == [
        ("declaration_deadline", "cancelled")]

    rejected = await _review(s, rejected_id, False)
    assert rejected["__typename"] == "DeclarationSuccess", rejected
    assert (await _case_row(owner_conn, to_reject["id"]))["state"] == "measures_applied"
    reviewed_at = await owner_conn.fetchval("SELECT reviewed_at FROM declarations WHERE id = $1",
                                            _uuid(rejected_id))
    [(kind, status, resumed_due)] = await _deadlines(owner_conn, to_reject["id"])
    assert (kind, status) == ("declaration_deadline", "pending")
    assert abs(resumed_due - (reviewed_at + left)) < timedelta(milliseconds=1)
    # The clock runs on: silent for the rest of its time, the merchant loses the case as before.
    await tenant.admin(ADVANCE, {"s": 21 * DAY})
    await _fire_due_deadlines(db)
    assert (await _case_row(owner_conn, to_reject["id"]))["state"] == "closed"
    assert (await _unanswered(owner_conn, to_reject["id"]))[0] == 1


async def test_a_declaration_deadline_coming_due_anyway_leaves_the_declared_case_open(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """Belt and braces: a deadline still pending while the declaration waits (left so before declarations
    paused it, or a retry of a pass that read the case before the declaration claimed it) passes over the
    case instead of closing it."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = await _applied_cases(s)
    declaration_id = await _declare(s, case["id"])
    await owner_conn.execute(  # as a retry finds it: pending again, one attempt behind it, its retry time come
        "UPDATE deadlines SET status = 'pending', attempts = 1, retry_at = now() - interval '1 second'"
        " WHERE subject_id = $1", _uuid(case["id"]))
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    await _fire_due_deadlines(db)
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, case["id"])] == [("declaration_deadline", "fired")]
    assert (await _case_row(owner_conn, case["id"]))["state"] == "measures_applied"
    assert await _unanswered(owner_conn, case["id"]) == (0, 0)
    accepted = await _review(s, declaration_id, True)
    assert accepted["__typename"] == "DeclarationSuccess", accepted
    assert accepted["declaration"]["cases"][0]["state"] == "DECLARED"



async def test_a_declaration_arriving_as_its_deadline_closes_the_case_is_refused(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """The deadline firing closes the case and holds it until it commits; the declaration read the case open
    before that. Its claim checks the case again under the lock and refuses it (it used to answer the closed
    case, leaving a declaration whose review could only fail)."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = await _applied_cases(s)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    closed, release, pids = asyncio.Event(), asyncio.Event(), []

    async def closing_held_open(uow: Any, due: Any) -> None:
        await DEADLINE_HANDLERS[DECLARATION_DEADLINE](uow, due)
        if uow.tenant_id == tenant_id:
            pids.append(await uow.conn.fetchval("SELECT pg_backend_pid()"))
            closed.set()
            await release.wait()

    scheduler = Scheduler(db, {**DEADLINE_HANDLERS, DECLARATION_DEADLINE: closing_held_open})
    firing = asyncio.create_task(scheduler.run_once())
    await asyncio.wait_for(closed.wait(), 10)
    declaring = asyncio.create_task(s["integration"](DECLARE, _declaration(case["id"])))
    await _until_blocked_by(owner_conn, pids[0])
    release.set()
    await firing
    declared = (await asyncio.wait_for(declaring, 10))["submitDeclaration"]

    assert declared["__typename"] == "ConflictError", declared
    row = await _case_row(owner_conn, case["id"])
    assert (row["state"], row["declaration_id"]) == ("closed", None)
    assert await owner_conn.fetchval("SELECT count(*) FROM declarations WHERE tenant_id = $1", tenant_id) == 0

async def test_a_suspension_and_a_declaration_each_keep_the_clock_stopped_until_both_end(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """Either one stops the merchant's clock: a rejection during a suspension leaves it stopped until the
    suspension ends, and a suspension ending while the declaration waits leaves it stopped until the review."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration, reviewer = s["integration"], s["reviewer"]
    rejected_first, reviewed_last = await _applied_cases(s)
    [(_, _, due)] = await _deadlines(owner_conn, reviewed_last["id"])
    await tenant.admin(ADVANCE, {"s": 10 * DAY})
    first_id, last_id = [await _declare(s, c["id"]) for c in (rejected_first, reviewed_last)]
    left = due - await _declared_at(owner_conn, last_id)
    await integration(LEGAL_STATUS, {"input": {"id": s["right"], "legalStatus": "INVALIDATION_PENDING",
                                               "invalidation": {"office": "CNIPA", "caseNumber": "WX-3",
                                                                "acceptedAt": "2026-11-01"}}})
    for case in (rejected_first, reviewed_last):
        requested = (await integration(SUSPEND, {"input": {
            "caseId": case["id"], "ground": "TRADEMARK_INVALIDATION_PENDING", "harmStatement": "Serious harm.",
            "evidence": [{"kind": "invalidation_acceptance_notice", "uri": "https://e.example/a.pdf"}]}}))
        granted = (await reviewer(DECIDE_SUSPENSION, {"input": {
            "suspensionId": requested["requestSuspension"]["suspensionId"], "grant": True}}))["decideSuspension"]
        assert granted["case"]["state"] == "SUSPENDED", granted

    assert (await _review(s, first_id, False))["__typename"] == "DeclarationSuccess"
    assert ("declaration_deadline", "paused") in [(k, st) for k, st, _ in await _deadlines(
        owner_conn, rejected_first["id"])]  # suspended still
    await tenant.admin(ADVANCE, {"s": 5 * DAY})
    resumed = (await reviewer(OUTCOME, {"input": {"ipRightId": s["right"], "outcome": "UPHELD"}}))
    assert {c["state"] for c in resumed["recordInvalidationOutcome"]["cases"]} == {"MEASURES_APPLIED"}, resumed

    async def declaration_deadline(case: dict[str, Any]) -> tuple[str, datetime]:
        [(status, at)] = [(st, at) for k, st, at in await _deadlines(owner_conn, case["id"])
                          if k == "declaration_deadline"]
        return status, at

    async def reviewed_at(declaration_id: str) -> datetime:
        at: datetime = await owner_conn.fetchval("SELECT reviewed_at FROM declarations WHERE id = $1",
                                                 _uuid(declaration_id))
        return at

    resumed_at = await owner_conn.fetchval("SELECT decided_at FROM decisions WHERE case_id = $1"
                                           " AND kind = 'case.resume'", _uuid(rejected_first["id"]))
    status, at = await declaration_deadline(rejected_first)
    assert status == "pending" and abs(at - (resumed_at + left)) < timedelta(seconds=1)
    assert (await declaration_deadline(reviewed_last))[0] == "paused"  # its declaration still waits
    assert (await _review(s, last_id, False))["__typename"] == "DeclarationSuccess"
    status, at = await declaration_deadline(reviewed_last)
    assert status == "pending" and abs(at - (await reviewed_at(last_id) + left)) < timedelta(milliseconds=1)
