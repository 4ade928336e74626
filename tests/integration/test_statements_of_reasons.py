"""DSA statements of reasons end to end: GraphQL actions -> outbox -> event worker queues statements ->
`sor_submit` wake-up -> submission pass -> a real local HTTP receiver that answers like the DSA
Transparency Database (tests/support/tdb_receiver.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from strawberry import relay

from domain.services.statements import SubmitConfig, TdbAnswer, backoff
from domain.statements_of_reasons import EEA_COUNTRY_CODES, EMITTED_FIELDS, validate_statement
from infra.tdb_client import parse_answer, secret_env_name
from tests.conftest import GraphQLClient, TenantHandle
from tests.e2e.test_preset_flows import ADVANCE, DECLARE, REVIEW_DECLARATION, _seed
from tests.e2e.test_trust_flows import APPEAL, DECIDE_APPEAL, SETTLE, _applied, _notice, _party_id, _publish_changed
from tests.support.tdb_receiver import TdbReceiver, running_receiver

STATEMENTS = """query($status: StatementOfReasonsStatus, $first: Int, $after: String) {
  statementsOfReasons(status: $status, first: $first, after: $after) {
    edges { node { id puid decisionId caseId restrictionId subjectKind status attempts lastStatus lastError
                   problems { field message code } statement tdbUuid createdAt nextAttemptAt lastAttemptAt submittedAt } }
    pageInfo { hasNextPage endCursor } } }"""
SUBMIT_NOW = "mutation { submitStatementsOfReasonsNow { __typename ... on SubmitStatementsNowResult { waiting } } }"
PERSONAL = ("Li Si", "li@shop.example", "138 0000", "Hangzhou", "Brand Holdings", "legal@brand.example",
            "Item ", "m.example", "e.example", "Shop", "Brand", "TM-1")


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[TdbReceiver]:
    monkeypatch.setenv("NOTICEHUB_TDB_ALLOW_LOCAL", "1")  # http and loopback for the local receiver
    monkeypatch.setenv("NOTICEHUB_TDB_MAX_RPS", "200")
    with running_receiver() as r:
        yield r


async def _dsa_tenant(make_tenant: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
                      change: Any = None) -> TenantHandle:
    """An eu-dsa sandbox tenant whose statements go to the local receiver, with its token as a secret."""
    tenant: TenantHandle = await make_tenant(mode="SANDBOX", timezone="Europe/Berlin", country="DE")
    ref = f"TDB_TEST_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(secret_env_name(ref), receiver.token)

    def point(doc: dict[str, Any]) -> None:
        doc["disclosure"]["dsa_statements_of_reasons"].update(
            {"enabled": True, "endpoint": receiver.url, "token_ref": ref})
        if change is not None:
            change(doc)

    await _publish_changed(tenant, point)
    return tenant


async def _work(db: Any, broker: Any, worker: Any) -> int:
    """Relay every committed outbox row and wait until the worker has handled them."""
    from infra.relay import OutboxRelay

    relayed = 0
    while n := await OutboxRelay(db, broker).run_once():
        relayed += n
    await asyncio.to_thread(broker.join, "events", timeout=60_000)
    await asyncio.to_thread(worker.join)
    return relayed


async def _drain(db: Any, broker: Any, worker: Any, rounds: int = 10) -> None:
    """Outbox and due deadlines until quiet: queueing, the wake-up, the pass it triggers."""
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.scheduler import Scheduler

    for _ in range(rounds):
        relayed = await _work(db, broker, worker)
        fired = await Scheduler(db, DEADLINE_HANDLERS).run_once()
        if not relayed and not fired:
            return
    raise AssertionError("the pipeline did not settle")


async def _statements(client: GraphQLClient, status: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await client(STATEMENTS, {"status": status, "first": 2, "after": after}))["statementsOfReasons"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _uuid(global_id: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id).node_id)


async def _decision_ids(db: Any, tenant: TenantHandle, kind: str) -> set[str]:
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        return {str(r["id"]) for r in await conn.fetch("SELECT id FROM decisions WHERE kind = $1", kind)}


def _no_personal_data(statement: Any) -> None:
    text = orjson.dumps(statement).decode()
    for value in PERSONAL:
        assert value not in text, (value, text)


# ----- the answers of the TDB and the backoff, without a server -------------------------------------


def test_tdb_answers_are_parsed_as_the_database_sends_them() -> None:
    created = parse_answer(201, orjson.dumps({"statements": [{"puid": "a", "uuid": "u-1"}, {"puid": "b"}]}))
    assert created.accepted and dict(created.created) == {"a": "u-1", "b": None}
    invalid = parse_answer(422, orjson.dumps({"errors": {"statement_2": {"decision_facts": ["Required."]}}}))
    assert not invalid.accepted and list(invalid.invalid) == [2]
    assert invalid.invalid[2][0].field == "decision_facts" and invalid.invalid[2][0].message == "Required."
    duplicate = parse_answer(422, orjson.dumps({"message": "not unique", "errors": {
        "puid": ["not unique"], "existing_puids": ["x", "y"]}}))
    assert duplicate.duplicates == ("x", "y") and not duplicate.invalid
    limited = parse_answer(429, b"", "7")
    assert limited.retry_after_s == 7.0 and "rate limited" in (limited.error or "")
    assert parse_answer(503, b"<html>").error == "HTTP 503"
    assert TdbAnswer(None, error="Timeout").accepted is False


def test_backoff_is_exponential_capped_and_jittered() -> None:
    low, high = SubmitConfig(jitter=lambda: 0.0), SubmitConfig(jitter=lambda: 1.0)
    assert [backoff(n, high).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert [backoff(n, low).total_seconds() for n in (1, 2, 3)] == [15, 30, 60]
    assert backoff(30, high).total_seconds() == 3600  # capped
    assert backoff(1, low, retry_after_s=90).total_seconds() == 90  # Retry-After wins when longer


# ----- end to end --------------------------------------------------------------------------------


async def test_invalid_statement_is_rejected_locally_and_the_rest_submitted_once(
    make_tenant: Any, db: Any, owner_conn: Any, broker: Any, worker: Any, receiver: TdbReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=3)
    cases = (await _notice(s, s["listings"]))["cases"]
    for case in cases:
        await _applied(s, case["id"])
    await _work(db, broker, worker)  # queued by the worker; the wake-up has not fired yet
    auditor = await tenant.client("auditor")
    queued = await _statements(auditor)
    assert [q["status"] for q in queued] == ["PENDING"] * 3
    assert {q["puid"] for q in queued} == await _decision_ids(db, tenant, "case.confirm_measures")
    assert receiver.requests == []

    # One bad row slips in (as if written by an older release): it must be refused here, never sent.
    tenant_id = await tenant.tenant_id(db)
    bad_id = uuid.uuid4()
    bad = dict(queued[0]["statement"], puid=str(bad_id), decision_visibility=["DECISION_VISIBILITY_CONTENT_GONE"])
    del bad["decision_facts"]
    await owner_conn.execute(
        "INSERT INTO sor_submissions (tenant_id, id, decision_id, puid, subject_kind, case_id, statement, status,"
        " created_at, next_attempt_at) VALUES ($1, $2, $2, $3, 'listing', $4, $5::jsonb, 'pending',"
        " now() - interval '1 hour', now() - interval '1 hour')",
        tenant_id, bad_id, str(bad_id), _uuid(cases[0]["id"]), orjson.dumps(bad).decode())

    await _drain(db, broker, worker)
    good = {q["puid"] for q in queued}
    assert len(receiver.requests) == 1 and set(receiver.requests[0]) == good
    assert set(receiver.accepted_puids()) == good
    rows = {r["puid"]: r for r in await _statements(auditor)}
    for puid in good:
        row = rows[puid]
        assert (row["status"], row["attempts"], row["lastStatus"]) == ("SUBMITTED", 1, 201)
        assert row["tdbUuid"] == receiver.stored[puid]["uuid"]
        assert row["submittedAt"] and row["nextAttemptAt"] is None
    rejected = rows[str(bad_id)]
    assert (rejected["status"], rejected["attempts"], rejected["lastStatus"]) == ("REJECTED", 0, None)
    assert {(p["field"], p["code"]) for p in rejected["problems"]} == {
        ("decision_visibility.0", "invalid"), ("decision_facts", "required")}
    assert "decision_facts: Required." in rejected["lastError"]
    assert [r["puid"] for r in await _statements(auditor, "REJECTED")] == [str(bad_id)]

    # What was sent: TDB v2 fields only, valid, the IP category, and no personal data.
    for puid in good:
        sent = receiver.stored[puid]
        statement = rows[puid]["statement"]
        assert set(statement) <= EMITTED_FIELDS and validate_statement(statement) == ()
        assert (statement["category"], statement["content_type"], statement["source_type"]) == (
            "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS", ["CONTENT_TYPE_PRODUCT"], "SOURCE_ARTICLE_16")
        assert statement["category_specification"] == ["KEYWORD_TRADEMARK_INFRINGEMENT"]
        assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
        assert statement["territorial_scope"] == list(EEA_COUNTRY_CODES)
        assert statement["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
        assert "end_date_visibility_restriction" not in statement
        _no_personal_data(sent)

    # Nothing is sent twice: later passes find nothing due.
    await tenant.admin(ADVANCE, {"s": 7200})
    assert (await tenant.admin(SUBMIT_NOW))["submitStatementsOfReasonsNow"]["waiting"] == 0
    await _drain(db, broker, worker)
    assert len(receiver.requests) == 1


async def test_statement_refused_by_the_database_is_rejected_and_the_others_resubmitted(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    s = await _seed(tenant, right_type="COPYRIGHT", jurisdiction="EU", listings=3)
    for case in (await _notice(s, s["listings"]))["cases"]:
        await _applied(s, case["id"])
    await _work(db, broker, worker)
    auditor = await tenant.client("auditor")
    puids = [q["puid"] for q in await _statements(auditor)]
    refused = puids[1]
    # A rule only the server applies: the local validator accepts the statement, the TDB does not.
    receiver.server_rules[refused] = ("decision_facts", "The decision facts field must not contain this text.")

    await _drain(db, broker, worker)
    assert len(receiver.requests) == 2
    assert set(receiver.requests[0]) == set(puids)  # the whole batch was refused for one statement
    assert set(receiver.requests[1]) == set(puids) - {refused}  # ...and the others were sent again at once
    assert receiver.answers == [422, 201]
    assert sorted(receiver.accepted_puids()) == sorted(set(puids) - {refused})
    rows = {r["puid"]: r for r in await _statements(auditor)}
    bad = rows[refused]
    assert (bad["status"], bad["attempts"], bad["lastStatus"]) == ("REJECTED", 1, 422)
    assert bad["problems"] == [{"field": "decision_facts", "code": "tdb",
                                "message": "The decision facts field must not contain this text."}]
    for puid in set(puids) - {refused}:
        assert (rows[puid]["status"], rows[puid]["attempts"], rows[puid]["lastStatus"]) == ("SUBMITTED", 2, 201)
        assert rows[puid]["statement"]["category_specification"] == ["KEYWORD_COPYRIGHT_INFRINGEMENT"]
    await tenant.admin(ADVANCE, {"s": 7200})
    await _drain(db, broker, worker)
    assert len(receiver.requests) == 2  # the rejected one is never sent again, the accepted ones neither


async def test_duplicate_puid_is_treated_as_already_submitted(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    s = await _seed(tenant, right_type="DESIGN", jurisdiction="EU", listings=2)
    for case in (await _notice(s, s["listings"]))["cases"]:
        await _applied(s, case["id"])
    await _work(db, broker, worker)
    auditor = await tenant.client("auditor")
    first, second = [q["puid"] for q in await _statements(auditor)]
    # The database already has the first one (accepted before, but we never saw the 201).
    receiver.stored[first] = {"puid": first, "uuid": "accepted-earlier"}

    await _drain(db, broker, worker)
    assert [set(r) for r in receiver.requests] == [{first, second}, {second}]
    assert receiver.answers == [422, 201]
    rows = {r["puid"]: r for r in await _statements(auditor)}
    assert (rows[first]["status"], rows[first]["attempts"], rows[first]["lastStatus"]) == ("DUPLICATE", 1, 422)
    assert rows[first]["submittedAt"] and "already holds" in rows[first]["lastError"]
    assert (rows[second]["status"], rows[second]["attempts"]) == ("SUBMITTED", 2)
    assert receiver.stored[first]["uuid"] == "accepted-earlier"  # not replaced
    assert [r["puid"] for r in await _statements(auditor, "DUPLICATE")] == [first]


async def test_receiver_down_is_retried_later_with_backoff(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTICEHUB_TDB_TIMEOUT", "0.5")
    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    tenant_id = await tenant.tenant_id(db)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    auditor = await tenant.client("auditor")

    async def state() -> tuple[dict[str, Any], datetime | None]:
        [row] = await _statements(auditor)
        async with db.tenant_tx(tenant_id) as conn:
            wakeup = await conn.fetchval(
                "SELECT min(due_at) FROM deadlines WHERE kind = 'sor_submit' AND status = 'pending'")
        return row, wakeup

    # 1. The database answers 503: pending, retried after 15-30 s (30 s with jitter), one wake-up armed then.
    receiver.fail_with = 503
    await _drain(db, broker, worker)
    row, wakeup = await state()
    assert (row["status"], row["attempts"], row["lastStatus"]) == ("PENDING", 1, 503)
    assert row["lastError"].startswith("HTTP 503")
    next_at = datetime.fromisoformat(row["nextAttemptAt"])
    assert timedelta(seconds=14) <= next_at - datetime.fromisoformat(row["lastAttemptAt"]) <= timedelta(seconds=30)
    assert wakeup == next_at
    await _drain(db, broker, worker)  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    # 2. Time passes; the database is slow: the client times out; the backoff doubles (30-60 s).
    receiver.fail_with, receiver.delay_s = None, 2.0
    await tenant.admin(ADVANCE, {"s": 40})
    await _drain(db, broker, worker)
    row, wakeup = await state()
    assert (row["status"], row["attempts"], row["lastStatus"]) == ("PENDING", 2, None)
    assert row["lastError"] == "Timeout after 0.5s"
    delay = datetime.fromisoformat(row["nextAttemptAt"]) - datetime.fromisoformat(row["lastAttemptAt"])
    assert timedelta(seconds=29) <= delay <= timedelta(seconds=60)
    assert wakeup == datetime.fromisoformat(row["nextAttemptAt"])
    for _ in range(100):  # the slow answer was in fact stored by the database
        if receiver.answers:
            break
        await asyncio.sleep(0.05)
    assert receiver.answers == [503, 201]

    # 3. The next attempt learns the database has it: duplicate puid -> treated as submitted, not sent again.
    receiver.delay_s = 0.0
    await tenant.admin(ADVANCE, {"s": 90})
    await _drain(db, broker, worker)
    row, wakeup = await state()
    assert (row["status"], row["attempts"], row["lastStatus"]) == ("DUPLICATE", 3, 422)
    assert wakeup is None
    assert len(receiver.requests) == 3 and receiver.answers == [503, 201, 422]
    assert list(receiver.stored) == [row["puid"]]


async def test_lift_adds_end_date_only_before_the_statement_is_accepted(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=2)
    first, second = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, first["id"])
    await _drain(db, broker, worker)  # the first statement is accepted
    [accepted] = receiver.accepted_puids()
    await _applied(s, second["id"])
    await _work(db, broker, worker)  # the second is queued, not sent yet

    # The merchant's complaint is upheld (eu-dsa: restored at once): both listings' measures are lifted.
    declared = (await s["integration"](DECLARE, {"input": {
        "caseIds": [first["id"], second["id"]], "grounds": "NOT_INFRINGING", "explanation": "Genuine goods.",
        "statements": {"goodFaith": True, "accuracy": True},
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/i.pdf"}]}}))["submitDeclaration"]
    await s["reviewer"](REVIEW_DECLARATION, {"input": {"declarationId": declared["declaration"]["id"],
                                                       "accept": True}})
    await _drain(db, broker, worker)

    auditor = await tenant.client("auditor")
    rows = {r["puid"]: r for r in await _statements(auditor)}
    [pending_then] = set(rows) - {accepted}
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        lifted = await conn.fetchval("SELECT max(lifted_at) FROM measures WHERE status = 'lifted'")
    lift_day = lifted.astimezone(UTC).date().isoformat()
    assert rows[pending_then]["status"] == "SUBMITTED"
    assert rows[pending_then]["statement"]["end_date_visibility_restriction"] == lift_day
    assert receiver.stored[pending_then]["end_date_visibility_restriction"] == lift_day
    # The accepted statement is immutable: no end date, and it was not sent again.
    assert "end_date_visibility_restriction" not in rows[accepted]["statement"]
    assert sum(accepted in r for r in receiver.requests) == 1


async def test_merchant_suspension_gets_an_account_statement(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def one_strike(doc: dict[str, Any]) -> None:
        doc["suspension"]["repeat_infringer"].update({"strikes": 1, "suspension_days": 30})

    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch, one_strike)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=2)
    for case in (await _notice(s, s["listings"]))["cases"]:
        await _applied(s, case["id"])
        assert (await s["integration"](SETTLE, {"id": case["id"]}))["settleCase"]["case"]["state"] == "CLOSED"
    await _work(db, broker, worker)  # strike 1: warning (no statement); strike 2: suspension -> queued

    auditor = await tenant.client("auditor")
    [account] = [r for r in await _statements(auditor) if r["subjectKind"] == "account"]
    assert account["status"] == "PENDING"
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        planned = await conn.fetchval("SELECT ends_at FROM account_restrictions WHERE kind = 'suspension'")
    assert account["statement"]["end_date_account_restriction"] == planned.astimezone(UTC).date().isoformat()
    # The merchant's appeal is upheld before the statement went out: it ends today, not in 30 days.
    merchant = await _party_id(s["integration"], "shop")
    appeal = (await s["integration"](APPEAL, {"input": {"decisionId": account["decisionId"], "appellantId": merchant,
                                                        "grounds": "strikes were settled"}}))["fileAppeal"]
    decided = await tenant.admin(DECIDE_APPEAL, {"input": {"appealId": appeal["appealId"], "uphold": True}})
    assert decided["decideAppeal"]["outcome"] == "upheld"
    await _drain(db, broker, worker)

    rows = await _statements(auditor)
    assert [r["status"] for r in rows] == ["SUBMITTED"] * 3
    [account] = [r for r in rows if r["subjectKind"] == "account"]
    assert account["puid"] in await _decision_ids(db, tenant, "account.suspension")
    assert not await _decision_ids(db, tenant, "account.warning") & {r["puid"] for r in rows}
    statement = account["statement"]
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        restriction = await conn.fetchrow("SELECT id, starts_at, ends_at, ended_at FROM account_restrictions"
                                          " WHERE kind = 'suspension'")
    assert _uuid(account["restrictionId"]) == restriction["id"]
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["application_date"] == restriction["starts_at"].astimezone(UTC).date().isoformat()
    assert statement["end_date_account_restriction"] == restriction["ended_at"].astimezone(UTC).date().isoformat()
    assert restriction["ended_at"] < restriction["ends_at"]
    assert receiver.stored[account["puid"]]["end_date_account_restriction"] == statement["end_date_account_restriction"]
    assert (statement["source_type"], statement["automated_decision"], statement["automated_detection"]) == (
        "SOURCE_VOLUNTARY", "AUTOMATED_DECISION_FULLY", "Yes")
    assert "2 strikes" in statement["decision_facts"] and "threshold of 1" in statement["decision_facts"]
    assert "decision_visibility" not in statement and validate_statement(statement) == ()
    for puid in receiver.accepted_puids():
        _no_personal_data(receiver.stored[puid])


async def test_no_statements_without_the_export_and_readers_only(
    make_tenant: Any, db: Any, broker: Any, worker: Any,
) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")  # cn-ecl: no DSA export
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _notice(s, s["listings"]))["cases"]
    await _applied(s, case["id"])
    await _drain(db, broker, worker)
    assert await _statements(await tenant.client("auditor")) == []
    assert await _statements(tenant.admin) == []
    denied = await s["reviewer"].raw(STATEMENTS, {})
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denied = await s["integration"].raw(SUBMIT_NOW)
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class _RefuseFirst:
    """A sink that refuses the first statement of every batch (as a TDB 422 would) and records batches."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def submit(self, endpoint: str, token_ref: str | None, statements: Any) -> TdbAnswer:
        self.batches.append([s["puid"] for s in statements])
        return TdbAnswer(422, invalid={0: ()}, error="HTTP 422")


