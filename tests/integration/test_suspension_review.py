"""A granted suspension's review reminder fires when it is due: the suspension pauses the case's own clocks,
not the reminder it sets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from strawberry import relay

from tests.e2e.test_preset_flows import ACCEPT, ADVANCE, CONFIRM, SUBMIT, _fire_due_deadlines, _seed
from tests.e2e.test_trust_flows import DECIDE_SUSPENSION, SUSPEND


async def test_a_granted_suspension_is_brought_back_for_review(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await s["integration"](SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeit of our registered mark.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]["cases"]
    accepted = (await s["reviewer"](ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await s["integration"](CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    requested = (await s["integration"](SUSPEND, {"input": {
        "caseId": case["id"], "ground": "OTHER", "harmStatement": "Serious harm."}}))["requestSuspension"]
    granted = (await s["reviewer"](DECIDE_SUSPENSION, {"input": {
        "suspensionId": requested["suspensionId"], "grant": True}}))["decideSuspension"]
    assert granted["case"]["state"] == "SUSPENDED", granted
    case_id = UUID(relay.GlobalID.from_id(case["id"]).node_id)
    review = await owner_conn.fetchrow("SELECT status, due_at FROM deadlines WHERE subject_id = $1"
                                       " AND kind = 'suspension_review'", case_id)
    assert review["status"] == "pending"  # the suspension paused the declaration deadline, not this

    await tenant.admin(ADVANCE, {"s": 31 * 86400})  # the preset reviews an OTHER ground after 30 days
    await _fire_due_deadlines(db)
    assert await owner_conn.fetchval("SELECT status FROM deadlines WHERE subject_id = $1"
                                     " AND kind = 'suspension_review'", case_id) == "fired"
    assert await owner_conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'suspension.review_due'"
                                     " AND payload->>'case_id' = $1", str(case_id)) == 1
