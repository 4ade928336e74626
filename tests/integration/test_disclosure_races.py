"""Two manual redactions of one public record at once: the second applies on top of the first, none is lost."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from domain.services.disclosures import redact_disclosure
from domain.tenancy import Principal, Role
from tests.e2e.test_preset_flows import _seed, cn_notice, submitted_cases

REDACT = """mutation($input: RedactDisclosureInput!) { redactDisclosure(input: $input) {
  __typename ... on DisclosureRedacted { record } ... on Error { code message } } }"""


async def test_two_redactions_of_one_record_at_once_both_stand(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")  # cn-ecl: the notice record is published at once
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    await submitted_cases(s, cn_notice(s))
    tenant_id = await tenant.tenant_id(db)
    disclosure_id = await owner_conn.fetchval(
        "SELECT id FROM disclosures WHERE tenant_id = $1 AND kind = 'notice'", tenant_id)

    # The first reviewer's redaction is written but not committed when the second one starts from the record.
    async with db.uow(tenant_id) as first:
        await redact_disclosure(first, Principal(tenant_id, uuid4(), frozenset({Role.REVIEWER})), disclosure_id,
                                "listing_title", "Item", "personal")
        second = asyncio.create_task(s["reviewer"](REDACT, {"input": {
            "id": str(disclosure_id), "field": "explanation", "text": "Counterfeit", "reason": "brand"}}))
        await asyncio.sleep(0.5)
    redacted = (await asyncio.wait_for(second, 10))["redactDisclosure"]
    assert redacted["__typename"] == "DisclosureRedacted", redacted
    assert redacted["record"]["listing_title"] == "[redacted:manual] 0"  # built on the first redaction

    row = await owner_conn.fetchrow("SELECT record::text, listing_title FROM disclosures WHERE id = $1",
                                    disclosure_id)
    assert "Item" not in row["record"] and "Counterfeit" not in row["record"]
    assert row["listing_title"] == "[redacted:manual] 0"  # the column the public list filters on, too
    assert await owner_conn.fetchval("SELECT count(*) FROM decisions WHERE subject_id = $1"
                                     " AND kind = 'disclosure.redact'", disclosure_id) == 2
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM disclosures, jsonb_array_elements(redactions) AS r"
        " WHERE id = $1 AND r->>'category' = 'manual'", disclosure_id) == 2
