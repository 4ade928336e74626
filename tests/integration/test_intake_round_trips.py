"""What notice intake does in few round trips still behaves as before (issue 3, the submitNotice figure):
the policy version read with the tenant switch, writes staged into the final statement, a notice's public
record built from the rows intake holds, and account rules looked at without a lock for a notifier whose
figures a notice does not move."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

from strawberry import relay

from domain.disclosure import DisclosureDraft, DisclosureKind, public_record, rules_for
from domain.errors import Conflict
from domain.ids import new_id
from domain.notices import Evidence, NoticeInput, Statements
from domain.services.disclosures import _case_facts
from domain.services.notices import submit_notices
from domain.tenancy import Principal, Role
from tests.e2e.test_preset_flows import _seed
from tests.e2e.test_trust_flows import STATS, _notice, _publish_changed

MINIMAL_SUBMIT = """mutation($input: SubmitNoticeInput!) { submitNotice(input: $input) {
  __typename ... on SubmitNoticeSuccess { notice { id } cases { id state } } ... on Error { code message } } }"""
DECISIONS = """query($id: ID!) { decisions(subjectId: $id, first: 10) { edges { node { kind outcome } } } }"""


def _uuid(global_id: str) -> UUID:
    return UUID(relay.GlobalID.from_id(global_id).node_id)


async def test_publishing_moves_the_version_read_with_the_tenant_switch(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    tenant_id = await tenant.tenant_id(db)
    async with db.uow(tenant_id) as uow:
        assert uow.policies._published == 1  # read by the statement that entered the tenant
        assert (await uow.policies.in_force()).version == 1

    def stricter(doc: dict[str, Any]) -> None:
        doc["notices"]["review_mode"] = "manual"

    await _publish_changed(tenant, stricter)
    async with db.uow(tenant_id) as uow:
        assert uow.policies._published == 2
        assert (await uow.policies.in_force()).version == 2
    async with db.system_tx() as conn:
        assert await conn.fetchval("SELECT policy_version FROM tenants WHERE id = $1", tenant_id) == 2


async def test_a_notice_record_built_at_intake_equals_one_built_from_the_stored_rows(
    make_tenant: Any, db: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    [case] = (await _notice(s, s["listings"][:1]))["cases"]
    case_id = _uuid(case["id"])
    async with db.uow(await tenant.tenant_id(db)) as uow:
        in_force = await uow.policies.in_force()
        stored = await uow.conn.fetchrow("SELECT record, redactions FROM disclosures WHERE case_id = $1 AND kind = $2",
                                         case_id, DisclosureKind.NOTICE.value)
        facts = (await uow.disclosures.case_facts([case_id]))[case_id]
    policy = in_force.policy.disclosure
    rebuilt = public_record(policy, DisclosureDraft(DisclosureKind.NOTICE, case_id, case_id,
                                                    _case_facts(DisclosureKind.NOTICE, facts, None)), rules_for(policy))
    assert stored is not None
    assert stored["record"] == rebuilt.fields
    assert stored["record"]["merchant_name"] == "Shop" and stored["record"]["notifier_name"] == "Brand"
    assert stored["redactions"] == [{"field": r.field, "category": r.category} for r in rebuilt.redactions]


async def test_a_key_stored_meanwhile_by_a_concurrent_request_is_a_typed_conflict(make_tenant: Any, db: Any) -> None:
    """Both requests find the key unused; the later flush waits for the earlier one's key and then fails on
    it: a Conflict for that request, and nothing of it is stored."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    tenant_id = await tenant.tenant_id(db)
    principal = Principal(tenant_id, new_id(), frozenset({Role.INTEGRATION}))

    def item(listing: str) -> NoticeInput:
        return NoticeInput(complainant_id=_uuid(s["holder"]), ip_right_id=_uuid(s["right"]), reason_code="counterfeit",
                           listing_external_ids=(listing,), explanation="Counterfeit.",
                           evidence=(Evidence("registration_certificate", uri="https://e.example/c.pdf"),
                                     Evidence("test_purchase", uri="https://e.example/t.pdf")),
                           statements=Statements(good_faith=True, accuracy=True), idempotency_key="same-key")

    a_read, b_read = asyncio.Event(), asyncio.Event()

    async def submit(listing: str, mine: asyncio.Event, other: asyncio.Event) -> Exception | None:
        try:
            async with db.uow(tenant_id) as uow:
                if mine is b_read:
                    await a_read.wait()
                [result] = await submit_notices(uow, principal, [item(listing)])
                assert result.error is None and not result.replayed  # the key looked unused to both
                mine.set()
                await other.wait()  # neither writes before both have read
        except Conflict as exc:
            return exc
        return None

    outcomes = await asyncio.wait_for(
        asyncio.gather(submit("sku-0", a_read, b_read), submit("sku-1", b_read, a_read)), 10)
    errors = [e for e in outcomes if e is not None]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], Conflict) and errors[0].field == "idempotencyKey"
    async with db.uow(tenant_id) as uow:
        assert await uow.conn.fetchval("SELECT count(*) FROM notices") == 1
        assert await uow.conn.fetchval("SELECT count(*) FROM cases") == 1
        assert await uow.conn.fetchval("SELECT count(*) FROM idempotency_keys") == 1


