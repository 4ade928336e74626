"""The GraphQL schema: thin resolvers that parse, call one use case and map the result."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from api import errors as e
from api.audit_graphql import AuditMutation, AuditQuery
from api.case_graphql import CaseMutation, CaseQuery
from api.context import request_context
from api.disclosure_graphql import DisclosureMutation
from api.executor import Executor, Limits
from api.notification_graphql import NotificationMutation, NotificationQuery
from api.policy_graphql import PolicyMutation, PolicyQuery
from api.transparency_graphql import TransparencyMutation, TransparencyQuery
from api.trust_graphql import TrustMutation, TrustQuery
from api.types import (
    ApiKey,
    IpRight,
    LegalStatus,
    Listing,
    Party,
    PartyKind,
    RightType,
    Role,
    Tenant,
    TenantMode,
    VerificationStatus,
    decode_id,
    decode_optional_id,
    node_field,
)
from domain import reference as ref
from domain.services import reference as reference_service
from domain.services import tenancy as tenancy_service
from domain.tenancy import Role as DomainRole
from infra.settings import get_settings

ErrorUnion = e.InvalidInputError | e.NotFoundError | e.ConflictError
T = TypeVar("T")


# ----- inputs ------------------------------------------------------------------------------------


@strawberry.input
class CreateTenantInput:
    slug: str
    name: str
    timezone: str = strawberry.field(description="IANA timezone, e.g. Asia/Shanghai.")
    holiday_country: str = strawberry.field(description="ISO 3166-1 alpha-2 code of the holiday calendar.")
    mode: TenantMode = TenantMode.LIVE  # type: ignore[valid-type]
    policy_preset: str | None = strawberry.field(
        default=None, description="cn-ecl, eu-dsa or us-dmca; default by holiday country."
    )


@strawberry.input
class CreateApiKeyInput:
    name: str
    roles: list[Role]  # type: ignore[valid-type]


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.input(description="Each field: left out keeps the stored value; null clears it.")
class PersonalDataInput:
    legal_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    id_number: str | None = strawberry.UNSET


@strawberry.input
class UpsertPartyInput:
    kind: PartyKind  # type: ignore[valid-type]
    external_ref: str
    display_name: str
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2. Left out: kept as stored; null: cleared."
    )
    personal_data: PersonalDataInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Kept apart from display data; never disclosed. Left out: kept as stored; null: all of it "
        "is cleared; within it, only the fields sent change.",
    )


@strawberry.input
class RegisterIpRightInput:
    holder_id: strawberry.ID
    type: RightType  # type: ignore[valid-type]
    registration_number: str
    jurisdiction: str
    title: str | None = None
    classes: list[str] = strawberry.field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None


@strawberry.input
class SetIpRightVerificationInput:
    id: strawberry.ID
    status: VerificationStatus  # type: ignore[valid-type]


@strawberry.input
class InvalidationInput:
    office: str
    case_number: str
    accepted_at: date


@strawberry.input
class SetIpRightLegalStatusInput:
    id: strawberry.ID
    legal_status: LegalStatus  # type: ignore[valid-type]
    invalidation: InvalidationInput | None = None


@strawberry.input
class ListingInput:
    external_id: str
    url: str
    title: str
    merchant_ref: str = strawberry.field(description="The merchant party's externalRef.")
    merchant_display_name: str | None = strawberry.field(
        default=None, description="Creates the merchant party when merchantRef is unknown."
    )
    markets: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpsertListingsInput:
    items: list[ListingInput] = strawberry.field(description="1 to 1,000 listings; each gets its own result.")


@strawberry.input
class AdvanceTestClockInput:
    seconds: float = strawberry.field(
        description="How far to move the sandbox clock forward; it runs at most ten years ahead in total.")


@strawberry.input
class PartyFilter:
    kind: PartyKind | None = None  # type: ignore[valid-type]
    external_ref: str | None = None


@strawberry.input
class IpRightFilter:
    holder_id: strawberry.ID | None = None


@strawberry.input
class ListingFilter:
    merchant_id: strawberry.ID | None = None


# ----- payloads ----------------------------------------------------------------------------------


@strawberry.type
class CreateTenantSuccess:
    tenant: Tenant
    admin_key: ApiKey
    admin_secret: str = strawberry.field(description="Shown once. Store it now.")


@strawberry.type
class CreateApiKeySuccess:
    api_key: ApiKey
    secret: str = strawberry.field(description="Shown once. Store it now.")


@strawberry.type
class RevokeApiKeySuccess:
    api_key: ApiKey


@strawberry.type
class UpsertPartySuccess:
    party: Party


@strawberry.type
class IpRightSuccess:
    ip_right: IpRight


@strawberry.type
class TenantSuccess:
    tenant: Tenant


@strawberry.type(description="The outcome of one item of a batch: a listing or an error, never both.")
class UpsertListingResult:
    index: int
    listing: Listing | None
    created: bool
    error: e.Error | None


@strawberry.type
class UpsertListingsSuccess:
    results: list[UpsertListingResult]
    succeeded: int
    failed: int


CreateTenantPayload = Annotated[CreateTenantSuccess | ErrorUnion, strawberry.union("CreateTenantPayload")]
CreateApiKeyPayload = Annotated[CreateApiKeySuccess | ErrorUnion, strawberry.union("CreateApiKeyPayload")]
RevokeApiKeyPayload = Annotated[RevokeApiKeySuccess | ErrorUnion, strawberry.union("RevokeApiKeyPayload")]
UpsertPartyPayload = Annotated[UpsertPartySuccess | ErrorUnion, strawberry.union("UpsertPartyPayload")]
IpRightPayload = Annotated[IpRightSuccess | ErrorUnion, strawberry.union("IpRightPayload")]
UpsertListingsPayload = Annotated[
    UpsertListingsSuccess | e.InvalidInputError | e.LimitExceededError, strawberry.union("UpsertListingsPayload")
]
AdvanceTestClockPayload = Annotated[TenantSuccess | e.InvalidInputError, strawberry.union("AdvanceTestClockPayload")]


def _sent(value: T | None) -> T | ref.Unsent | None:
    """strawberry's UNSET (a field the request left out, not null) as the domain's UNSENT."""
    return ref.UNSENT if value is strawberry.UNSET else value


def _personal(pd: PersonalDataInput | None) -> ref.PersonalDataInput | ref.Unsent | None:
    if pd is None or pd is strawberry.UNSET:
        return _sent(pd)
    return ref.PersonalDataInput(legal_name=_sent(pd.legal_name), email=_sent(pd.email), phone=_sent(pd.phone),
                                 address=_sent(pd.address), id_number=_sent(pd.id_number))


# ----- root types --------------------------------------------------------------------------------


@strawberry.type(description="Who is calling.")
class Viewer:
    roles: list[Role]  # type: ignore[valid-type]
    is_operator: bool

    @strawberry.field
    async def tenant(self, info: Info) -> Tenant | None:
        c = request_context(info)
        if c.principal.tenant_id is None:
            return None
        async with c.uow() as uow:
            return Tenant.from_domain(await uow.tenants.get_current(), uow.clock.now())


@strawberry.type
class Query(CaseQuery, PolicyQuery, TrustQuery, AuditQuery, NotificationQuery, TransparencyQuery):
    node: relay.Node | None = node_field()

    @strawberry.field(description="The caller: its tenant and roles.")
    def viewer(self, info: Info) -> Viewer:
        p = request_context(info).principal
        return Viewer(roles=sorted(p.roles), is_operator=p.is_operator)

    @strawberry.field(description="Parties of this tenant, oldest first.")
    async def parties(
        self, info: Info, first: int | None = 50, after: str | None = None, filter: PartyFilter | None = None
    ) -> relay.Connection[Party]:
        c = request_context(info)
        kind = filter.kind.value if filter and filter.kind else None
        external_ref = filter.external_ref if filter else None

        return await e.query(lambda: c.connection(
            lambda uow, after_id, limit: uow.parties.page(after_id, limit, kind, external_ref), Party.from_domain,
            first, after))

    @strawberry.field(description="IP rights of this tenant, oldest first.")
    async def ip_rights(
        self, info: Info, first: int | None = 50, after: str | None = None, filter: IpRightFilter | None = None
    ) -> relay.Connection[IpRight]:
        c = request_context(info)

        async def run() -> Any:
            holder = decode_optional_id(filter.holder_id if filter else None, "Party", "filter.holderId")

            return await c.connection(
                lambda uow, after_id, limit: uow.ip_rights.page(after_id, limit, holder),
                IpRight.from_domain, first, after)

        return await e.query(run)

    @strawberry.field(description="Listings of this tenant, oldest first.")
    async def listings(
        self, info: Info, first: int | None = 50, after: str | None = None, filter: ListingFilter | None = None
    ) -> relay.Connection[Listing]:
        c = request_context(info)

        async def run() -> Any:
            merchant = decode_optional_id(filter.merchant_id if filter else None, "Party", "filter.merchantId")

            return await c.connection(
                lambda uow, after_id, limit: uow.listings.page(after_id, limit, merchant),
                Listing.from_domain, first, after)

        return await e.query(run)

    @strawberry.field(description="API keys of this tenant (admins only).")
    async def api_keys(self, info: Info, first: int | None = 50, after: str | None = None) -> relay.Connection[ApiKey]:
        c = request_context(info)

        async def run() -> Any:
            c.principal.require(DomainRole.ADMIN)

            return await c.connection(
                lambda uow, after_id, limit: uow.api_keys.page(after_id, limit),
                ApiKey.from_domain, first, after)

        return await e.query(run)


@strawberry.type
class Mutation(CaseMutation, PolicyMutation, TrustMutation, AuditMutation, DisclosureMutation, NotificationMutation,
               TransparencyMutation):
    @strawberry.mutation(description="Operator only: create a tenant and its first admin key.")
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> CreateTenantPayload:
        c = request_context(info)

        async def run() -> CreateTenantSuccess:
            data = tenancy_service.NewTenant(slug=input.slug, name=input.name, timezone=input.timezone,
                                             holiday_country=input.holiday_country, mode=input.mode,
                                             policy_preset=input.policy_preset)
            tenant, issued = await tenancy_service.create_tenant(c.db, c.principal, data)
            return CreateTenantSuccess(tenant=Tenant.from_domain(tenant, tenant.created_at),
                                       admin_key=ApiKey.from_domain(issued.key), admin_secret=issued.secret)

        return await e.payload(run)

    @strawberry.mutation(description="Admins: issue an API key. The secret is returned once.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        c = request_context(info)

        async def run() -> CreateApiKeySuccess:
            async with c.uow() as uow:
                issued = await tenancy_service.create_api_key(uow, c.principal, input.name, tuple(input.roles))
            return CreateApiKeySuccess(api_key=ApiKey.from_domain(issued.key), secret=issued.secret)

        return await e.payload(run)

    @strawberry.mutation(description="Admins: revoke an API key; it stops working at once.")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        c = request_context(info)

        async def run() -> RevokeApiKeySuccess:
            key_id = decode_id(input.id, "ApiKey", "id")
            async with c.uow() as uow:
                key = await tenancy_service.revoke_api_key(uow, c.principal, key_id)
            return RevokeApiKeySuccess(api_key=ApiKey.from_domain(key))

        return await e.payload(run)

    @strawberry.mutation(description="Create or update a party by its externalRef. An update replaces "
                         "displayName; of country and personalData, a field left out keeps its stored value and a "
                         "field sent as null is cleared.")
    async def upsert_party(self, info: Info, input: UpsertPartyInput) -> UpsertPartyPayload:
        c = request_context(info)

        async def run() -> UpsertPartySuccess:
            data = ref.PartyInput(kind=input.kind, external_ref=input.external_ref, display_name=input.display_name,
                                  country=_sent(input.country), personal_data=_personal(input.personal_data))
            async with c.uow() as uow:
                party = await reference_service.upsert_party(uow, c.principal, data)
            return UpsertPartySuccess(party=Party.from_domain(party))

        return await e.payload(run)

    @strawberry.mutation(description="Register an IP right (or return the existing one with the same number).")
    async def register_ip_right(self, info: Info, input: RegisterIpRightInput) -> IpRightPayload:
        c = request_context(info)

        async def run() -> IpRightSuccess:
            data = ref.IpRightInput(
                holder_id=decode_id(input.holder_id, "Party", "holderId"), type=input.type,
                registration_number=input.registration_number, jurisdiction=input.jurisdiction, title=input.title,
                classes=tuple(input.classes), valid_from=input.valid_from, valid_until=input.valid_until,
            )
            async with c.uow() as uow:
                right = await reference_service.register_ip_right(uow, c.principal, data)
            return IpRightSuccess(ip_right=IpRight.from_domain(right))

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: record the verification result of a right.")
    async def set_ip_right_verification(self, info: Info, input: SetIpRightVerificationInput) -> IpRightPayload:
        c = request_context(info)

        async def run() -> IpRightSuccess:
            right_id = decode_id(input.id, "IpRight", "id")
            async with c.uow() as uow:
                right = await reference_service.set_ip_right_verification(uow, c.principal, right_id, input.status)
            return IpRightSuccess(ip_right=IpRight.from_domain(right))

        return await e.payload(run)

    @strawberry.mutation(description="Record a right's legal status, e.g. an accepted invalidation request.")
    async def set_ip_right_legal_status(self, info: Info, input: SetIpRightLegalStatusInput) -> IpRightPayload:
        c = request_context(info)

        async def run() -> IpRightSuccess:
            right_id = decode_id(input.id, "IpRight", "id")
            inv = input.invalidation
            data = ref.LegalStatusInput(
                legal_status=input.legal_status,
                invalidation=ref.Invalidation(inv.office, inv.case_number, inv.accepted_at) if inv else None,
            )
            async with c.uow() as uow:
                right = await reference_service.set_ip_right_legal_status(uow, c.principal, right_id, data)
            return IpRightSuccess(ip_right=IpRight.from_domain(right))

        return await e.payload(run)

    @strawberry.mutation(description="Create or update up to 1,000 listings; one bad item does not fail the others.")
    async def upsert_listings(self, info: Info, input: UpsertListingsInput) -> UpsertListingsPayload:
        c = request_context(info)

        async def run() -> UpsertListingsSuccess:
            items = [
                ref.ListingInput(external_id=i.external_id, url=i.url, merchant_ref=i.merchant_ref, title=i.title,
                                 markets=tuple(i.markets), merchant_display_name=i.merchant_display_name)
                for i in input.items
            ]
            async with c.uow() as uow:
                results = await reference_service.upsert_listings(uow, c.principal, items)
            out = [
                UpsertListingResult(
                    index=r.index, listing=Listing.from_domain(r.listing) if r.listing else None, created=r.created,
                    error=e.to_graphql_error(r.error) if r.error else None,
                )
                for r in results
            ]
            failed = sum(1 for r in results if r.error)
            return UpsertListingsSuccess(results=out, succeeded=len(out) - failed, failed=failed)

        return await e.payload(run)

    @strawberry.mutation(description="Sandbox admins: move the tenant's test clock forward; due deadlines fire.")
    async def advance_test_clock(self, info: Info, input: AdvanceTestClockInput) -> AdvanceTestClockPayload:
        c = request_context(info)

        async def run() -> TenantSuccess:
            async with c.uow() as uow:
                tenant = await tenancy_service.advance_test_clock(uow, c.principal, input.seconds)
                now = uow.clock.now() + (tenant.clock_offset - (uow.clock.now() - c.db.base_clock.now()))
            await c.db.notify_deadlines()
            return TenantSuccess(tenant=Tenant.from_domain(tenant, now))

        return await e.payload(run)


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[e.InvalidInputError, e.NotFoundError, e.ConflictError, e.IdempotencyKeyReusedError,
               e.LimitExceededError, e.InvalidTransitionError, e.PolicyViolationError, e.RestrictedError],
        config=StrawberryConfig(relay_max_results=get_settings().max_page_size),
    )


schema = build_schema()
_settings = get_settings()
executor = Executor(schema, Limits(_settings.max_query_depth, _settings.max_aliases, _settings.max_tokens,
                                   introspection=_settings.is_development))
