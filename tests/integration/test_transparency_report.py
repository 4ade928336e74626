"""The transparency report over data made through the real flows (GraphQL, sandbox test clock): exact
counts, and median / p90 time from notice to action computed again here from the raw rows."""

from __future__ import annotations

import csv
import io
import math
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.types import global_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.e2e.test_preset_flows import ADVANCE, DECLARE, PARTY, REVIEW_DECLARATION, RIGHT, SUBMIT, _seed
from tests.e2e.test_trust_flows import APPEAL, DECIDE_APPEAL, REJECT, SETTLE, _applied, _publish_changed

REPORT = """query($from: Date!, $to: Date!) { transparencyReport(from: $from, to: $to) {
  from to timezone notices
  noticesByRightType { rightType count }
  noticesBySource { trusted other }
  measuresApplied { type count }
  declarations { received accepted rejected pending }
  caseOutcomes { rejected restored upheld settled withdrawn }
  accountSuspensions { manifestlyIllegalContent unfoundedNotices unfoundedComplaints }
  appeals { filed upheld rejected pending }
  automatedDecisions { decisions automated share }
  timeToAction { actionedNotices medianSeconds p90Seconds }
  reviewSla { hours notices handled withinSla share }
  statementsOfReasons { pending submitted rejected duplicate } } }"""
HOUR = 3600


def _percentile_cont(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


async def _file(s: dict[str, Any], holder: str, right: str, listings: list[str]) -> list[str]:
    result = (await s["integration"](SUBMIT, {"input": {
        "complainantId": holder, "ipRightId": right, "reasonCode": "counterfeit", "listingExternalIds": listings,
        "explanation": "Infringing listing.", "statements": {"accuracy": True, "goodFaith": True},
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"},
                     {"kind": "test_purchase", "uri": "https://e.example/t.pdf"}]}}))["submitNotice"]
    assert result["__typename"] == "SubmitNoticeSuccess", result
    return [c["id"] for c in result["cases"]]


async def _advance(tenant: TenantHandle, hours: float) -> None:
    await tenant.admin(ADVANCE, {"s": hours * HOUR})


async def _reject(s: dict[str, Any], case_id: str, unfounded: bool = False) -> None:
    result = (await s["reviewer"](REJECT, {"input": {"caseId": case_id, "manifestlyUnfounded": unfounded,
                                                     "reasons": [{"code": "no_infringement"}]}}))["rejectCase"]
    assert result["case"]["state"] == "CLOSED", result


