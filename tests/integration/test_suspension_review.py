"""A granted suspension's review reminder fires when it is due: the suspension pauses the case's own clocks,
not the reminder it sets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from strawberry import relay

from tests.e2e.test_preset_flows import (
    ADVANCE,
    DECLARE,
    DELIVER,
    PROOF,
    REVIEW_DECLARATION,
    _fire_due_deadlines,
    _seed,
    apply_measures,
    cn_declaration,
    cn_notice,
    submitted_cases,
)
from tests.e2e.test_trust_flows import DECIDE_SUSPENSION, SUSPEND


async def _applied(s: dict[str, Any]) -> dict[str, Any]:
    """A case with its measure applied."""
    [case] = await submitted_cases(s, cn_notice(s))
    await apply_measures(s, case["id"])
    return case


async def _accepted_declaration(s: dict[str, Any], case_id: str) -> str:
    """The merchant's declaration for the case, accepted and forwarded (the case `declared`); its id."""
    declared = (await s["integration"](DECLARE, {"input": cn_declaration([case_id])}))["submitDeclaration"]
    declaration_id: str = declared["declaration"]["id"]
    reviewed = await s["reviewer"](REVIEW_DECLARATION, {"input": {"declarationId": declaration_id, "accept": True}})
    assert reviewed["reviewDeclaration"]["declaration"]["cases"][0]["state"] == "DECLARED"
    return declaration_id


