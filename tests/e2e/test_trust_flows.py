"""Issue 5 end to end through GraphQL: squatting suspension, repeat infringer, abusive notifier,
trusted notifier automation, appeal reversing a takedown."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from tests.api.test_policies import _draft, _publish, _update
from tests.conftest import GraphQLClient, TenantHandle
from tests.e2e.test_preset_flows import (
    ACCEPT,
    ADVANCE,
    CASE,
    DECLARE,
    DELIVER,
    PROOF,
    REVIEW_DECLARATION,
    SUBMIT,
    _fire_due_deadlines,
    _seed,
    apply_measures,
    cn_notice,
)

STATS = """query($id: ID!) { notifierStats(partyId: $id) { notices cases accepted rejected manifestlyUnfounded
  successfulDeclarations withdrawn acceptanceRate trusted } }"""
RESTRICTIONS = """query($id: ID) { accountRestrictions(partyId: $id) { edges { node {
  id kind reason endsAt endedAt counts } } } }"""
REJECT = """mutation($input: RejectCaseInput!) { rejectCase(input: $input) {
  __typename ... on CaseSuccess { case { state } } ... on Error { code message } } }"""
SETTLE = """mutation($id: ID!) { settleCase(input: {caseId: $id}) {
  __typename ... on CaseSuccess { case { state } } ... on Error { code message } } }"""
SUSPEND = """mutation($input: RequestSuspensionInput!) { requestSuspension(input: $input) {
  __typename ... on SuspensionRequested { suspensionId } ... on Error { code message field }
  ... on PolicyViolationError { problems { field } } } }"""
DECIDE_SUSPENSION = """mutation($input: DecideSuspensionInput!) { decideSuspension(input: $input) {
  __typename ... on CaseSuccess { case { state suspendedFrom measuresActive measures { status } } }
  ... on Error { code message } } }"""
LEGAL_STATUS = """mutation($input: SetIpRightLegalStatusInput!) { setIpRightLegalStatus(input: $input) { __typename } }"""
OUTCOME = """mutation($input: InvalidationOutcomeInput!) { recordInvalidationOutcome(input: $input) {
  __typename ... on CasesSuccess { cases { id state timeline { outcome } measures { status } } }
  ... on Error { code message } } }"""
APPEAL = """mutation($input: FileAppealInput!) { fileAppeal(input: $input) {
  __typename ... on AppealFiled { appealId } ... on Error { code message } } }"""
DECIDE_APPEAL = """mutation($input: DecideAppealInput!) { decideAppeal(input: $input) {
  __typename ... on AppealDecided { outcome } ... on Error { code message } } }"""
PARTY_ID = """query($ref: String!) { parties(filter: {externalRef: $ref}) { edges { node { id } } } }"""


async def _party_id(client: GraphQLClient, ref: str) -> str:
    value: str = (await client(PARTY_ID, {"ref": ref}))["parties"]["edges"][0]["node"]["id"]
    return value


async def _notice(s: dict[str, Any], listings: list[str], key: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await s["integration"](SUBMIT, {"input": cn_notice(s, listings, idempotencyKey=key)}))
    assert result["submitNotice"]["__typename"] == "SubmitNoticeSuccess", result
    return dict(result["submitNotice"])


_applied = apply_measures


async def _publish_changed(tenant: TenantHandle, change: Any) -> None:
    draft = await _draft(tenant.admin)
    document = copy.deepcopy(draft["document"])
    change(document)
    updated = await _update(tenant.admin, draft["id"], document)
    assert updated["__typename"] == "PolicyVersionSuccess", updated
    published = await _publish(tenant.admin, draft["id"])
    assert published["__typename"] == "PolicyVersionSuccess", published


async def test_squatting_suspension_then_invalidation(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration, reviewer = s["integration"], s["reviewer"]
    cases = (await _notice(s, s["listings"]))["cases"]
    for case in cases:
        await _applied(s, case["id"])
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [c["id"] for c in cases], "grounds": "RIGHT_INVALID", "explanation": "The mark was squatted.",
        "evidence": [{"kind": "prior_use_evidence", "uri": "https://e.example/p.pdf"}],
        "statements": {"accuracy": True}}}))["submitDeclaration"]["declaration"]
    await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declared["id"], "accept": True}})
    waiting = (await integration(DELIVER, {"input": {"declarationId": declared["id"]}}))["confirmDelivery"]
    first, second = waiting["declaration"]["cases"]
    # Case 1 was upheld earlier (suit filed): a strike for the merchant.
    filed_on = waiting["declaration"]["deliveredAt"][:10]
    await integration(PROOF, {"input": {"caseIds": [first["id"]], "kind": "LAWSUIT", "authority": "Court",
                                        "reference": "R-1", "filedOn": filed_on,
                                        "evidence": [{"kind": "filing", "uri": "https://e.example/f.pdf"}]}})
    # The merchant shows CNIPA accepted an invalidation request and asks to suspend handling of case 2.
    await integration(LEGAL_STATUS, {"input": {"id": s["right"], "legalStatus": "INVALIDATION_PENDING",
                                               "invalidation": {"office": "CNIPA", "caseNumber": "WX-1",
                                                                "acceptedAt": filed_on}}})
    refused = (await integration(SUSPEND, {"input": {"caseId": second["id"],
                                                     "ground": "TRADEMARK_INVALIDATION_PENDING"}}))["requestSuspension"]
    assert refused["__typename"] == "PolicyViolationError"
    assert {p["field"] for p in refused["problems"]} == {"evidence", "harmStatement"}
    requested = (await integration(SUSPEND, {"input": {
        "caseId": second["id"], "ground": "TRADEMARK_INVALIDATION_PENDING",
        "evidence": [{"kind": "invalidation_acceptance_notice", "uri": "https://e.example/a.pdf"}],
        "harmStatement": "Our only product line; delisting would close the shop."}}))["requestSuspension"]
    granted = (await reviewer(DECIDE_SUSPENSION, {"input": {"suspensionId": requested["suspensionId"],
                                                            "grant": True}}))["decideSuspension"]["case"]
    assert (granted["state"], granted["suspendedFrom"], granted["measuresActive"]) == ("SUSPENDED", "WAITING", False)
    assert granted["measures"][0]["status"] == "LIFTED"  # cn-ecl: measures do not stay while suspended
    # Window time is not consumed while suspended: 20 days pass and nothing is restored or upheld.
    await tenant.admin(ADVANCE, {"s": 20 * 86400})
    await _fire_due_deadlines(db)
    assert (await integration(CASE, {"id": second["id"]}))["node"]["state"] == "SUSPENDED"
    # CNIPA invalidates the mark: the notice is rejected, the earlier strike voided, the notifier's record updated.
    outcome = (await reviewer(OUTCOME, {"input": {"ipRightId": s["right"], "outcome": "INVALIDATED"}}))
    [ended] = outcome["recordInvalidationOutcome"]["cases"]
    assert ended["state"] == "CLOSED"
    assert [d["outcome"] for d in ended["timeline"][-2:]] == ["rejected", "closed"]
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        voided = await conn.fetchval("SELECT void_reason FROM strikes WHERE voided_at IS NOT NULL")
    assert voided == "right_invalidated"
    stats = (await reviewer(STATS, {"id": s["holder"]}))["notifierStats"]
    assert (stats["cases"], stats["accepted"], stats["rejected"], stats["manifestlyUnfounded"]) == (2, 2, 1, 1)


async def test_invalidation_upheld_resumes_with_remaining_window(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    integration, reviewer = s["integration"], s["reviewer"]
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [case["id"]], "grounds": "RIGHT_INVALID", "explanation": "Squatted.", "statements": {"accuracy": True},
        "evidence": [{"kind": "prior_use_evidence", "uri": "https://e.example/p.pdf"}]}}))["submitDeclaration"]
    await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declared["declaration"]["id"], "accept": True}})
    waiting = (await integration(DELIVER, {"input": {"declarationId": declared["declaration"]["id"]}}))
    ends_before = datetime.fromisoformat(waiting["confirmDelivery"]["declaration"]["cases"][0]["window"]["endsAt"])
    await integration(LEGAL_STATUS, {"input": {"id": s["right"], "legalStatus": "INVALIDATION_PENDING",
                                               "invalidation": {"office": "CNIPA", "caseNumber": "WX-2",
                                                                "acceptedAt": "2026-11-01"}}})
    requested = (await integration(SUSPEND, {"input": {
        "caseId": case["id"], "ground": "TRADEMARK_INVALIDATION_PENDING", "harmStatement": "Serious harm.",
        "evidence": [{"kind": "invalidation_acceptance_notice", "uri": "https://e.example/a.pdf"}]}}))
    await reviewer(DECIDE_SUSPENSION, {"input": {"suspensionId": requested["requestSuspension"]["suspensionId"],
                                                 "grant": True}})
    await tenant.admin(ADVANCE, {"s": 10 * 86400})
    resumed = (await reviewer(OUTCOME, {"input": {"ipRightId": s["right"], "outcome": "UPHELD"}}))
    [back] = resumed["recordInvalidationOutcome"]["cases"]
    assert back["state"] == "WAITING"
    assert back["measures"][-1]["status"] == "REQUESTED"  # measures lifted at suspension are requested again
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        due = await conn.fetchval("SELECT due_at FROM deadlines WHERE kind = 'window_end' AND status = 'pending'")
    shift = (due - ends_before).total_seconds() / 86400
    assert 9.9 < shift < 10.1  # the window resumed with the time that was left


async def test_repeat_infringer_warned_suspended_reinstated(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=4)
    cases = (await _notice(s, s["listings"]))["cases"]
    merchant = await _party_id(s["integration"], "shop")
    for n, case in enumerate(cases):
        await _applied(s, case["id"])
        settled = (await s["integration"](SETTLE, {"id": case["id"]}))["settleCase"]
        assert settled["case"]["state"] == "CLOSED"
        kinds = [e["node"]["kind"] for e in
                 (await s["reviewer"](RESTRICTIONS, {"id": merchant}))["accountRestrictions"]["edges"]]
        assert kinds == [[], [], ["warning"], ["warning", "suspension"]][n]  # cn-ecl: 3 strikes, warning first
    suspension = (await s["reviewer"](RESTRICTIONS, {"id": merchant}))["accountRestrictions"]["edges"][1]["node"]
    assert suspension["counts"]["strikes_in_window"] == 4
    assert suspension["endsAt"] is not None
    await tenant.admin(ADVANCE, {"s": 15 * 86400})  # cn-ecl suspension_days = 14
    assert await _fire_due_deadlines(db) >= 1
    after = (await s["reviewer"](RESTRICTIONS, {"id": merchant}))["accountRestrictions"]["edges"][1]["node"]
    assert after["endedAt"] is not None


async def test_abusive_notifier_warned_then_refused(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")

    def strict(doc: dict[str, Any]) -> None:
        doc["suspension"]["abusive_notifier"].update({"min_notices": 3, "unfounded_ratio": 0.5})

    await _publish_changed(tenant, strict)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=4)
    cases = (await _notice(s, s["listings"]))["cases"]
    for case in cases:
        rejected = (await s["reviewer"](REJECT, {"input": {"caseId": case["id"], "manifestlyUnfounded": True,
                                                           "reasons": [{"code": "no_infringement"}]}}))
        assert rejected["rejectCase"]["case"]["state"] == "CLOSED"
    restrictions = (await s["reviewer"](RESTRICTIONS, {"id": s["holder"]}))["accountRestrictions"]["edges"]
    assert [r["node"]["kind"] for r in restrictions] == ["warning", "suspension"]
    refused = (await s["integration"](SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "again",
        "listingExternalIds": s["listings"][:1], "evidence": [{"kind": "registration_certificate", "uri": "https://x.example/c"},
                                                              {"kind": "test_purchase", "uri": "https://x.example/t"}],
        "statements": {"accuracy": True}}}))["submitNotice"]
    assert refused["code"] == "RESTRICTED"
    assert "suspended until" in refused["message"]
    stats = (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]
    assert (stats["rejected"], stats["manifestlyUnfounded"], stats["acceptanceRate"]) == (4, 4, 0.0)


async def test_trusted_notifier_auto_accepted_only_under_auto_for_trusted(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")

    def easy_trust(doc: dict[str, Any]) -> None:
        doc["trust"].update({"min_notices": 2, "min_acceptance_rate": 0.9})

    await _publish_changed(tenant, easy_trust)  # cn-ecl reviews in auto_for_trusted mode
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=4)
    first = (await _notice(s, s["listings"][:2]))["cases"]
    for case in first:
        await s["reviewer"](ACCEPT, {"input": {"caseId": case["id"]}})
    assert (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]["trusted"] is True
    auto = (await _notice(s, s["listings"][2:3]))["cases"][0]
    assert auto["state"] == "MEASURES_REQUESTED"
    assert auto["timeline"][-1]["actor"].startswith("automated:")

    def manual(doc: dict[str, Any]) -> None:
        doc["notices"]["review_mode"] = "manual"

    await _publish_changed(tenant, manual)
    held = (await _notice(s, s["listings"][3:4]))["cases"][0]
    assert held["state"] == "UNDER_REVIEW"


async def test_appeal_reverses_an_automated_takedown_and_automation_backs_off(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")

    def automatic(doc: dict[str, Any]) -> None:
        doc["notices"]["review_mode"] = "auto"

    await _publish_changed(tenant, automatic)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    assert case["state"] == "MEASURES_REQUESTED"
    takedown = next(d for d in case["timeline"] if d["outcome"] == "measures_requested")
    decisions = await s["reviewer"]("query($id: ID!) { decisions(subjectId: $id) { edges { node { id kind } } } }",
                                    {"id": case["id"]})
    takedown_id = next(e["node"]["id"] for e in decisions["decisions"]["edges"]
                       if e["node"]["kind"] == "case.request_measures")
    assert takedown["automated"] is True
    merchant = await _party_id(s["integration"], "shop")
    filed = (await s["integration"](APPEAL, {"input": {"decisionId": takedown_id, "appellantId": merchant,
                                                       "grounds": "genuine goods"}}))["fileAppeal"]
    assert filed["__typename"] == "AppealFiled", filed
    decided = (await s["reviewer"](DECIDE_APPEAL, {"input": {"appealId": filed["appealId"], "uphold": True,
                                                             "reason": "Invoice proves genuine goods."}}))
    assert decided["decideAppeal"]["outcome"] == "upheld"
    reversed_case = (await s["integration"](CASE, {"id": case["id"]}))["node"]
    assert reversed_case["state"] == "CLOSED"
    assert [d["outcome"] for d in reversed_case["timeline"][-2:]] == ["rejected", "closed"]
    assert reversed_case["measures"][0]["status"] == "LIFTED"
    # Human override beats automation: the same measure is not re-applied automatically to that listing.
    [again] = (await _notice(s, s["listings"]))["cases"]
    assert again["state"] == "UNDER_REVIEW"
    assert again["timeline"][-1]["actor"] == "automated:suspension.override_cooloff_days" or any(
        d["actor"] == "automated:suspension.override_cooloff_days" for d in again["timeline"])
