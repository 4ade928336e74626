"""Use cases for notifications: webhook endpoints and deliveries, emails to parties, acknowledgements.

How deliveries are driven (docs/operations.md has the operator's view):
- `fan_out` runs in the event worker's transaction: one `webhook_deliveries` row per subscribed
  endpoint (unique on endpoint + event, so a redelivered event adds nothing) and one `webhook.due`
  outbox message, so the first attempt is triggered only once the rows are committed.
- A sender claims due rows (`claim_deliveries`: status `sending` with a lease), posts them outside
  any transaction, and reports back (`record_attempts`). Failed attempts get `next_attempt_at` from
  the retry schedule; a spent budget makes the delivery dead.
- Retries and crash recovery ride on durable deadlines: whenever a transaction leaves work for
  later (a retry time, a lease that may expire, a trigger that might be lost), `ensure_wakeup` makes
  sure the tenant has a pending `webhook_wakeup` deadline at or before that moment. When one fires
  (`on_wakeup`), the scheduler's transaction emits `webhook.due` and arms the next wake-up from the
  earliest due delivery that is not blocked by its ordering key. One timer per tenant, not per row.
- Events with the same ordering key (the case) go to an endpoint in event order: a delivery is not
  claimed while an earlier one of its key is pending, sending or failed (waiting to retry); dead or
  delivered ones no longer hold the line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from domain.cases import CaseState
from domain.decisions import AUTOMATED
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.ids import new_id
from domain.notices import DeclarationStatus
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services.declarations import confirm_delivery, delivery_waits_for_resume
from domain.tenancy import Principal, Role
from domain.webhooks import (
    DEFAULT_SCHEDULE,
    ROTATION_GRACE,
    SEND_LEASE,
    ClaimedDelivery,
    DeliveryStatus,
    RetrySchedule,
    SendResult,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    after_attempt,
    envelope,
    event_matches,
    generate_secret,
    secret_hint,
    validate_event_patterns,
)

T = TypeVar("T")

ADMINS = (Role.ADMIN,)
LOG_READERS = (Role.ADMIN, Role.AUDITOR)

WEBHOOK_DUE = "webhook.due"  # internal topics: trigger a sender / record an acknowledgement
EMAIL_DUE = "email.due"
WEBHOOK_ACKNOWLEDGED = "webhook.acknowledged"
WEBHOOK_WAKEUP = "webhook_wakeup"  # deadline kinds; subject = the tenant
EMAIL_WAKEUP = "email_wakeup"
ACK_ACTOR = "webhooks.acknowledgement"
EMAIL_SCHEDULE = RetrySchedule(max_attempts=6, base_s=30.0, factor=4.0, cap_s=6 * 3600.0)
MAX_DESCRIPTION = 500


# ----- ports -------------------------------------------------------------------------------------


class TargetGuard(Protocol):
    """Checks an endpoint URL (syntax, then DNS: every address must be allowed); raises InvalidInput."""

    async def check(self, url: str, field: str = "url") -> None: ...


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: UUID
    endpoint_id: UUID
    event_id: UUID
    topic: str
    ordering_key: str | None
    payload: Mapping[str, Any]
    max_attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: UUID
    endpoint_id: UUID
    attempt: int
    result: SendResult
    status: DeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class WebhookRepository(Protocol):
    async def insert_endpoint(self, endpoint: WebhookEndpoint, secret: str) -> None: ...
    async def get_endpoint(self, endpoint_id: UUID) -> WebhookEndpoint | None: ...
    async def page_endpoints(self, after: UUID | None, first: int) -> list[WebhookEndpoint]: ...
    async def disable_endpoint(self, endpoint_id: UUID, at: datetime) -> WebhookEndpoint | None: ...
    async def rotate_secret(self, endpoint_id: UUID, secret: str, at: datetime,
                            previous_valid_until: datetime) -> WebhookEndpoint | None: ...
    async def active_endpoints(self) -> list[tuple[UUID, tuple[str, ...]]]: ...
    async def event_meta(self, event_id: UUID) -> tuple[str | None, datetime] | None: ...
    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> int: ...
    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[ClaimedDelivery]: ...
    async def record(self, rows: Sequence[AttemptRecord], at: datetime) -> None: ...
    async def close_open(self, endpoint_id: UUID, reason: str) -> int: ...
    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None: ...
    async def page_deliveries(self, endpoint_id: UUID, after: UUID | None, first: int,
                              status: DeliveryStatus | None) -> list[WebhookDelivery]: ...
    async def attempts_for(self, delivery_ids: Sequence[UUID]) -> list[WebhookAttempt]: ...
    async def reopen(self, delivery_id: UUID, now: datetime, max_attempts: int) -> WebhookDelivery | None: ...
    async def next_due(self) -> datetime | None: ...
    async def pending_wakeup(self, kind: str) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class NewEmail:
    id: UUID
    event_id: UUID
    template: str
    recipient_party_id: UUID
    locale: str
    subject: str
    body: str
    max_attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedEmail:
    id: UUID
    template: str
    locale: str
    subject: str
    body: str
    recipient: str | None  # the address, read from personal data at send time; never stored elsewhere
    attempt: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class EmailResult:
    email_id: UUID
    transport: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class EmailRepository(Protocol):
    async def insert(self, rows: Sequence[NewEmail]) -> int: ...
    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[ClaimedEmail]: ...
    async def record(self, rows: Sequence[tuple[UUID, int, str, str | None, str | None, datetime | None]],
                     at: datetime) -> None:
        """(id, attempt, status, transport, error, next attempt at): written only for the attempt still in
        progress, so a sender whose lease ran out cannot overwrite the result of the one that took over."""
        ...
    async def next_due(self) -> datetime | None: ...


class NotificationsUnitOfWork(UnitOfWork, Protocol):
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def emails(self) -> EmailRepository: ...


@dataclass(frozen=True, slots=True)
class AutomatedPrincipal(Principal):
    """Acts for the system inside a tenant (decisions record `automated:<name>`), e.g. a receiver's ack."""

    name: str = "automated"

    @property
    def actor(self) -> str:
        return f"{AUTOMATED}:{self.name}"


