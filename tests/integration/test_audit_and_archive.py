"""Audit trail and archive end to end on the real stack: explainDecision, verifyAuditTrail after tampering
(as the database owner) with decision rows and bundle files, archiving into content-addressed bundles,
purging after retention on the sandbox clock, `noticehub verify` exit codes, and an S3-compatible store
(a local moto server process)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from strawberry import relay

from tests.conftest import GraphQLClient, TenantHandle
from tests.e2e.test_preset_flows import ACCEPT, ADVANCE, CONFIRM, SUBMIT, _seed, cn_notice, submitted_cases

# The API and the CLI find the archive through settings: point them at a directory of this run (set at
# collection, before the session's settings are read).
_ARCHIVE_DIR = Path(tempfile.mkdtemp(prefix="noticehub-archive-test-"))
os.environ.setdefault("NOTICEHUB_ARCHIVE_URL", f"file://{_ARCHIVE_DIR}")

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400

SETTLE = """mutation($input: CaseActionInput!) { settleCase(input: $input) {
  __typename ... on CaseSuccess { case { id state timeline { id kind outcome } } } ... on Error { code message } } }"""
EXPLAIN = """query($id: ID!) { explainDecision(id: $id) {
  summary actor actorKind automated automatedRule policyVersion policyRegime reasonText traceId spanId
  decidedAt subjectType subjectId caseState
  rules { ruleId passed inputs } reasons { code text }
  chain { seq hash prevHash predecessorSeq predecessorHash contentVerifies linkVerifies verifies }
  decision { id kind outcome seq } case { id state } policy { version regime }
  archiveBundle { sha256 uri } } }"""
VERIFY = """query($bundles: Boolean! = true) { verifyAuditTrail(includeBundles: $bundles) {
  ok headSeq headHash decisionsChecked bundlesChecked bundlesFailed checkedAt
  chainBreak { seq reason decisionId foundSeq expectedHash storedHash description }
  bundleBreak { bundleId caseId sha256 actualSha256 uri problem decisionId detail } } }"""
ARCHIVE = """mutation($limit: Int!) { archiveDueCases(input: {limit: $limit}) {
  __typename ... on ArchiveDueCasesSuccess { archived bundles { id caseId sha256 uri size retentionUntil decisionId } }
  ... on Error { code message } } }"""
BUNDLES = "{ archiveBundles(first: 50) { edges { node { id caseId sha256 purgedAt verifiedAt verifiedOk } } } }"
TIMELINE = "query($id: ID!) { node(id: $id) { ... on Case { id state timeline { id kind outcome actor } } } }"


async def _closed_cases(tenant: TenantHandle, listings: int = 2) -> list[dict[str, Any]]:
    """A notice over `listings` listings; each case accepted, its measure applied, then settled (-> closed)."""
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=listings)
    integration: GraphQLClient = s["integration"]
    reviewer: GraphQLClient = s["reviewer"]
    submitted = (await integration(SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeits of our mark.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf", "sha256": "b" * 64},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    closed = []
    for case in submitted["cases"]:
        accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
        await integration(CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
        settled = (await integration(SETTLE, {"input": {"caseId": case["id"], "reason": "Merchant accepted."}}))
        assert settled["settleCase"]["case"]["state"] == "CLOSED", settled
        closed.append(settled["settleCase"]["case"])
    return closed


def _store(settings: Any) -> Any:
    from infra.archive_store import store_from_settings

    return store_from_settings(settings)


def _file_for(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(uri.removeprefix("file://"))


async def _decision_rows(owner_conn: Any, tenant_id: UUID) -> list[Any]:
    return await owner_conn.fetch("SELECT seq, id, hash, prev_hash FROM decisions WHERE tenant_id = $1 ORDER BY seq",
                                  tenant_id)


# ----- explainDecision ---------------------------------------------------------------------------


async def test_explain_decision_answers_why_the_listing_came_down(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    [case, _] = await _closed_cases(tenant)
    auditor = await tenant.client("auditor")
    timeline = {d["outcome"]: d for d in case["timeline"]}
    takedown = timeline["measures_requested"]

    x = (await auditor(EXPLAIN, {"id": takedown["id"]}))["explainDecision"]
    assert x["decision"]["id"] == takedown["id"]
    assert x["actorKind"] == "apikey" and x["actor"].startswith("apikey:")
    assert x["automated"] is False and x["automatedRule"] is None
    assert (x["policyVersion"], x["policyRegime"]) == (1, "cn-ecl")
    assert x["policy"] == {"version": 1, "regime": "cn-ecl"}
    assert x["traceId"] and len(x["traceId"]) == 32 and x["spanId"]
    assert x["subjectType"] == "case" and x["subjectId"] == case["id"]
    assert x["caseState"] == "CLOSED" and x["case"] == {"id": case["id"], "state": "CLOSED"}
    proof = x["chain"]
    assert proof["verifies"] and proof["contentVerifies"] and proof["linkVerifies"]
    assert proof["predecessorSeq"] == proof["seq"] - 1 and proof["predecessorHash"] == proof["prevHash"]
    assert "measures_requested" in x["summary"] and "cn-ecl" in x["summary"]
    assert x["archiveBundle"] is None

    # The automated intake decision: the rule ids with the inputs they saw.
    intake = next(d for d in case["timeline"] if d["outcome"] == "under_review")
    y = (await auditor(EXPLAIN, {"id": intake["id"]}))["explainDecision"]
    assert y["automated"] is True and y["actorKind"] == "automated"
    rules = {r["ruleId"]: r for r in y["rules"]}
    assert "notices.required_evidence.trademark" in rules
    assert all(isinstance(r["inputs"], dict) for r in y["rules"])
    assert "Rules:" in y["summary"]

    # Raw UUIDs work too; the chain proof of seq 1 links to the genesis hash.
    tenant_id = await tenant.tenant_id(db)
    async with db.uow(tenant_id) as uow:
        first = await uow.audit.decision_at(1)
    z = (await auditor(EXPLAIN, {"id": str(first.id)}))["explainDecision"]
    assert z["chain"]["predecessorSeq"] is None and z["chain"]["prevHash"] == "00" * 32 and z["chain"]["verifies"]

    # Roles: reviewers and admins may; integrations may not.
    assert (await (await tenant.client("reviewer"))(EXPLAIN, {"id": takedown["id"]}))["explainDecision"]
    integration = await tenant.client("integration")
    denied = (await integration.raw(EXPLAIN, {"id": takedown["id"]})).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = (await auditor.raw(EXPLAIN, {"id": "00000000-0000-7000-8000-000000000000"})).json()
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_explain_decision_shows_a_broken_link(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    rows = await _decision_rows(owner_conn, tenant_id)
    victim = rows[2]
    await owner_conn.execute("UPDATE decisions SET hash = $3 WHERE tenant_id = $1 AND seq = $2",
                             tenant_id, victim["seq"], b"\x01" * 32)
    auditor = await tenant.client("auditor")
    nxt = (await auditor(EXPLAIN, {"id": str(rows[3]["id"])}))["explainDecision"]["chain"]
    assert nxt["contentVerifies"] is True and nxt["linkVerifies"] is False and nxt["verifies"] is False
    own = (await auditor(EXPLAIN, {"id": str(victim["id"])}))["explainDecision"]["chain"]
    assert own["contentVerifies"] is False


async def test_bundle_entries_read_from_rows_match_the_domain_definition(make_tenant: Any, db: Any) -> None:
    from domain.archive import decision_entry
    from infra.archive_repositories import ENTRY_COLS, entry_from_row
    from infra.case_repositories import decision_from_row

    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        rows = await conn.fetch("SELECT * FROM decisions ORDER BY seq")
        entry_rows = await conn.fetch(f"SELECT {ENTRY_COLS} FROM decisions ORDER BY seq")
    assert len(rows) == len(entry_rows) > 5
    for r, e in zip(rows, entry_rows, strict=True):
        assert entry_from_row(str(tenant_id), e) == decision_entry(decision_from_row(r))


# ----- verifyAuditTrail --------------------------------------------------------------------------


async def test_verify_reports_a_changed_decision_at_its_seq(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    await _closed_cases(tenant)
    auditor = await tenant.client("auditor")
    clean = (await auditor(VERIFY))["verifyAuditTrail"]
    assert clean["ok"] is True and clean["chainBreak"] is None
    assert clean["decisionsChecked"] == clean["headSeq"] > 5

    tenant_id = await tenant.tenant_id(db)
    rows = await _decision_rows(owner_conn, tenant_id)
    victim = rows[len(rows) // 2]
    await owner_conn.execute("UPDATE decisions SET reason_text = 'x' WHERE tenant_id = $1 AND seq = $2",
                             tenant_id, victim["seq"])
    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["ok"] is False
    brk = report["chainBreak"]
    assert (brk["seq"], brk["reason"], brk["foundSeq"]) == (victim["seq"], "CONTENT_CHANGED", victim["seq"])
    assert brk["decisionId"] and brk["storedHash"] == bytes(victim["hash"]).hex()
    assert brk["expectedHash"] != brk["storedHash"]
    assert report["decisionsChecked"] == victim["seq"] - 1

    # Admins may verify; reviewers may not.
    assert (await tenant.admin(VERIFY))["verifyAuditTrail"]["ok"] is False
    denied = (await (await tenant.client("reviewer")).raw(VERIFY)).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_verify_reports_a_deleted_decision_as_a_gap(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    rows = await _decision_rows(owner_conn, tenant_id)
    k = len(rows) // 2
    await owner_conn.execute("DELETE FROM decisions WHERE tenant_id = $1 AND seq = $2", tenant_id, rows[k]["seq"])
    report = (await (await tenant.client("auditor"))(VERIFY))["verifyAuditTrail"]
    brk = report["chainBreak"]
    assert brk["reason"] == "SEQUENCE_GAP"
    assert (brk["seq"], brk["foundSeq"]) == (rows[k]["seq"], rows[k + 1]["seq"])
    assert brk["expectedHash"] == bytes(rows[k - 1]["hash"]).hex()  # what the next row should have linked to
    assert brk["storedHash"] == bytes(rows[k + 1]["prev_hash"]).hex()
    assert "missing" in brk["description"]


async def test_verify_reports_a_relinked_decision_and_a_missing_tail(make_tenant: Any, db: Any,
                                                                     owner_conn: Any) -> None:
    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    auditor = await tenant.client("auditor")
    rows = await _decision_rows(owner_conn, tenant_id)
    # Removing the last decision leaves no hole between rows: the chain head shows it.
    await owner_conn.execute("DELETE FROM decisions WHERE tenant_id = $1 AND seq = $2", tenant_id, rows[-1]["seq"])
    brk = (await auditor(VERIFY))["verifyAuditTrail"]["chainBreak"]
    assert (brk["reason"], brk["seq"], brk["decisionId"]) == ("SEQUENCE_GAP", rows[-1]["seq"], None)

    tenant2 = await make_tenant()
    await _closed_cases(tenant2, listings=1)
    tenant2_id = await tenant2.tenant_id(db)
    rows2 = await _decision_rows(owner_conn, tenant2_id)
    await owner_conn.execute("UPDATE decisions SET prev_hash = $3 WHERE tenant_id = $1 AND seq = $2",
                             tenant2_id, rows2[3]["seq"], b"\x02" * 32)
    brk2 = (await (await tenant2.client("auditor"))(VERIFY))["verifyAuditTrail"]["chainBreak"]
    assert (brk2["reason"], brk2["seq"]) == ("LINK_BROKEN", rows2[3]["seq"])
    assert brk2["expectedHash"] == bytes(rows2[2]["hash"]).hex() and brk2["storedHash"] == "02" * 32


async def test_decisions_appended_while_verifying_are_not_breaks(make_tenant: Any, db: Any) -> None:
    from domain.decisions import DecisionDraft
    from domain.services.audit import verify_audit_trail

    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    opened = 0

    @contextlib.asynccontextmanager
    async def uows() -> Any:
        nonlocal opened
        opened += 1
        if opened in (3, 5):  # between pages, another request appends decisions
            async with db.uow(tenant_id) as writer:
                for _ in range(2):
                    writer.decisions.record(DecisionDraft(subject_type="tenant", subject_id=tenant_id, kind="test.noop",
                                                          outcome="ok", actor="operator", automated=False))
        async with db.uow(tenant_id) as uow:
            yield uow

    async with db.uow(tenant_id) as uow:
        before, _ = await uow.audit.chain_head()
    report = await verify_audit_trail(uows, None, page_size=3)
    assert report.ok, report
    assert report.head_seq > before and report.decisions_checked == report.head_seq


async def test_verify_reports_a_row_written_past_the_chain_head(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    """A decision inserted directly (even correctly linked) without moving the chain head is not the log's."""
    from dataclasses import replace

    from domain.decisions import chain_hash
    from infra.case_repositories import decision_from_row

    tenant = await make_tenant()
    await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    async with db.tenant_tx(tenant_id) as conn:
        last = decision_from_row(await conn.fetchrow("SELECT * FROM decisions ORDER BY seq DESC LIMIT 1"))
    forged = replace(last, seq=last.seq + 1, id=uuid4(), kind="case.reopen", outcome="under_review",
                     prev_hash=last.hash)
    forged = replace(forged, hash=chain_hash(last.hash, forged))
    await owner_conn.execute(
        "INSERT INTO decisions (tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome, actor,"
        " automated, policy_version, rules, reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash)"
        " SELECT tenant_id, $2, $3, subject_type, subject_id, case_id, $4, $5, actor, automated, policy_version,"
        " rules, reasons, reason_text, trace_id, span_id, decided_at, $6, $7 FROM decisions"
        " WHERE tenant_id = $1 AND seq = $8",
        tenant_id, forged.seq, forged.id, forged.kind, forged.outcome, forged.prev_hash, forged.hash, last.seq)
    brk = (await (await tenant.client("auditor"))(VERIFY))["verifyAuditTrail"]["chainBreak"]
    assert (brk["reason"], brk["seq"]) == ("LINK_BROKEN", forged.seq)
    assert "beyond the chain head" in brk["description"]


