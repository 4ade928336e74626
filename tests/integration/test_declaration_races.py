"""Two declarations for the same case at once: one answers it, the other is refused and leaves nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry import relay

from tests.e2e.test_preset_flows import ACCEPT, CONFIRM, DECLARE, SUBMIT, _seed


async def test_two_declarations_for_one_case_at_once_one_wins(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    integration, reviewer = s["integration"], s["reviewer"]
    cases = (await integration(SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeit of our registered mark.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]["cases"]
    for case in cases:
        accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
        await integration(CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})

    def declaration(case_id: str, text: str) -> dict[str, Any]:
        return {"input": {"caseIds": [case_id], "grounds": "NOT_INFRINGING", "explanation": text,
                          "statements": {"accuracy": True},
                          "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/invoice.pdf"}]}}

    results = await asyncio.gather(*(integration(DECLARE, declaration(c["id"], text))
                                     for c in cases for text in ("first", "second")))
    tenant_id = await tenant.tenant_id(db)
    for n, case in enumerate(cases):
        pair = [r["submitDeclaration"] for r in results[2 * n:2 * n + 2]]
        assert sorted(r["__typename"] for r in pair) == ["ConflictError", "DeclarationSuccess"], pair
        [won] = [r["declaration"] for r in pair if r["__typename"] == "DeclarationSuccess"]
        case_id = relay.GlobalID.from_id(case["id"]).node_id
        stored = await owner_conn.fetchval("SELECT declaration_id::text FROM cases WHERE id = $1::uuid", case_id)
        assert stored == relay.GlobalID.from_id(won["id"]).node_id
    # The losers left no declaration, decision or event behind.
    assert await owner_conn.fetchval("SELECT count(*) FROM declarations WHERE tenant_id = $1", tenant_id) == 3
    assert await owner_conn.fetchval("SELECT count(*) FROM decisions WHERE tenant_id = $1"
                                     " AND kind = 'declaration.receive'", tenant_id) == 3
    assert await owner_conn.fetchval("SELECT count(*) FROM outbox WHERE tenant_id = $1"
                                     " AND topic = 'declaration.received'", tenant_id) == 3
