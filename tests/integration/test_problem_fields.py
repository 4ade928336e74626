"""Intake's policy problems name the request's fields, so a client can point at what to fix."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_preset_flows import (
    DECLARE,
    SUBMIT,
    _seed,
    apply_measures,
    dmca_declaration,
    dmca_notice,
    submitted_cases,
)

TIMELINE = "query($id: ID!) { node(id: $id) { ... on Case { timeline { reasons { code text } } } } }"


async def test_a_dmca_notice_without_its_statements_names_each_request_field(make_tenant: Any) -> None:
    """Sent back for completion (the preset allows it): the clarification's reasons name the fields."""
    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=1)
    notice = dmca_notice(s, explanation="Our photo.", signature=None, statements=None)
    result = (await s["integration"](SUBMIT, {"input": notice}))["submitNotice"]
    [case] = result["cases"]
    assert case["state"] == "INCOMPLETE", result
    timeline = (await s["integration"](TIMELINE, {"id": case["id"]}))["node"]["timeline"]
    texts = [r["text"] for r in timeline[-1]["reasons"]]
    fields = {t.split(":", 1)[0] for t in texts}
    assert {"statements.goodFaith", "statements.accuracy", "statements.authority", "signature"} <= fields, texts
    assert any(t.endswith("(policy: good_faith_statement)") for t in texts), texts
    assert all("_" not in f for f in fields), fields  # no policy names left as fields


async def test_a_declaration_without_consent_names_the_request_field(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="America/New_York", country="US")
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="US", listings=1)
    [case] = await submitted_cases(s, dmca_notice(s))
    await apply_measures(s, case["id"])
    refused = (await s["integration"](DECLARE, {"input": dmca_declaration([case["id"]], consentToJurisdiction=False)}))
    assert "problems" in refused["submitDeclaration"], refused
    problems = refused["submitDeclaration"]["problems"]
    assert "consentToJurisdiction" in {p["field"] for p in problems}, problems