async def _declare(s: dict[str, Any], case_id: str, accept: bool) -> None:
    declared = (await s["integration"](DECLARE, {"input": {
        "caseIds": [case_id], "grounds": "NOT_INFRINGING", "explanation": "Genuine goods.",
        "statements": {"goodFaith": True, "accuracy": True},
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/i.pdf"}]}}))["submitDeclaration"]
    assert declared["__typename"] == "DeclarationSuccess", declared
    review = {"declarationId": declared["declaration"]["id"], "accept": accept}
    if not accept:
        review["reasons"] = [{"code": "insufficient_evidence"}]
    reviewed = (await s["reviewer"](REVIEW_DECLARATION, {"input": review}))["reviewDeclaration"]
    assert reviewed["__typename"] == "DeclarationSuccess", reviewed


async def _decision(db: Any, tenant: TenantHandle, kind: str, subject: str | None = None) -> str:
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        decision_id = await conn.fetchval(
            "SELECT d.id FROM decisions d WHERE d.kind = $1 AND ($2::text IS NULL OR d.subject_id::text = $2"
            " OR d.case_id::text = $2) ORDER BY seq DESC LIMIT 1", kind, subject)
    assert decision_id is not None, kind
    return global_id("Decision", decision_id)


def _raw_id(global_value: str) -> str:
    from strawberry import relay

    return relay.GlobalID.from_id(global_value).node_id


async def test_transparency_report_over_seeded_flows(make_tenant: Any, db: Any, http: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Europe/Berlin", country="DE")  # eu-dsa: SLA 48 h

    def reportable(doc: dict[str, Any]) -> None:
        doc["trust"].update({"min_notices": 2, "min_acceptance_rate": 0.9})  # trusted after two accepted cases
        doc["suspension"]["repeat_infringer"]["strikes"] = 1  # warning at the 1st strike, suspension at the 2nd
        doc["suspension"]["abusive_notifier"]["min_notices"] = 1  # likewise for unfounded notices
        doc["disclosure"]["dsa_statements_of_reasons"]["enabled"] = False

    await _publish_changed(tenant, reportable)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=8)
    integration: GraphQLClient = s["integration"]
    brand, trademark, sku = s["holder"], s["right"], s["listings"]
    copyright_right = (await integration(RIGHT, {"input": {"holderId": brand, "type": "COPYRIGHT",
                                                           "registrationNumber": "C-1", "jurisdiction": "EU"}}))
    copyright_id = copyright_right["registerIpRight"]["ipRight"]["id"]
    troll = (await integration(PARTY, {"input": {"kind": "RIGHTS_HOLDER", "externalRef": "troll",
                                                 "displayName": "Troll", "personalData": {
                                                     "legalName": "Troll GmbH", "email": "t@troll.example"}}}))
    troll_id = troll["upsertParty"]["party"]["id"]
    troll_right = (await integration(RIGHT, {"input": {"holderId": troll_id, "type": "TRADEMARK",
                                                       "registrationNumber": "TM-9", "jurisdiction": "EU"}}))
    troll_right_id = troll_right["registerIpRight"]["ipRight"]["id"]
    start = datetime.fromisoformat((await tenant.admin("{ viewer { tenant { now } } }"))["viewer"]["tenant"]["now"])

    # N1 (trademark, 2 listings): both accepted and applied after 2 h; the brand becomes trusted.
    l0, l1 = await _file(s, brand, trademark, sku[0:2])
    await _advance(tenant, 2)
    await _applied(s, l0)
    await _applied(s, l1)
    # N2 (copyright, trusted): applied after 10 h. N5 (copyright, trusted): applied after 30 h.
    [l2] = await _file(s, brand, copyright_id, sku[2:3])
    await _advance(tenant, 10)
    await _applied(s, l2)
    [l5] = await _file(s, brand, copyright_id, sku[5:6])
    await _advance(tenant, 30)
    await _applied(s, l5)
    # N4 (trademark, trusted): never handled. N3 (trademark, trusted): rejected after 60 h (SLA missed).
    await _file(s, brand, trademark, sku[4:5])
    [l3] = await _file(s, brand, trademark, sku[3:4])
    await _advance(tenant, 60)
    await _reject(s, l3)
    # T1, T2: manifestly unfounded -> the notifier is warned, then suspended (unfounded notices).
    [l6] = await _file(s, troll_id, troll_right_id, sku[6:7])
    await _reject(s, l6, unfounded=True)
    [l7] = await _file(s, troll_id, troll_right_id, sku[7:8])
    await _reject(s, l7, unfounded=True)
    # Declarations: upheld on L5 (eu-dsa: restored at once), rejected on L2.
    await _declare(s, l5, accept=True)
    await _declare(s, l2, accept=False)
    # The merchant settles L0 then L1: warning, then suspension as a repeat infringer.
    for case_id in (l0, l1):
        assert (await integration(SETTLE, {"id": case_id}))["settleCase"]["case"]["state"] == "CLOSED"
    # Appeals: the brand against the rejection of N3 (rejected); the notifier against its suspension (upheld).
    appeal = (await integration(APPEAL, {"input": {"decisionId": await _decision(db, tenant, "case.reject", _raw_id(l3)),
                                                   "appellantId": brand, "grounds": "the mark is registered"}}))
    assert (await tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal["fileAppeal"]["appealId"],
                                                         "uphold": False}}))["decideAppeal"]["outcome"] == "rejected"
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        troll_suspension = await conn.fetchval(
            "SELECT id FROM account_restrictions WHERE reason = 'unfounded_notices' AND kind = 'suspension'")
    appeal = (await integration(APPEAL, {"input": {
        "decisionId": await _decision(db, tenant, "account.suspension", str(troll_suspension)),
        "appellantId": troll_id, "grounds": "the notices were founded"}}))
    assert (await tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal["fileAppeal"]["appealId"],
                                                         "uphold": True}}))["decideAppeal"]["outcome"] == "upheld"

    berlin = ZoneInfo("Europe/Berlin")
    period = {"from": (start.astimezone(berlin).date() - timedelta(days=1)).isoformat(),
              "to": (start.astimezone(berlin).date() + timedelta(days=10)).isoformat()}
    auditor = await tenant.client("auditor")
    r = (await auditor(REPORT, period))["transparencyReport"]

    assert (r["from"], r["to"], r["timezone"], r["notices"]) == (period["from"], period["to"], "Europe/Berlin", 7)
    assert {x["rightType"]: x["count"] for x in r["noticesByRightType"]} == {
        "TRADEMARK": 5, "COPYRIGHT": 2, "PATENT": 0, "DESIGN": 0, "GEOGRAPHICAL_INDICATION": 0, "TRADE_SECRET": 0}
    assert r["noticesBySource"] == {"trusted": 4, "other": 3}
    assert {x["type"]: x["count"] for x in r["measuresApplied"] if x["count"]} == {"REMOVE": 4}
    assert r["declarations"] == {"received": 2, "accepted": 1, "rejected": 1, "pending": 0}
    assert r["caseOutcomes"] == {"rejected": 3, "restored": 1, "upheld": 0, "settled": 2, "withdrawn": 0}
    assert r["accountSuspensions"] == {"manifestlyIllegalContent": 1, "unfoundedNotices": 1, "unfoundedComplaints": 0}
    assert r["appeals"] == {"filed": 2, "upheld": 1, "rejected": 1, "pending": 0}
    # 4 measure requests + 3 rejections by people; 2 warnings + 2 suspensions by the account rules.
    assert r["automatedDecisions"] == {"decisions": 11, "automated": 4, "share": 4 / 11}
    assert r["reviewSla"] == {"hours": 48, "notices": 7, "handled": 6, "withinSla": 5, "share": 5 / 7}
    assert r["statementsOfReasons"] == {"pending": 0, "submitted": 0, "rejected": 0, "duplicate": 0}

    # Median and p90 again, from the raw rows: notice received -> first applied measure of any of its cases.
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        rows = await conn.fetch(
            "SELECT n.id, n.received_at, m.applied_at FROM notices n JOIN cases c ON c.notice_id = n.id"
            " JOIN measures m ON m.case_id = c.id WHERE m.applied_at IS NOT NULL")
    first: dict[uuid.UUID, float] = {}
    for row in rows:
        seconds = (row["applied_at"] - row["received_at"]).total_seconds()
        first[row["id"]] = min(first.get(row["id"], seconds), seconds)
    durations = list(first.values())
    assert len(durations) == 3
    median, p90 = _percentile_cont(durations, 0.5), _percentile_cont(durations, 0.9)
    action = r["timeToAction"]
    assert action["actionedNotices"] == 3
    assert math.isclose(action["medianSeconds"], median, abs_tol=1e-3)
    assert math.isclose(action["p90Seconds"], p90, abs_tol=1e-3)
    assert abs(median - 10 * HOUR) < 120 and abs(p90 - 26 * HOUR) < 120  # 2 h, 10 h, 30 h

    # The same figures as CSV, with the same API-key auth.
    response = await http.get("/reports/transparency.csv", params=period,
                              headers={"authorization": f"Bearer {auditor.key}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["section", "key", "value"]
    values = {(row[0], row[1]): row[2] for row in table[1:]}
    assert values[("notices", "total")] == "7"
    assert values[("notices_by_right_type", "trademark")] == "5"
    assert values[("notices_by_source", "trusted")] == "4"
    assert values[("measures_applied_by_type", "remove")] == "4"
    assert values[("account_suspensions", "manifestly_illegal_content")] == "1"
    assert values[("account_suspensions", "unfounded_complaints")] == "0"
    assert values[("appeals", "upheld")] == "1"
    assert values[("review_sla", "within_sla")] == "5"
    assert math.isclose(float(values[("time_to_action", "median_seconds")]), median, abs_tol=1e-3)
    assert math.isclose(float(values[("time_to_action", "p90_seconds")]), p90, abs_tol=1e-3)
    assert math.isclose(float(values[("automated_decisions", "share")]), 4 / 11, abs_tol=1e-6)

    # A period before anything happened is empty; shares and times are then unknown, not zero.
    before = {"from": "2020-01-01", "to": (start.astimezone(berlin).date() - timedelta(days=2)).isoformat()}
    empty = (await auditor(REPORT, before))["transparencyReport"]
    assert (empty["notices"], empty["reviewSla"]["share"], empty["automatedDecisions"]["share"]) == (0, None, None)
    assert empty["timeToAction"] == {"actionedNotices": 0, "medianSeconds": None, "p90Seconds": None}


async def test_report_access_and_period_checks(make_tenant: Any, http: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Europe/Berlin", country="DE")
    reviewer = await tenant.client("reviewer")
    denied = await reviewer.raw(REPORT, {"from": "2026-01-01", "to": "2026-01-31"})
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    backwards = await tenant.admin.raw(REPORT, {"from": "2026-02-01", "to": "2026-01-31"})
    assert backwards.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    url = "/reports/transparency.csv"
    month = {"from": "2026-01-01", "to": "2026-01-31"}
    assert (await http.get(url, params=month)).status_code == 401
    forbidden = await http.get(url, params=month, headers={"authorization": f"Bearer {reviewer.key}"})
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    admin = {"authorization": f"Bearer {tenant.admin.key}"}
    bad = await http.get(url, params={"from": "2026-13-01", "to": "2026-01-31"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "from"
    assert (await http.get(url, params={"from": "2026-01-01"}, headers=admin)).status_code == 400
    ok = await http.get(url, params=month, headers=admin)
    assert ok.status_code == 200 and ("notices", "total", "0") in {
        tuple(row) for row in csv.reader(io.StringIO(ok.text))}