async def test_verify_pages_through_a_long_chain(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    from domain.services.audit import verify_audit_trail

    tenant = await make_tenant()
    await _closed_cases(tenant, listings=3)
    tenant_id = await tenant.tenant_id(db)
    seen: list[int] = []
    report = await verify_audit_trail(partial(db.uow, tenant_id), None, page_size=4,
                                      progress=lambda kind, n: seen.append(n))
    assert report.ok and report.decisions_checked == report.head_seq == sum(seen)
    assert max(seen) == 4 and len(seen) > 3
    rows = await _decision_rows(owner_conn, tenant_id)
    await owner_conn.execute("UPDATE decisions SET outcome = 'rejected' WHERE tenant_id = $1 AND seq = $2",
                             tenant_id, rows[9]["seq"])
    broken = await verify_audit_trail(partial(db.uow, tenant_id), None, page_size=4)
    assert broken.chain_break is not None and broken.chain_break.seq == rows[9]["seq"]


# ----- archiving, bundle verification, purge -----------------------------------------------------


async def test_archive_verify_tamper_and_purge(make_tenant: Any, db: Any, owner_conn: Any, settings: Any) -> None:
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.archiver import Archiver
    from infra.scheduler import Scheduler

    tenant = await make_tenant(mode="SANDBOX")
    cases = await _closed_cases(tenant, listings=2)
    tenant_id = await tenant.tenant_id(db)
    auditor = await tenant.client("auditor")
    store = _store(settings)
    archiver = Archiver(db, store)

    # Not due yet: cn-ecl archives 30 days after the outcome.
    nothing = (await tenant.admin(ARCHIVE, {"limit": 100}))["archiveDueCases"]
    assert nothing == {"__typename": "ArchiveDueCasesSuccess", "archived": 0, "bundles": []}
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    archived = (await tenant.admin(ARCHIVE, {"limit": 100}))["archiveDueCases"]
    assert archived["archived"] == 2
    bundles = {b["caseId"]: b for b in archived["bundles"]}
    assert set(bundles) == {c["id"] for c in cases}
    again = await archiver.run_once([tenant_id])  # already archived: nothing more to do
    assert again.archived == 0

    for case in cases:
        b = bundles[case["id"]]
        path = _file_for(b["uri"])
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == b["sha256"] and path.name == f"{b['sha256']}.json"
        assert len(data) == b["size"]
        doc = json.loads(data)
        assert doc["case_id"] == relay.GlobalID.from_id(case["id"]).node_id
        assert doc["tenant_id"] == str(tenant_id) and doc["format"] == "noticehub.archive-bundle/1"
        assert doc["notice"]["explanation"] == "Counterfeits of our mark."
        # Related records (disclosures, suspensions, appeals, strikes) travel with the case when their tables exist.
        for table in ("disclosures", "strikes"):
            if await owner_conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                stored = await owner_conn.fetchval(f"SELECT count(*) FROM {table} WHERE case_id = $1::uuid",
                                                   doc["case_id"])
                assert len(doc["related"].get(table, [])) == stored
        assert {e["sha256"] for e in doc["evidence_manifest"]} == {"a" * 64, "b" * 64}
        assert [d["outcome"] for d in doc["decisions"]][-2:] == ["settled", "closed"]
        assert doc["chain"]["count"] == len(doc["decisions"]) and doc["chain"]["last_seq"] == doc["decisions"][-1]["seq"]
        assert all(len(d["hash"]) == 64 and len(d["prev_hash"]) == 64 for d in doc["decisions"])
        # The case.archive decision records the bundle's hash and its retention.
        timeline = (await auditor(TIMELINE, {"id": case["id"]}))["node"]["timeline"]
        archive_decision = timeline[-1]
        assert (archive_decision["kind"], archive_decision["outcome"]) == ("case.archive", "archived")
        assert archive_decision["id"] == b["decisionId"]
        x = (await auditor(EXPLAIN, {"id": b["decisionId"]}))["explainDecision"]
        [rule] = x["rules"]
        assert rule["ruleId"] == "retention.archive_after_days" and rule["passed"] is True
        assert rule["inputs"]["bundle_sha256"] == b["sha256"] and rule["inputs"]["archive_after_days"] == 30
        assert x["archiveBundle"]["sha256"] == b["sha256"] and x["chain"]["verifies"]
        assert x["automatedRule"] == "retention.archive_after_days"

    # A bundle is never overwritten.
    from domain.archive import bundle_key

    some = next(iter(bundles.values()))
    assert await store.put_if_absent(bundle_key(tenant_id, some["sha256"]), b"other bytes") is False
    purge_rows = await owner_conn.fetch(
        "SELECT subject_id, due_at FROM deadlines WHERE tenant_id = $1 AND kind = 'archive_purge' AND status = 'pending'",
        tenant_id)
    assert len(purge_rows) == 2

    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["ok"] and report["bundlesChecked"] == 2 and report["bundlesFailed"] == 0

    # Tamper with one bundle file: verification names it.
    victim = bundles[cases[1]["id"]]
    path = _file_for(victim["uri"])
    original = path.read_bytes()
    path.write_bytes(original.replace(b"Counterfeits of our mark.", b"Counterfeits of our mark!"))
    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["ok"] is False and report["chainBreak"] is None and report["bundlesFailed"] == 1
    bb = report["bundleBreak"]
    assert (bb["bundleId"], bb["caseId"], bb["problem"]) == (victim["id"], cases[1]["id"], "HASH_MISMATCH")
    assert bb["sha256"] == victim["sha256"] and bb["actualSha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    path.unlink()
    assert (await auditor(VERIFY))["verifyAuditTrail"]["bundleBreak"]["problem"] == "MISSING"
    path.write_bytes(original)
    assert (await auditor(VERIFY))["verifyAuditTrail"]["ok"] is True

    listed = (await auditor(BUNDLES))["archiveBundles"]["edges"]
    assert {e["node"]["sha256"] for e in listed} == {b["sha256"] for b in bundles.values()}

    # Past retention (3 years after the outcome, cn-ecl): the purge deadline fires.
    await tenant.admin(ADVANCE, {"s": 3 * 366 * DAY})
    await Scheduler(db, DEADLINE_HANDLERS).run_once()
    rows = await owner_conn.fetch("SELECT case_id, purged_at, purge_decision_id, object_deleted_at FROM archive_bundles"
                                  " WHERE tenant_id = $1", tenant_id)
    assert len(rows) == 2 and all(r["purged_at"] and r["purge_decision_id"] for r in rows)
    assert all(r["object_deleted_at"] is None for r in rows)
    assert all(_file_for(b["uri"]).exists() for b in bundles.values())  # deleted after the purge committed
    purged_cases = await owner_conn.fetch("SELECT purged_at FROM cases WHERE tenant_id = $1", tenant_id)
    assert all(r["purged_at"] for r in purged_cases)
    for case in cases:
        timeline = (await auditor(TIMELINE, {"id": case["id"]}))["node"]["timeline"]
        assert (timeline[-1]["kind"], timeline[-1]["outcome"]) == ("case.purge", "purged")
        assert timeline[-1]["actor"] == "automated:retention.keep_years"

    result = await archiver.run_once([tenant_id])
    assert result.objects_deleted == 2
    assert not any(_file_for(b["uri"]).exists() for b in bundles.values())
    assert await archiver.run_once([tenant_id]) is not None  # idempotent
    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["ok"] and report["bundlesChecked"] == 0  # purged bundles are no longer kept


async def test_a_longer_retention_published_later_extends_it(make_tenant: Any, db: Any, owner_conn: Any,
                                                              settings: Any) -> None:
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.archiver import Archiver
    from infra.scheduler import Scheduler

    tenant = await make_tenant(mode="SANDBOX")
    [case] = await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    assert (await Archiver(db, _store(settings)).run_once([tenant_id])).archived == 1
    # The tenant now keeps records 5 years.
    await owner_conn.execute(
        "UPDATE policy_versions SET document = jsonb_set(document, '{retention,keep_years}', '5')"
        " WHERE tenant_id = $1 AND status = 'published'", tenant_id)
    from infra import repositories

    repositories._PARSED_POLICIES.clear()
    await tenant.admin(ADVANCE, {"s": 3 * 366 * DAY})
    await Scheduler(db, DEADLINE_HANDLERS).run_once()
    row = await owner_conn.fetchrow("SELECT purged_at, retention_until, closed_at FROM archive_bundles"
                                    " WHERE tenant_id = $1", tenant_id)
    assert row["purged_at"] is None
    assert row["retention_until"].year == row["closed_at"].year + 5
    timeline = (await (await tenant.client("auditor"))(TIMELINE, {"id": case["id"]}))["node"]["timeline"]
    assert (timeline[-1]["kind"], timeline[-1]["outcome"]) == ("case.retention_extend", "retained")


REJECT = """mutation($input: RejectCaseInput!) { rejectCase(input: $input) {
  __typename ... on CaseSuccess { case { state timeline { id kind } } } ... on Error { code message } } }"""
APPEAL = """mutation($input: FileAppealInput!) { fileAppeal(input: $input) {
  __typename ... on AppealFiled { appealId } ... on Error { code message } } }"""
DECIDE_APPEAL = """mutation($input: DecideAppealInput!) { decideAppeal(input: $input) {
  __typename ... on AppealDecided { outcome } ... on Error { code message } } }"""


async def _rejected_and_appealed(tenant: TenantHandle) -> tuple[dict[str, Any], str, str]:
    """A notice rejected by a reviewer (-> closed) and the rights holder's appeal against the rejection:
    (seed, case id, appeal id). cn-ecl archives 30 days after closing but takes appeals for 90."""
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = await submitted_cases(s, cn_notice(s))
    rejected = (await s["reviewer"](REJECT, {"input": {
        "caseId": case["id"], "reasons": [{"code": "insufficient_evidence"}]}}))["rejectCase"]
    assert rejected["case"]["state"] == "CLOSED", rejected
    [rejection] = [d["id"] for d in rejected["case"]["timeline"] if d["kind"] == "case.reject"]
    filed = (await s["integration"](APPEAL, {"input": {
        "decisionId": rejection, "appellantId": s["holder"], "grounds": "The evidence was sufficient."}}))["fileAppeal"]
    assert filed["__typename"] == "AppealFiled", filed
    return s, case["id"], filed["appealId"]


async def test_an_appeal_decided_while_the_case_is_archived_waits_and_reopens_it_from_the_archive(
        make_tenant: Any, db: Any, owner_conn: Any, settings: Any) -> None:
    """The archive pass holds the case's row until it commits. decideAppeal locks the case before it reads it
    (two appeals upheld at once must see each other's reversal), so an appeal decided meanwhile waits, then
    sees the archive and reopens the case out of it: never under an archive it did not see."""
    import asyncio

    from domain.services.archive import archive_due_cases

    tenant = await make_tenant(mode="SANDBOX")
    _, case_id, appeal_id = await _rejected_and_appealed(tenant)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    async with db.uow(tenant_id) as uow:
        assert (await archive_due_cases(uow, _store(settings))).count == 1
        decided = asyncio.create_task(tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal_id, "uphold": True}}))
        await asyncio.sleep(0.5)
        assert not decided.done()  # waiting for the archive's row lock on the case
    upheld = (await asyncio.wait_for(decided, 10))["decideAppeal"]
    assert upheld == {"__typename": "AppealDecided", "outcome": "upheld"}
    case_uuid = UUID(relay.GlobalID.from_id(case_id).node_id)
    row = await owner_conn.fetchrow("SELECT state, archived_at FROM cases WHERE id = $1", case_uuid)
    assert (row["state"], row["archived_at"]) == ("under_review", None)
    kinds = [r["kind"] for r in await owner_conn.fetch("SELECT kind FROM decisions WHERE case_id = $1 ORDER BY seq",
                                                       case_uuid)]
    assert kinds[-3:] == ["case.archive", "appeal.decide", "case.reopen_on_appeal"]


