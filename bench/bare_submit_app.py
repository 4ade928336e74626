"""Baseline for bench/submit_notice_http.py: bare Starlette + asyncpg, no GraphQL, no domain layer.

It accepts the same request body as the `submitNotice` mutation (reads `variables.input`), authenticates
with the same `api.auth.authenticate`, and in one tenant-scoped transaction (RLS: application role and
tenant set, as every write must) looks up the listing and inserts the same notice, case and decision rows
(same columns; the decision is hash-chained by the same `infra.decision_log.DecisionLog`). No policy
evaluation, idempotency table, outbox, notifier counters or account rules. Same JSON answer shape.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import authenticate
from api.types import decode_id, global_id
from domain.clock import SystemClock
from domain.decisions import AUTOMATED, DecisionDraft, RuleRecord
from domain.errors import DomainError
from domain.ids import new_id
from infra.db import create_pool
from infra.decision_log import DecisionLog
from infra.settings import get_settings
from infra.telemetry import configure_tracing

_CLOCK = SystemClock()
_ENTER = "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)"
_LISTING = "SELECT id, merchant_id FROM listings WHERE external_id = $1"
_NOTICE = (
    "INSERT INTO notices (tenant_id, id, complainant_id, agent_id, ip_right_id, reason_code, explanation, evidence,"
    " statements, signature, channel, idempotency_key, policy_version, trusted, received_at)"
    " VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, NULL, 'api', $9, $10, false, $11)"
)
_CASE = (
    "INSERT INTO cases (tenant_id, id, notice_id, listing_id, merchant_id, state, measures_active, priority,"
    " review_due_at, created_at, updated_at, notifier_id, automated_measures)"
    " VALUES ($1, $2, $3, $4, $5, 'under_review', false, 0, $6, $7, $7, $8, false)"
)
_POLICY_VERSION = "SELECT version FROM policy_versions WHERE status = 'published'"
_versions: dict[UUID, int] = {}


def _error(message: str, status: int) -> Response:
    return Response(orjson.dumps({"errors": [{"message": message}]}), status, media_type="application/json")


async def endpoint(request: Request) -> Response:
    body = await request.body()
    try:
        principal = await authenticate(request.app.state.pool, request.headers.get("authorization"), None)
    except DomainError as exc:
        return _error(exc.message, 401)
    item = orjson.loads(body)["variables"]["input"]
    complainant = decode_id(item["complainantId"], "Party", "complainantId")
    right = decode_id(item["ipRightId"], "IpRight", "ipRightId")
    tenant_id = principal.tenant_id
    assert tenant_id is not None
    now = _CLOCK.now()
    notice_id, case_id = new_id(), new_id()
    log = DecisionLog(tenant_id, _CLOCK)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(_ENTER, request.app.state.app_role, str(tenant_id))
        version = _versions.get(tenant_id)
        if version is None:
            version = _versions[tenant_id] = int(await conn.fetchval(_POLICY_VERSION))
        listing = await conn.fetchrow(_LISTING, item["listingExternalIds"][0])
        if listing is None:
            return _error("No such listing.", 404)
        await conn.execute(_NOTICE, tenant_id, notice_id, complainant, right, item["reasonCode"],
                           item.get("explanation", ""), item.get("evidence", []), item.get("statements", {}),
                           item.get("idempotencyKey"), version, now)
        await conn.execute(_CASE, tenant_id, case_id, notice_id, listing["id"], listing["merchant_id"],
                           now + timedelta(hours=48), now, complainant)
        log.record(DecisionDraft(
            subject_type="case", subject_id=case_id, case_id=case_id, kind="case.complete_notice",
            outcome="under_review", actor=f"{AUTOMATED}:notices.intake", automated=True, policy_version=version,
            rules=(RuleRecord("notices.required_evidence.trademark", True,
                              {"evidence": ["registration_certificate"]}),),
        ))
        await log.flush(conn)
    answer = {"data": {"submitNotice": {
        "__typename": "SubmitNoticeSuccess", "notice": {"id": global_id("Notice", notice_id)},
        "cases": [{"id": global_id("Case", case_id), "state": "UNDER_REVIEW"}]}}}
    return Response(orjson.dumps(answer), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # Same process set-up as the API (tracer provider, instrumented asyncpg, pool with the same codecs).
    configure_tracing("bench-bare-submit")
    settings = get_settings()
    app.state.app_role = settings.app_role
    app.state.pool = await create_pool(settings)
    yield
    await app.state.pool.close()


app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
