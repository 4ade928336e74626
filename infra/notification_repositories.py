"""All SQL for webhook endpoints, deliveries, attempts and emails. Rows in, domain dataclasses out.

Every statement runs in a tenant transaction (row-level security scopes it); batch writes use
unnest so a batch of a hundred deliveries costs one statement per kind of write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.services.notifications import AttemptRecord, ClaimedEmail, NewDelivery, NewEmail
from domain.webhooks import (
    ClaimedDelivery,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    secret_hint,
)
from infra.case_repositories import PENDING_FIRES_AT


class _Repo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


_ENDPOINT_COLS = ("id, url, description, events, active, secret, created_at, updated_at, disabled_at,"
                  " secret_rotated_at")


def endpoint_from_row(r: asyncpg.Record) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=r["id"], url=r["url"], description=r["description"], events=tuple(r["events"]), active=r["active"],
        secret_hint=secret_hint(r["secret"]), created_at=r["created_at"], updated_at=r["updated_at"],
        disabled_at=r["disabled_at"], secret_rotated_at=r["secret_rotated_at"],
    )


_DELIVERY_COLS = ("id, endpoint_id, event_id, topic, ordering_key, status, attempts, max_attempts, next_attempt_at,"
                  " last_status_code, last_error, last_latency_ms, acknowledged, created_at, delivered_at")


def delivery_from_row(r: asyncpg.Record) -> WebhookDelivery:
    return WebhookDelivery(
        id=r["id"], endpoint_id=r["endpoint_id"], event_id=r["event_id"], topic=r["topic"],
        ordering_key=r["ordering_key"], status=DeliveryStatus(r["status"]), attempts=r["attempts"],
        max_attempts=r["max_attempts"],
        next_attempt_at=r["next_attempt_at"] if r["status"] in ("pending", "failed") else None,
        last_status_code=r["last_status_code"], last_error=r["last_error"], last_latency_ms=r["last_latency_ms"],
        acknowledged=r["acknowledged"], created_at=r["created_at"], delivered_at=r["delivered_at"],
    )


# An open delivery is claimable when due and not behind an earlier open delivery of its ordering key
# (same endpoint); an attempt whose lease ran out (sender killed) is claimable again.
_CLAIM = """
WITH due AS (
  SELECT d.id FROM webhook_deliveries d
  JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id AND e.active
  WHERE ((d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1)
         OR (d.status = 'sending' AND d.lease_until <= $1))
    AND (d.ordering_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM webhook_deliveries p
      WHERE p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
        AND p.event_id < d.event_id AND p.status IN ('pending', 'sending', 'failed')))
  ORDER BY d.event_id
  LIMIT $2
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries w
SET status = 'sending', attempts = w.attempts + 1, lease_until = $3, updated_at = $1
FROM due, webhook_endpoints e
WHERE w.tenant_id = $4 AND w.id = due.id AND e.tenant_id = w.tenant_id AND e.id = w.endpoint_id
RETURNING w.id, w.endpoint_id, w.event_id, w.topic, w.payload, w.attempts, w.max_attempts, e.url, e.secret,
  CASE WHEN e.previous_secret_valid_until > $1 THEN e.previous_secret END AS previous_secret
"""

_RECORD = """
UPDATE webhook_deliveries w
SET status = u.status, next_attempt_at = u.next_at, lease_until = NULL, last_status_code = u.code,
    last_error = u.error, last_latency_ms = u.latency, acknowledged = w.acknowledged OR u.ack,
    delivered_at = coalesce(u.delivered_at, w.delivered_at), updated_at = $2
FROM unnest($3::uuid[], $4::int[], $5::text[], $6::timestamptz[], $7::int[], $8::text[], $9::int[], $10::bool[],
            $11::timestamptz[]) AS u(id, attempt, status, next_at, code, error, latency, ack, delivered_at)
WHERE w.tenant_id = $1 AND w.id = u.id AND w.status = 'sending' AND w.attempts = u.attempt
"""
_INSERT_ATTEMPTS = """
INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, endpoint_id, started_at, status_code, error,
  latency_ms, outcome, recorded_at)
SELECT $1, u.delivery_id, u.attempt, u.endpoint_id, u.started_at, u.code, u.error, u.latency, u.outcome, $2
FROM unnest($3::uuid[], $4::int[], $5::uuid[], $6::timestamptz[], $7::int[], $8::text[], $9::int[], $10::text[])
  AS u(delivery_id, attempt, endpoint_id, started_at, code, error, latency, outcome)