async def test_an_appeal_reopens_an_archived_case_and_its_next_close_archives_it_again(
        make_tenant: Any, db: Any, owner_conn: Any, settings: Any) -> None:
    """The appeal (a right, DSA Art 20) reopens the archived case; the first bundle stays as the record up to
    then, and when the case closes again a second bundle holds its whole record. Both verify; they are
    purged together, when the second one's retention ends."""
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.archiver import Archiver
    from infra.scheduler import Scheduler

    tenant = await make_tenant(mode="SANDBOX")
    s, case_id, appeal_id = await _rejected_and_appealed(tenant)
    tenant_id = await tenant.tenant_id(db)
    case_uuid = UUID(relay.GlobalID.from_id(case_id).node_id)
    auditor = await tenant.client("auditor")
    archiver = Archiver(db, _store(settings))
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    assert (await archiver.run_once([tenant_id])).archived == 1

    upheld = (await tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal_id, "uphold": True}}))["decideAppeal"]
    assert upheld == {"__typename": "AppealDecided", "outcome": "upheld"}
    row = await owner_conn.fetchrow("SELECT state, archived_at FROM cases WHERE id = $1", case_uuid)
    assert (row["state"], row["archived_at"]) == ("under_review", None)

    again = (await s["reviewer"](REJECT, {"input": {
        "caseId": case_id, "reasons": [{"code": "insufficient_evidence"}]}}))["rejectCase"]
    assert again["case"]["state"] == "CLOSED", again
    now = datetime.fromisoformat((await tenant.admin(ADVANCE, {"s": 31 * DAY}))["advanceTestClock"]["tenant"]["now"])
    assert (await archiver.run_once([tenant_id])).archived == 1
    first, second = await owner_conn.fetch(
        "SELECT version, sha256, uri, decision_id, last_decision_seq, retention_until FROM archive_bundles"
        " WHERE case_id = $1 ORDER BY version", case_uuid)
    assert (first["version"], second["version"]) == (1, 2)
    assert await owner_conn.fetchval("SELECT archived_at IS NOT NULL FROM cases WHERE id = $1", case_uuid)
    # The second bundle is the final record: every decision about the case, the first archive among them.
    old, new = (json.loads(_file_for(b["uri"]).read_bytes()) for b in (first, second))
    assert {d["id"] for d in old["decisions"]} < {d["id"] for d in new["decisions"]}
    archived_first = next(d for d in new["decisions"] if d["id"] == str(first["decision_id"]))
    assert archived_first["rules"][0]["inputs"]["bundle_sha256"] == first["sha256"]
    assert [d["kind"] for d in new["decisions"] if d["seq"] > first["last_decision_seq"]][:3] == [
        "case.archive", "appeal.decide", "case.reopen_on_appeal"]
    assert new["decisions"][-1]["kind"] == "case.close" and new["case"]["archived_at"] is None
    assert await owner_conn.fetchval(  # nothing about the case after it but the second archive decision
        "SELECT array_agg(kind) FROM decisions WHERE case_id = $1 AND seq > $2", case_uuid,
        second["last_decision_seq"]) == ["case.archive"]
    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["ok"] and (report["bundlesChecked"], report["bundlesFailed"]) == (2, 0)
    x = (await auditor(EXPLAIN, {"id": str(relay.GlobalID("Decision", str(first["decision_id"])))}))
    assert x["explainDecision"]["archiveBundle"]["sha256"] == second["sha256"]  # the case's newest

    # The first bundle's retention ends first; it waits for the second's, then both go with one purge decision.
    await tenant.admin(ADVANCE, {"s": (first["retention_until"] - now).total_seconds() + DAY})
    await Scheduler(db, DEADLINE_HANDLERS).run_once()
    assert await owner_conn.fetchval("SELECT count(*) FROM archive_bundles WHERE case_id = $1"
                                     " AND purged_at IS NULL", case_uuid) == 2
    assert await owner_conn.fetchval("SELECT purged_at FROM cases WHERE id = $1", case_uuid) is None
    await tenant.admin(ADVANCE, {"s": (second["retention_until"] - first["retention_until"]).total_seconds()})
    await Scheduler(db, DEADLINE_HANDLERS).run_once()
    purges = await owner_conn.fetch("SELECT purge_decision_id FROM archive_bundles WHERE case_id = $1", case_uuid)
    assert len({r["purge_decision_id"] for r in purges}) == 1 and purges[0]["purge_decision_id"] is not None
    assert await owner_conn.fetchval("SELECT purged_at IS NOT NULL FROM cases WHERE id = $1", case_uuid)
    assert (await archiver.run_once([tenant_id])).objects_deleted == 2
    assert not _file_for(first["uri"]).exists() and not _file_for(second["uri"]).exists()