async def test_a_notice_applies_an_account_rule_change_its_first_look_finds(make_tenant: Any) -> None:
    """A received notice moves no figure the trust rule reads, so its notifier is looked at without a lock;
    when that look finds the rule now grants trust (here: trust was switched on after the notifier earned
    it), the change is made, under the lock, in the notice's own transaction."""
    tenant = await make_tenant(mode="SANDBOX", country="CN")

    def trust(enabled: bool) -> Any:
        def change(doc: dict[str, Any]) -> None:
            doc["trust"].update({"enabled": enabled, "min_notices": 2, "min_acceptance_rate": 0.9})
        return change

    await _publish_changed(tenant, trust(False))
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    for case in (await _notice(s, s["listings"][:2]))["cases"]:
        accepted = await s["reviewer"]("mutation($id: ID!) { acceptCase(input: {caseId: $id}) { __typename } }",
                                       {"id": case["id"]})
        assert accepted["acceptCase"]["__typename"] == "CaseSuccess", accepted
    assert (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]["trusted"] is False

    await _publish_changed(tenant, trust(True))
    await _notice(s, s["listings"][2:3])
    assert (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]["trusted"] is True
    kinds = [(e["node"]["kind"], e["node"]["outcome"])
             for e in (await s["reviewer"](DECISIONS, {"id": s["holder"]}))["decisions"]["edges"]]
    assert kinds == [("notifier.trust", "trusted")]


async def test_a_notice_costs_at_most_eight_statements(make_tenant: Any, spans: Any) -> None:
    """The budget the submitNotice figure rests on (decision 0012): authentication, BEGIN, the tenant switch,
    the intake read, notices with cases, staged writes with the chain-head lock, decisions, COMMIT (with a
    selection that needs no reads of its own, as the benchmark's)."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)

    async def submit(listing: str) -> None:
        result = (await s["integration"](MINIMAL_SUBMIT, {"input": {
            "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
            "listingExternalIds": [listing], "idempotencyKey": listing,
            "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"},
                         {"kind": "test_purchase", "uri": "https://e.example/t.pdf"}],
            "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]
        assert result["__typename"] == "SubmitNoticeSuccess", result

    await submit(s["listings"][0])  # warm: a connection's first request may introspect types
    spans.clear()
    await submit(s["listings"][1])
    finished = spans.get_finished_spans()
    [request] = [sp for sp in finished if sp.name == "POST /graphql"]
    statements = [(sp.attributes or {}).get("db.statement", "")[:60] for sp in finished
                  if sp.context.trace_id == request.context.trace_id
                  and (sp.attributes or {}).get("db.system") == "postgresql"]
    assert 5 <= len(statements) <= 8, statements


async def test_intake_reads_the_rows_it_looks_up_not_the_tenants_history(make_tenant: Any, db: Any) -> None:
    """A tenant with a long history (here written in the same transaction, so no statistics have seen it, as
    for a new tenant growing) costs intake no more than an empty one: every key is one index probe (0011)."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    tenant_id = await tenant.tenant_id(db)
    holder = _uuid(s["holder"])
    async with db.uow(tenant_id) as uow:
        conn = uow.conn
        merchant = await conn.fetchval("SELECT merchant_id FROM listings WHERE external_id = $1", s["listings"][0])
        await conn.execute(
            "INSERT INTO idempotency_keys (tenant_id, operation, key, request_hash, result)"
            " SELECT $1, 'submitNotice', 'old-' || n, '\\x00', '{}' FROM generate_series(1, 3000) AS n", tenant_id)
        await conn.execute(
            "INSERT INTO listings (tenant_id, id, external_id, url, merchant_id, title)"
            " SELECT $1, gen_random_uuid(), 'old-' || n, 'https://m.example/old', $2, 'Old' FROM generate_series(1, 3000) n",
            tenant_id, merchant)
        await conn.execute(
            "INSERT INTO notifier_days (tenant_id, party_id, day, notices)"
            " SELECT $1, gen_random_uuid(), current_date - (n % 20), 1 FROM generate_series(1, 3000) AS n", tenant_id)
        stats = ("SELECT relname, seq_scan, seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables"
                 " WHERE relname IN ('idempotency_keys', 'listings', 'notifier_days', 'parties')")
        before = {r["relname"]: r for r in await conn.fetch(stats)}
        now = uow.clock.now()
        refs = await uow.intake.references(
            "submitNotice", ["old-7", "new-1"], [holder], [_uuid(s["right"])], [], s["listings"], now,
            (now - timedelta(days=30)).date())
        after = {r["relname"]: r for r in await conn.fetch(stats)}
    assert set(refs.replays) == {"old-7"}
    assert set(refs.listings_by_external_id) == set(s["listings"])
    assert set(refs.merchant_names) == {merchant}
    fetched = {t: after[t]["idx_tup_fetch"] - before[t]["idx_tup_fetch"] for t in after}
    assert fetched["idempotency_keys"] <= 1, fetched  # the one stored key asked for, not the 3,000
    assert fetched["listings"] <= 2, fetched
    assert fetched["notifier_days"] == 0, fetched  # the holder has no days; 3,000 other notifiers' days untouched
    assert fetched["parties"] <= 2, fetched
    assert all(after[t]["seq_tup_read"] == before[t]["seq_tup_read"] for t in after)