ON CONFLICT DO NOTHING
"""
# The earliest moment something can be sent: for each (endpoint, ordering key) line only its head
# counts (the rest wait for it); deliveries without a key each count.
_NEXT_DUE = """
SELECT min(CASE WHEN status = 'sending' THEN lease_until ELSE next_attempt_at END) FROM (
  SELECT DISTINCT ON (endpoint_id, ordering_key) status, lease_until, next_attempt_at
  FROM webhook_deliveries WHERE status IN ('pending', 'sending', 'failed') AND ordering_key IS NOT NULL
  ORDER BY endpoint_id, ordering_key, event_id
) heads
UNION ALL
SELECT min(CASE WHEN status = 'sending' THEN lease_until ELSE next_attempt_at END)
FROM webhook_deliveries WHERE status IN ('pending', 'sending', 'failed') AND ordering_key IS NULL
"""


class WebhookRepo(_Repo):
    async def insert_endpoint(self, endpoint: WebhookEndpoint, secret: str) -> None:
        await self.conn.execute(
            "INSERT INTO webhook_endpoints (tenant_id, id, url, description, events, secret, active, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            self.tenant_id, endpoint.id, endpoint.url, endpoint.description, list(endpoint.events), secret,
            endpoint.active, endpoint.created_at, endpoint.updated_at,
        )

    async def get_endpoint(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        r = await self.conn.fetchrow(f"SELECT {_ENDPOINT_COLS} FROM webhook_endpoints WHERE id = $1", endpoint_id)
        return endpoint_from_row(r) if r else None

    async def get_endpoints(self, ids: Sequence[UUID]) -> list[WebhookEndpoint | None]:
        rows = await self.conn.fetch(f"SELECT {_ENDPOINT_COLS} FROM webhook_endpoints WHERE id = any($1::uuid[])",
                                     list(ids))
        by_id = {r["id"]: endpoint_from_row(r) for r in rows}
        return [by_id.get(i) for i in ids]

    async def page_endpoints(self, after: UUID | None, first: int) -> list[WebhookEndpoint]:
        rows = await self.conn.fetch(
            f"SELECT {_ENDPOINT_COLS} FROM webhook_endpoints WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
            after, first)
        return [endpoint_from_row(r) for r in rows]

    async def disable_endpoint(self, endpoint_id: UUID, at: datetime) -> WebhookEndpoint | None:
        r = await self.conn.fetchrow(
            "UPDATE webhook_endpoints SET active = false, disabled_at = coalesce(disabled_at, $2), updated_at = $2"
            f" WHERE id = $1 RETURNING {_ENDPOINT_COLS}", endpoint_id, at)
        return endpoint_from_row(r) if r else None

    async def rotate_secret(self, endpoint_id: UUID, secret: str, at: datetime,
                            previous_valid_until: datetime) -> WebhookEndpoint | None:
        r = await self.conn.fetchrow(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_valid_until = $4, secret = $2,"
            f" secret_rotated_at = $3, updated_at = $3 WHERE id = $1 RETURNING {_ENDPOINT_COLS}",
            endpoint_id, secret, at, previous_valid_until)
        return endpoint_from_row(r) if r else None

    async def active_endpoints(self) -> list[tuple[UUID, tuple[str, ...]]]:
        rows = await self.conn.fetch("SELECT id, events FROM webhook_endpoints WHERE active")
        return [(r["id"], tuple(r["events"])) for r in rows]

    async def event_meta(self, event_id: UUID) -> tuple[str | None, datetime] | None:
        r = await self.conn.fetchrow("SELECT ordering_key, created_at FROM outbox WHERE id = $1", event_id)
        return (r["ordering_key"], r["created_at"]) if r else None

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> int:
        if not rows:
            return 0
        inserted = await self.conn.fetch(
            "INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, topic, ordering_key, payload,"
            "   max_attempts, next_attempt_at, created_at, updated_at)"
            " SELECT $1, u.id, u.endpoint_id, u.event_id, u.topic, u.ordering_key, u.payload::jsonb, u.max_attempts,"
            "   u.created_at, u.created_at, u.created_at"
            " FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[], $8::int[],"
            "   $9::timestamptz[]) AS u(id, endpoint_id, event_id, topic, ordering_key, payload, max_attempts,"
            "   created_at)"
            " ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING RETURNING id",
            self.tenant_id, [r.id for r in rows], [r.endpoint_id for r in rows], [r.event_id for r in rows],
            [r.topic for r in rows], [r.ordering_key for r in rows], [dict(r.payload) for r in rows],
            [r.max_attempts for r in rows], [r.created_at for r in rows],
        )
        return len(inserted)

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[ClaimedDelivery]:
        rows = await self.conn.fetch(_CLAIM, now, limit, lease_until, self.tenant_id)
        return sorted((ClaimedDelivery(
            id=r["id"], endpoint_id=r["endpoint_id"], event_id=r["event_id"], topic=r["topic"], url=r["url"],
            secrets=(r["secret"], r["previous_secret"]) if r["previous_secret"] else (r["secret"],),
            payload=r["payload"], attempt=r["attempts"], max_attempts=r["max_attempts"]) for r in rows),
            key=lambda c: c.event_id)

    async def record(self, rows: Sequence[AttemptRecord], at: datetime) -> None:
        if not rows:
            return
        ids = [r.delivery_id for r in rows]
        attempts = [r.attempt for r in rows]
        codes = [r.result.status_code for r in rows]
        errors = [r.result.error[:1000] if r.result.error else None for r in rows]
        latencies = [r.result.latency_ms for r in rows]
        statuses = [r.status.value for r in rows]
        await self.conn.execute(
            _RECORD, self.tenant_id, at, ids, attempts, statuses, [r.next_attempt_at for r in rows], codes, errors,
            latencies, [r.result.acknowledged for r in rows], [r.delivered_at for r in rows])
        await self.conn.execute(
            _INSERT_ATTEMPTS, self.tenant_id, at, ids, attempts, [r.endpoint_id for r in rows],
            [r.result.started_at for r in rows], codes, errors, latencies, statuses)

    async def close_open(self, endpoint_id: UUID, reason: str) -> int:
        result = await self.conn.execute(
            "UPDATE webhook_deliveries SET status = 'dead', last_error = $2, lease_until = NULL, updated_at = now()"
            " WHERE endpoint_id = $1 AND status IN ('pending', 'sending', 'failed')", endpoint_id, reason)
        return int(result.split()[-1])

    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None:
        r = await self.conn.fetchrow(f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE id = $1", delivery_id)
        return delivery_from_row(r) if r else None

    async def get_deliveries(self, ids: Sequence[UUID]) -> list[WebhookDelivery | None]:
        rows = await self.conn.fetch(f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE id = any($1::uuid[])",
                                     list(ids))
        by_id = {r["id"]: delivery_from_row(r) for r in rows}
        return [by_id.get(i) for i in ids]

    async def page_deliveries(self, endpoint_id: UUID, after: UUID | None, first: int,
                              status: DeliveryStatus | None) -> list[WebhookDelivery]:
        """Newest first: `after` is the last id of the previous page."""
        rows = await self.conn.fetch(
            f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE endpoint_id = $1"
            " AND ($2::uuid IS NULL OR id < $2) AND ($4::text IS NULL OR status = $4) ORDER BY id DESC LIMIT $3",
            endpoint_id, after, first, status.value if status else None)
        return [delivery_from_row(r) for r in rows]

    async def attempts_for(self, delivery_ids: Sequence[UUID]) -> list[WebhookAttempt]:
        rows = await self.conn.fetch(
            "SELECT delivery_id, attempt, started_at, status_code, error, latency_ms, outcome FROM webhook_attempts"
            " WHERE delivery_id = any($1::uuid[]) ORDER BY delivery_id, attempt", list(delivery_ids))
        return [WebhookAttempt(delivery_id=r["delivery_id"], attempt=r["attempt"], started_at=r["started_at"],
                               status_code=r["status_code"], error=r["error"], latency_ms=r["latency_ms"],
                               outcome=DeliveryStatus(r["outcome"])) for r in rows]

    async def reopen(self, delivery_id: UUID, now: datetime, max_attempts: int) -> WebhookDelivery | None:
        r = await self.conn.fetchrow(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, max_attempts = $3,"
            "   lease_until = NULL, updated_at = $2"
            f" WHERE id = $1 AND status IN ('delivered', 'dead') RETURNING {_DELIVERY_COLS}",
            delivery_id, now, max_attempts)
        return delivery_from_row(r) if r else None

    async def next_due(self) -> datetime | None:
        values = [r[0] for r in await self.conn.fetch(_NEXT_DUE) if r[0] is not None]
        return min(values) if values else None

    async def pending_wakeup(self, kind: str) -> datetime | None:
        """When the tenant's earliest pending wake-up of this kind fires (one in backoff: not before its retry)."""
        value: datetime | None = await self.conn.fetchval(
            f"SELECT min({PENDING_FIRES_AT}) FROM deadlines d"
            " WHERE d.subject_id = $1 AND d.kind = $2 AND d.status = 'pending'",
            self.tenant_id, kind)
        return value