async def test_an_upheld_takedown_appeal_leaves_an_archived_case_closed_but_unarchived(
        make_tenant: Any, db: Any, owner_conn: Any, settings: Any) -> None:
    """Reversing a takedown reopens and closes the case again in one transaction: the case still leaves the
    archive, so the next pass records the reversal in a new bundle."""
    from infra.archiver import Archiver

    tenant = await make_tenant(mode="SANDBOX")
    [case] = await _closed_cases(tenant, listings=1)
    tenant_id = await tenant.tenant_id(db)
    case_uuid = UUID(relay.GlobalID.from_id(case["id"]).node_id)
    archiver = Archiver(db, _store(settings))
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    assert (await archiver.run_once([tenant_id])).archived == 1

    takedown = next(d["id"] for d in case["timeline"] if d["kind"] == "case.request_measures")
    merchant = await owner_conn.fetchval("SELECT merchant_id FROM cases WHERE id = $1", case_uuid)
    integration = await tenant.client("integration")
    filed = (await integration(APPEAL, {"input": {"decisionId": takedown, "grounds": "Genuine goods.",
                                                  "appellantId": str(relay.GlobalID("Party", str(merchant)))}}))
    appeal_id = filed["fileAppeal"]["appealId"]
    upheld = (await tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal_id, "uphold": True}}))["decideAppeal"]
    assert upheld == {"__typename": "AppealDecided", "outcome": "upheld"}
    row = await owner_conn.fetchrow("SELECT state, archived_at FROM cases WHERE id = $1", case_uuid)
    assert (row["state"], row["archived_at"]) == ("closed", None)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    assert (await archiver.run_once([tenant_id])).archived == 1
    assert [r["version"] for r in await owner_conn.fetch(
        "SELECT version FROM archive_bundles WHERE case_id = $1 ORDER BY version", case_uuid)] == [1, 2]


