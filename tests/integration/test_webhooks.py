"""Webhooks on the real stack: outbox -> relay -> worker fan-out -> sender -> a local receiver.

The receiver is a real HTTP server on a free loopback port (local targets are allowed for these
tests through NOTICEHUB_WEBHOOKS_ALLOW_LOCAL=1, except in the SSRF tests). Sandbox tenants move their
test clock forward so retries come due without waiting; the scheduler then fires the wake-up.
No test sends traffic anywhere but 127.0.0.1: address checks use an injected resolver.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import GraphQLClient

# ----- a local receiver ----------------------------------------------------------------------------


class Receiver:
    """Records every request; answers from a script of (status, body), then with `default`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[tuple[int, bytes]] = []
        self.default: tuple[int, bytes] = (200, b"")
        self.rule: Callable[[dict[str, Any]], tuple[int, bytes] | None] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.rule(json.loads(body)) if receiver.rule else None
                    if answer is None:
                        answer = receiver.script.pop(0) if receiver.script else receiver.default
                status, content = answer
                self.send_response(status)
                self.send_header("content-length", str(len(content)))
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.requests]

    def unique_ids(self) -> set[str]:
        """What a receiver deduplicating on webhook-id keeps."""
        return {h["webhook-id"] for h, _ in self.requests}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTICEHUB_WEBHOOKS_ALLOW_LOCAL", "1")


# ----- driving the pipeline ------------------------------------------------------------------------