async def test_pass_stops_at_its_request_budget_and_rearms_at_once(
    make_tenant: Any, db: Any, broker: Any, worker: Any, receiver: TdbReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.services.statements import submit_due

    tenant = await _dsa_tenant(make_tenant, receiver, monkeypatch)
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="EU", listings=3)
    for case in (await _notice(s, s["listings"]))["cases"]:
        await _applied(s, case["id"])
    await _work(db, broker, worker)
    tenant_id = await tenant.tenant_id(db)
    sink = _RefuseFirst()
    async with db.uow(tenant_id) as uow:
        result = await submit_due(uow, sink, SubmitConfig(max_requests=1))
        wakeup = await uow.conn.fetchval(
            "SELECT min(due_at) FROM deadlines WHERE kind = 'sor_submit' AND status = 'pending'")
        now = uow.clock.now()
    assert (result.requests, result.rejected_by_tdb, result.deferred) == (1, 1, 2)
    rows = {r["puid"]: r for r in await _statements(await tenant.client("auditor"))}
    [refused] = sink.batches[0][:1]
    assert rows[refused]["status"] == "REJECTED" and rows[refused]["problems"][0]["code"] == "tdb"
    others = [p for p in sink.batches[0] if p != refused]
    assert [(rows[p]["status"], rows[p]["attempts"]) for p in others] == [("PENDING", 1)] * 2
    assert wakeup is not None and wakeup <= now  # the rest goes in the next pass, at once
    assert receiver.requests == []