async def test_bundles_catch_a_chain_rewritten_after_archiving(make_tenant: Any, db: Any, owner_conn: Any,
                                                               settings: Any) -> None:
    """Someone with database access edits a decision and recomputes every later hash and the chain head: the
    chain verifies again, but the bundles archived before hold the original hashes."""
    from dataclasses import replace

    from domain.decisions import chain_hash
    from infra.archiver import Archiver
    from infra.case_repositories import decision_from_row

    tenant = await make_tenant(mode="SANDBOX")
    [case, _] = await _closed_cases(tenant, listings=2)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    await Archiver(db, _store(settings)).run_once([tenant_id])
    auditor = await tenant.client("auditor")
    assert (await auditor(VERIFY))["verifyAuditTrail"]["ok"]

    target = next(d for d in case["timeline"] if d["outcome"] == "measures_requested")
    target_id = UUID(relay.GlobalID.from_id(target["id"]).node_id)
    async with db.tenant_tx(tenant_id) as conn:
        decisions = [decision_from_row(r) for r in await conn.fetch("SELECT * FROM decisions ORDER BY seq")]
    start = next(i for i, d in enumerate(decisions) if d.id == target_id)
    prev = decisions[start].prev_hash
    for i, d in enumerate(decisions[start:]):
        d = replace(d, prev_hash=prev, reason_text="rewritten" if i == 0 else d.reason_text)
        prev = chain_hash(prev, d)
        await owner_conn.execute("UPDATE decisions SET reason_text = $3, prev_hash = $4, hash = $5"
                                 " WHERE tenant_id = $1 AND seq = $2", tenant_id, d.seq, d.reason_text, d.prev_hash,
                                 prev)
    await owner_conn.execute("UPDATE decision_chain_heads SET hash = $2 WHERE tenant_id = $1", tenant_id, prev)

    report = (await auditor(VERIFY))["verifyAuditTrail"]
    assert report["chainBreak"] is None and report["ok"] is False
    bb = report["bundleBreak"]
    assert (bb["problem"], bb["caseId"], bb["decisionId"]) == ("DIVERGES_FROM_LOG", case["id"], target["id"])


