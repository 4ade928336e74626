"""A listing's restriction state follows its applied measures even when two transactions change measures
of the same listing at once."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from strawberry import relay

from domain.services.notices import confirm_measure
from domain.tenancy import Principal, Role
from tests.e2e.test_preset_flows import ACCEPT, SUBMIT, _seed, apply_measures, cn_notice, submitted_cases

WITHDRAW = """mutation($input: WithdrawNoticeInput!) { withdrawNotice(input: $input) {
  __typename ... on CasesSuccess { cases { id state } } ... on Error { code message } } }"""


async def test_a_measure_confirmed_while_another_case_of_the_listing_is_withdrawn_keeps_it_restricted(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """Case A's measure is applied; case B's is being confirmed (its transaction holds the listing) while
    A is withdrawn (it lifts A's measure and waits for the listing). The listing ends restricted by B."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    notice_a = (await s["integration"](SUBMIT, {"input": cn_notice(s, reasonCode="first")}))["submitNotice"]
    await apply_measures(s, notice_a["cases"][0]["id"])
    [case_b] = await submitted_cases(s, cn_notice(s, reasonCode="second"))
    accepted_b = (await s["reviewer"](ACCEPT, {"input": {"caseId": case_b["id"]}}))["acceptCase"]
    measure_b = UUID(relay.GlobalID.from_id(accepted_b["case"]["measures"][0]["id"]).node_id)

    tenant_id = await tenant.tenant_id(db)
    async with db.uow(tenant_id) as uow:  # B's confirmation holds the listing row until it commits
        await confirm_measure(uow, Principal(tenant_id, uuid4(), frozenset({Role.INTEGRATION})), measure_b, True,
                              None)
        withdrawal = asyncio.create_task(s["integration"](WITHDRAW, {"input": {"noticeId": notice_a["notice"]["id"]}}))
        await asyncio.sleep(1.0)  # A's withdrawal lifts its measure and waits for the listing
    assert (await withdrawal)["withdrawNotice"]["__typename"] == "CasesSuccess"

    listing = await owner_conn.fetchval("SELECT listing_id FROM measures WHERE id = $1", measure_b)
    applied = [r["type"] for r in await owner_conn.fetch(
        "SELECT type FROM measures WHERE listing_id = $1 AND status = 'applied'", listing)]
    assert applied == ["remove"]  # B's
    assert await owner_conn.fetchval("SELECT restriction_state FROM listings WHERE id = $1", listing) == "remove"
