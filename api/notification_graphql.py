"""GraphQL for webhook endpoints, their delivery log and manual redelivery.

`api.schema.Query` / `Mutation` inherit `NotificationQuery` / `NotificationMutation`. Admins manage
endpoints and redeliver; admins and auditors read the delivery log. A signing secret appears in a
payload exactly twice in its life: when the endpoint is created and when the secret is rotated.
SSRF refusals are `InvalidInputError`s whose problem code is `forbidden_target`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.types import Info

from api import errors as e
from api.context import request_context
from api.types import decode_id, resolve_nodes_by_id
from domain import webhooks as wd
from domain.services import notifications as service
from infra.target_guard import TargetGuard

WebhookDeliveryStatus = strawberry.enum(wd.DeliveryStatus, name="WebhookDeliveryStatus", description=(
    "pending: waiting for its first attempt (or for an earlier event of its case); sending: an attempt is "
    "in flight; failed: the last attempt failed and another is scheduled (nextAttemptAt); delivered; dead: "
    "the retry budget is spent or the endpoint was disabled (redeliverWebhook sends it again)."))


def guard() -> TargetGuard:
    """The SSRF guard for registrations (NOTICEHUB_WEBHOOKS_ALLOW_LOCAL read per call)."""
    return TargetGuard()


# ----- object types ------------------------------------------------------------------------------


@strawberry.type(description="A receiver of this tenant's events, signed per the Standard Webhooks specification.")
class WebhookEndpoint(relay.Node):
    id: relay.NodeID[str]
    url: str
    description: str
    events: list[str] = strawberry.field(description="Event names, prefixes like case.* or *.")
    active: bool
    secret_hint: str = strawberry.field(description="The first characters of the current secret.")
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    secret_rotated_at: datetime | None

    @classmethod
    def from_domain(cls, x: wd.WebhookEndpoint) -> WebhookEndpoint:
        return cls(id=str(x.id), url=x.url, description=x.description, events=list(x.events), active=x.active,
                   secret_hint=x.secret_hint, created_at=x.created_at, updated_at=x.updated_at,
                   disabled_at=x.disabled_at, secret_rotated_at=x.secret_rotated_at)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _log_nodes(info, cls, node_ids, required, lambda uow, ids: uow.webhooks.get_endpoints(ids))


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    attempt: int
    started_at: datetime
    status_code: int | None = strawberry.field(description="Null when no HTTP response came back.")
    error: str | None = strawberry.field(description="Timeout, connection error, refused target or HTTP status.")
    latency_ms: int
    outcome: WebhookDeliveryStatus  # type: ignore[valid-type]

    @classmethod
    def from_domain(cls, a: wd.WebhookAttempt) -> WebhookAttempt:
        return cls(attempt=a.attempt, started_at=a.started_at, status_code=a.status_code, error=a.error,
                   latency_ms=a.latency_ms, outcome=a.outcome)


@strawberry.type(description="One event sent (or to be sent) to one endpoint, with its attempts.")
class WebhookDelivery(relay.Node):
    id: relay.NodeID[str]
    event_id: str = strawberry.field(description="The webhook-id header and the payload's id: deduplicate on it.")
    topic: str
    ordering_key: str | None = strawberry.field(description="Deliveries with the same key arrive in event order.")
    status: WebhookDeliveryStatus  # type: ignore[valid-type]
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    acknowledged: bool = strawberry.field(description="The receiver acknowledged delivery to the recipient.")
    created_at: datetime
    delivered_at: datetime | None
    endpoint_id: strawberry.Private[UUID]

    @classmethod
    def from_domain(cls, d: wd.WebhookDelivery) -> WebhookDelivery:
        return cls(id=str(d.id), event_id=str(d.event_id), topic=d.topic, ordering_key=d.ordering_key,
                   status=d.status, attempts=d.attempts, max_attempts=d.max_attempts,
                   next_attempt_at=d.next_attempt_at, last_status_code=d.last_status_code, last_error=d.last_error,
                   last_latency_ms=d.last_latency_ms, acknowledged=d.acknowledged, created_at=d.created_at,
                   delivered_at=d.delivered_at, endpoint_id=d.endpoint_id)

    @strawberry.field(description="Every attempt, oldest first.")
    async def attempt_log(self, info: Info) -> list[WebhookAttempt]:
        loader = request_context(info)._loader("webhook_attempts", _attempts_by_delivery)
        return [WebhookAttempt.from_domain(a) for a in await loader.load(UUID(str(self.id)))]

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _log_nodes(info, cls, node_ids, required, lambda uow, ids: uow.webhooks.get_deliveries(ids))


async def _attempts_by_delivery(uow: Any, ids: Sequence[UUID]) -> list[list[wd.WebhookAttempt]]:
    grouped: dict[UUID, list[wd.WebhookAttempt]] = defaultdict(list)
    for a in await uow.webhooks.attempts_for(ids):
        grouped[a.delivery_id].append(a)
    return [grouped.get(i, []) for i in ids]


async def _log_nodes(info: Info, cls: Any, node_ids: Iterable[str], required: bool, fetch: Any) -> list[Any]:
    """Node lookup for endpoints and deliveries: readers of the delivery log only, input order kept."""
    c = request_context(info)

    async def run() -> list[Any]:
        c.principal.require(*service.LOG_READERS)

        async def load(ids: list[UUID]) -> Any:
            async with c.uow() as uow:
                return await fetch(uow, ids)

        return await resolve_nodes_by_id(node_ids, load, cls.from_domain, required)

    return list(await e.query(run))


# ----- inputs and payloads -----------------------------------------------------------------------


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https URL; it must resolve to public addresses only.")
    events: list[str] = strawberry.field(description='Event names (notice.forwarded), prefixes (case.*) or "*".')
    description: str = ""


@strawberry.input
class WebhookEndpointIdInput:
    id: strawberry.ID


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID


@strawberry.input
class WebhookDeliveryFilter:
    status: WebhookDeliveryStatus | None = None  # type: ignore[valid-type]


@strawberry.type
class WebhookEndpointSecretSuccess:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(description="whsec_…: shown once. Verify signatures with it.")


@strawberry.type
class WebhookEndpointSuccess:
    endpoint: WebhookEndpoint


@strawberry.type
class WebhookDeliverySuccess:
    delivery: WebhookDelivery


_Errors = e.InvalidInputError | e.NotFoundError | e.ConflictError
WebhookEndpointSecretPayload = Annotated[WebhookEndpointSecretSuccess | _Errors,
                                         strawberry.union("WebhookEndpointSecretPayload")]
WebhookEndpointPayload = Annotated[WebhookEndpointSuccess | _Errors, strawberry.union("WebhookEndpointPayload")]
WebhookDeliveryPayload = Annotated[WebhookDeliverySuccess | _Errors, strawberry.union("WebhookDeliveryPayload")]


# ----- root fields -------------------------------------------------------------------------------


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="Webhook endpoints of this tenant, oldest first (admins, auditors).")
    async def webhook_endpoints(self, info: Info, first: int | None = 50,
                                after: str | None = None) -> relay.Connection[WebhookEndpoint]:
        c = request_context(info)
        return await e.query(lambda: c.connection(
            lambda uow, after_id, limit: service.list_endpoints(uow, c.principal, after_id, limit),
            WebhookEndpoint.from_domain, first, after))

    @strawberry.field(description="The delivery log of one endpoint, newest first (admins, auditors).")
    async def webhook_deliveries(self, info: Info, endpoint_id: strawberry.ID, first: int | None = 50,
                                 after: str | None = None,
                                 filter: WebhookDeliveryFilter | None = None) -> relay.Connection[WebhookDelivery]:
        c = request_context(info)

        async def run() -> Any:
            endpoint = decode_id(endpoint_id, "WebhookEndpoint", "endpointId")
            status = wd.DeliveryStatus(filter.status) if filter and filter.status else None
            return await c.connection(
                lambda uow, after_id, limit: service.deliveries(uow, c.principal, endpoint, after_id, limit, status),
                WebhookDelivery.from_domain, first, after)

        return await e.query(run)


def _endpoint_with_secret(created: tuple[wd.WebhookEndpoint, str]) -> WebhookEndpointSecretSuccess:
    endpoint, secret = created
    return WebhookEndpointSecretSuccess(endpoint=WebhookEndpoint.from_domain(endpoint), secret=secret)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Admins: register a webhook endpoint. The signing secret is returned once.")
    async def create_webhook_endpoint(self, info: Info,
                                      input: CreateWebhookEndpointInput) -> WebhookEndpointSecretPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: service.create_endpoint(uow, c.principal, guard(), input.url, input.events, input.description),
            _endpoint_with_secret)

    @strawberry.mutation(description="Admins: stop sending to an endpoint; its open deliveries become dead.")
    async def disable_webhook_endpoint(self, info: Info, input: WebhookEndpointIdInput) -> WebhookEndpointPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: service.disable_endpoint(uow, c.principal, decode_id(input.id, "WebhookEndpoint", "id")),
            lambda endpoint: WebhookEndpointSuccess(endpoint=WebhookEndpoint.from_domain(endpoint)))

    @strawberry.mutation(description="Admins: issue a new signing secret (returned once). For 24 hours both the "
                                     "old and the new secret sign, so receivers can switch without losing events.")
    async def rotate_webhook_secret(self, info: Info, input: WebhookEndpointIdInput) -> WebhookEndpointSecretPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: service.rotate_secret(uow, c.principal, decode_id(input.id, "WebhookEndpoint", "id")),
            _endpoint_with_secret)

    @strawberry.mutation(description="Admins: send a delivered or dead delivery again, with a fresh retry budget "
                                     "(same webhook-id, so receivers that already have it ignore it).")
    async def redeliver_webhook(self, info: Info, input: RedeliverWebhookInput) -> WebhookDeliveryPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: service.redeliver(
                uow, c.principal, decode_id(input.delivery_id, "WebhookDelivery", "deliveryId")),
            lambda delivery: WebhookDeliverySuccess(delivery=WebhookDelivery.from_domain(delivery)))