# ----- the CLI -----------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def test_cli_verify_exits_0_when_clean_and_1_after_tampering(make_tenant: Any, db: Any, owner_conn: Any,
                                                                   settings: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    await _closed_cases(tenant, listings=2)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})

    archived = _cli("archive", "--tenant", tenant.slug)
    assert archived.returncode == 0, archived.stderr
    assert "archived 2 case(s)" in archived.stderr

    clean = _cli("verify", "--tenant", tenant.slug)
    assert clean.returncode == 0, clean.stderr
    assert "verified for 1 tenant" in clean.stderr
    verified = await owner_conn.fetch("SELECT verified_at, verified_ok FROM archive_bundles WHERE tenant_id = $1",
                                      tenant_id)
    assert len(verified) == 2 and all(r["verified_at"] and r["verified_ok"] for r in verified)

    rows = await _decision_rows(owner_conn, tenant_id)
    await owner_conn.execute("UPDATE decisions SET reason_text = 'x' WHERE tenant_id = $1 AND seq = $2",
                             tenant_id, rows[4]["seq"])
    broken = _cli("verify", "--tenant", tenant.slug)
    assert broken.returncode == 1, broken.stderr
    assert f"content_changed at seq {rows[4]['seq']}" in broken.stderr

    unknown = _cli("verify", "--tenant", "no-such-tenant")
    assert unknown.returncode == 2


