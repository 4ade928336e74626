"""A waiting window that is already over when it starts (a late delivery receipt, a counter-notice reviewed
after its DMCA window) still ends: the case is restored on the scheduler's next pass, not left waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.e2e.test_preset_flows import (
    ADVANCE,
    CASE,
    DECLARE,
    DELIVER,
    REVIEW_DECLARATION,
    _fire_due_deadlines,
    _seed,
    apply_measures,
    cn_declaration,
    cn_notice,
    dmca_declaration,
    dmca_notice,
    submitted_cases,
)


async def _declared_and_applied(s: dict[str, Any], notice: dict[str, Any], declaration: dict[str, Any]) -> str:
    """A case with its measure applied and a declaration submitted; returns the declaration id."""
    [case] = await submitted_cases(s, notice)
    await apply_measures(s, case["id"])
    declared = (await s["integration"](DECLARE, {"input": dict(declaration, caseIds=[case["id"]])}))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    return str(declared["declaration"]["id"])


async def _restored_on_next_pass(s: dict[str, Any], db: Any, case: dict[str, Any]) -> None:
    assert case["state"] == "WAITING"
    assert await _fire_due_deadlines(db) >= 1
    restored = (await s["integration"](CASE, {"id": case["id"]}))["node"]
    assert [d["outcome"] for d in restored["timeline"][-2:]] == ["restored", "closed"]
    assert restored["measures"][0]["status"] == "LIFTED"
    assert restored["listing"]["restrictionState"] == "none"


async def test_a_counter_notice_reviewed_after_its_dmca_window_restores_at_once(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=1)
    declaration_id = await _declared_and_applied(s, dmca_notice(s), dmca_declaration([]))
    advanced = await tenant.admin(ADVANCE, {"s": 30 * 86400})  # the review takes longer than 14 business days
    now = datetime.fromisoformat(advanced["advanceTestClock"]["tenant"]["now"])
    reviewed = await s["reviewer"](REVIEW_DECLARATION, {"input": {"declarationId": declaration_id, "accept": True}})
    [case] = reviewed["reviewDeclaration"]["declaration"]["cases"]
    assert datetime.fromisoformat(case["window"]["endsAt"]) < now
    started = case["timeline"][-1]  # the window's start records how it was computed
    assert (started["outcome"], [r["ruleId"] for r in started["rules"]]) == ("waiting", ["declarations.window"])
    await _restored_on_next_pass(s, db, case)


async def test_a_delivery_confirmed_after_the_window_restores_at_once(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    declaration_id = await _declared_and_applied(s, cn_notice(s), cn_declaration([]))
    reviewed = await s["reviewer"](REVIEW_DECLARATION, {"input": {"declarationId": declaration_id, "accept": True}})
    forwarded_at = datetime.fromisoformat(reviewed["reviewDeclaration"]["declaration"]["forwardedAt"])
    await tenant.admin(ADVANCE, {"s": 40 * 86400})  # the receipt is reported 40 days late
    delivered = (await s["integration"](DELIVER, {"input": {
        "declarationId": declaration_id, "deliveredAt": (forwarded_at + timedelta(hours=1)).isoformat()}}))
    [case] = delivered["confirmDelivery"]["declaration"]["cases"]
    await _restored_on_next_pass(s, db, case)
