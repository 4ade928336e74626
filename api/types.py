"""GraphQL object types. Leaves are plain attributes (cheap); only relations resolve, through DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.relay.fields import NodeExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from api.errors import top_level
from domain import reference as ref
from domain import tenancy
from domain.errors import InvalidInput, NotFound

PartyKind = strawberry.enum(ref.PartyKind, name="PartyKind")
RightType = strawberry.enum(ref.RightType, name="RightType")
VerificationStatus = strawberry.enum(ref.VerificationStatus, name="VerificationStatus")
LegalStatus = strawberry.enum(ref.LegalStatus, name="LegalStatus")
Role = strawberry.enum(tenancy.Role, name="Role")
TenantMode = strawberry.enum(tenancy.TenantMode, name="TenantMode")


def decode_id(value: str | strawberry.ID, expected: str, field: str) -> UUID:
    """Parse a global id of the expected type; anything else is a typed input error, never a 500."""
    try:
        gid = relay.GlobalID.from_id(str(value))
        if gid.type_name != expected:
            raise ValueError(gid.type_name)
        return UUID(gid.node_id)
    except (ValueError, TypeError, relay.GlobalIDValueError) as exc:
        raise InvalidInput(f"'{value}' is not a valid {expected} id.", field) from exc


def decode_optional_id(value: str | strawberry.ID | None, expected: str, field: str) -> UUID | None:
    """decode_id for an optional argument: left out (None) is None; "" is a malformed id, not "no filter"."""
    return None if value is None else decode_id(value, expected, field)


class _Node(NodeExtension):
    """strawberry's `node` field, except that an id that is not a global id, or names no Node type (unknown,
    or e.g. `Tenant`), is an INVALID_INPUT like decode_id's: strawberry raises GlobalIDValueError, which
    would be masked as unexpected (or, while parsing the argument, be an error without a code)."""

    def get_node_resolver(self, field: StrawberryField) -> Callable[..., Any]:
        resolve = super().get_node_resolver(field)

        def resolver(info: Info,
                     id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")]) -> Any:
            try:
                return resolve(info, relay.GlobalID.from_id(id))
            except relay.GlobalIDValueError as exc:
                raise top_level(InvalidInput(f"'{id}' is not a valid id.", "id")) from exc

        return resolver


def node_field() -> Any:
    """The root `node(id:)` field (as relay.node(), with _Node)."""
    return strawberry.field(default=UNSET, extensions=[_Node()])


def global_id(type_name: str, value: UUID) -> str:
    return str(relay.GlobalID(type_name, str(value)))


async def resolve_nodes_by_id(node_ids: Iterable[str], load: Callable[[list[UUID]], Awaitable[Sequence[Any]]],
                              to_node: Callable[[Any], Any], required: bool = False) -> list[Any]:
    """Relay `resolve_nodes`: one load for all ids, answers in the asked order; an id that is not a UUID
    or not found (e.g. another tenant's) resolves to null, like a missing node (NOT_FOUND if required)."""
    ids: list[UUID | None] = []
    for n in node_ids:
        try:
            ids.append(UUID(n))
        except ValueError:
            ids.append(None)
    found = await load([i for i in ids if i is not None])
    by_id = {x.id: x for x in found if x is not None}
    out = [to_node(by_id[i]) if i in by_id else None for i in ids]
    if required and any(o is None for o in out):
        raise NotFound("Node", "id")
    return out


async def _resolve_many(info: Info, loader_name: str, cls: Any, node_ids: Iterable[str], required: bool) -> list[Any]:
    return await resolve_nodes_by_id(node_ids, getattr(info.context, loader_name).load_many, cls.from_domain, required)


@strawberry.type(description="A tenant platform.")
class Tenant:
    slug: str
    name: str
    timezone: str
    holiday_country: str
    mode: TenantMode  # type: ignore[valid-type]
    now: datetime = strawberry.field(description="The tenant's clock: real time, or the sandbox test clock.")
    created_at: datetime

    @classmethod
    def from_domain(cls, t: tenancy.Tenant, now: datetime) -> Tenant:
        return cls(slug=t.slug, name=t.name, timezone=t.timezone, holiday_country=t.holiday_country,
                   mode=t.mode, now=now, created_at=t.created_at)


@strawberry.type(description="An API key. The secret is shown only once, at creation.")
class ApiKey(relay.Node):
    id: relay.NodeID[str]
    name: str
    prefix: str = strawberry.field(description="The first characters of the secret, to recognise it.")
    roles: list[Role]  # type: ignore[valid-type]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_domain(cls, k: tenancy.ApiKey) -> ApiKey:
        return cls(id=str(k.id), name=k.name, prefix=k.prefix, roles=list(k.roles), created_at=k.created_at,
                   revoked_at=k.revoked_at, last_used_at=k.last_used_at)


@strawberry.type(description="A rights holder, agent or merchant. Personal data is never exposed here.")
class Party(relay.Node):
    id: relay.NodeID[str]
    kind: PartyKind  # type: ignore[valid-type]
    external_ref: str = strawberry.field(description="The marketplace's own reference.")
    display_name: str
    country: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, p: ref.Party) -> Party:
        return cls(id=str(p.id), kind=p.kind, external_ref=p.external_ref, display_name=p.display_name,
                   country=p.country, created_at=p.created_at, updated_at=p.updated_at)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_many(info, "parties", cls, node_ids, required)