async def pump(db: Any, broker: Any, until: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    """Run the relay and the scheduler (the worker fixture consumes) until `until()` holds. The relay takes
    the oldest rows first, so in a full run this test's events may wait behind earlier tests' backlog."""
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.relay import OutboxRelay
    from infra.scheduler import Scheduler

    relay, scheduler = OutboxRelay(db, broker), Scheduler(db, DEADLINE_HANDLERS)
    loop = asyncio.get_running_loop()
    ends = loop.time() + seconds
    while loop.time() < ends:
        await scheduler.run_once()
        await relay.run_once()
        if await until():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def settle(db: Any, broker: Any, seconds: float = 1.0) -> None:
    """Pump for a while without a goal: lets whatever can happen, happen."""
    async def never() -> bool:
        return False
    with pytest.raises(AssertionError):
        await pump(db, broker, never, "nothing", seconds)


CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  __typename ... on WebhookEndpointSecretSuccess { secret endpoint { id url events active secretHint } }
  ... on Error { code message field } ... on InvalidInputError { problems { field message code } } } }"""
DELIVERIES = """query($e: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $e, filter: {status: $status}) { edges { node { id eventId topic orderingKey status
    attempts lastStatusCode lastLatencyMs acknowledged deliveredAt attemptLog { attempt statusCode error latencyMs
    outcome } } } pageInfo { hasNextPage } } }"""
REDELIVER = """mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
  __typename ... on WebhookDeliverySuccess { delivery { status attempts maxAttempts } } ... on Error { code message } } }"""
ADVANCE = """mutation($s: Float!) { advanceTestClock(input: {seconds: $s}) { __typename } }"""


async def create_endpoint(admin: GraphQLClient, url: str, events: list[str]) -> tuple[str, str]:
    result = (await admin(CREATE, {"input": {"url": url, "events": events, "description": "test receiver"}}))
    payload = result["createWebhookEndpoint"]
    assert payload["__typename"] == "WebhookEndpointSecretSuccess", payload
    assert payload["endpoint"]["secretHint"] != payload["secret"]
    return payload["endpoint"]["id"], payload["secret"]


async def subscribed_tenant(make_tenant: Any, db: Any, url: str, events: list[str],
                            mode: str = "SANDBOX") -> tuple[Any, uuid.UUID, str, str]:
    """A new tenant with a webhook endpoint at `url` for `events`: (tenant, tenant id, endpoint id, secret)."""
    tenant = await make_tenant(mode=mode)
    endpoint_id, secret = await create_endpoint(tenant.admin, url, events)
    return tenant, await tenant.tenant_id(db), endpoint_id, secret


async def emit(db: Any, tenant_id: uuid.UUID, *events: tuple[str, dict[str, Any], str | None]) -> list[str]:
    """Commit outbox events as a use case would (one transaction, in order)."""
    ids = []
    async with db.uow(tenant_id) as uow:
        for topic, payload, key in events:
            ids.append(str(uow.outbox.add(topic, payload, ordering_key=key)))
    return ids


async def delivery_rows(owner_conn: Any, tenant_id: uuid.UUID) -> list[Any]:
    return list(await owner_conn.fetch(
        "SELECT id, event_id, status, attempts, ordering_key, payload FROM webhook_deliveries WHERE tenant_id = $1"
        " ORDER BY event_id", tenant_id))


async def status_of(owner_conn: Any, tenant_id: uuid.UUID, event_id: str) -> str | None:
    value: str | None = await owner_conn.fetchval(
        "SELECT status FROM webhook_deliveries WHERE tenant_id = $1 AND event_id = $2", tenant_id, uuid.UUID(event_id))
    return value


def _ids() -> dict[str, str]:
    return {"case_id": str(uuid.uuid4()), "notice_id": str(uuid.uuid4())}


def _state_changed(case: str, marker: str) -> dict[str, Any]:
    return {"case_id": case, "from": "under_review", "to": "measures_requested", "event": "accept", "marker": marker}


# ----- tests ---------------------------------------------------------------------------------------


async def test_receiver_that_fails_then_succeeds_gets_it_once_with_a_valid_signature(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None) -> None:
    tenant, tenant_id, endpoint_id, secret = await subscribed_tenant(make_tenant, db, receiver.url, ["case.*"])
    receiver.script = [(500, b"try later")]
    case = str(uuid.uuid4())
    [event_id] = await emit(db, tenant_id, ("case.state_changed", _state_changed(case, "m1"), case))

    async def failed_once() -> bool:
        return len(receiver.requests) == 1 and await status_of(owner_conn, tenant_id, event_id) == "failed"
    await pump(db, broker, failed_once, "the first (failing) attempt")

    await tenant.admin(ADVANCE, {"s": 60})  # the retry (10 s ± 20 %) comes due on the tenant's clock

    async def delivered() -> bool:
        return await status_of(owner_conn, tenant_id, event_id) == "delivered"
    await pump(db, broker, delivered, "the retry")

    assert len(receiver.requests) == 2
    (h1, b1), (h2, b2) = receiver.requests
    assert h1["webhook-id"] == h2["webhook-id"] == event_id  # same idempotency key on every attempt
    Webhook(secret).verify(b1, h1)  # every attempt is signed (with a fresh timestamp)
    payload = Webhook(secret).verify(b2, h2)  # Standard Webhooks signature with the endpoint's secret
    assert payload["id"] == event_id and payload["type"] == "case.state_changed"
    assert payload["ordering_key"] == case and payload["data"]["marker"] == "m1"
    assert h2["content-type"] == "application/json" and h2["user-agent"].startswith("Noticehub-Webhooks/")

    log = (await tenant.admin(DELIVERIES, {"e": endpoint_id}))["webhookDeliveries"]["edges"]
    [node] = [e["node"] for e in log]
    assert (node["status"], node["attempts"], node["lastStatusCode"], node["eventId"]) == (
        "DELIVERED", 2, 200, event_id)
    assert [(a["attempt"], a["statusCode"], a["outcome"]) for a in node["attemptLog"]] == [
        (1, 500, "FAILED"), (2, 200, "DELIVERED")]
    assert all(a["latencyMs"] >= 0 for a in node["attemptLog"])


async def test_receiver_down_past_the_budget_is_dead_then_redelivered_by_hand(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None) -> None:
    tenant, tenant_id, endpoint_id, secret = await subscribed_tenant(make_tenant, db, receiver.url, ["notice.clarification_requested"])
    receiver.default = (503, b"")
    [event_id] = await emit(db, tenant_id, ("notice.clarification_requested", _ids(), None))

    for attempt in range(1, 9):
        async def attempted(n: int = attempt) -> bool:
            return len(receiver.requests) == n and await status_of(owner_conn, tenant_id, event_id) in (
                "failed", "dead")
        await pump(db, broker, attempted, f"attempt {attempt}")
        if attempt < 8:
            await tenant.admin(ADVANCE, {"s": 3 * 3600})  # longer than any backoff step
    assert await status_of(owner_conn, tenant_id, event_id) == "dead"
    dead = (await tenant.admin(DELIVERIES, {"e": endpoint_id, "status": "DEAD"}))["webhookDeliveries"]["edges"]
    [node] = [e["node"] for e in dead]
    assert node["attempts"] == 8 and [a["statusCode"] for a in node["attemptLog"]] == [503] * 8

    await tenant.admin(ADVANCE, {"s": 24 * 3600})
    await settle(db, broker, 0.5)
    assert len(receiver.requests) == 8  # nothing more happens by itself

    receiver.default = (204, b"")
    result = (await tenant.admin(REDELIVER, {"id": node["id"]}))["redeliverWebhook"]
    assert result["__typename"] == "WebhookDeliverySuccess", result
    assert result["delivery"]["status"] == "PENDING" and result["delivery"]["maxAttempts"] == 16

    async def delivered() -> bool:
        return await status_of(owner_conn, tenant_id, event_id) == "delivered"
    await pump(db, broker, delivered, "the manual redelivery")
    assert len(receiver.requests) == 9
    Webhook(secret).verify(receiver.requests[-1][1], receiver.requests[-1][0])
    again = (await tenant.admin(REDELIVER, {"id": node["id"]}))["redeliverWebhook"]
    assert again["__typename"] == "WebhookDeliverySuccess"  # delivered ones may be re-sent too
    pending = (await tenant.admin(REDELIVER, {"id": node["id"]}))["redeliverWebhook"]
    assert pending["code"] == "CONFLICT"  # ... but not while one is under way
    await pump(db, broker, delivered, "the second redelivery")


async def test_worker_killed_mid_delivery_is_retried_and_the_receiver_dedupes(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.services import notifications
    from infra.broker import events_message

    tenant, tenant_id, _, _ = await subscribed_tenant(make_tenant, db, receiver.url, ["*"])
    real_record = notifications.record_attempts
    crashes: list[str] = []

    async def crash_after_post(uow: Any, claimed: Any, results: Any, *args: Any) -> Any:
        if not crashes and uow.tenant_id == tenant_id:  # the POST succeeded; the process dies before commit
            crashes.append("crashed")
            raise RuntimeError("worker killed")
        return await real_record(uow, claimed, results, *args)

    monkeypatch.setattr(notifications, "record_attempts", crash_after_post)
    case = str(uuid.uuid4())
    [event_id] = await emit(db, tenant_id, ("notice.forwarded", {"case_id": case, "marker": "k"}, case))

    async def first_post() -> bool:
        return len(receiver.requests) == 1 and bool(crashes)
    await pump(db, broker, first_post, "the attempt that crashes")
    assert await status_of(owner_conn, tenant_id, event_id) == "sending"  # leased, result never recorded

    # The broker delivers the same event again (e.g. the relay re-sent it): no second delivery row.
    broker.enqueue(events_message(event_id, "notice.forwarded", str(tenant_id), {"case_id": case, "marker": "k"}, {}))
    await settle(db, broker, 0.5)
    async with db.uow(tenant_id) as uow:  # and fanning out the same event again adds nothing either
        assert await notifications.fan_out(uow, uuid.UUID(event_id), "notice.forwarded", {"case_id": case}) == 0

    await tenant.admin(ADVANCE, {"s": 120})  # the lease (60 s) runs out; the wake-up re-triggers

    async def delivered() -> bool:
        return await status_of(owner_conn, tenant_id, event_id) == "delivered"
    await pump(db, broker, delivered, "the retry after the crash")
    rows = await delivery_rows(owner_conn, tenant_id)
    assert len(rows) == 1 and rows[0]["attempts"] == 2
    assert len(receiver.requests) == 2  # at least once on the wire ...
    assert receiver.unique_ids() == {event_id}  # ... exactly once for a receiver deduplicating on webhook-id
    assert {p["id"] for p in receiver.payloads()} == {event_id}  # the idempotency key is in the payload too


async def test_events_of_one_case_arrive_in_order(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None) -> None:
    tenant, tenant_id, _, _ = await subscribed_tenant(make_tenant, db, receiver.url, ["case.state_changed"])
    failed_once: list[str] = []

    def rule(payload: dict[str, Any]) -> tuple[int, bytes] | None:
        if payload["data"]["marker"] == "A1" and not failed_once:
            failed_once.append("A1")
            return 500, b""
        return None

    receiver.rule = rule
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    a1, a2, b1 = await emit(db, tenant_id, ("case.state_changed", _state_changed(a, "A1"), a),
                            ("case.state_changed", _state_changed(a, "A2"), a),
                            ("case.state_changed", _state_changed(b, "B1"), b))

    async def b1_delivered() -> bool:
        return await status_of(owner_conn, tenant_id, b1) == "delivered"
    await pump(db, broker, b1_delivered, "case B's event")
    await settle(db, broker, 0.5)
    assert await status_of(owner_conn, tenant_id, a1) == "failed"
    assert await status_of(owner_conn, tenant_id, a2) == "pending"  # held back behind A1
    # Order is promised per case only: B1 may arrive before or after A1's failed attempt.
    assert sorted(p["data"]["marker"] for p in receiver.payloads()) == ["A1", "B1"]

    await tenant.admin(ADVANCE, {"s": 60})

    async def a2_delivered() -> bool:
        return await status_of(owner_conn, tenant_id, a2) == "delivered"
    await pump(db, broker, a2_delivered, "case A's events")
    markers = [p["data"]["marker"] for p in receiver.payloads()]
    assert [m for m in markers if m.startswith("A")] == ["A1", "A1", "A2"]  # case A in order, A2 after A1's retry
    assert [m for m in markers if m.startswith("B")] == ["B1"]


async def test_ssrf_targets_are_refused_at_registration(make_tenant: Any, db: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.errors import InvalidInput
    from domain.services import notifications
    from domain.tenancy import Principal, Role
    from infra.target_guard import TargetGuard

    monkeypatch.delenv("NOTICEHUB_WEBHOOKS_ALLOW_LOCAL", raising=False)
    tenant = await make_tenant()
    for url in ["http://127.0.0.1:9/hooks", "https://127.0.0.1/hooks", "https://10.0.0.1/", "https://[::1]/x",
                "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/", "https://localhost/x"]:
        payload = (await tenant.admin(CREATE, {"input": {"url": url, "events": ["*"]}}))["createWebhookEndpoint"]
        assert payload["__typename"] == "InvalidInputError", (url, payload)
        assert payload["problems"][0]["code"] == "forbidden_target", (url, payload)
        assert payload["field"] == "url"

    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:  # no real DNS, no traffic
        looked_up.append(host)
        return {"metadata.example.com": ["169.254.169.254"], "mixed.example.com": ["93.184.216.34", "10.9.8.7"],
                "public.example.com": ["93.184.216.34"]}[host]

    guard = TargetGuard(allow_local=False, resolver=resolver)
    tenant_id = await tenant.tenant_id(db)
    admin = Principal(tenant_id, None, frozenset({Role.ADMIN}))
    for host in ("metadata.example.com", "mixed.example.com"):
        with pytest.raises(InvalidInput) as exc:
            async with db.uow(tenant_id) as uow:
                await notifications.create_endpoint(uow, admin, guard, f"https://{host}/hooks", ["*"])
        assert exc.value.problems[0].code == "forbidden_target"
        assert "forbidden address" in exc.value.message
    async with db.uow(tenant_id) as uow:  # a name with only public addresses is accepted (nothing is sent)
        endpoint, secret = await notifications.create_endpoint(uow, admin, guard, "https://public.example.com/h", ["*"])
    assert endpoint.active and secret.startswith("whsec_")
    assert looked_up == ["metadata.example.com", "mixed.example.com", "public.example.com"]


async def test_addresses_are_checked_again_at_delivery_and_the_checked_address_is_used(receiver: Receiver) -> None:
    from domain.webhooks import ClaimedDelivery, envelope, generate_secret
    from infra.target_guard import TargetGuard
    from infra.webhook_sender import WebhookSender

    answers = {"hooks.example.com": ["127.0.0.1"]}

    async def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    def claimed(url: str) -> ClaimedDelivery:
        event = uuid.uuid4()
        return ClaimedDelivery(id=uuid.uuid4(), endpoint_id=uuid.uuid4(), event_id=event, topic="notice.forwarded",
                               url=url, secrets=(generate_secret(),), attempt=1, max_attempts=8,
                               payload=envelope(event, "notice.forwarded", datetime.now(UTC), None, {}))

    url = f"http://hooks.example.com:{receiver.port}/hooks"
    # Registered while it resolved to a public address; by delivery time the name points at loopback.
    strict = WebhookSender(TargetGuard(allow_local=False, resolver=resolver))
    [refused] = await strict.send_many([claimed(url.replace("http:", "https:"))])
    await strict.aclose()
    assert refused.status_code is None and refused.error and "forbidden address" in refused.error
    assert receiver.requests == []  # nothing was sent

    # Allowed (development): the request goes to the resolved address, the name stays in the Host header.
    local = WebhookSender(TargetGuard(allow_local=True, resolver=resolver))
    [ok] = await local.send_many([claimed(url)])
    await local.aclose()
    assert ok.ok and ok.status_code == 200
    [(headers, _)] = receiver.requests
    assert headers["host"] == f"hooks.example.com:{receiver.port}"


async def test_acknowledgement_of_a_forwarded_declaration_confirms_delivery(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None) -> None:
    from tests.e2e.test_preset_flows import ACCEPT, CASE, CONFIRM, DECLARE, REVIEW_DECLARATION, SUBMIT, _seed

    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    integration, reviewer = s["integration"], s["reviewer"]
    await create_endpoint(tenant.admin, receiver.url, ["declaration.forwarded"])
    receiver.default = (200, b'{"delivered": true}')
    submitted = (await integration(SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeit.",
        "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"},
                     {"kind": "test_purchase", "sha256": "a" * 64}],
        "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]
    [case] = submitted["cases"]
    accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await integration(CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    declared = (await integration(DECLARE, {"input": {
        "caseIds": [case["id"]], "grounds": "NOT_INFRINGING", "explanation": "Genuine goods.",
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/i.pdf"}],
        "statements": {"accuracy": True}}}))["submitDeclaration"]["declaration"]
    reviewed = await reviewer(REVIEW_DECLARATION, {"input": {"declarationId": declared["id"], "accept": True}})
    assert reviewed["reviewDeclaration"]["declaration"]["cases"][0]["state"] == "DECLARED"

    async def waiting() -> bool:
        node = (await integration(CASE, {"id": case["id"]}))["node"]
        return bool(node["state"] == "WAITING")
    await pump(db, broker, waiting, "the acknowledgement to start the window", seconds=20)

    [payload] = receiver.payloads()
    assert payload["type"] == "declaration.forwarded"
    node = (await integration(CASE, {"id": case["id"]}))["node"]
    delivery = node["timeline"][-1]
    assert delivery["actor"] == "automated:webhooks.acknowledgement" and delivery["automated"] is True
    assert node["window"]["endsAt"]
    acked = await owner_conn.fetchval("SELECT acknowledged FROM webhook_deliveries WHERE event_id = $1",
                                      uuid.UUID(payload["id"]))
    assert acked is True
    delivered_at = await owner_conn.fetchval("SELECT delivered_at FROM declarations WHERE tenant_id = $1",
                                             await tenant.tenant_id(db))
    assert delivered_at is not None


async def test_endpoint_admin_lifecycle_and_secret_shown_once(make_tenant: Any, db: Any, owner_conn: Any,
                                                              allow_local: None, receiver: Receiver) -> None:
    tenant = await make_tenant()
    endpoint_id, secret = await create_endpoint(tenant.admin, receiver.url, ["case.*", "notice.forwarded"])
    listed = await tenant.admin("{ webhookEndpoints { edges { node { id url events active secretHint } } } }")
    [node] = [e["node"] for e in listed["webhookEndpoints"]["edges"]]
    assert node["id"] == endpoint_id and node["events"] == ["case.*", "notice.forwarded"]
    assert secret not in json.dumps(listed)

    rotated = (await tenant.admin("""mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) {
        ... on WebhookEndpointSecretSuccess { secret endpoint { secretHint secretRotatedAt } } } }""",
                                  {"id": endpoint_id}))["rotateWebhookSecret"]
    assert rotated["secret"] != secret and rotated["endpoint"]["secretRotatedAt"]

    integration = await tenant.client("integration")
    denied = await integration.raw("""mutation { createWebhookEndpoint(input: {url: "https://x.example/", events: ["*"]})
        { __typename } }""")
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    bad = (await tenant.admin(CREATE, {"input": {"url": receiver.url, "events": ["nope.*"]}}))
    assert bad["createWebhookEndpoint"]["problems"][0]["code"] == "unknown_event"

    disabled = (await tenant.admin("""mutation($id: ID!) { disableWebhookEndpoint(input: {id: $id}) {
        ... on WebhookEndpointSuccess { endpoint { active disabledAt } } } }""", {"id": endpoint_id}))
    assert disabled["disableWebhookEndpoint"]["endpoint"]["active"] is False


async def test_metrics_endpoint_exposes_webhook_and_pipeline_metrics(http: Any, make_tenant: Any, db: Any,
                                                                     broker: Any, worker: Any, owner_conn: Any,
                                                                     receiver: Receiver, allow_local: None) -> None:
    _, tenant_id, _, _ = await subscribed_tenant(make_tenant, db, receiver.url, ["*"], mode="LIVE")
    [event_id] = await emit(db, tenant_id, ("notice.clarification_requested", _ids(), None))

    async def delivered() -> bool:
        return await status_of(owner_conn, tenant_id, event_id) == "delivered"
    await pump(db, broker, delivered, "a delivery")
    response = await http.get("/metrics")
    assert response.status_code == 200
    text = response.text
    for name in ("noticehub_webhook_attempts_total", "noticehub_webhook_latency_seconds_bucket",
                 "noticehub_outbox_relay_age_seconds_bucket", "noticehub_decisions_total"):
        assert name in text, name
    assert 'result="delivered"' in text


# ----- one receiver's odd answer, or one failing send, costs no other delivery its outcome ---------

DEEP_ANSWER = b"[" * 5_000 + b"]" * 5_000  # 10 KB; json.loads gives up at ~1,000 levels with RecursionError


def _claimed(url: str, topic: str, marker: str) -> Any:
    from domain.webhooks import ClaimedDelivery, envelope, generate_secret

    event = uuid.uuid4()
    return ClaimedDelivery(id=uuid.uuid4(), endpoint_id=uuid.uuid4(), event_id=event, topic=topic, url=url,
                           secrets=(generate_secret(),), attempt=1, max_attempts=8,
                           payload=envelope(event, topic, datetime.now(UTC), None, {"marker": marker}))


def _answer_by_marker(answers: dict[str, tuple[int, bytes]]) -> Callable[[dict[str, Any]], tuple[int, bytes] | None]:
    return lambda payload: answers.get(payload["data"]["marker"])


async def test_a_deeply_nested_answer_is_no_acknowledgement_and_the_batch_keeps_every_result(
        receiver: Receiver) -> None:
    from infra.target_guard import TargetGuard
    from infra.webhook_sender import WebhookSender

    receiver.rule = _answer_by_marker({"deep": (200, DEEP_ANSWER), "ack": (200, b'{"delivered": true}')})
    sender = WebhookSender(TargetGuard(allow_local=True))
    batch = [_claimed(receiver.url, "case.state_changed", "plain"),
             _claimed(receiver.url, "declaration.forwarded", "deep"),
             _claimed(receiver.url, "declaration.forwarded", "ack")]
    results = await sender.send_many(batch)
    await sender.aclose()
    assert [r.delivery_id for r in results] == [d.id for d in batch]
    assert [(r.status_code, r.error, r.acknowledged) for r in results] == [
        (200, None, False), (200, None, False), (200, None, True)]


async def test_a_send_that_fails_unexpectedly_is_its_own_failed_attempt(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import infra.webhook_sender as webhook_sender
    from infra.target_guard import TargetGuard

    def broken(topic: str, status_code: int, body: bytes) -> bool:  # a bug that hits one topic only
        if topic == "declaration.forwarded":
            raise RuntimeError("bug")
        return False

    monkeypatch.setattr(webhook_sender, "acknowledges_delivery", broken)
    sender = webhook_sender.WebhookSender(TargetGuard(allow_local=True))
    ok, failing = await sender.send_many([_claimed(receiver.url, "notice.forwarded", "a"),
                                          _claimed(receiver.url, "declaration.forwarded", "b")])
    await sender.aclose()
    assert (ok.status_code, ok.error) == (200, None)
    assert failing.status_code is None and failing.error == "unexpected: RuntimeError: bug"
    assert "failed unexpectedly" in caplog.text  # logged with its traceback


async def test_a_delivery_answered_with_deep_json_is_recorded_not_left_sending(
        make_tenant: Any, db: Any, broker: Any, worker: Any, owner_conn: Any, receiver: Receiver,
        allow_local: None) -> None:
    _, tenant_id, _, _ = await subscribed_tenant(make_tenant, db, receiver.url, ["declaration.forwarded"])
    receiver.default = (200, DEEP_ANSWER)
    [event_id] = await emit(db, tenant_id, ("declaration.forwarded", _ids(), None))

    async def delivered() -> bool:
        return await status_of(owner_conn, tenant_id, event_id) == "delivered"
    await pump(db, broker, delivered, "the delivery to be recorded", seconds=10)
    acknowledged = await owner_conn.fetchval("SELECT acknowledged FROM webhook_deliveries WHERE event_id = $1",
                                             uuid.UUID(event_id))
    assert acknowledged is False


async def test_a_stored_url_with_raw_control_characters_or_port_0_is_refused_at_delivery(
        receiver: Receiver, make_tenant: Any) -> None:
    """Endpoints registered before such URLs were refused: nothing goes on the wire (no injected header line)."""
    from infra.target_guard import TargetGuard
    from infra.webhook_sender import WebhookSender

    sender = WebhookSender(TargetGuard(allow_local=True))
    urls = [f"{receiver.url}\r\nX-Injected: y", f"{receiver.url}/a b", f"{receiver.url}\u202e",
            receiver.url.replace(f":{receiver.port}", ":0")]
    results = await sender.send_many([_claimed(url, "notice.forwarded", "x") for url in urls])
    await sender.aclose()
    assert all(r.status_code is None and r.error and r.error.startswith("refused: ") for r in results), results
    assert receiver.requests == []

    tenant = await make_tenant()
    for url in urls:
        payload = (await tenant.admin(CREATE, {"input": {"url": url, "events": ["*"]}}))["createWebhookEndpoint"]
        assert (payload["__typename"], payload["field"]) == ("InvalidInputError", "url"), (url, payload)