async def test_cli_verify_checks_every_tenant_of_a_database(tmp_path: Path) -> None:
    """Without --tenant: every tenant, read through the system role (a database of its own here, so that
    other tests' tampering does not show)."""
    import asyncpg

    from tests.conftest import scratch_database

    async with scratch_database("nh_verify") as url:
        env = {"DATABASE_URL": url, "NOTICEHUB_ARCHIVE_URL": f"file://{tmp_path}"}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "infra.cli", *args], cwd=ROOT, env=dict(os.environ, **env),
                                  capture_output=True, text=True, timeout=120, check=False)

        assert cli("migrate").returncode == 0
        for slug in ("verify-a", "verify-b"):
            created = cli("tenant", "create", "--slug", slug, "--name", slug)
            assert created.returncode == 0, created.stderr
        clean = cli("verify")
        assert clean.returncode == 0, clean.stderr
        assert "verify-a" in clean.stderr and "verify-b" in clean.stderr and "verified for 2 tenant" in clean.stderr
        db2 = await asyncpg.connect(url)
        try:
            await db2.execute("UPDATE decisions SET actor = 'someone' WHERE seq = 1 AND tenant_id ="
                              " (SELECT id FROM tenants WHERE slug = 'verify-b')")
        finally:
            await db2.close()
        broken = cli("verify")
        assert broken.returncode == 1, broken.stderr
        assert "broken for 1 tenant(s): verify-b" in broken.stderr and "content_changed at seq 1" in broken.stderr


