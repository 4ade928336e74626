"""One end-to-end flow per preset through GraphQL on the real stack:
notice -> measures -> confirmation -> declaration -> delivery -> (proof -> upheld | clock -> restored),
checking decisions, outbox events and the hash chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.decisions import first_break
from infra.case_repositories import decision_from_row
from tests.conftest import GraphQLClient, TenantHandle

PARTY = """mutation($input: UpsertPartyInput!) { upsertParty(input: $input) {
  ... on UpsertPartySuccess { party { id } } ... on Error { code message } } }"""
LISTINGS = """mutation($input: UpsertListingsInput!) { upsertListings(input: $input) {
  ... on UpsertListingsSuccess { results { listing { id externalId } error { message } } } } }"""
RIGHT = """mutation($input: RegisterIpRightInput!) { registerIpRight(input: $input) {
  ... on IpRightSuccess { ipRight { id } } ... on Error { code message } } }"""
CASE_FIELDS = """id state measuresActive window { endsAt earliestEndAt } measures { id type status }
  listing { restrictionState } timeline { kind outcome automated actor policyVersion traceId rules { ruleId } }"""
SUBMIT = """mutation($input: SubmitNoticeInput!) { submitNotice(input: $input) {
  __typename ... on SubmitNoticeSuccess { replayed notice { id policyVersion } cases { %s } }
  ... on Error { code message field } ... on InvalidInputError { problems { field message } }
  ... on PolicyViolationError { problems { field message } } } }""" % CASE_FIELDS
ACCEPT = """mutation($input: AcceptCaseInput!) { acceptCase(input: $input) {
  __typename ... on CaseSuccess { case { %s } } ... on Error { code message } } }""" % CASE_FIELDS
CONFIRM = """mutation($input: ConfirmMeasureInput!) { confirmMeasure(input: $input) {
  __typename ... on ConfirmMeasureSuccess { case { %s } } ... on Error { code message } } }""" % CASE_FIELDS
DECLARE = """mutation($input: SubmitDeclarationInput!) { submitDeclaration(input: $input) {
  __typename ... on DeclarationSuccess { declaration { id status cases { %s } } }
  ... on Error { code message } ... on PolicyViolationError { problems { field message } } } }""" % CASE_FIELDS
REVIEW_DECLARATION = """mutation($input: ReviewDeclarationInput!) { reviewDeclaration(input: $input) {
  __typename ... on DeclarationSuccess { declaration { status forwardedAt cases { %s } } }
  ... on Error { code message } } }""" % CASE_FIELDS
DELIVER = """mutation($input: ConfirmDeliveryInput!) { confirmDelivery(input: $input) {
  __typename ... on DeclarationSuccess { declaration { deliveredAt cases { %s } } } ... on Error { code message } } }""" % CASE_FIELDS
PROOF = """mutation($input: SubmitActionProofInput!) { submitActionProof(input: $input) {
  __typename ... on CasesSuccess { cases { %s } } ... on Error { code message field } } }""" % CASE_FIELDS
CASE = "query($id: ID!) { node(id: $id) { ... on Case { %s } } }" % CASE_FIELDS
ADVANCE = """mutation($s: Float!) { advanceTestClock(input: {seconds: $s}) {
  __typename ... on TenantSuccess { tenant { now } } } }"""


async def _seed(tenant: TenantHandle, *, right_type: str, jurisdiction: str, listings: int) -> dict[str, Any]:
    integration = await tenant.client("integration")
    holder = (await integration(PARTY, {"input": {"kind": "RIGHTS_HOLDER", "externalRef": "brand", "displayName": "Brand",
                                                  "personalData": {"legalName": "Brand Holdings Ltd",
                                                                   "email": "legal@brand.example"}}}))
    await integration(PARTY, {"input": {"kind": "MERCHANT", "externalRef": "shop", "displayName": "Shop",
                                        "personalData": {"legalName": "Li Si", "email": "li@shop.example",
                                                         "phone": "+86 138 0000 0000", "address": "Hangzhou"}}})
    items = [{"externalId": f"sku-{n}", "url": f"https://m.example/{n}", "title": f"Item {n}", "merchantRef": "shop"}
             for n in range(listings)]
    listed = (await integration(LISTINGS, {"input": {"items": items}}))["upsertListings"]["results"]
    right = (await integration(RIGHT, {"input": {"holderId": holder["upsertParty"]["party"]["id"],
                                                 "type": right_type, "registrationNumber": "TM-1",
                                                 "jurisdiction": jurisdiction}}))
    return {"integration": integration, "reviewer": await tenant.client("reviewer"),
            "holder": holder["upsertParty"]["party"]["id"], "right": right["registerIpRight"]["ipRight"]["id"],
            "listings": [r["listing"]["externalId"] for r in listed]}


async def _check_chain_and_outbox(owner_conn: Any, tenant: TenantHandle, db: Any, expect_topics: set[str]) -> None:
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:  # the app's codecs: jsonb as data, as the verifier reads it
        rows = await conn.fetch("SELECT * FROM decisions ORDER BY seq")
    assert rows, "decisions were recorded"
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert first_break([decision_from_row(r) for r in rows]) is None
    topics = {r["topic"] for r in await owner_conn.fetch("SELECT topic FROM outbox WHERE tenant_id = $1", tenant_id)}
    assert expect_topics <= topics, expect_topics - topics


def _business_days_until(end: datetime, tz: str = "America/New_York") -> int:
    """US business days after today (exclusive) up to the local day before `end` (windows end at midnight)."""
    from zoneinfo import ZoneInfo

    from infra.calendars import calendar_for

    calendar, zone = calendar_for("US"), ZoneInfo(tz)
    day, last = datetime.now(UTC).astimezone(zone).date(), (end.astimezone(zone) - timedelta(seconds=1)).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        count += not calendar.is_rest_day(day)
    return count


def cn_notice(s: dict[str, Any], listings: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    """A complete cn-ecl trademark notice (registration certificate + preliminary evidence) for `listings`
    (default: every seeded listing), as submitNotice's input."""
    notice: dict[str, Any] = {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"] if listings is None else listings,
        "explanation": "Counterfeit of our registered mark.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True},
    }
    notice.update(overrides)
    return notice