async def test_a_granted_suspension_is_brought_back_for_review(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    case = await _applied(s)
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


MEASURES = "query($id: ID!) { node(id: $id) { ... on Case { measures { type status } } } }"
RESUME = """mutation($input: ResumeCaseInput!) { resumeCase(input: $input) {
  __typename ... on CaseSuccess { case { state measuresActive window { endsAt }
    timeline { kind outcome rules { ruleId inputs } } } } ... on Error { code message field } } }"""


async def _suspended(s: dict[str, Any], case_id: str) -> None:
    requested = (await s["integration"](SUSPEND, {"input": {
        "caseId": case_id, "ground": "OTHER", "harmStatement": "Serious harm."}}))["requestSuspension"]
    granted = (await s["reviewer"](DECIDE_SUSPENSION, {"input": {
        "suspensionId": requested["suspensionId"], "grant": True}}))["decideSuspension"]
    assert granted["case"]["state"] == "SUSPENDED", granted


async def test_a_reviewer_resumes_a_suspended_case_where_it_was(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    case = await _applied(s)
    not_suspended = (await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": "x"}}))["resumeCase"]
    assert not_suspended["__typename"] == "ConflictError", not_suspended
    await _suspended(s, case["id"])
    blank = (await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": " "}}))["resumeCase"]
    assert (blank["__typename"], blank["field"]) == ("InvalidInputError", "reason")
    forbidden = (await s["integration"].raw(RESUME, {"input": {"caseId": case["id"], "reason": "Court ruled."}}))
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # reviewers only

    resumed = (await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": "Court ruled."}}))["resumeCase"]
    assert resumed["__typename"] == "CaseSuccess", resumed
    assert (resumed["case"]["state"], resumed["case"]["measuresActive"]) == ("MEASURES_APPLIED", True)
    assert resumed["case"]["timeline"][-1]["kind"] == "case.resume"
    case_id = UUID(relay.GlobalID.from_id(case["id"]).node_id)
    deadlines = {r["kind"]: r["status"] for r in await owner_conn.fetch(
        "SELECT kind, status FROM deadlines WHERE subject_id = $1", case_id)}
    assert deadlines.get("suspension_review", "cancelled") == "cancelled"
    assert all(status != "paused" for status in deadlines.values()), deadlines  # the clocks run again
    assert await owner_conn.fetchval("SELECT status FROM suspensions WHERE case_id = $1", case_id) == "lifted"


async def test_a_declaration_delivered_while_suspended_starts_its_window_on_resumption(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    case = await _applied(s)
    declaration_id = await _accepted_declaration(s, case["id"])
    await _suspended(s, case["id"])

    delivered = (await s["integration"](DELIVER, {"input": {"declarationId": declaration_id}}))["confirmDelivery"]
    assert delivered["__typename"] == "DeclarationSuccess", delivered  # recorded, not refused
    assert delivered["declaration"]["deliveredAt"]
    assert delivered["declaration"]["cases"][0]["state"] == "SUSPENDED"
    again = (await s["integration"](DELIVER, {"input": {"declarationId": declaration_id}}))["confirmDelivery"]
    assert again["__typename"] == "ConflictError", again  # the recorded time is not rewritten

    advanced = await tenant.admin(ADVANCE, {"s": 10 * 86400})
    resumed_at = datetime.fromisoformat(advanced["advanceTestClock"]["tenant"]["now"])
    resumed = (await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": "Ground ended."}}))
    waiting = resumed["resumeCase"]["case"]
    assert waiting["state"] == "WAITING", waiting
    assert datetime.fromisoformat(waiting["window"]["endsAt"]) >= resumed_at + timedelta(days=15)
    started = waiting["timeline"][-1]
    assert [r["ruleId"] for r in started["rules"]] == ["declarations.window"]
    assert "resumed_at" in started["rules"][0]["inputs"]


async def test_resuming_requests_again_every_measure_the_suspension_lifted(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = await submitted_cases(s, cn_notice(s))
    await apply_measures(s, case["id"], [{"type": "REMOVE"}, {"type": "RESTRICT_REGION", "territorialScope": ["CN"]}])
    requested = (await s["integration"](SUSPEND, {"input": {  # a court order: measures do not stay
        "caseId": case["id"], "ground": "COURT_ORDER",
        "evidence": [{"kind": "court_order", "uri": "https://e.example/order.pdf"}]}}))["requestSuspension"]
    granted = (await s["reviewer"](DECIDE_SUSPENSION, {"input": {
        "suspensionId": requested["suspensionId"], "grant": True}}))["decideSuspension"]
    assert granted["case"]["measuresActive"] is False, granted

    await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": "The order was lifted."}})
    measures = (await s["integration"](MEASURES, {"id": case["id"]}))["node"]["measures"]
    again = sorted(m["type"] for m in measures if m["status"] == "REQUESTED")
    assert again == ["REMOVE", "RESTRICT_REGION"], measures


async def test_a_window_paused_by_a_suspension_ends_later_and_takes_proofs_until_then(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    case = await _applied(s)
    declaration_id = await _accepted_declaration(s, case["id"])
    delivered = (await s["integration"](DELIVER, {"input": {"declarationId": declaration_id}}))["confirmDelivery"]
    [waiting] = delivered["declaration"]["cases"]
    first_end = datetime.fromisoformat(waiting["window"]["endsAt"])

    await _suspended(s, case["id"])
    await tenant.admin(ADVANCE, {"s": 10 * 86400})
    resumed = (await s["reviewer"](RESUME, {"input": {"caseId": case["id"], "reason": "Ground ended."}}))
    moved = resumed["resumeCase"]["case"]
    assert moved["state"] == "WAITING"
    assert datetime.fromisoformat(moved["window"]["endsAt"]) - first_end >= timedelta(days=10) - timedelta(minutes=1)

    advanced = await tenant.admin(ADVANCE, {"s": (first_end - datetime.fromisoformat(
        (await tenant.admin(ADVANCE, {"s": 1}))["advanceTestClock"]["tenant"]["now"])).total_seconds() + 3600})
    now = datetime.fromisoformat(advanced["advanceTestClock"]["tenant"]["now"])
    assert now > first_end  # past the window's old end, within its new one
    proof = (await s["integration"](PROOF, {"input": {
        "caseIds": [case["id"]], "kind": "LAWSUIT", "authority": "Hangzhou Internet Court",
        "reference": "(2026) Zhe 0192 Min Chu 1", "filedOn": now.date().isoformat(),
        "evidence": [{"kind": "case_acceptance_notice", "uri": "https://e.example/acceptance.pdf"}]}}))
    assert proof["submitActionProof"]["__typename"] == "CasesSuccess", proof