# ----- S3-compatible object storage --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("moto.server")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("moto server did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_archive_into_s3_compatible_storage(make_tenant: Any, db: Any, s3_endpoint: str) -> None:
    import boto3

    from domain.archive import bundle_key
    from domain.services.audit import verify_audit_trail
    from infra.archive_store import ObjectArchiveStore
    from infra.archiver import Archiver

    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **creds)
    s3.create_bucket(Bucket="noticehub-archive")
    store = ObjectArchiveStore("s3://noticehub-archive/bundles", endpoint=s3_endpoint, access_key_id="test",
                               secret_access_key="test", region="us-east-1", client_options={"allow_http": True})

    tenant = await make_tenant(mode="SANDBOX")
    await _closed_cases(tenant, listings=2)
    tenant_id = await tenant.tenant_id(db)
    await tenant.admin(ADVANCE, {"s": 31 * DAY})
    result = await Archiver(db, store).run_once([tenant_id])
    assert (result.archived, result.written) == (2, 2)
    async with db.uow(tenant_id) as uow:
        records = await uow.archive.page(None, 10)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="noticehub-archive")["Contents"]}
    for r in records:
        key = f"bundles/{bundle_key(tenant_id, r.sha256)}"
        assert key in keys and r.uri == f"s3://noticehub-archive/{key}"
        body = s3.get_object(Bucket="noticehub-archive", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == r.sha256
    # Write-if-absent holds on S3 too (conditional PUT).
    assert await store.put_if_absent(bundle_key(tenant_id, records[0].sha256), b"x") is False

    assert (await verify_audit_trail(partial(db.uow, tenant_id), store)).ok
    # Someone with bucket access overwrites an object: verification names the bundle.
    s3.put_object(Bucket="noticehub-archive", Key=f"bundles/{bundle_key(tenant_id, records[1].sha256)}", Body=b"{}")
    report = await verify_audit_trail(partial(db.uow, tenant_id), store)
    assert report.bundle_break is not None and report.bundle_break.bundle_id == records[1].id
    assert report.bundle_break.problem.value == "hash_mismatch"


async def test_local_batch_writes_report_each_item_in_order(tmp_path: Path) -> None:
    """The local store writes a batch from several threads; each item's flag stays at its index and an
    existing object is never overwritten."""
    from infra.archive_store import ObjectArchiveStore

    store = ObjectArchiveStore(f"file://{tmp_path}")
    first = [(f"t/{n:02x}/{n}.json", f"v1-{n}".encode()) for n in range(0, 23, 2)]
    assert await store.put_many_if_absent(first) == [True] * len(first)
    batch = [(f"t/{n:02x}/{n}.json", f"v2-{n}".encode()) for n in range(23)]
    assert await store.put_many_if_absent(batch) == [n % 2 == 1 for n in range(23)]
    for n in range(23):
        assert await store.get(f"t/{n:02x}/{n}.json") == (f"v1-{n}" if n % 2 == 0 else f"v2-{n}").encode()