def dmca_notice(s: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A complete us-dmca copyright notice (512(c)(3): signature, statements) for every seeded listing."""
    notice: dict[str, Any] = {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "copyright",
        "listingExternalIds": s["listings"], "explanation": "Our photo is used without licence.",
        "signature": "/Jane Doe/", "evidence": [{"kind": "ownership_statement", "description": "We own it"},
                                                {"kind": "screenshot", "uri": "https://e.example/s.png"}],
        "statements": {"accuracy": True, "goodFaith": True, "authority": True},
    }
    notice.update(overrides)
    return notice


def cn_declaration(case_ids: list[str], **overrides: Any) -> dict[str, Any]:
    """A merchant's non-infringement declaration under cn-ecl, as submitDeclaration's input."""
    declaration: dict[str, Any] = {
        "caseIds": case_ids, "grounds": "NOT_INFRINGING", "explanation": "Genuine goods.",
        "statements": {"accuracy": True},
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/invoice.pdf"}],
    }
    declaration.update(overrides)
    return declaration


def dmca_declaration(case_ids: list[str], **overrides: Any) -> dict[str, Any]:
    """A counter-notice under us-dmca (512(g)(3): signature, statements, consent to jurisdiction)."""
    declaration: dict[str, Any] = {
        "caseIds": case_ids, "grounds": "AUTHORIZED", "explanation": "Licensed.", "signature": "/Li Si/",
        "consentToJurisdiction": True, "statements": {"goodFaith": True, "accuracy": True},
        "evidence": [{"kind": "license_agreement", "uri": "https://e.example/licence.pdf"}],
    }
    declaration.update(overrides)
    return declaration


async def submitted_cases(s: dict[str, Any], notice: dict[str, Any]) -> list[dict[str, Any]]:
    """submitNotice, which must succeed; the cases it created."""
    submitted = (await s["integration"](SUBMIT, {"input": notice}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    cases: list[dict[str, Any]] = submitted["cases"]
    return cases


async def apply_measures(s: dict[str, Any], case_id: str, measures: list[dict[str, Any]] | None = None) -> None:
    """A reviewer accepts the case (the policy's default measure unless `measures`) and the marketplace
    confirms every measure applied."""
    accept: dict[str, Any] = {"caseId": case_id} if measures is None else {"caseId": case_id, "measures": measures}
    accepted = (await s["reviewer"](ACCEPT, {"input": accept}))["acceptCase"]
    assert accepted["__typename"] == "CaseSuccess", accepted
    for measure in accepted["case"]["measures"]:
        await s["integration"](CONFIRM, {"input": {"measureId": measure["id"], "applied": True}})


async def _fire_due_deadlines(db: Any) -> int:
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.scheduler import Scheduler

    return await Scheduler(db, DEADLINE_HANDLERS).run_once()


async def test_cn_ecl_notice_to_upheld_and_restored(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    integration: GraphQLClient = s["integration"]
    reviewer: GraphQLClient = s["reviewer"]
    notice_input = {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeit of our registered mark.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True}, "idempotencyKey": "notice-1",
    }
    submitted = (await integration(SUBMIT, {"input": notice_input}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    assert submitted["notice"]["policyVersion"] == 1
    cases = submitted["cases"]
    assert [c["state"] for c in cases] == ["UNDER_REVIEW", "UNDER_REVIEW"]
    intake = cases[0]["timeline"][-1]
    assert intake["automated"] is True
    assert intake["traceId"]
    assert "notices.required_evidence.trademark" in {r["ruleId"] for r in intake["rules"]}

    # Idempotency: the same retry returns the original; another payload under the key is refused.
    again = (await integration(SUBMIT, {"input": notice_input}))["submitNotice"]
    assert again["replayed"] is True
    assert again["notice"]["id"] == submitted["notice"]["id"]
    reused = (await integration(SUBMIT, {"input": dict(notice_input, reasonCode="other")}))["submitNotice"]
    assert reused["code"] == "IDEMPOTENCY_KEY_REUSED"

    # A reviewer accepts each case with the policy's default measure; the marketplace applies it.
    queue = await reviewer("{ reviewQueue { edges { node { id } } } }")
    assert {e["node"]["id"] for e in queue["reviewQueue"]["edges"]} >= {c["id"] for c in cases}
    for case in cases:
        accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
        assert accepted["state"] == "MEASURES_REQUESTED"
        [measure] = accepted["measures"]
        assert (measure["type"], measure["status"]) == ("REMOVE", "REQUESTED")
        applied = (await integration(CONFIRM, {"input": {"measureId": measure["id"], "applied": True}}))
        applied_case = applied["confirmMeasure"]["case"]
        assert applied_case["state"] == "MEASURES_APPLIED"
        assert applied_case["listing"]["restrictionState"] == "remove"

    # The merchant declares non-infringement for both; a reviewer accepts; it reaches the complainant.
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [c["id"] for c in cases], "grounds": "NOT_INFRINGING", "explanation": "Genuine goods.",
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/invoice.pdf"}],
        "statements": {"accuracy": True}}}))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    declaration = declared["declaration"]
    assert declaration["status"] == "SUBMITTED"
    reviewed = (await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declaration["id"], "accept": True}}))
    assert [c["state"] for c in reviewed["reviewDeclaration"]["declaration"]["cases"]] == ["DECLARED", "DECLARED"]
    delivered = (await integration(DELIVER, {"input": {"declarationId": declaration["id"]}}))["confirmDelivery"]
    waiting = delivered["declaration"]["cases"]
    assert [c["state"] for c in waiting] == ["WAITING", "WAITING"]
    ends_at = datetime.fromisoformat(waiting[0]["window"]["endsAt"])
    delivered_at = datetime.fromisoformat(delivered["declaration"]["deliveredAt"])
    assert 15 <= (ends_at - delivered_at).days <= 25  # 15 calendar days, day 0 not counted, rolled past rest days

    # Case 1: the complainant files suit within the window -> upheld (then closed), measures stay.
    proof = (await integration(PROOF, {"input": {
        "caseIds": [waiting[0]["id"]], "kind": "LAWSUIT", "authority": "Hangzhou Internet Court",
        "reference": "(2026) Zhe 0192 Min Chu 1", "filedOn": delivered_at.date().isoformat(),
        "evidence": [{"kind": "case_acceptance_notice", "uri": "https://e.example/acceptance.pdf"}]}}))
    upheld = proof["submitActionProof"]["cases"][0]
    assert upheld["state"] == "CLOSED"
    assert [d["outcome"] for d in upheld["timeline"][-2:]] == ["upheld", "closed"]
    assert upheld["measures"][0]["status"] == "APPLIED"

    # Case 2: the window passes in silence -> restored, measures lifted automatically.
    await _fire_due_deadlines(db)  # other tenants' deadlines may fire; this tenant's window is not due yet
    assert (await integration(CASE, {"id": waiting[1]["id"]}))["node"]["state"] == "WAITING"
    advanced = await tenant.admin(ADVANCE, {"s": 20 * 86400})
    assert datetime.fromisoformat(advanced["advanceTestClock"]["tenant"]["now"]) > ends_at
    assert await _fire_due_deadlines(db) >= 1  # the window end (and the disclosures now due)
    restored = (await integration(CASE, {"id": waiting[1]["id"]}))["node"]
    assert restored["state"] == "CLOSED"
    assert [d["outcome"] for d in restored["timeline"][-2:]] == ["restored", "closed"]
    assert restored["timeline"][-2]["actor"] == "automated:declarations.window"
    assert restored["measures"][0]["status"] == "LIFTED"
    assert restored["listing"]["restrictionState"] == "none"
    await _fire_due_deadlines(db)  # no deadline fires twice: the case's decisions do not change
    assert (await integration(CASE, {"id": waiting[1]["id"]}))["node"]["timeline"] == restored["timeline"]

    await _check_chain_and_outbox(owner_conn, tenant, db, {
        "notice.received", "case.state_changed", "measure.requested", "notice.forwarded", "declaration.received",
        "declaration.forwarded", "measure.lifted"})


async def test_us_dmca_counter_notice_restores_after_business_days(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=1)
    integration, reviewer = s["integration"], s["reviewer"]
    submitted = (await integration(SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "copyright",
        "listingExternalIds": s["listings"], "explanation": "Our photo is used without licence.",
        "signature": "/Jane Doe/", "evidence": [{"kind": "ownership_statement", "description": "We own it"},
                                                {"kind": "screenshot", "uri": "https://e.example/s.png"}],
        "statements": {"accuracy": True, "goodFaith": True, "authority": True}}}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    [case] = submitted["cases"]
    accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await integration(CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [case["id"]], "grounds": "AUTHORIZED", "explanation": "Licensed.", "signature": "/Li Si/",
        "consentToJurisdiction": True, "statements": {"goodFaith": True, "accuracy": True},
        "evidence": [{"kind": "license_agreement", "uri": "https://e.example/licence.pdf"}]}}))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    reviewed = (await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declared["declaration"]["id"],
                                                              "accept": True}}))
    [waiting] = reviewed["reviewDeclaration"]["declaration"]["cases"]
    # DMCA 512(g): the clock runs from receipt, so no delivery confirmation is needed.
    assert waiting["state"] == "WAITING"
    window = waiting["window"]
    earliest, ends = datetime.fromisoformat(window["earliestEndAt"]), datetime.fromisoformat(window["endsAt"])
    assert _business_days_until(earliest) == 10  # not less than 10 business days after receipt...
    assert _business_days_until(ends) == 14  # ...nor more than 14
    await tenant.admin(ADVANCE, {"s": 30 * 86400})
    assert await _fire_due_deadlines(db) >= 1  # the window end (and the disclosures now due)
    restored = (await integration(CASE, {"id": case["id"]}))["node"]
    assert [d["outcome"] for d in restored["timeline"][-2:]] == ["restored", "closed"]
    assert restored["measures"][0]["status"] == "LIFTED"
    await _check_chain_and_outbox(owner_conn, tenant, db, {"measure.requested", "measure.lifted",
                                                           "declaration.forwarded"})


async def test_eu_dsa_accepted_complaint_restores_at_once(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Europe/Berlin", country="DE")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=1)
    integration, reviewer = s["integration"], s["reviewer"]
    submitted = (await integration(SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "trademark",
        "listingExternalIds": s["listings"], "explanation": "Our EU mark on fakes.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"},
                     {"kind": "screenshot", "uri": "https://e.example/s.png"}],
        "statements": {"goodFaith": True, "accuracy": True, "authority": True}}}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    [case] = submitted["cases"]
    accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await integration(CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [case["id"]], "grounds": "NOT_INFRINGING", "explanation": "Parallel import, exhausted right.",
        "statements": {"goodFaith": True, "accuracy": True},
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/i.pdf"}]}}))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    reviewed = (await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declared["declaration"]["id"],
                                                              "accept": True, "text": "Right exhausted."}}))
    [closed] = reviewed["reviewDeclaration"]["declaration"]["cases"]
    assert closed["state"] == "CLOSED"
    assert [d["outcome"] for d in closed["timeline"][-3:]] == ["waiting", "restored", "closed"]
    assert [[r["ruleId"] for r in d["rules"]] for d in closed["timeline"][-3:-1]] == [["declarations.window"]] * 2
    assert closed["measures"][0]["status"] == "LIFTED"
    await _check_chain_and_outbox(owner_conn, tenant, db, {"measure.lifted", "declaration.forwarded"})
