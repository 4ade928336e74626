"""Invalidation outcomes through GraphQL: the IP office's decision on an invalidation request is recorded once, at a
time that can be true, and still after the right expired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.conftest import TenantHandle
from tests.e2e.test_preset_flows import _seed
from tests.e2e.test_trust_flows import (
    DECIDE_SUSPENSION,
    LEGAL_STATUS,
    STATS,
    SUSPEND,
    _applied,
    _notice,
)
from tests.integration.test_appeal_integrity import _decisions

OUTCOME = """mutation($input: InvalidationOutcomeInput!) { recordInvalidationOutcome(input: $input) {
  __typename ... on CasesSuccess { cases { id state } } ... on Error { code message field } } }"""
RIGHT = """query($id: ID!) { node(id: $id) { ... on IpRight { legalStatus invalidation { caseNumber } } } }"""
NOW = "{ viewer { tenant { now } } }"
PENDING = {"office": "CNIPA", "caseNumber": "WX-1", "acceptedAt": "2026-01-10"}


async def _outcome(s: dict[str, Any], outcome: str, decided_at: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await s["reviewer"](OUTCOME, {"input": {
        "ipRightId": s["right"], "outcome": outcome, "decidedAt": decided_at}}))["recordInvalidationOutcome"]
    return result


async def _pending(s: dict[str, Any], invalidation: dict[str, str] = PENDING) -> None:
    await s["integration"](LEGAL_STATUS, {"input": {"id": s["right"], "legalStatus": "INVALIDATION_PENDING",
                                                    "invalidation": invalidation}})


async def _stored_outcome(tenant: TenantHandle, db: Any) -> tuple[str | None, datetime | None]:
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        row = await conn.fetchrow("SELECT invalidation_outcome, invalidation_decided_at FROM ip_rights")
    return row["invalidation_outcome"], row["invalidation_decided_at"]


async def test_an_invalidation_outcome_is_recorded_once(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    await _pending(s)
    invalidated = await _outcome(s, "INVALIDATED")
    assert [c["state"] for c in invalidated["cases"]] == ["CLOSED"]
    decided = await _decisions(s, case["id"])

    # Upheld after invalidated would make the right active again while its cases stay rejected.
    for outcome in ("UPHELD", "WITHDRAWN", "INVALIDATED"):
        again = await _outcome(s, outcome)
        assert (again["__typename"], again.get("field")) == ("ConflictError", "ipRightId")
    assert (await s["reviewer"](RIGHT, {"id": s["right"]}))["node"]["legalStatus"] == "INVALIDATED"
    assert (await _stored_outcome(tenant, db))[0] == "invalidated"
    assert await _decisions(s, case["id"]) == decided
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:  # subscribers were told, once
        told = [r["legal_status"] for r in await conn.fetch(
            "SELECT payload->>'legal_status' AS legal_status FROM outbox"
            " WHERE topic = 'ip_right.legal_status_changed' ORDER BY created_at")]
    assert told == ["invalidation_pending", "invalidated"]
    stats = (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]
    assert (stats["rejected"], stats["manifestlyUnfounded"]) == (1, 1)


async def test_decided_at_is_a_past_instant_with_an_offset_after_the_request(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    await _pending(s)  # accepted 2026-01-10
    now = datetime.fromisoformat((await s["integration"](NOW))["viewer"]["tenant"]["now"])
    for bad in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",  # beyond what can be stored
                "2026-02-01T00:00:00",  # no offset: which instant?
                (now + timedelta(hours=1)).isoformat(),
                "2026-01-09T23:00:00+00:00"):  # before the office accepted the request
        refused = await _outcome(s, "WITHDRAWN", bad)
        assert (refused["__typename"], refused.get("field")) == ("InvalidInputError", "decidedAt"), bad
    assert await _stored_outcome(tenant, db) == (None, None)
    assert (await _outcome(s, "WITHDRAWN", "2026-01-10T09:00:00+08:00"))["__typename"] == "CasesSuccess"
    assert await _stored_outcome(tenant, db) == ("withdrawn", datetime.fromisoformat("2026-01-10T01:00:00+00:00"))


async def test_an_expired_right_keeps_its_invalidation_so_suspended_cases_resume(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    await _pending(s)
    requested = (await s["integration"](SUSPEND, {"input": {
        "caseId": case["id"], "ground": "TRADEMARK_INVALIDATION_PENDING", "harmStatement": "Serious harm.",
        "evidence": [{"kind": "invalidation_acceptance_notice", "uri": "https://e.example/a.pdf"}]}}))
    granted = await s["reviewer"](DECIDE_SUSPENSION, {"input": {
        "suspensionId": requested["requestSuspension"]["suspensionId"], "grant": True}})
    assert granted["decideSuspension"]["case"]["state"] == "SUSPENDED"

    await s["integration"](LEGAL_STATUS, {"input": {"id": s["right"], "legalStatus": "EXPIRED"}})
    right = (await s["reviewer"](RIGHT, {"id": s["right"]}))["node"]
    assert right == {"legalStatus": "EXPIRED", "invalidation": {"caseNumber": "WX-1"}}
    resumed = await _outcome(s, "WITHDRAWN")
    assert [c["state"] for c in resumed["cases"]] == ["MEASURES_APPLIED"]
    assert (await s["reviewer"](RIGHT, {"id": s["right"]}))["node"]["legalStatus"] == "EXPIRED"

    # The same request sent again is still decided; a new one is pending until its outcome.
    await _pending(s)
    assert (await _outcome(s, "UPHELD"))["__typename"] == "ConflictError"
    await _pending(s, {**PENDING, "caseNumber": "WX-2"})
    assert (await _outcome(s, "UPHELD"))["__typename"] == "CasesSuccess"
    assert (await s["reviewer"](RIGHT, {"id": s["right"]}))["node"]["legalStatus"] == "ACTIVE"
