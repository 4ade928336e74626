"""Appeals through GraphQL: a decision has at most one appeal pending or upheld (migration 0014) and is reversed at
most once, only by the party it acts against."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from strawberry import relay
from yoyo import get_backend, read_migrations

from infra.migrate import MIGRATIONS_DIR, _yoyo_url
from tests.conftest import TenantHandle, migrate_only, scratch_database
from tests.e2e.test_preset_flows import ADVANCE, CASE, _fire_due_deadlines, _seed
from tests.e2e.test_trust_flows import (
    REJECT,
    STATS,
    _applied,
    _notice,
    _party_id,
)

FILE = """mutation($input: FileAppealInput!) { fileAppeal(input: $input) {
  __typename ... on AppealFiled { appealId } ... on Error { code message field } } }"""
DECIDE = """mutation($input: DecideAppealInput!) { decideAppeal(input: $input) {
  __typename ... on AppealDecided { outcome } ... on Error { code message field } } }"""
DECISIONS = """query($id: ID!) { decisions(subjectId: $id, first: 100) { edges { node {
  id kind outcome reasons { code } } } } }"""


async def _decisions(s: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    edges = (await s["reviewer"](DECISIONS, {"id": case_id}))["decisions"]["edges"]
    return [e["node"] for e in edges]


async def _decision_id(s: dict[str, Any], case_id: str, kind: str) -> str:
    [decision_id] = [d["id"] for d in await _decisions(s, case_id) if d["kind"] == kind]
    return decision_id


async def _file(s: dict[str, Any], decision_id: str, appellant: str) -> dict[str, Any]:
    filed: dict[str, Any] = (await s["integration"](FILE, {"input": {
        "decisionId": decision_id, "appellantId": appellant, "grounds": "The goods are genuine."}}))["fileAppeal"]
    return filed


async def _decide(tenant: TenantHandle, appeal_id: str, uphold: bool) -> dict[str, Any]:
    # The admin, not the reviewer who took the decisions appealed here.
    decided: dict[str, Any] = (await tenant.admin(DECIDE, {"input": {"appealId": appeal_id,
                                                                      "uphold": uphold}}))["decideAppeal"]
    return decided


async def _case_decisions(s: dict[str, Any], case_id: str) -> list[str]:
    return [d["kind"] for d in await _decisions(s, case_id) if d["kind"].startswith("case.")]


async def test_a_decision_has_one_appeal_standing_and_is_reversed_once(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    takedown = await _decision_id(s, case["id"], "case.request_measures")
    merchant = await _party_id(s["integration"], "shop")

    first = await _file(s, takedown, merchant)
    assert first["__typename"] == "AppealFiled", first
    again = await _file(s, takedown, merchant)
    assert (again["__typename"], again.get("field")) == ("ConflictError", "decisionId")
    assert "pending" in again["message"]
    # A rejected appeal leaves the decision open to another one.
    assert (await _decide(tenant, first["appealId"], uphold=False))["outcome"] == "rejected"
    second = await _file(s, takedown, merchant)
    assert second["__typename"] == "AppealFiled", second
    assert (await _decide(tenant, second["appealId"], uphold=True))["outcome"] == "upheld"
    third = await _file(s, takedown, merchant)
    assert (third["__typename"], third.get("field")) == ("ConflictError", "decisionId")
    assert "upheld" in third["message"]

    assert (await s["integration"](CASE, {"id": case["id"]}))["node"]["state"] == "CLOSED"
    assert (await _case_decisions(s, case["id"])).count("case.reverse_on_appeal") == 1
    stats = (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]
    assert (stats["cases"], stats["accepted"], stats["rejected"], stats["acceptanceRate"]) == (1, 1, 1, 0.5)


async def test_migration_0014_supersedes_the_appeals_that_repeated_a_standing_one() -> None:
    """Appeals filed before the fix: per decision, the upheld one (else the earliest pending) stays; the
    repeats become `superseded`, so the unique index can hold. Rolled back, they are what they were."""
    async with scratch_database("nh_0014") as url:
        migrate_only(url, lambda migration_id: migration_id < "0014_one_appeal_per_decision")
        backend = get_backend(_yoyo_url(url))
        ours = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id == "0014_one_appeal_per_decision")
        conn = await asyncpg.connect(url)
        tenant, repeated, single = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        start = datetime.fromisoformat("2026-03-01T00:00:00+00:00")
        rows = {"early": (repeated, "filed", None), "won": (repeated, "upheld", start),
                "again": (repeated, "upheld", start + timedelta(days=1)), "lost": (repeated, "rejected", start),
                "late": (repeated, "filed", None), "alone": (single, "filed", None)}
        ids = {key: uuid.uuid4() for key in rows}
        for n, (key, (decision, status, decided_at)) in enumerate(rows.items()):
            await conn.execute(
                "INSERT INTO appeals (tenant_id, id, decision_id, appellant_id, grounds, status, filed_at, decided_at)"
                " VALUES ($1, $2, $3, $4, 'g', $5, $6, $7)",
                tenant, ids[key], decision, uuid.uuid4(), status, start - timedelta(days=10 - n), decided_at)

        async def statuses() -> dict[str, str]:
            found = {r["id"]: r["status"] for r in await conn.fetch("SELECT id, status FROM appeals")}
            return {key: found[ids[key]] for key in rows}

        with backend.lock():
            backend.apply_migrations(backend.to_apply(ours))
        assert await statuses() == {"early": "superseded", "won": "upheld", "again": "superseded",
                                    "lost": "rejected", "late": "superseded", "alone": "filed"}
        try:
            await conn.execute("INSERT INTO appeals (tenant_id, id, decision_id, appellant_id, grounds, status,"
                               " filed_at) VALUES ($1, $2, $3, $4, 'g', 'filed', now())",
                               tenant, uuid.uuid4(), single, uuid.uuid4())
            raise AssertionError("a second pending appeal of one decision was stored")
        except asyncpg.UniqueViolationError:
            pass
        with backend.lock():
            backend.rollback_migrations(backend.to_rollback(ours))
        assert await statuses() == {key: status for key, (_, status, _) in rows.items()}
        await conn.close()


async def test_an_appeal_of_a_decision_already_reversed_changes_nothing(make_tenant: Any, db: Any) -> None:
    """cn-ecl: the merchant did not declare within 30 days, so the measures stand: a second takedown decision
    on the same case. Upholding an appeal against either reverses the case; the other has nothing left to undo."""
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    both, other = [c["id"] for c in (await _notice(s, s["listings"]))["cases"]]
    for case_id in (both, other):
        await _applied(s, case_id)
    await tenant.admin(ADVANCE, {"s": 31 * 86400})
    assert await _fire_due_deadlines(db) >= 2
    merchant = await _party_id(s["integration"], "shop")
    takedowns = ("case.request_measures", "case.declaration_deadline_passed")

    # Both decisions of one case are appealed; both appeals are pending when the first is upheld.
    first, second = [await _file(s, await _decision_id(s, both, kind), merchant) for kind in takedowns]
    assert (first["__typename"], second["__typename"]) == ("AppealFiled", "AppealFiled")
    assert (await _decide(tenant, first["appealId"], uphold=True))["outcome"] == "upheld"
    reversed_once = await _case_decisions(s, both)
    assert reversed_once[-3:] == ["case.reopen_on_appeal", "case.reject", "case.close"]
    stats = (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]
    assert (stats["accepted"], stats["rejected"]) == (2, 1)

    assert (await _decide(tenant, second["appealId"], uphold=True))["outcome"] == "upheld"
    assert await _case_decisions(s, both) == reversed_once  # not reopened and rejected again
    last = (await _decisions(s, both))[-1]
    assert (last["kind"], last["outcome"]) == ("appeal.decide", "upheld")
    assert "already_reversed" in [r["code"] for r in last["reasons"]]
    assert (await s["integration"](CASE, {"id": both}))["node"]["state"] == "CLOSED"
    assert (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]["rejected"] == 1

    # Once a case is reversed, its other takedown decision is not open to appeal any more.
    lapsed = await _file(s, await _decision_id(s, other, takedowns[1]), merchant)
    assert (await _decide(tenant, lapsed["appealId"], uphold=True))["outcome"] == "upheld"
    late = await _file(s, await _decision_id(s, other, takedowns[0]), merchant)
    assert (late["__typename"], late.get("field")) == ("ConflictError", "decisionId")
    assert "reversed" in late["message"]


async def test_appeals_filed_or_upheld_at_the_same_time_reverse_once(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    await tenant.admin(ADVANCE, {"s": 31 * 86400})
    assert await _fire_due_deadlines(db) >= 1
    merchant = await _party_id(s["integration"], "shop")
    requested, lapsed = [await _decision_id(s, case["id"], kind)
                         for kind in ("case.request_measures", "case.declaration_deadline_passed")]

    filed = await asyncio.gather(*[_file(s, requested, merchant) for _ in range(4)])
    assert sorted(f["__typename"] for f in filed) == ["AppealFiled"] + ["ConflictError"] * 3
    [first] = [f for f in filed if f["__typename"] == "AppealFiled"]
    second = await _file(s, lapsed, merchant)
    decided = await asyncio.gather(*[_decide(tenant, a["appealId"], uphold=True) for a in (first, second)])
    assert [(d["__typename"], d.get("outcome")) for d in decided] == [("AppealDecided", "upheld")] * 2
    kinds = await _case_decisions(s, case["id"])
    assert (kinds.count("case.reopen_on_appeal"), kinds.count("case.reject")) == (1, 1)
    assert (await s["reviewer"](STATS, {"id": s["holder"]}))["notifierStats"]["rejected"] == 1


async def test_only_the_party_a_decision_acts_against_appeals_it(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    taken_down, rejected = [c["id"] for c in (await _notice(s, s["listings"]))["cases"]]
    await _applied(s, taken_down)
    await s["reviewer"](REJECT, {"input": {"caseId": rejected, "reasons": [{"code": "insufficient_evidence"}]}})
    takedown = await _decision_id(s, taken_down, "case.request_measures")
    rejection = await _decision_id(s, rejected, "case.reject")
    merchant, complainant = await _party_id(s["integration"], "shop"), s["holder"]

    # The complainant asked for the takedown: winning an appeal against it would lift it.
    own_takedown = await _file(s, takedown, complainant)
    assert (own_takedown["__typename"], own_takedown.get("field")) == ("InvalidInputError", "appellantId")
    # The merchant's listing stays up after a rejection: nothing to complain about.
    not_its_rejection = await _file(s, rejection, merchant)
    assert (not_its_rejection["__typename"], not_its_rejection.get("field")) == ("InvalidInputError", "appellantId")
    nobody = await _file(s, takedown, relay.to_base64("Party", uuid.uuid4()))
    assert (nobody["__typename"], nobody.get("field")) == ("InvalidInputError", "appellantId")

    assert (await _file(s, takedown, merchant))["__typename"] == "AppealFiled"
    assert (await _file(s, rejection, complainant))["__typename"] == "AppealFiled"
    assert (await s["integration"](CASE, {"id": taken_down}))["node"]["state"] == "MEASURES_APPLIED"
