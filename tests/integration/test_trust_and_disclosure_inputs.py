"""Inputs of suspensions, appeals, account restrictions, notifier records and public-record edits through GraphQL:
free text bounded as at intake, manual redaction kept to passages of free text, windows and (filter) ids checked."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from domain.notices import MAX_TEXT
from tests.conftest import GraphQLClient
from tests.e2e.test_disclosure import PUBLIC_LIST, _disclosing_tenant, _public
from tests.e2e.test_preset_flows import ADVANCE, _fire_due_deadlines, _seed
from tests.e2e.test_trust_flows import _notice

ERROR = "... on Error { code message field }"
SUSPEND = f"""mutation($input: RequestSuspensionInput!) {{ requestSuspension(input: $input) {{
  __typename ... on SuspensionRequested {{ suspensionId }} {ERROR} }} }}"""
DECIDE_SUSPENSION = f"""mutation($input: DecideSuspensionInput!) {{ decideSuspension(input: $input) {{
  __typename ... on CaseSuccess {{ case {{ state }} }} {ERROR} }} }}"""
REJECT = f"""mutation($input: RejectCaseInput!) {{ rejectCase(input: $input) {{ __typename {ERROR} }} }}"""
APPEAL = f"""mutation($input: FileAppealInput!) {{ fileAppeal(input: $input) {{
  __typename ... on AppealFiled {{ appealId }} {ERROR} }} }}"""
DECIDE_APPEAL = f"""mutation($input: DecideAppealInput!) {{ decideAppeal(input: $input) {{
  __typename ... on AppealDecided {{ outcome }} {ERROR} }} }}"""
END_RESTRICTION = f"""mutation($input: EndAccountRestrictionInput!) {{ endAccountRestriction(input: $input) {{
  __typename {ERROR} }} }}"""
WITHDRAW = f"""mutation($input: WithdrawDisclosureInput!) {{ withdrawDisclosure(input: $input) {{
  __typename {ERROR} }} }}"""
REDACT = f"""mutation($input: RedactDisclosureInput!) {{ redactDisclosure(input: $input) {{
  __typename ... on DisclosureRedacted {{ record }} {ERROR} }} }}"""
DECISIONS = "query($id: ID!) { decisions(subjectId: $id) { edges { node { id kind } } } }"
EVIDENCE = [{"kind": "invalidation_acceptance_notice", "uri": "https://e.example/a.pdf"}]
TOO_LONG = "x" * (MAX_TEXT + 1)


def _refused(payload: dict[str, Any], field: str) -> None:
    assert payload["__typename"] == "InvalidInputError", payload
    assert (payload["code"], payload["field"]) == ("INVALID_INPUT", field), payload


async def _decision_kinds(db: Any, tenant: Any) -> list[str]:
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        return [r["kind"] for r in await conn.fetch("SELECT kind FROM decisions ORDER BY seq")]


async def test_suspension_appeal_and_restriction_texts_are_bounded_like_intake(make_tenant: Any, db: Any) -> None:
    """Each text is kept (most in the hash-chained decision log): over 20,000 characters is refused, naming the
    field, and nothing is recorded; at the limit it is taken."""
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration: GraphQLClient = s["integration"]
    reviewer: GraphQLClient = s["reviewer"]
    first, second = (c["id"] for c in (await _notice(s, s["listings"]))["cases"])
    before = len(await _decision_kinds(db, tenant))

    suspension = {"caseId": first, "ground": "TRADEMARK_INVALIDATION_PENDING", "evidence": EVIDENCE}
    _refused((await integration(SUSPEND, {"input": {**suspension, "harmStatement": TOO_LONG}}))["requestSuspension"],
             "harmStatement")
    malformed = {**suspension, "evidence": [{"kind": "invalidation_acceptance_notice", "sha256": "NOT-HEX"}]}
    _refused((await integration(SUSPEND, {"input": malformed}))["requestSuspension"], "evidence.0.sha256")
    requested = (await integration(SUSPEND, {"input": {**suspension, "harmStatement": "h" * MAX_TEXT}}))
    suspension_id = requested["requestSuspension"]["suspensionId"]
    decide = {"suspensionId": suspension_id, "grant": True}
    _refused((await reviewer(DECIDE_SUSPENSION, {"input": {**decide, "reason": TOO_LONG}}))["decideSuspension"],
             "reason")
    granted = (await reviewer(DECIDE_SUSPENSION, {"input": {**decide, "reason": "r" * MAX_TEXT}}))
    assert granted["decideSuspension"]["case"]["state"] == "SUSPENDED"  # the refused call decided nothing

    assert (await reviewer(REJECT, {"input": {"caseId": second, "reasons": [{"code": "insufficient_evidence"}]}}))[
        "rejectCase"]["__typename"] == "CaseSuccess"
    edges = (await reviewer(DECISIONS, {"id": second}))["decisions"]["edges"]
    rejection = next(e["node"]["id"] for e in edges if e["node"]["kind"] == "case.reject")
    appeal = {"decisionId": rejection, "appellantId": s["holder"], "grounds": "The evidence was sufficient."}
    _refused((await integration(APPEAL, {"input": {**appeal, "explanation": TOO_LONG}}))["fileAppeal"], "explanation")
    filed = (await integration(APPEAL, {"input": {**appeal, "explanation": "e" * MAX_TEXT}}))["fileAppeal"]
    assert filed["__typename"] == "AppealFiled", filed
    other_reviewer = tenant.admin  # not the reviewer who rejected
    decide_appeal = {"appealId": filed["appealId"], "uphold": False}
    _refused((await other_reviewer(DECIDE_APPEAL, {"input": {**decide_appeal, "reason": TOO_LONG}}))["decideAppeal"],
             "reason")
    decided = (await other_reviewer(DECIDE_APPEAL, {"input": {**decide_appeal, "reason": "r" * MAX_TEXT}}))
    assert decided["decideAppeal"]["outcome"] == "rejected"

    restriction = base64.b64encode(f"AccountRestriction:{uuid.uuid4()}".encode()).decode()
    _refused((await reviewer(END_RESTRICTION, {"input": {"restrictionId": restriction, "reason": TOO_LONG}}))[
        "endAccountRestriction"], "reason")
    # Only the accepted calls were recorded (a refused one before them would show up here).
    assert (await _decision_kinds(db, tenant))[before:] == [
        "suspension.request", "case.suspend", "case.reject", "case.close", "appeal.file", "appeal.decide"]


async def _published_notice(make_tenant: Any, http: Any, db: Any) -> tuple[Any, GraphQLClient, dict[str, Any]]:
    tenant, s, _ = await _disclosing_tenant(make_tenant)
    await tenant.admin(ADVANCE, {"s": 25 * 3600})
    await _fire_due_deadlines(db)
    records = (await _public(http, PUBLIC_LIST, {"t": tenant.slug, "f": {"kind": "notice"}}))["records"]["edges"]
    return tenant, s["reviewer"], records[0]["node"]


async def test_manual_redaction_hides_only_passages_of_free_text_outside_markers(
        make_tenant: Any, http: Any, db: Any) -> None:
    tenant, reviewer, notice = await _published_notice(make_tenant, http, db)
    record = notice["record"]
    assert "[redacted:email]" in record["explanation"]

    async def redact(field: str, text: str, reason: str = "") -> dict[str, Any]:
        payload: dict[str, Any] = (await reviewer(REDACT, {"input": {"id": notice["id"], "field": field, "text": text,
                                                                    "reason": reason}}))["redactDisclosure"]
        return payload

    _refused(await redact("received_at", "2"), "field")  # would break the timestamp
    _refused(await redact("channel", "a"), "field")
    _refused(await redact("evidence", "registration_certificate"), "field")
    _refused(await redact("explanation", "[redacted"), "text")  # would mangle [redacted:email]
    _refused(await redact("explanation", "请联系[redacted:email]"), "text")  # would swallow a marker
    _refused(await redact("explanation", "SKU-2026-000123", TOO_LONG), "reason")
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        assert await conn.fetchval("SELECT count(*) FROM decisions WHERE kind = 'disclosure.redact'") == 0
    unchanged = (await _public(http, PUBLIC_LIST, {"t": tenant.slug, "f": {"kind": "notice"}}))["records"]["edges"]
    assert next(e["node"]["record"] for e in unchanged if e["node"]["id"] == notice["id"]) == record

    redacted = await redact("explanation", "SKU-2026-000123", "an order number after all")
    assert redacted["__typename"] == "DisclosureRedacted", redacted
    explanation = redacted["record"]["explanation"]
    assert explanation == record["explanation"].replace("SKU-2026-000123", "[redacted:manual]")
    assert "[redacted:email]" in explanation and redacted["record"]["received_at"] == record["received_at"]


async def test_withdrawal_reason_is_bounded_like_other_decision_texts(make_tenant: Any, http: Any, db: Any) -> None:
    _, reviewer, notice = await _published_notice(make_tenant, http, db)
    _refused((await reviewer(WITHDRAW, {"input": {"id": notice["id"], "reason": TOO_LONG}}))["withdrawDisclosure"],
             "reason")
    withdrawn = (await reviewer(WITHDRAW, {"input": {"id": notice["id"], "reason": "w" * MAX_TEXT}}))
    assert withdrawn["withdrawDisclosure"]["__typename"] == "DisclosureWithdrawn"


def _invalid(response: Any, mentions: str) -> None:
    body = response.json()
    assert "errors" in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT" and mentions in error["message"], body


async def test_a_zero_window_and_an_empty_party_id_are_refused_not_read_as_defaults(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    reviewer: GraphQLClient = s["reviewer"]
    stats = "query($id: ID!, $w: Int) { notifierStats(partyId: $id, windowDays: $w) { windowDays } }"
    for days in (0, -1, 3651):
        _invalid(await reviewer.raw(stats, {"id": s["holder"], "w": days}), "windowDays")
    assert (await reviewer(stats, {"id": s["holder"], "w": None}))["notifierStats"]["windowDays"] > 0  # the policy's
    assert (await reviewer(stats, {"id": s["holder"], "w": 1}))["notifierStats"]["windowDays"] == 1

    restrictions = "query($id: ID) { accountRestrictions(partyId: $id) { edges { node { id } } } }"
    _invalid(await reviewer.raw(restrictions, {"id": ""}), "Party id")
    assert (await reviewer(restrictions, {"id": None}))["accountRestrictions"]["edges"] == []


async def test_an_empty_id_in_a_list_filter_is_malformed_not_no_filter(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    reviewer: GraphQLClient = s["reviewer"]
    for connection, filter_field, type_name in [("ipRights", "holderId", "Party"), ("listings", "merchantId", "Party"),
                                                ("cases", "noticeId", "Notice"), ("cases", "listingId", "Listing")]:
        query = '{ %s(filter: {%s: ""}) { edges { node { id } } } }' % (connection, filter_field)
        _invalid(await reviewer.raw(query), f"{type_name} id")
    assert len((await reviewer("{ ipRights(filter: {holderId: null}) { edges { node { id } } } }"))[
        "ipRights"]["edges"]) == 1