# ----- endpoint administration -------------------------------------------------------------------


async def create_endpoint(uow: NotificationsUnitOfWork, principal: Principal, guard: TargetGuard, url: str,
                          events: Sequence[str], description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its signing secret, which is shown this once."""
    principal.require(*ADMINS)
    patterns = validate_event_patterns(events)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"At most {MAX_DESCRIPTION} characters.", "description")
    await guard.check(url, "url")
    now = uow.clock.now()
    secret = generate_secret()
    endpoint = WebhookEndpoint(id=new_id(), url=url.strip(), description=description, events=patterns, active=True,
                               secret_hint=secret_hint(secret), created_at=now, updated_at=now, disabled_at=None,
                               secret_rotated_at=None)
    await uow.webhooks.insert_endpoint(endpoint, secret)
    return endpoint, secret


async def list_endpoints(uow: NotificationsUnitOfWork, principal: Principal, after: UUID | None,
                         first: int) -> list[WebhookEndpoint]:
    principal.require(*LOG_READERS)
    return await uow.webhooks.page_endpoints(after, first)


async def disable_endpoint(uow: NotificationsUnitOfWork, principal: Principal, endpoint_id: UUID) -> WebhookEndpoint:
    """Stop sending to an endpoint; its open deliveries become dead (redeliverable after re-registering)."""
    principal.require(*ADMINS)
    endpoint = await uow.webhooks.disable_endpoint(endpoint_id, uow.clock.now())
    if endpoint is None:
        raise NotFound("Webhook endpoint", "id")
    await uow.webhooks.close_open(endpoint_id, "endpoint disabled")
    return endpoint


async def rotate_secret(uow: NotificationsUnitOfWork, principal: Principal,
                        endpoint_id: UUID) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown once; for ROTATION_GRACE both are used to sign, so receivers can switch over."""
    principal.require(*ADMINS)
    current = await uow.webhooks.get_endpoint(endpoint_id)
    if current is None:
        raise NotFound("Webhook endpoint", "id")
    if not current.active:
        raise Conflict("The endpoint is disabled.", "id")
    now = uow.clock.now()
    secret = generate_secret()
    endpoint = await uow.webhooks.rotate_secret(endpoint_id, secret, now, now + ROTATION_GRACE)
    assert endpoint is not None
    return endpoint, secret


async def redeliver(uow: NotificationsUnitOfWork, principal: Principal, delivery_id: UUID) -> WebhookDelivery:
    """Send a delivery again with a fresh retry budget (same webhook-id: receivers deduplicate)."""
    principal.require(*ADMINS)
    delivery = await uow.webhooks.get_delivery(delivery_id)
    if delivery is None:
        raise NotFound("Webhook delivery", "deliveryId")
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED):
        raise Conflict(f"The delivery is {delivery.status.value}; it is still being sent.", "deliveryId")
    endpoint = await uow.webhooks.get_endpoint(delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict("The endpoint is disabled; register a new one.", "deliveryId")
    budget = delivery.attempts + DEFAULT_SCHEDULE.max_attempts
    reopened = await uow.webhooks.reopen(delivery_id, uow.clock.now(), budget)
    assert reopened is not None
    uow.outbox.add(WEBHOOK_DUE, {"reason": "redeliver", "delivery_id": str(delivery_id)})
    await ensure_wakeup(uow, WEBHOOK_WAKEUP, uow.clock.now() + SEND_LEASE)
    return reopened


async def deliveries(uow: NotificationsUnitOfWork, principal: Principal, endpoint_id: UUID, after: UUID | None,
                     first: int, status: DeliveryStatus | None) -> list[WebhookDelivery]:
    principal.require(*LOG_READERS)
    if await uow.webhooks.get_endpoint(endpoint_id) is None:
        raise NotFound("Webhook endpoint", "endpointId")
    return await uow.webhooks.page_deliveries(endpoint_id, after, first, status)


# ----- fan-out and sending -----------------------------------------------------------------------


def _policy_allows(policy: Policy | None, topic: str) -> bool:
    return policy is None or event_matches(policy.notifications.events, topic)


async def fan_out(uow: NotificationsUnitOfWork, event_id: UUID, topic: str, data: Mapping[str, Any],
                  schedule: RetrySchedule = DEFAULT_SCHEDULE) -> int:
    """One delivery per active endpoint subscribed to the topic (and allowed by the policy's events)."""
    endpoints = [e for e, patterns in await uow.webhooks.active_endpoints() if event_matches(patterns, topic)]
    if not endpoints:
        return 0
    try:
        policy: Policy | None = (await uow.policies.in_force()).policy
    except DomainError:
        policy = None
    if not _policy_allows(policy, topic):
        return 0
    meta = await uow.webhooks.event_meta(event_id)
    now = uow.clock.now()
    ordering_key, occurred_at = meta if meta is not None else (None, now)
    body = envelope(event_id, topic, occurred_at, ordering_key, data)
    created = await uow.webhooks.insert_deliveries([
        NewDelivery(id=new_id(), endpoint_id=e, event_id=event_id, topic=topic, ordering_key=ordering_key,
                    payload=body, max_attempts=schedule.max_attempts, created_at=now) for e in endpoints])
    if created:
        await _trigger_sender(uow, WEBHOOK_DUE, WEBHOOK_WAKEUP, event_id, now)
    return created


async def _trigger_sender(uow: NotificationsUnitOfWork, topic: str, wakeup: str, event_id: UUID,
                          now: datetime) -> None:
    """New rows to send: trigger a sender now, and arm a wake-up in case the trigger is lost."""
    uow.outbox.add(topic, {"reason": "event", "event_id": str(event_id)})
    await ensure_wakeup(uow, wakeup, now + SEND_LEASE)


class _LeasedRows(Protocol[T]):
    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[T]: ...


async def _claim(uow: NotificationsUnitOfWork, rows: _LeasedRows[T], wakeup: str, limit: int) -> list[T]:
    """Claim due rows for one attempt each; a wake-up covers the lease in case this sender dies."""
    now = uow.clock.now()
    claimed = await rows.claim(now, limit, now + SEND_LEASE)
    if claimed:
        await ensure_wakeup(uow, wakeup, now + SEND_LEASE)
    return claimed


async def claim_deliveries(uow: NotificationsUnitOfWork, limit: int) -> list[ClaimedDelivery]:
    return await _claim(uow, uow.webhooks, WEBHOOK_WAKEUP, limit)


async def record_attempts(uow: NotificationsUnitOfWork, claimed: Sequence[ClaimedDelivery],
                          results: Sequence[SendResult],
                          schedule: RetrySchedule = DEFAULT_SCHEDULE) -> list[AttemptRecord]:
    """What each attempt means: delivered, failed (next attempt scheduled) or dead; acknowledgements queued."""
    now = uow.clock.now()
    by_id = {r.delivery_id: r for r in results}
    records: list[AttemptRecord] = []
    for c in claimed:
        result = by_id[c.id]
        status = after_attempt(result, c.attempt, c.max_attempts)
        records.append(AttemptRecord(
            delivery_id=c.id, endpoint_id=c.endpoint_id, attempt=c.attempt, result=result, status=status,
            next_attempt_at=now + schedule.delay_after(c.attempt) if status is DeliveryStatus.FAILED else None,
            delivered_at=now if status is DeliveryStatus.DELIVERED else None))
        if status is DeliveryStatus.DELIVERED and result.acknowledged:
            declaration_id = c.payload.get("data", {}).get("declaration_id")
            if declaration_id:
                uow.outbox.add(WEBHOOK_ACKNOWLEDGED, {
                    "declaration_id": declaration_id, "delivery_id": str(c.id), "event_id": str(c.event_id),
                    "acknowledged_at": now.isoformat()})
    await uow.webhooks.record(records, now)
    retries = [r.next_attempt_at for r in records if r.next_attempt_at is not None]
    if retries:
        await ensure_wakeup(uow, WEBHOOK_WAKEUP, min(retries))
    return records


async def ensure_wakeup(uow: NotificationsUnitOfWork, kind: str, at: datetime) -> None:
    """Make sure the tenant has a pending wake-up deadline of this kind at or before `at`."""
    armed = await uow.webhooks.pending_wakeup(kind)
    if armed is None or armed > at:
        await uow.deadlines.schedule([(kind, uow.tenant_id, at, {})])


async def on_wakeup(uow: NotificationsUnitOfWork, kind: str) -> None:
    """A wake-up fired: trigger a sender now, and arm the next wake-up for whatever is due later
    (or, if something is due already, a safety net in case the triggered sender dies)."""
    uow.outbox.add(WEBHOOK_DUE if kind == WEBHOOK_WAKEUP else EMAIL_DUE, {"reason": "wakeup"})
    now = uow.clock.now()
    due = await (uow.webhooks.next_due() if kind == WEBHOOK_WAKEUP else uow.emails.next_due())
    if due is not None:
        await ensure_wakeup(uow, kind, due if due > now else now + SEND_LEASE)


async def acknowledge_delivery(uow: NotificationsUnitOfWork, payload: Mapping[str, Any]) -> bool:
    """A receiver acknowledged that the forwarded declaration reached the complainant: record it.

    Idempotent: a declaration already delivered (by an earlier ack or by confirmDelivery) is left alone.
    """
    declaration_id = UUID(str(payload["declaration_id"]))
    declaration = await uow.declarations.get(declaration_id)
    if declaration is None or declaration.status is not DeclarationStatus.ACCEPTED or declaration.delivered_at:
        return False
    at = datetime.fromisoformat(str(payload["acknowledged_at"]))
    cases = await uow.cases.by_declaration(declaration_id)
    if not any(c.state is CaseState.DECLARED or delivery_waits_for_resume(c) for c in cases):
        return False
    principal = AutomatedPrincipal(uow.tenant_id, None, frozenset({Role.INTEGRATION}), name=ACK_ACTOR)
    await confirm_delivery(uow, principal, declaration_id, min(at, uow.clock.now()))
    return True


# ----- email -------------------------------------------------------------------------------------

Renderer = Callable[[str, str, Mapping[str, Any]], tuple[str, str]]  # (template, locale, context) -> subject, body

NOTICE_FORWARDED = "notice_forwarded"
DECLARATION_FORWARDED = "declaration_forwarded"


@dataclass(frozen=True, slots=True)
class EmailIntent:
    template: str
    recipient_party_id: UUID
    context: Mapping[str, Any]


async def _email_intents(uow: NotificationsUnitOfWork, topic: str, data: Mapping[str, Any],
                         policy: Policy) -> list[EmailIntent]:
    if topic not in ("notice.forwarded", "declaration.forwarded"):
        return []
    [case] = await uow.cases.get_many([UUID(str(data["case_id"]))])
    if case is None:
        return []
    [notice] = await uow.notices.get_many([case.notice_id])
    [listing] = await uow.listings.get_many([case.listing_id])
    if notice is None or listing is None:
        return []
    [right] = await uow.ip_rights.get_many([notice.ip_right_id])
    complainant, merchant = await uow.parties.get_many([notice.complainant_id, case.merchant_id])
    tenant = await uow.tenants.get_current()
    common: dict[str, Any] = {
        "platform": tenant.name, "case_id": str(case.id), "notice_id": str(notice.id),
        "listing_title": listing.title, "listing_url": listing.url, "listing_external_id": listing.external_id,
        "right_type": right.type.value if right else "", "right_number": right.registration_number if right else "",
        "right_jurisdiction": right.jurisdiction if right else "", "reason_code": notice.reason_code,
        "complainant_name": complainant.display_name if complainant else "",
        "merchant_name": merchant.display_name if merchant else "",
    }
    if topic == "notice.forwarded":
        return [EmailIntent(NOTICE_FORWARDED, case.merchant_id, {
            **common, "explanation": notice.explanation,
            "declarations_allowed": policy.declarations.allowed,
            "declaration_deadline_days": policy.notices.declaration_deadline_days,
        })]
    declaration = await uow.declarations.get(case.declaration_id) if case.declaration_id else None
    if declaration is None:
        return []
    window = policy.declarations.window
    return [EmailIntent(DECLARATION_FORWARDED, notice.complainant_id, {
        **common, "grounds": declaration.grounds.value, "explanation": declaration.explanation,
        "window_days": window.length_days if window else None,
        "window_day_kind": window.day_kind.value if window else None,
    })]


async def queue_emails(uow: NotificationsUnitOfWork, event_id: UUID, topic: str, data: Mapping[str, Any],
                       render: Renderer) -> int:
    """Emails to parties for this event, rendered in the policy's default locale; sent after commit."""
    in_force = await uow.policies.in_force()
    intents = await _email_intents(uow, topic, data, in_force.policy)
    if not intents:
        return 0
    locale = in_force.policy.notifications.default_locale.value
    now = uow.clock.now()
    rows = []
    for intent in intents:
        subject, body = render(intent.template, locale, intent.context)
        rows.append(NewEmail(id=new_id(), event_id=event_id, template=intent.template,
                             recipient_party_id=intent.recipient_party_id, locale=locale, subject=subject, body=body,
                             max_attempts=EMAIL_SCHEDULE.max_attempts, created_at=now))
    created = await uow.emails.insert(rows)
    if created:
        await _trigger_sender(uow, EMAIL_DUE, EMAIL_WAKEUP, event_id, now)
    return created


async def claim_emails(uow: NotificationsUnitOfWork, limit: int) -> list[ClaimedEmail]:
    return await _claim(uow, uow.emails, EMAIL_WAKEUP, limit)


async def record_emails(uow: NotificationsUnitOfWork, claimed: Sequence[ClaimedEmail],
                        results: Sequence[EmailResult]) -> list[tuple[ClaimedEmail, str]]:
    """(email, status) for each: sent, failed (retried later), dead, or skipped (no address on record)."""
    now = uow.clock.now()
    by_id = {r.email_id: r for r in results}
    rows: list[tuple[UUID, int, str, str | None, str | None, datetime | None]] = []
    out: list[tuple[ClaimedEmail, str]] = []
    for c in claimed:
        r = by_id[c.id]
        if r.ok:
            status, next_at = "sent", None
        elif c.recipient is None:
            status, next_at = "skipped", None
        elif c.attempt >= c.max_attempts:
            status, next_at = "dead", None
        else:
            status, next_at = "failed", now + EMAIL_SCHEDULE.delay_after(c.attempt)
        rows.append((c.id, c.attempt, status, r.transport, r.error, next_at))
        out.append((c, status))
    await uow.emails.record(rows, now)
    retries = [r[5] for r in rows if r[5] is not None]
    if retries:
        await ensure_wakeup(uow, EMAIL_WAKEUP, min(retries))
    return out


# ----- deadlines ---------------------------------------------------------------------------------


async def _webhook_wakeup(uow: UnitOfWork, due: Sequence[Any]) -> None:
    await on_wakeup(cast(NotificationsUnitOfWork, uow), WEBHOOK_WAKEUP)


async def _email_wakeup(uow: UnitOfWork, due: Sequence[Any]) -> None:
    await on_wakeup(cast(NotificationsUnitOfWork, uow), EMAIL_WAKEUP)


NOTIFICATION_DEADLINE_HANDLERS = {WEBHOOK_WAKEUP: _webhook_wakeup, EMAIL_WAKEUP: _email_wakeup}
