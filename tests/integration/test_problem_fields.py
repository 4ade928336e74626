"""Intake's policy problems name the request's fields, so a client can point at what to fix."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_preset_flows import DECLARE, SUBMIT, _seed

TIMELINE = "query($id: ID!) { node(id: $id) { ... on Case { timeline { reasons { code text } } } } }"


async def test_a_dmca_notice_without_its_statements_names_each_request_field(make_tenant: Any) -> None:
    """Sent back for completion (the preset allows it): the clarification's reasons name the fields."""
    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=1)
    result = (await s["integration"](SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "copyright",
        "listingExternalIds": s["listings"], "explanation": "Our photo.",
        "evidence": [{"kind": "ownership_statement", "description": "We own it"},
                     {"kind": "screenshot", "uri": "https://e.example/s.png"}]}}))["submitNotice"]
    [case] = result["cases"]
    assert case["state"] == "INCOMPLETE", result
    timeline = (await s["integration"](TIMELINE, {"id": case["id"]}))["node"]["timeline"]
    texts = [r["text"] for r in timeline[-1]["reasons"]]
    fields = {t.split(":", 1)[0] for t in texts}
    assert {"statements.goodFaith", "statements.accuracy", "statements.authority", "signature"} <= fields, texts
    assert any(t.endswith("(policy: good_faith_statement)") for t in texts), texts
    assert all("_" not in f for f in fields), fields  # no policy names left as fields


async def test_a_declaration_without_consent_names_the_request_field(make_tenant: Any) -> None:
    from tests.e2e.test_late_windows import _declared_and_applied

    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=2)
    notice = {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "copyright",
        "listingExternalIds": s["listings"][:1], "explanation": "Our photo is used without licence.",
        "signature": "/Jane Doe/", "evidence": [{"kind": "ownership_statement", "description": "We own it"},
                                                {"kind": "screenshot", "uri": "https://e.example/s.png"}],
        "statements": {"accuracy": True, "goodFaith": True, "authority": True}}
    declaration = {"grounds": "AUTHORIZED", "explanation": "Licensed.", "signature": "/Li Si/",
                   "statements": {"goodFaith": True, "accuracy": True},
                   "evidence": [{"kind": "license_agreement", "uri": "https://e.example/licence.pdf"}]}
    await _declared_and_applied(s, notice, dict(declaration, consentToJurisdiction=True))
    submitted = (await s["integration"](SUBMIT, {"input": dict(notice, listingExternalIds=s["listings"][1:])}))
    [case] = submitted["submitNotice"]["cases"]
    from tests.e2e.test_preset_flows import ACCEPT, CONFIRM

    accepted = (await s["reviewer"](ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await s["integration"](CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    refused = (await s["integration"](DECLARE, {"input": dict(declaration, caseIds=[case["id"]])}))
    assert "problems" in refused["submitDeclaration"], refused
    problems = refused["submitDeclaration"]["problems"]
    assert "consentToJurisdiction" in {p["field"] for p in problems}, problems