@strawberry.type(description="An invalidation request accepted by an IP office against a right.")
class Invalidation:
    office: str
    case_number: str
    accepted_at: date


@strawberry.type(description="An intellectual-property right that notices rely on.")
class IpRight(relay.Node):
    id: relay.NodeID[str]
    type: RightType  # type: ignore[valid-type]
    registration_number: str
    jurisdiction: str
    title: str | None
    classes: list[str]
    valid_from: date | None
    valid_until: date | None
    verification_status: VerificationStatus  # type: ignore[valid-type]
    legal_status: LegalStatus  # type: ignore[valid-type]
    invalidation: Invalidation | None
    created_at: datetime
    updated_at: datetime
    holder_id: strawberry.Private[UUID]

    @strawberry.field
    async def holder(self, info: Info) -> Party | None:
        p = await info.context.parties.load(self.holder_id)
        return Party.from_domain(p) if p else None

    @classmethod
    def from_domain(cls, r: ref.IpRight) -> IpRight:
        inv = r.invalidation
        return cls(
            id=str(r.id), type=r.type, registration_number=r.registration_number, jurisdiction=r.jurisdiction,
            title=r.title, classes=list(r.classes), valid_from=r.valid_from, valid_until=r.valid_until,
            verification_status=r.verification_status, legal_status=r.legal_status,
            invalidation=Invalidation(office=inv.office, case_number=inv.case_number, accepted_at=inv.accepted_at)
            if inv else None,
            created_at=r.created_at, updated_at=r.updated_at, holder_id=r.holder_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_many(info, "ip_rights", cls, node_ids, required)


@strawberry.type(description="A marketplace item that notices target.")
class Listing(relay.Node):
    id: relay.NodeID[str]
    external_id: str
    url: str
    title: str
    markets: list[str]
    restriction_state: str = strawberry.field(description="Derived from the measures currently on the listing.")
    created_at: datetime
    updated_at: datetime
    merchant_id: strawberry.Private[UUID]

    @strawberry.field
    async def merchant(self, info: Info) -> Party | None:
        p = await info.context.parties.load(self.merchant_id)
        return Party.from_domain(p) if p else None

    @classmethod
    def from_domain(cls, x: ref.Listing) -> Listing:
        return cls(id=str(x.id), external_id=x.external_id, url=x.url, title=x.title, markets=list(x.markets),
                   restriction_state=x.restriction_state, created_at=x.created_at, updated_at=x.updated_at,
                   merchant_id=x.merchant_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_many(info, "listings", cls, node_ids, required)
