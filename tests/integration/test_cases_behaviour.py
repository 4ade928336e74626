"""Notice-and-action behaviour through GraphQL on the real stack (issue 3): batch intake, the incomplete
path, review decisions, withdrawal and settlement, measure confirmation, automated acceptance, the
decision log (append-only, traced), concurrent reviewers, the sandbox clock and paginated reads."""

from __future__ import annotations

import asyncio
import copy
import itertools
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from strawberry import relay

from tests.api.test_policies import _draft, _forbidden, _publish, _update
from tests.conftest import CREATE_KEY, GraphQLClient, TenantHandle
from tests.e2e.test_preset_flows import ADVANCE, _fire_due_deadlines, _seed, cn_notice

TIMELINE = """timeline { seq kind outcome automated actor policyVersion traceId spanId
  reasons { code text } rules { ruleId } }"""
CASE_FIELDS = f"""id state measuresActive reviewDueAt allowedEvents
  measures {{ id type status automated failedReason liftedAt }}
  listing {{ id externalId restrictionState }} {TIMELINE}"""
ERROR_FIELDS = """code message field
  ... on InvalidInputError { problems { field message code } }
  ... on PolicyViolationError { problems { field message code } }"""
SUBMIT = f"""mutation($input: SubmitNoticeInput!) {{ submitNotice(input: $input) {{
  __typename ... on SubmitNoticeSuccess {{ replayed notice {{ id policyVersion }} cases {{ {CASE_FIELDS} }} }}
  ... on Error {{ {ERROR_FIELDS} }} }} }}"""
SUBMIT_MANY = f"""mutation($input: SubmitNoticesInput!) {{ submitNotices(input: $input) {{
  __typename
  ... on SubmitNoticesSuccess {{ succeeded failed results {{ index replayed notice {{ id }}
      cases {{ id state listing {{ externalId }} }} error {{ __typename {ERROR_FIELDS} }} }} }}
  ... on Error {{ __typename {ERROR_FIELDS} }} }} }}"""
CASE_PAYLOAD = f"""__typename ... on CaseSuccess {{ case {{ {CASE_FIELDS} }} }} ... on Error {{ {ERROR_FIELDS} }}"""
CASES_PAYLOAD = f"""__typename ... on CasesSuccess {{ cases {{ {CASE_FIELDS} }} }} ... on Error {{ {ERROR_FIELDS} }}"""
ACCEPT = f"mutation($input: AcceptCaseInput!) {{ acceptCase(input: $input) {{ {CASE_PAYLOAD} }} }}"
REJECT = f"mutation($input: RejectCaseInput!) {{ rejectCase(input: $input) {{ {CASE_PAYLOAD} }} }}"
REQUEST_CLARIFICATION = f"""mutation($input: RequestClarificationInput!) {{
  requestClarification(input: $input) {{ {CASE_PAYLOAD} }} }}"""
CLARIFY = f"mutation($input: ClarifyNoticeInput!) {{ clarifyNotice(input: $input) {{ {CASES_PAYLOAD} }} }}"
SETTLE = f"mutation($input: CaseActionInput!) {{ settleCase(input: $input) {{ {CASE_PAYLOAD} }} }}"
WITHDRAW = f"mutation($input: WithdrawNoticeInput!) {{ withdrawNotice(input: $input) {{ {CASES_PAYLOAD} }} }}"
CONFIRM = f"""mutation($input: ConfirmMeasureInput!) {{ confirmMeasure(input: $input) {{
  __typename ... on ConfirmMeasureSuccess {{ measure {{ id status failedReason appliedAt }} case {{ {CASE_FIELDS} }} }}
  ... on Error {{ {ERROR_FIELDS} }} }} }}"""
CASE = f"query($id: ID!) {{ node(id: $id) {{ ... on Case {{ {CASE_FIELDS} }} }} }}"
CASES = """query($first: Int, $after: String, $filter: CaseFilter) { cases(first: $first, after: $after, filter: $filter) {
  edges { cursor node { id state } } pageInfo { hasNextPage endCursor } } }"""
REVIEW_QUEUE = """query($first: Int, $after: String) { reviewQueue(first: $first, after: $after) {
  edges { cursor node { id state reviewDueAt } } pageInfo { hasNextPage endCursor } } }"""
DECISIONS = """query($id: ID!, $first: Int, $after: String) { decisions(subjectId: $id, first: $first, after: $after) {
  edges { cursor node { seq kind outcome subjectId policyVersion } } pageInfo { hasNextPage endCursor } } }"""
NOW = "{ viewer { tenant { now mode } } }"


# ----- helpers -----------------------------------------------------------------------------------


def _uuid(global_id: str) -> UUID:
    return UUID(relay.GlobalID.from_id(global_id).node_id)


_notice = cn_notice


INCOMPLETE_EVIDENCE = [{"kind": "test_purchase", "sha256": "b" * 64}]  # no registration certificate


async def _submit(client: GraphQLClient, notice: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await client(SUBMIT, {"input": notice}))["submitNotice"]
    assert result["__typename"] == "SubmitNoticeSuccess", result
    return result


async def _accept(reviewer: GraphQLClient, case_id: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await reviewer(ACCEPT, {"input": {"caseId": case_id, **extra}}))["acceptCase"]
    return result


async def _confirm(client: GraphQLClient, measure_id: str, applied: bool = True,
                   reason: str | None = None) -> dict[str, Any]:
    variables = {"input": {"measureId": measure_id, "applied": applied, "reason": reason}}
    result: dict[str, Any] = (await client(CONFIRM, variables))["confirmMeasure"]
    return result


