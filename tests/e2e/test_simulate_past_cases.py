"""simulatePolicy over past cases: what a draft would have decided, next to what was decided; writes nothing."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.test_policies import SIMULATE, _draft, _update
from tests.e2e.test_preset_flows import _seed
from tests.e2e.test_trust_flows import _notice


async def test_simulating_a_draft_against_past_cases(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    cases = (await _notice(s, s["listings"]))["cases"]
    draft = await _draft(tenant.admin)
    document = copy.deepcopy(draft["document"])
    document["notices"]["review_mode"] = "auto"
    assert (await _update(tenant.admin, draft["id"], document))["__typename"] == "PolicyVersionSuccess"
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        before = await conn.fetchval("SELECT count(*) FROM decisions")
    result = (await tenant.admin(SIMULATE, {"input": {"id": draft["id"],
                                                      "caseIds": [c["id"] for c in cases]}}))["simulatePolicy"]
    assert result["__typename"] == "SimulatePolicySuccess", result
    assert result["changedCount"] == 2
    from strawberry import relay

    for row, case in zip(result["results"], cases, strict=True):
        assert row["label"] == f"case:{relay.GlobalID.from_id(case['id']).node_id}"
        assert (row["inForce"]["outcome"], row["simulated"]["outcome"]) == ("REVIEW", "AUTO_ACCEPT")
    async with db.tenant_tx(tenant_id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM decisions") == before
    bad = (await tenant.admin(SIMULATE, {"input": {"id": draft["id"], "caseIds": ["nope"]}}))["simulatePolicy"]
    assert bad["__typename"] == "InvalidInputError"