class EmailRepo(_Repo):
    async def insert(self, rows: Sequence[NewEmail]) -> int:
        if not rows:
            return 0
        inserted = await self.conn.fetch(
            "INSERT INTO email_messages (tenant_id, id, event_id, template, recipient_party_id, locale, subject, body,"
            "   max_attempts, next_attempt_at, created_at)"
            " SELECT $1, u.id, u.event_id, u.template, u.party, u.locale, u.subject, u.body, u.max_attempts,"
            "   u.created_at, u.created_at"
            " FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[],"
            "   $9::int[], $10::timestamptz[]) AS u(id, event_id, template, party, locale, subject, body,"
            "   max_attempts, created_at)"
            " ON CONFLICT (tenant_id, event_id, template, recipient_party_id) DO NOTHING RETURNING id",
            self.tenant_id, [r.id for r in rows], [r.event_id for r in rows], [r.template for r in rows],
            [r.recipient_party_id for r in rows], [r.locale for r in rows], [r.subject for r in rows],
            [r.body for r in rows], [r.max_attempts for r in rows], [r.created_at for r in rows],
        )
        return len(inserted)

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[ClaimedEmail]:
        rows = await self.conn.fetch(
            "WITH due AS (SELECT id FROM email_messages"
            "   WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $1)"
            "      OR (status = 'sending' AND lease_until <= $1)"
            "   ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " UPDATE email_messages m SET status = 'sending', attempts = m.attempts + 1, lease_until = $3"
            " FROM due WHERE m.tenant_id = $4 AND m.id = due.id"
            " RETURNING m.id, m.template, m.locale, m.subject, m.body, m.attempts, m.max_attempts,"
            "   (SELECT p.email FROM party_personal_data p WHERE p.party_id = m.recipient_party_id) AS recipient",
            now, limit, lease_until, self.tenant_id)
        return [ClaimedEmail(id=r["id"], template=r["template"], locale=r["locale"], subject=r["subject"],
                             body=r["body"], recipient=r["recipient"] or None, attempt=r["attempts"],
                             max_attempts=r["max_attempts"]) for r in rows]

    async def record(self, rows: Sequence[tuple[UUID, int, str, str | None, str | None, datetime | None]],
                     at: datetime) -> None:
        if not rows:
            return
        await self.conn.execute(
            "UPDATE email_messages m SET status = u.status, transport = u.transport, last_error = u.error,"
            "   next_attempt_at = u.next_at, lease_until = NULL,"
            "   sent_at = CASE WHEN u.status = 'sent' THEN $2 ELSE m.sent_at END"
            " FROM unnest($3::uuid[], $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])"
            "   AS u(id, attempt, status, transport, error, next_at)"
            " WHERE m.tenant_id = $1 AND m.id = u.id AND m.status = 'sending' AND m.attempts = u.attempt",
            self.tenant_id, at, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            [r[3] for r in rows], [r[4][:1000] if r[4] else None for r in rows], [r[5] for r in rows])

    async def next_due(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT min(CASE WHEN status = 'sending' THEN lease_until ELSE next_attempt_at END) FROM email_messages"
            " WHERE status IN ('pending', 'sending', 'failed')")
        return value

    async def page(self, after: UUID | None, first: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT id, event_id, template, recipient_party_id, locale, subject, status, attempts, transport,"
            " last_error, created_at, sent_at FROM email_messages WHERE ($1::uuid IS NULL OR id < $1)"
            " ORDER BY id DESC LIMIT $2", after, first)
        return [dict(r) for r in rows]
