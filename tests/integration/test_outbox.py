"""Transactional outbox: nothing is sent for a rolled-back change; a committed one is handled once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

TOPIC = "test.ping"


class Boom(Exception):
    pass


@pytest.fixture
def received() -> Iterator[list[str]]:
    """Registers a handler for the test topic that records every time its effect runs."""
    from workers.handlers import HANDLERS

    seen: list[str] = []

    async def handler(uow: Any, event_id: str, payload: Any) -> None:
        seen.append(payload["marker"])

    HANDLERS[TOPIC] = (handler,)
    yield seen
    HANDLERS.pop(TOPIC, None)


async def _wait_until(predicate: Any, what: str, attempts: int = 200) -> None:
    for _ in range(attempts):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def _outbox_rows(owner_conn: Any, marker: str) -> list[Any]:
    return list(await owner_conn.fetch("SELECT id, dispatched_at FROM outbox WHERE payload->>'marker' = $1", marker))


async def test_rolled_back_use_case_sends_nothing(db: Any, make_tenant: Any, owner_conn: Any, broker: Any,
                                                  worker: Any, received: list[str]) -> None:
    from infra.relay import OutboxRelay

    tenant_id = await (await make_tenant()).tenant_id(db)
    marker = uuid.uuid4().hex
    with pytest.raises(Boom):
        async with db.uow(tenant_id) as uow:
            uow.outbox.add(TOPIC, {"marker": marker})
            raise Boom
    assert await _outbox_rows(owner_conn, marker) == []
    control = uuid.uuid4().hex
    async with db.uow(tenant_id) as uow:
        uow.outbox.add(TOPIC, {"marker": control})
    while await OutboxRelay(db, broker).run_once():
        pass
    await _wait_until(lambda: control in received, "the control message")
    assert marker not in received


async def test_committed_message_is_handled_exactly_once_across_relay_restarts(
    db: Any, make_tenant: Any, owner_conn: Any, broker: Any, worker: Any, received: list[str]
) -> None:
    from infra.relay import OutboxRelay

    tenant_id = await (await make_tenant()).tenant_id(db)
    marker = uuid.uuid4().hex
    async with db.uow(tenant_id) as uow:  # committed while no relay runs
        uow.outbox.add(TOPIC, {"marker": marker})
    [row] = await _outbox_rows(owner_conn, marker)
    assert row["dispatched_at"] is None

    stop = asyncio.Event()
    relay = OutboxRelay(db, broker, poll_interval_s=0.2)
    task = asyncio.create_task(relay.run(stop))
    await _wait_until(lambda: marker in received, "first delivery")
    stop.set()
    await task

    # A crash between enqueue and marking the row would re-send: simulate the duplicate delivery.
    [row] = await _outbox_rows(owner_conn, marker)
    assert row["dispatched_at"] is not None
    from infra.broker import events_message

    tenant = str(tenant_id)
    broker.enqueue(events_message(str(row["id"]), TOPIC, tenant, {"marker": marker}, {}))

    # Restart the relay; it must not send the dispatched row again, and new rows still flow (NOTIFY wake-up).
    stop2 = asyncio.Event()
    task2 = asyncio.create_task(OutboxRelay(db, broker, poll_interval_s=5).run(stop2))
    later = uuid.uuid4().hex
    await asyncio.sleep(0.1)
    async with db.uow(tenant_id) as uow:
        uow.outbox.add(TOPIC, {"marker": later})
    await _wait_until(lambda: later in received, "the message committed after the restart")
    stop2.set()
    await task2
    await asyncio.to_thread(broker.join, "events", timeout=10_000)
    await asyncio.to_thread(worker.join)
    assert received.count(marker) == 1
    assert received.count(later) == 1
    handled = await owner_conn.fetchval("SELECT count(*) FROM processed_messages WHERE message_id = $1", row["id"])
    assert handled == 1


async def test_mutation_and_actor_share_one_trace(make_tenant: Any, db: Any, broker: Any, worker: Any,
                                                  spans: Any) -> None:
    from infra.relay import OutboxRelay
    from workers.handlers import HANDLERS

    done: list[str] = []

    async def handler(uow: Any, event_id: str, payload: Any) -> None:
        done.append(payload["ip_right_id"])

    HANDLERS["ip_right.legal_status_changed"] = (handler,)
    try:
        tenant = await make_tenant()
        client = await tenant.client("integration")
        holder = await client("""mutation { upsertParty(input: {kind: RIGHTS_HOLDER, externalRef: "h",
            displayName: "H", personalData: {email: "secret@example.com"}}) {
            ... on UpsertPartySuccess { party { id } } } }""")
        right = await client("""mutation($h: ID!) { registerIpRight(input: {holderId: $h, type: TRADEMARK,
            registrationNumber: "77", jurisdiction: "CN"}) { ... on IpRightSuccess { ipRight { id } } } }""",
                             {"h": holder["upsertParty"]["party"]["id"]})
        spans.clear()
        await client("""mutation($id: ID!) { setIpRightLegalStatus(input: {id: $id, legalStatus: EXPIRED}) {
            __typename } }""", {"id": right["registerIpRight"]["ipRight"]["id"]})
        while await OutboxRelay(db, broker).run_once():
            pass
        await _wait_until(lambda: bool(done), "the actor")
        await asyncio.to_thread(worker.join)
    finally:
        HANDLERS.pop("ip_right.legal_status_changed", None)

    finished = spans.get_finished_spans()
    # Over HTTP the request's SERVER span is the operation's span and carries the GraphQL attributes.
    mutation = next(s for s in finished if (s.attributes or {}).get("graphql.operation.type") == "mutation")
    assert mutation.kind.name == "SERVER"
    actor = next(s for s in finished if s.name == "process dispatch_event")
    relay = next(s for s in finished if s.name == "outbox.relay")
    trace_id = mutation.context.trace_id
    assert actor.context.trace_id == trace_id
    assert relay.context.trace_id == trace_id
    assert actor.parent is not None and actor.parent.span_id == relay.context.span_id
    sql = [s for s in finished if s.context.trace_id == trace_id and s.attributes.get("db.system") == "postgresql"]
    assert sql, "SQL statements are traced inside the request"
    # No personal data or secrets in any span attribute.
    for s in finished:
        for value in (s.attributes or {}).values():
            assert "secret@example.com" not in str(value)
            assert "nhk_" not in str(value)


async def test_a_notify_during_a_relay_pass_is_not_lost(db: Any, broker: Any) -> None:
    """A commit whose NOTIFY arrives while the relay is moving a batch is relayed at once, not after the
    poll interval (the wake-up is cleared before the claim, not after it)."""
    from infra.relay import OutboxRelay

    relay = OutboxRelay(db, broker, poll_interval_s=30)
    passes: list[float] = []

    async def run_once() -> int:
        passes.append(asyncio.get_running_loop().time())
        if len(passes) == 1:
            relay._on_notify()  # the NOTIFY of a commit that landed while this pass ran
        return 0

    relay.run_once = run_once  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await _wait_until(lambda: len(passes) >= 2, "a second pass woken by the NOTIFY", attempts=50)
    stop.set()
    await task
    assert passes[1] - passes[0] < 5  # woken, not polled after 30 s