async def _applied_case(s: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Accept with the default measure and confirm it: the case ends in MEASURES_APPLIED."""
    accepted = await _accept(s["reviewer"], case_id)
    assert accepted["__typename"] == "CaseSuccess", accepted
    [measure] = accepted["case"]["measures"]
    confirmed = await _confirm(s["integration"], measure["id"])
    assert confirmed["__typename"] == "ConfirmMeasureSuccess", confirmed
    case: dict[str, Any] = confirmed["case"]
    assert case["state"] == "MEASURES_APPLIED"
    assert case["listing"]["restrictionState"] == "remove"
    return case


async def _case(client: GraphQLClient, case_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await client(CASE, {"id": case_id}))["node"]
    return node


async def _publish_policy(tenant: TenantHandle, change: Any) -> int:
    """createPolicyDraft(basedOn: current) -> updatePolicyDraft(changed document) -> publishPolicy."""
    draft = await _draft(tenant.admin, "current")
    document = copy.deepcopy(draft["document"])
    change(document)
    updated = await _update(tenant.admin, draft["id"], document)
    assert updated["__typename"] == "PolicyVersionSuccess", updated
    published = await _publish(tenant.admin, draft["id"])
    assert published["__typename"] == "PolicyVersionSuccess", published
    assert published["policyVersion"]["status"] == "PUBLISHED"
    version: int = published["policyVersion"]["version"]
    return version


async def _deadlines(owner_conn: Any, case_id: str) -> list[tuple[str, str, datetime]]:
    rows = await owner_conn.fetch(
        "SELECT kind, status, due_at FROM deadlines WHERE subject_id = $1 ORDER BY due_at", _uuid(case_id))
    return [(r["kind"], r["status"], r["due_at"]) for r in rows]


async def _outbox(owner_conn: Any, tenant_id: UUID, topic: str) -> list[dict[str, Any]]:
    rows = await owner_conn.fetch(
        "SELECT payload->>'case_id' AS case_id, payload->>'measure_id' AS measure_id FROM outbox"
        " WHERE tenant_id = $1 AND topic = $2 ORDER BY created_at, id", tenant_id, topic)
    return [dict(r) for r in rows]


async def _second_client(tenant: TenantHandle, name: str, *roles: str) -> GraphQLClient:
    created = (await tenant.admin(CREATE_KEY, {"input": {"name": name, "roles": list(roles)}}))["createApiKey"]
    assert created["__typename"] == "CreateApiKeySuccess", created
    return GraphQLClient(tenant.admin.http, created["secret"])


async def _all_pages(client: GraphQLClient, query: str, root: str, **variables: Any) -> list[list[str]]:
    """Walk a connection one node per page; returns the node ids of each page."""
    pages: list[list[str]] = []
    after = None
    while True:
        conn = (await client(query, {"first": 1, "after": after, **variables}))[root]
        pages.append([e["node"]["id"] for e in conn["edges"]])
        assert len(pages) < 50, "pagination does not end"
        if not conn["pageInfo"]["hasNextPage"]:
            return pages
        after = conn["pageInfo"]["endCursor"]
        assert after


# ----- 1. batch intake ---------------------------------------------------------------------------


async def test_submit_notices_reports_each_item_and_bad_items_do_not_fail_the_others(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=4)
    integration: GraphQLClient = s["integration"]
    items = [
        _notice(s, ["sku-0"], idempotencyKey="b-0"),
        _notice(s, ["sku-1", "no-such-sku"], idempotencyKey="b-1"),  # second listing does not exist
        _notice(s, ["sku-2"]),
        _notice(s, ["sku-3"], complainantId="not-a-global-id"),  # not a Party id at all
        _notice(s, ["sku-3"], idempotencyKey="b-4"),
    ]
    batch = (await integration(SUBMIT_MANY, {"input": {"notices": items}}))["submitNotices"]
    assert batch["__typename"] == "SubmitNoticesSuccess", batch
    assert (batch["succeeded"], batch["failed"]) == (3, 2)
    results = batch["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]

    for n, sku in ((0, "sku-0"), (2, "sku-2"), (4, "sku-3")):
        assert results[n]["error"] is None, results[n]
        assert results[n]["notice"]["id"]
        assert [(c["state"], c["listing"]["externalId"]) for c in results[n]["cases"]] == [("UNDER_REVIEW", sku)]

    unknown = results[1]
    assert unknown["notice"] is None and unknown["cases"] == []
    assert unknown["error"]["__typename"] == "InvalidInputError"
    assert unknown["error"]["code"] == "INVALID_INPUT"
    assert [(p["field"], p["code"]) for p in unknown["error"]["problems"]] == [("listingExternalIds.1", "not_found")]
    assert "no-such-sku" in unknown["error"]["problems"][0]["message"]

    bad_id = results[3]
    assert bad_id["notice"] is None and bad_id["cases"] == []
    assert bad_id["error"]["__typename"] == "InvalidInputError"
    assert bad_id["error"]["field"] == "complainantId"
    assert [p["field"] for p in bad_id["error"]["problems"]] == ["complainantId"]

    # Exactly the good items were written: three notices, three cases, three intake decisions.
    tenant_id = await tenant.tenant_id(db)
    assert await owner_conn.fetchval("SELECT count(*) FROM notices WHERE tenant_id = $1", tenant_id) == 3
    assert await owner_conn.fetchval("SELECT count(*) FROM cases WHERE tenant_id = $1", tenant_id) == 3
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM decisions WHERE tenant_id = $1 AND kind = 'case.complete_notice'", tenant_id) == 3

    # A retry of the batch replays the stored items and fails the bad ones the same way.
    retry = (await integration(SUBMIT_MANY, {"input": {"notices": items}}))["submitNotices"]
    assert [r["replayed"] for r in retry["results"]] == [True, False, False, False, True]
    assert retry["results"][0]["notice"]["id"] == results[0]["notice"]["id"]
    assert retry["results"][1]["error"]["__typename"] == "InvalidInputError"


async def test_submit_notices_limits_and_duplicate_keys_are_typed_errors(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration: GraphQLClient = s["integration"]
    tenant_id = await tenant.tenant_id(db)

    too_many = [_notice(s, ["sku-0"])] * 1001
    refused = (await integration(SUBMIT_MANY, {"input": {"notices": too_many}}))["submitNotices"]
    assert refused["__typename"] == "InvalidInputError", refused
    assert refused["field"] == "notices"
    assert "1001" in refused["message"]
    assert await owner_conn.fetchval("SELECT count(*) FROM notices WHERE tenant_id = $1", tenant_id) == 0

    # Items that fail to decode still count towards the limit.
    one_bad = [_notice(s, ["sku-0"], complainantId="not-a-global-id"), *too_many[1:]]
    refused = (await integration(SUBMIT_MANY, {"input": {"notices": one_bad}}))["submitNotices"]
    assert (refused["__typename"], refused["field"]) == ("InvalidInputError", "notices"), refused
    assert await owner_conn.fetchval("SELECT count(*) FROM notices WHERE tenant_id = $1", tenant_id) == 0
    empty = (await integration(SUBMIT_MANY, {"input": {"notices": []}}))["submitNotices"]
    assert (empty["__typename"], empty["field"]) == ("InvalidInputError", "notices"), empty

    dup = [_notice(s, ["sku-0"], idempotencyKey="same"), _notice(s, ["sku-1"], idempotencyKey="same")]
    batch = (await integration(SUBMIT_MANY, {"input": {"notices": dup}}))["submitNotices"]
    assert (batch["succeeded"], batch["failed"]) == (1, 1)
    first, second = batch["results"]
    assert first["error"] is None
    assert [c["listing"]["externalId"] for c in first["cases"]] == ["sku-0"]
    assert second["notice"] is None
    assert second["error"]["__typename"] == "InvalidInputError"
    assert second["error"]["field"] == "idempotencyKey"
    assert await owner_conn.fetchval("SELECT count(*) FROM notices WHERE tenant_id = $1", tenant_id) == 1


async def test_missing_evidence_is_refused_per_item_when_the_policy_allows_no_clarification(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)

    def no_clarification(document: dict[str, Any]) -> None:
        document["notices"]["clarification"]["allowed"] = False

    assert await _publish_policy(tenant, no_clarification) == 2
    items = [_notice(s, ["sku-0"]), _notice(s, ["sku-1"], evidence=INCOMPLETE_EVIDENCE)]
    batch = (await s["integration"](SUBMIT_MANY, {"input": {"notices": items}}))["submitNotices"]
    assert (batch["succeeded"], batch["failed"]) == (1, 1), batch
    good, missing = batch["results"]
    assert [c["state"] for c in good["cases"]] == ["UNDER_REVIEW"]
    assert missing["notice"] is None and missing["cases"] == []
    error = missing["error"]
    assert (error["__typename"], error["code"]) == ("PolicyViolationError", "POLICY_VIOLATION"), error
    assert {(p["field"], p["code"]) for p in error["problems"]} == {("evidence", "required")}
    assert any("registration_certificate" in p["message"] for p in error["problems"])
    tenant_id = await tenant.tenant_id(db)
    assert await owner_conn.fetchval("SELECT count(*) FROM cases WHERE tenant_id = $1", tenant_id) == 1


# ----- 2. incomplete notices ---------------------------------------------------------------------


async def test_incomplete_notice_is_clarified_or_rejected_when_the_window_expires(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration: GraphQLClient = s["integration"]

    first = await _submit(integration, _notice(s, ["sku-0"], evidence=INCOMPLETE_EVIDENCE))
    [case] = first["cases"]
    assert case["state"] == "INCOMPLETE"
    intake = case["timeline"][-1]
    assert (intake["kind"], intake["outcome"], intake["automated"]) == ("case.mark_incomplete", "incomplete", True)
    assert {r["code"] for r in intake["reasons"]} == {"required"}
    [(kind, status, due_at)] = await _deadlines(owner_conn, case["id"])
    assert (kind, status) == ("clarification_expiry", "pending")
    now = datetime.fromisoformat((await tenant.admin(NOW))["viewer"]["tenant"]["now"])
    assert timedelta(days=7) - timedelta(minutes=5) < due_at - now <= timedelta(days=7)  # cn-ecl: 7 days

    clarified = (await integration(CLARIFY, {"input": {
        "noticeId": first["notice"]["id"],
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"}]}}))["clarifyNotice"]
    assert clarified["__typename"] == "CasesSuccess", clarified
    [under_review] = clarified["cases"]
    assert under_review["state"] == "UNDER_REVIEW"
    assert under_review["reviewDueAt"] is not None
    assert under_review["timeline"][-1]["kind"] == "case.clarify"
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, case["id"])] == [("clarification_expiry",
                                                                                   "cancelled")]
    again = (await integration(CLARIFY, {"input": {"noticeId": first["notice"]["id"]}}))["clarifyNotice"]
    assert again["__typename"] == "ConflictError", again

    second = await _submit(integration, _notice(s, ["sku-1"], evidence=INCOMPLETE_EVIDENCE))
    [left] = second["cases"]
    assert left["state"] == "INCOMPLETE"
    await _fire_due_deadlines(db)
    assert (await _case(integration, left["id"]))["state"] == "INCOMPLETE"  # not due yet

    await tenant.admin(ADVANCE, {"s": 7 * 86400 + 3600})
    assert await _fire_due_deadlines(db) >= 1
    expired = await _case(integration, left["id"])
    assert expired["state"] == "CLOSED"
    assert [d["outcome"] for d in expired["timeline"][-2:]] == ["rejected", "closed"]
    rejected = expired["timeline"][-2]
    assert rejected["kind"] == "case.clarification_expired"
    assert rejected["actor"] == "automated:notices.clarification.window_days"
    assert rejected["automated"] is True
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, left["id"])] == [("clarification_expiry", "fired")]
    # The clarified case's cancelled deadline never fires.
    assert (await _case(integration, case["id"]))["state"] == "UNDER_REVIEW"


async def test_concurrent_scheduler_passes_fire_each_deadline_once(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    """Several passes in flight (small batches): every due deadline fires once, the chain holds."""
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.scheduler import Scheduler
    from tests.e2e.test_preset_flows import _check_chain_and_outbox

    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=9)
    case_ids = [(await _submit(s["integration"], _notice(s, [sku], evidence=INCOMPLETE_EVIDENCE)))["cases"][0]["id"]
                for sku in s["listings"]]
    await tenant.admin(ADVANCE, {"s": 8 * 86400})

    fired = await Scheduler(db, DEADLINE_HANDLERS, batch_size=2, concurrency=3).drain()

    assert fired >= len(case_ids)  # other tests' tenants may have had due deadlines too
    for case_id in case_ids:
        case = await _case(s["integration"], case_id)
        assert case["state"] == "CLOSED"
        assert [d["kind"] for d in case["timeline"]].count("case.clarification_expired") == 1
        assert [st for _, st, _ in await _deadlines(owner_conn, case_id)] == ["fired"]
    await _check_chain_and_outbox(owner_conn, tenant, db, {"case.state_changed"})


# ----- 3. review decisions -----------------------------------------------------------------------


async def test_reviewer_requests_clarification_and_rejects_with_reasons(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    reviewer: GraphQLClient = s["reviewer"]
    cases = (await _submit(s["integration"], _notice(s, ["sku-0", "sku-1"])))["cases"]
    assert [c["state"] for c in cases] == ["UNDER_REVIEW", "UNDER_REVIEW"]
    to_clarify, to_reject = sorted(cases, key=lambda c: c["listing"]["externalId"])

    blank = (await reviewer(REQUEST_CLARIFICATION, {"input": {"caseId": to_clarify["id"], "message": "  "}}))
    assert (blank["requestClarification"]["__typename"], blank["requestClarification"]["field"]) == (
        "InvalidInputError", "message")
    asked = (await reviewer(REQUEST_CLARIFICATION, {"input": {
        "caseId": to_clarify["id"], "message": "Attach the registration certificate."}}))["requestClarification"]
    assert asked["__typename"] == "CaseSuccess", asked
    assert asked["case"]["state"] == "INCOMPLETE"
    decision = asked["case"]["timeline"][-1]
    assert (decision["kind"], decision["outcome"], decision["automated"]) == (
        "case.request_clarification", "incomplete", False)
    assert decision["actor"].startswith("apikey:")
    assert [(r["code"], r["text"]) for r in decision["reasons"]] == [
        ("clarification_requested", "Attach the registration certificate.")]
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, to_clarify["id"])] == [
        ("clarification_expiry", "pending")]

    no_reasons = (await reviewer(REJECT, {"input": {"caseId": to_reject["id"], "reasons": []}}))["rejectCase"]
    assert no_reasons["__typename"] == "InvalidInputError", no_reasons
    assert no_reasons["field"] == "reasons"
    assert (await _case(reviewer, to_reject["id"]))["state"] == "UNDER_REVIEW"  # nothing was written

    rejected = (await reviewer(REJECT, {"input": {
        "caseId": to_reject["id"], "text": "The listing shows a different mark.",
        "reasons": [{"code": "no_infringement", "text": "Different mark"},
                    {"code": "insufficient_evidence"}]}}))["rejectCase"]
    assert rejected["__typename"] == "CaseSuccess", rejected
    case = rejected["case"]
    assert case["state"] == "CLOSED"
    assert case["measuresActive"] is False
    assert case["measures"] == []
    assert [d["outcome"] for d in case["timeline"][-2:]] == ["rejected", "closed"]
    decision = case["timeline"][-2]
    assert decision["kind"] == "case.reject"
    assert [r["code"] for r in decision["reasons"]] == ["no_infringement", "insufficient_evidence"]
    assert case["timeline"][-1]["actor"] == "automated:case.close"

    # A closed case cannot be rejected (or accepted) again.
    twice = (await reviewer(REJECT, {"input": {"caseId": to_reject["id"], "reasons": [{"code": "x"}]}}))
    assert twice["rejectCase"]["__typename"] == "InvalidTransitionError", twice
    late = await _accept(reviewer, to_reject["id"])
    assert late["__typename"] == "InvalidTransitionError", late
    # The integration key cannot decide on cases.
    body = (await s["integration"].raw(REJECT, {"input": {"caseId": to_clarify["id"],
                                                           "reasons": [{"code": "x"}]}})).json()
    _forbidden(body)


# ----- 4. withdrawal and settlement --------------------------------------------------------------


async def test_withdrawal_lifts_measures_and_settlement_ends_them(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    integration: GraphQLClient = s["integration"]
    tenant_id = await tenant.tenant_id(db)

    withdrawn_notice = await _submit(integration, _notice(s, ["sku-0", "sku-1"]))
    applied = [await _applied_case(s, c["id"]) for c in withdrawn_notice["cases"]]
    for case in applied:
        assert [k for k, st, _ in await _deadlines(owner_conn, case["id"]) if st == "pending"] == [
            "declaration_deadline"]

    result = (await integration(WITHDRAW, {"input": {"noticeId": withdrawn_notice["notice"]["id"],
                                                      "reason": "Settled out of court."}}))["withdrawNotice"]
    assert result["__typename"] == "CasesSuccess", result
    assert len(result["cases"]) == 2
    lifted_measures = set()
    for case in result["cases"]:
        assert case["state"] == "CLOSED"
        assert case["measuresActive"] is False
        assert [d["outcome"] for d in case["timeline"][-2:]] == ["withdrawn", "closed"]
        assert case["timeline"][-2]["kind"] == "case.withdraw"
        [measure] = case["measures"]
        assert measure["status"] == "LIFTED"
        assert measure["liftedAt"] is not None
        lifted_measures.add(measure["id"])
        assert case["listing"]["restrictionState"] == "none"
        assert [(k, st) for k, st, _ in await _deadlines(owner_conn, case["id"])] == [
            ("declaration_deadline", "cancelled")]
    lifted = await _outbox(owner_conn, tenant_id, "measure.lifted")
    assert {m["case_id"] for m in lifted} == {str(_uuid(c["id"])) for c in applied}
    assert {str(_uuid(m)) for m in lifted_measures} == {m["measure_id"] for m in lifted}

    again = (await integration(WITHDRAW, {"input": {"noticeId": withdrawn_notice["notice"]["id"]}}))
    assert again["withdrawNotice"]["__typename"] == "ConflictError", again

    settled_notice = await _submit(integration, _notice(s, ["sku-2"]))
    [to_settle] = settled_notice["cases"]
    await _applied_case(s, to_settle["id"])
    settled = (await integration(SETTLE, {"input": {"caseId": to_settle["id"],
                                                     "reason": "Merchant removed the listing."}}))["settleCase"]
    assert settled["__typename"] == "CaseSuccess", settled
    case = settled["case"]
    assert case["state"] == "CLOSED"
    assert [d["outcome"] for d in case["timeline"][-2:]] == ["settled", "closed"]
    assert case["timeline"][-2]["kind"] == "case.settle"
    [measure] = case["measures"]
    assert measure["status"] == "ENDED"  # ended, not lifted: the marketplace must not restore the listing
    assert [(k, st) for k, st, _ in await _deadlines(owner_conn, to_settle["id"])] == [
        ("declaration_deadline", "cancelled")]
    settled_case_id = str(_uuid(to_settle["id"]))
    assert [m["case_id"] for m in await _outbox(owner_conn, tenant_id, "measure.ended")] == [settled_case_id]
    assert settled_case_id not in {m["case_id"] for m in await _outbox(owner_conn, tenant_id, "measure.lifted")}

    # Settling is only possible once measures are in force.
    fresh = (await _submit(integration, _notice(s, ["sku-2"], explanation="Again.")))["cases"][0]
    early = (await integration(SETTLE, {"input": {"caseId": fresh["id"]}}))["settleCase"]
    assert early["__typename"] == "InvalidTransitionError", early


async def test_withdrawal_before_confirmation_drops_the_requested_measure(make_tenant: Any, db: Any,
                                                                         owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    submitted = await _submit(s["integration"], _notice(s, ["sku-0"]))
    accepted = await _accept(s["reviewer"], submitted["cases"][0]["id"])
    assert accepted["case"]["state"] == "MEASURES_REQUESTED"
    result = (await s["integration"](WITHDRAW, {"input": {"noticeId": submitted["notice"]["id"]}}))
    [case] = result["withdrawNotice"]["cases"]
    assert case["state"] == "CLOSED"
    assert case["measures"][0]["status"] == "LIFTED"
    # The marketplace may still apply it: it is told the request is dropped, and a late confirmation is refused.
    lifted = await _outbox(owner_conn, await tenant.tenant_id(db), "measure.lifted")
    assert [m["case_id"] for m in lifted] == [str(_uuid(case["id"]))]
    late = await _confirm(s["integration"], case["measures"][0]["id"])
    assert late["__typename"] == "ConflictError", late


# ----- 5. measure confirmation -------------------------------------------------------------------


async def test_confirm_measure_failure_returns_to_review_and_double_confirmation_conflicts(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration: GraphQLClient = s["integration"]
    failing, confirmed_twice = (await _submit(integration, _notice(s, ["sku-0", "sku-1"])))["cases"]

    accepted = await _accept(s["reviewer"], failing["id"])
    [measure] = accepted["case"]["measures"]
    no_reason = await _confirm(integration, measure["id"], applied=False)
    assert no_reason["__typename"] == "InvalidInputError", no_reason
    assert no_reason["field"] == "reason"
    blank_reason = await _confirm(integration, measure["id"], applied=False, reason="   ")
    assert blank_reason["__typename"] == "InvalidInputError", blank_reason
    long_reason = await _confirm(integration, measure["id"], applied=False, reason="x" * 20_001)
    assert (long_reason["__typename"], long_reason["field"]) == ("InvalidInputError", "reason"), long_reason
    assert (await _case(integration, failing["id"]))["state"] == "MEASURES_REQUESTED"  # nothing was written

    failed = await _confirm(integration, measure["id"], applied=False, reason="Listing already deleted.")
    assert failed["__typename"] == "ConfirmMeasureSuccess", failed
    assert failed["measure"]["status"] == "FAILED"
    assert failed["measure"]["failedReason"] == "Listing already deleted."
    assert failed["measure"]["appliedAt"] is None
    case = failed["case"]
    assert case["state"] == "UNDER_REVIEW"
    assert case["listing"]["restrictionState"] == "none"
    decision = case["timeline"][-1]
    assert (decision["kind"], decision["outcome"]) == ("case.measures_failed", "under_review")
    assert [(r["code"], r["text"]) for r in decision["reasons"]] == [("measure_failed", "Listing already deleted.")]
    # The failed measure cannot be confirmed afterwards; the reviewer can choose another measure.
    late = await _confirm(integration, measure["id"])
    assert late["__typename"] == "ConflictError", late
    retried = await _accept(s["reviewer"], failing["id"], measures=[{"type": "BLOCK"}])
    assert retried["__typename"] == "CaseSuccess", retried
    assert sorted((m["type"], m["status"]) for m in retried["case"]["measures"]) == [
        ("BLOCK", "REQUESTED"), ("REMOVE", "FAILED")]

    applied = await _applied_case(s, confirmed_twice["id"])
    twice = await _confirm(integration, applied["measures"][0]["id"])
    assert twice["__typename"] == "ConflictError", twice
    assert twice["field"] == "measureId"
    assert (await _case(integration, confirmed_twice["id"]))["state"] == "MEASURES_APPLIED"
    unknown = await _confirm(integration, str(relay.GlobalID("Measure", str(UUID(int=1)))))
    assert unknown["__typename"] == "NotFoundError", unknown


# Two measures of one request (the default cn-ecl policy allows both; a region needs its scope).
TWO_MEASURES = [{"type": "REMOVE"}, {"type": "RESTRICT_REGION", "territorialScope": ["CN"]}]


async def _case_with_two_measures(make_tenant: Any) -> tuple[TenantHandle, dict[str, Any], dict[str, Any], str, str]:
    """A case accepted with remove and restrict_region; returns the tenant, seed, case and both measure ids."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]
    accepted = await _accept(s["reviewer"], case["id"], measures=TWO_MEASURES)
    assert accepted["__typename"] == "CaseSuccess", accepted
    ids = {m["type"]: m["id"] for m in accepted["case"]["measures"]}
    return tenant, s, case, ids["REMOVE"], ids["RESTRICT_REGION"]


async def _measure_decisions(owner_conn: Any, case_id: str) -> list[tuple[str, str, str, UUID, str]]:
    rows = await owner_conn.fetch(
        "SELECT kind, outcome, subject_type, subject_id, reason_text FROM decisions"
        " WHERE case_id = $1 AND kind LIKE 'measure.%' ORDER BY seq", _uuid(case_id))
    return [(r["kind"], r["outcome"], r["subject_type"], r["subject_id"], r["reason_text"]) for r in rows]


async def test_a_failed_measure_sends_the_case_back_to_review_with_its_other_measures_lifted(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """remove applied, restrict_region failed: a case under review has nothing in force, so the applied
    measure is lifted with the failure, and a later rejection leaves the listing unrestricted."""
    from tests.e2e.test_preset_flows import _check_chain_and_outbox

    tenant, s, case, remove, region = await _case_with_two_measures(make_tenant)
    integration: GraphQLClient = s["integration"]

    # The first confirmation does not move the case, but it is a decision, on the measure.
    applied = await _confirm(integration, remove)
    assert applied["__typename"] == "ConfirmMeasureSuccess", applied
    assert applied["case"]["state"] == "MEASURES_REQUESTED"
    assert applied["case"]["listing"]["restrictionState"] == "remove"
    last = applied["case"]["timeline"][-1]
    assert (last["kind"], last["outcome"], last["automated"]) == ("measure.applied", "applied", False)
    assert last["actor"].startswith("apikey:")
    on_measure = [e["node"] for e in (await s["reviewer"](DECISIONS, {"id": remove}))["decisions"]["edges"]]
    assert [(d["kind"], d["subjectId"], d["policyVersion"]) for d in on_measure] == [("measure.applied", remove, 1)]

    reason = "Region restriction is not available for this category."
    failed = await _confirm(integration, region, applied=False, reason=reason)
    assert failed["__typename"] == "ConfirmMeasureSuccess", failed
    assert (failed["measure"]["status"], failed["measure"]["failedReason"]) == ("FAILED", reason)
    under_review = failed["case"]
    assert under_review["state"] == "UNDER_REVIEW"
    assert under_review["measuresActive"] is False
    assert under_review["listing"]["restrictionState"] == "none"
    measures = {m["id"]: m for m in under_review["measures"]}
    assert (measures[remove]["status"], measures[remove]["liftedAt"] is not None) == ("LIFTED", True)
    # The failed measure keeps its status and reason: it was never in force, so it is not "lifted".
    assert (measures[region]["status"], measures[region]["failedReason"], measures[region]["liftedAt"]) == (
        "FAILED", reason, None)
    kinds = [(d["kind"], d["outcome"]) for d in under_review["timeline"]]
    assert kinds[-3:] == [("measure.applied", "applied"), ("measure.failed", "failed"),
                          ("case.measures_failed", "under_review")]
    failure, moved = under_review["timeline"][-2:]
    assert [(r["code"], r["text"]) for r in failure["reasons"]] == [("measure_failed", reason)]
    assert failure["traceId"] == moved["traceId"]  # one request, one transaction

    # One decision per confirmation, each on its measure.
    assert await _measure_decisions(owner_conn, case["id"]) == [
        ("measure.applied", "applied", "measure", _uuid(remove), ""),
        ("measure.failed", "failed", "measure", _uuid(region), reason),
    ]
    tenant_id = await tenant.tenant_id(db)
    lifted = await owner_conn.fetch(
        "SELECT payload->>'measure_id' AS measure_id, payload->>'was' AS was FROM outbox"
        " WHERE tenant_id = $1 AND topic = 'measure.lifted'", tenant_id)
    assert [(r["measure_id"], r["was"]) for r in lifted] == [(str(_uuid(remove)), "applied")]

    # The reviewer rejects now: the case closes with nothing in force, and the listing agrees.
    rejected = (await s["reviewer"](REJECT, {"input": {"caseId": case["id"],
                                                        "reasons": [{"code": "no_suitable_measure"}]}}))["rejectCase"]
    assert rejected["__typename"] == "CaseSuccess", rejected
    closed = rejected["case"]
    assert (closed["state"], closed["measuresActive"]) == ("CLOSED", False)
    assert closed["listing"]["restrictionState"] == "none"
    assert {m["id"]: m["status"] for m in closed["measures"]} == {remove: "LIFTED", region: "FAILED"}
    await _check_chain_and_outbox(owner_conn, tenant, db, {"measure.requested", "measure.lifted"})


async def test_the_last_of_two_measures_applied_moves_the_case_and_each_confirmation_is_a_decision(
    make_tenant: Any, owner_conn: Any
) -> None:
    _, s, case, remove, region = await _case_with_two_measures(make_tenant)
    integration: GraphQLClient = s["integration"]

    first = await _confirm(integration, region)
    assert first["__typename"] == "ConfirmMeasureSuccess", first
    assert (first["case"]["state"], first["case"]["measuresActive"]) == ("MEASURES_REQUESTED", False)
    second = await _confirm(integration, remove)
    assert second["__typename"] == "ConfirmMeasureSuccess", second
    applied = second["case"]
    assert (applied["state"], applied["measuresActive"]) == ("MEASURES_APPLIED", True)
    assert applied["listing"]["restrictionState"] == "remove,restrict_region"
    assert {m["status"] for m in applied["measures"]} == {"APPLIED"}
    assert [(d["kind"], d["outcome"]) for d in applied["timeline"]][-3:] == [
        ("measure.applied", "applied"), ("measure.applied", "applied"), ("case.confirm_measures", "measures_applied")]
    assert await _measure_decisions(owner_conn, case["id"]) == [
        ("measure.applied", "applied", "measure", _uuid(region), ""),
        ("measure.applied", "applied", "measure", _uuid(remove), ""),
    ]


@pytest.mark.parametrize(
    ("measures", "field"),
    [
        ([{"type": "REMOVE"}, {"type": "DEMOTE"}], "measures.1.type"),  # cn-ecl does not allow demotion
        ([{"type": "REMOVE"}, {"type": "RESTRICT_REGION"}], "measures.1.territorialScope"),
    ],
    ids=["not-allowed", "region-without-scope"],
)
async def test_accepting_with_a_measure_the_request_cannot_have_is_a_typed_error_naming_it(
    make_tenant: Any, db: Any, owner_conn: Any, measures: list[dict[str, Any]], field: str
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]

    refused = await _accept(s["reviewer"], case["id"], measures=measures)
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "PolicyViolationError", "POLICY_VIOLATION", field), refused
    assert [p["field"] for p in refused["problems"]] == [field]
    # Nothing was written: no measure, no decision, no request to the marketplace.
    after = await _case(s["reviewer"], case["id"])
    assert (after["state"], after["measures"]) == ("UNDER_REVIEW", [])
    assert [d["kind"] for d in after["timeline"]] == ["case.complete_notice"]
    assert await _outbox(owner_conn, await tenant.tenant_id(db), "measure.requested") == []


# ----- 6. automated acceptance -------------------------------------------------------------------


async def test_auto_review_mode_requests_measures_under_the_new_policy_version(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    integration: GraphQLClient = s["integration"]
    before = await _submit(integration, _notice(s, ["sku-0", "sku-1"]))
    assert before["notice"]["policyVersion"] == 1
    assert {c["state"] for c in before["cases"]} == {"UNDER_REVIEW"}  # cn-ecl: auto only for trusted notifiers

    def auto(document: dict[str, Any]) -> None:
        document["notices"]["review_mode"] = "auto"

    assert await _publish_policy(tenant, auto) == 2
    after = await _submit(integration, _notice(s, ["sku-2"]))
    assert after["notice"]["policyVersion"] == 2
    [case] = after["cases"]
    assert case["state"] == "MEASURES_REQUESTED"
    [measure] = case["measures"]
    assert (measure["type"], measure["status"]) == ("REMOVE", "REQUESTED")
    assert measure["automated"] is True
    intake, accepted = case["timeline"]
    assert (intake["kind"], accepted["kind"]) == ("case.complete_notice", "case.request_measures")
    assert accepted["automated"] is True
    assert accepted["actor"].startswith("automated:")
    assert accepted["policyVersion"] == 2
    assert "notices.review_mode" in {r["ruleId"] for r in accepted["rules"]}
    assert intake["policyVersion"] == 2

    # Older cases keep the version they were decided under; new decisions on them use the new one.
    old = before["cases"][0]
    assert [d["policyVersion"] for d in (await _case(integration, old["id"]))["timeline"]] == [1]
    accepted_old = await _accept(s["reviewer"], old["id"])
    assert [d["policyVersion"] for d in accepted_old["case"]["timeline"]] == [1, 2]
    assert accepted_old["case"]["timeline"][-1]["automated"] is False
    untouched = await _case(integration, before["cases"][1]["id"])
    assert [d["policyVersion"] for d in untouched["timeline"]] == [1]


# ----- 7. the decision log -----------------------------------------------------------------------


async def test_decisions_are_append_only_and_each_is_traced_by_its_own_span(
    make_tenant: Any, db: Any, spans: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    submitted = await _submit(s["integration"], _notice(s, ["sku-0"]))
    [case] = submitted["cases"]
    await _applied_case(s, case["id"])
    await s["integration"](WITHDRAW, {"input": {"noticeId": submitted["notice"]["id"]}})

    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        rows = await conn.fetch("SELECT * FROM decisions WHERE case_id = $1 ORDER BY seq", _uuid(case["id"]))
    assert [r["outcome"] for r in rows] == ["under_review", "measures_requested", "applied", "measures_applied",
                                            "withdrawn", "closed"]
    assert [r["subject_type"] for r in rows].count("measure") == 1  # the confirmation, on the measure

    for statement in ("UPDATE decisions SET reason_text = 'rewritten' WHERE case_id = $1",
                      "DELETE FROM decisions WHERE case_id = $1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.tenant_tx(tenant_id) as conn:
                await conn.execute(statement, _uuid(case["id"]))
    async with db.tenant_tx(tenant_id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM decisions WHERE case_id = $1", _uuid(case["id"])) == 6
        assert await conn.fetchval("SELECT count(*) FROM decisions WHERE reason_text = 'rewritten'") == 0

    decision_spans = {format(sp.context.span_id, "016x"): sp for sp in spans.get_finished_spans()
                      if sp.name == "decision"}
    for row in rows:
        assert row["trace_id"] and len(row["trace_id"]) == 32 and int(row["trace_id"], 16)
        assert row["span_id"] and len(row["span_id"]) == 16 and int(row["span_id"], 16)
        span = decision_spans.get(row["span_id"])
        assert span is not None, f"no decision span for {row['kind']}"
        assert format(span.context.trace_id, "032x") == row["trace_id"]
        attrs = dict(span.attributes or {})
        assert attrs["decision.kind"] == row["kind"]
        assert attrs["decision.outcome"] == row["outcome"]
        assert attrs["decision.policy_version"] == row["policy_version"] == 1
        assert list(attrs["decision.rule_ids"]) == [r["rule_id"] for r in row["rules"]]
    intake_span = decision_spans[rows[0]["span_id"]]
    assert "notices.required_evidence.trademark" in intake_span.attributes["decision.rule_ids"]
    # One trace per request: the intake and the acceptance are different requests.
    assert rows[0]["trace_id"] != rows[1]["trace_id"]
    assert len({r["span_id"] for r in rows}) == len(rows)


# ----- 8. concurrent reviewers -------------------------------------------------------------------


async def test_two_reviewers_accepting_the_same_case_at_once_record_one_decision(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=6)
    first: GraphQLClient = s["reviewer"]
    second = await _second_client(tenant, "second reviewer", "REVIEWER")
    cases = (await _submit(s["integration"], _notice(s, s["listings"])))["cases"]
    assert len(cases) == 6

    results = await asyncio.gather(*(
        _accept(client, c["id"]) for c in cases for client in (first, second)))
    for n, case in enumerate(cases):
        pair = results[2 * n:2 * n + 2]
        kinds = sorted(r["__typename"] for r in pair)
        assert kinds.count("CaseSuccess") == 1, pair
        [loser] = [r for r in pair if r["__typename"] != "CaseSuccess"]
        assert loser["__typename"] in ("ConflictError", "InvalidTransitionError"), loser
        assert loser["code"] in ("CONFLICT", "INVALID_TRANSITION")
        n_decisions = await owner_conn.fetchval(
            "SELECT count(*) FROM decisions WHERE case_id = $1 AND kind = 'case.request_measures'", _uuid(case["id"]))
        assert n_decisions == 1
        n_measures = await owner_conn.fetchval("SELECT count(*) FROM measures WHERE case_id = $1", _uuid(case["id"]))
        assert n_measures == 1
        assert (await _case(first, case["id"]))["state"] == "MEASURES_REQUESTED"
    tenant_id = await tenant.tenant_id(db)
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND topic = 'measure.requested'", tenant_id) == 6
    # The chain stayed linear under concurrency.
    seqs = [r["seq"] for r in await owner_conn.fetch("SELECT seq FROM decisions WHERE tenant_id = $1 ORDER BY seq",
                                                       tenant_id)]
    assert seqs == list(range(1, len(seqs) + 1))


# ----- 9. the sandbox test clock -----------------------------------------------------------------


async def test_only_sandbox_admins_can_advance_the_test_clock(make_tenant: Any) -> None:
    live = await make_tenant(mode="LIVE")
    body = (await live.admin.raw(ADVANCE, {"s": 3600})).json()
    _forbidden(body)
    before = datetime.fromisoformat((await live.admin(NOW))["viewer"]["tenant"]["now"])
    assert abs((before - datetime.now(before.tzinfo)).total_seconds()) < 60  # live time, unchanged

    sandbox = await make_tenant(mode="SANDBOX")
    reviewer = await sandbox.client("reviewer")
    _forbidden((await reviewer.raw(ADVANCE, {"s": 3600})).json())

    start = datetime.fromisoformat((await sandbox.admin(NOW))["viewer"]["tenant"]["now"])
    advanced = (await sandbox.admin(ADVANCE, {"s": 3 * 86400}))["advanceTestClock"]
    assert advanced["__typename"] == "TenantSuccess", advanced
    reported = datetime.fromisoformat(advanced["tenant"]["now"])
    later = datetime.fromisoformat((await sandbox.admin(NOW))["viewer"]["tenant"]["now"])
    assert timedelta(days=3) <= later - start < timedelta(days=3, seconds=30)
    assert abs((later - reported).total_seconds()) < 30
    # Other keys of the tenant see the same clock.
    seen = datetime.fromisoformat((await reviewer(NOW))["viewer"]["tenant"]["now"])
    assert timedelta(days=3) <= seen - start < timedelta(days=3, seconds=30)
    negative = (await sandbox.admin(ADVANCE.replace("tenant { now } }", "tenant { now } } "
                                                    "... on Error { code field }"), {"s": -60}))
    assert negative["advanceTestClock"]["code"] == "INVALID_INPUT"


# ----- 10. reads ---------------------------------------------------------------------------------


async def test_cases_review_queue_and_decisions_paginate_with_cursors(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=5)
    integration: GraphQLClient = s["integration"]
    reviewer: GraphQLClient = s["reviewer"]
    reviewed = (await _submit(integration, _notice(s, ["sku-0", "sku-1", "sku-2"])))["cases"]
    later = (await _submit(integration, _notice(s, ["sku-3"], explanation="Later notice.")))["cases"]
    incomplete = (await _submit(integration, _notice(s, ["sku-4"], evidence=INCOMPLETE_EVIDENCE)))["cases"]
    assert incomplete[0]["state"] == "INCOMPLETE"
    accepted = await _accept(reviewer, reviewed[0]["id"])
    assert accepted["case"]["state"] == "MEASURES_REQUESTED"
    expected = {c["id"] for c in reviewed[1:] + later}

    pages = await _all_pages(reviewer, CASES, "cases", filter={"states": ["UNDER_REVIEW"]})
    flat = [i for p in pages for i in p]
    assert all(len(p) == 1 for p in pages)
    assert len(flat) == len(set(flat)) == 3
    assert set(flat) == expected
    everything = [i for p in await _all_pages(reviewer, CASES, "cases") for i in p]
    assert len(everything) == len(set(everything)) == 5
    both = (await reviewer(CASES, {"first": 10, "filter": {"states": ["INCOMPLETE", "MEASURES_REQUESTED"]}}))
    assert {e["node"]["id"] for e in both["cases"]["edges"]} == {incomplete[0]["id"], reviewed[0]["id"]}

    queue_pages = await _all_pages(reviewer, REVIEW_QUEUE, "reviewQueue")
    queue = [i for p in queue_pages for i in p]
    assert len(queue) == len(set(queue)) == 3
    assert set(queue) == expected
    assert queue[-1] == later[0]["id"]  # the later notice is due later
    full = (await reviewer(REVIEW_QUEUE, {"first": 10}))["reviewQueue"]["edges"]
    assert [e["node"]["id"] for e in full] == queue
    dues = [e["node"]["reviewDueAt"] for e in full]
    assert dues == sorted(dues)

    # decisions(subjectId): the case's decisions in chain order, paginated by seq.
    case_id = reviewed[0]["id"]
    decisions = (await reviewer(DECISIONS, {"id": case_id}))["decisions"]
    nodes = [e["node"] for e in decisions["edges"]]
    assert [(d["kind"], d["outcome"]) for d in nodes] == [("case.complete_notice", "under_review"),
                                                         ("case.request_measures", "measures_requested")]
    assert all(d["subjectId"] == case_id for d in nodes)
    seqs = [d["seq"] for d in nodes]
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert [d["seq"] for d in accepted["case"]["timeline"]] == seqs
    page1 = (await reviewer(DECISIONS, {"id": case_id, "first": 1}))["decisions"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (await reviewer(DECISIONS, {"id": case_id, "first": 1, "after": page1["pageInfo"]["endCursor"]}))
    assert [e["node"]["seq"] for e in page1["edges"] + page2["decisions"]["edges"]] == seqs
    assert page2["decisions"]["pageInfo"]["hasNextPage"] is False
    bad = (await reviewer.raw(DECISIONS, {"id": "nonsense"})).json()
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_review_queue_pages_past_a_case_without_a_review_due_time(make_tenant: Any) -> None:
    """An auto-accepted case whose measure failed is back under review; the queue must still page."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)

    def auto(document: dict[str, Any]) -> None:
        document["notices"]["review_mode"] = "auto"

    await _publish_policy(tenant, auto)
    cases = (await _submit(s["integration"], _notice(s, ["sku-0", "sku-1", "sku-2"])))["cases"]
    for case in cases:
        assert case["state"] == "MEASURES_REQUESTED"
        failed = await _confirm(s["integration"], case["measures"][0]["id"], applied=False, reason="Gone.")
        assert failed["case"]["state"] == "UNDER_REVIEW"
    pages = await _all_pages(s["reviewer"], REVIEW_QUEUE, "reviewQueue")
    queue = [i for p in pages for i in p]
    assert len(queue) == len(set(queue)) == 3
    assert set(queue) == {c["id"] for c in cases}


async def test_account_rules_of_one_party_run_one_transaction_at_a_time(make_tenant: Any, db: Any) -> None:
    """Two transactions escalating the same merchant: the second waits for the first to commit and then
    sees its restriction (its earlier cached read is dropped), so it cannot escalate from stale history."""
    from domain.ids import new_id
    from domain.trust import RestrictionKind, RestrictionReason, RestrictionRecord

    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    tenant_id = await tenant.tenant_id(db)
    async with db.uow(tenant_id) as probe:
        merchant = await probe.conn.fetchval("SELECT id FROM parties WHERE external_ref = 'shop'")
    assert s["listings"]
    locked_by_b = asyncio.Event()

    async def second() -> list[Any]:
        async with db.uow(tenant_id) as b:
            assert await b.trust.restrictions(merchant) == []  # read (and cached) before the lock
            await b.trust.lock_parties([merchant])
            locked_by_b.set()
            return await b.trust.restrictions(merchant)

    async with db.uow(tenant_id) as a:
        await a.trust.lock_parties([merchant])
        task = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not locked_by_b.is_set()  # waits for the first transaction
        await a.trust.add_restriction(new_id(), merchant, RestrictionRecord(
            RestrictionKind.WARNING, RestrictionReason.REPEAT_INFRINGER, datetime.now().astimezone(), None, None), {})
    seen = await asyncio.wait_for(task, 5)
    assert [r.kind for _, r in seen] == [RestrictionKind.WARNING]


async def test_the_last_two_measures_confirmed_at_once_still_move_the_case(make_tenant: Any) -> None:
    """Each confirmation reads its siblings under their row locks: one of the two sees both applied."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=4)
    integration: GraphQLClient = s["integration"]
    second = await _second_client(tenant, "second marketplace key", "INTEGRATION")
    cases = (await _submit(integration, _notice(s, s["listings"])))["cases"]
    pairs = []
    for case in cases:
        accepted = await _accept(s["reviewer"], case["id"], measures=TWO_MEASURES)
        assert accepted["__typename"] == "CaseSuccess", accepted
        pairs.append([m["id"] for m in accepted["case"]["measures"]])
    results = await asyncio.gather(*(_confirm(client, m) for pair in pairs
                                     for client, m in zip((integration, second), pair, strict=True)))
    assert all(r["__typename"] == "ConfirmMeasureSuccess" for r in results), results
    for case in cases:
        assert (await _case(integration, case["id"]))["state"] == "MEASURES_APPLIED"
