"""Use cases for tenants and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from domain.errors import Forbidden, InvalidInput, NotFound
from domain.ids import new_id
from domain.policies import default_preset
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.policies import install_preset
from domain.tenancy import (
    ApiKey,
    Principal,
    Role,
    Tenant,
    TenantMode,
    advanced_clock_offset,
    generate_api_key,
    validate_key_name,
    validate_new_tenant,
)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class NewTenant:
    slug: str
    name: str
    timezone: str
    holiday_country: str
    mode: TenantMode
    policy_preset: str | None = None  # default: by holiday country (CN -> cn-ecl, US -> us-dmca, EU -> eu-dsa)


async def create_tenant(uows: UnitOfWorkFactory, principal: Principal, data: NewTenant) -> tuple[Tenant, IssuedKey]:
    """Operator only: create a tenant and its first admin key in one transaction."""
    if not principal.is_operator:
        raise Forbidden("Only the platform operator key can create tenants.")
    validate_new_tenant(data.slug, data.name, data.timezone, data.holiday_country)
    async with uows.operator() as op:
        # The calendar every deadline of the tenant will count on (confirmDelivery, windows) must exist.
        op.calendar(data.holiday_country)
        now = op.clock.now()
        tenant = Tenant(
            id=new_id(), slug=data.slug, name=data.name, timezone=data.timezone,
            holiday_country=data.holiday_country, mode=data.mode, clock_offset=timedelta(0), created_at=now,
        )
        await op.tenants.insert(tenant)
        uow = await op.enter_tenant(tenant.id)
        issued = await _issue_key(uow, "initial admin", (Role.ADMIN,))
        await install_preset(uow, data.policy_preset or default_preset(data.holiday_country), principal.actor)
        return tenant, issued


async def create_api_key(uow: UnitOfWork, principal: Principal, name: str, roles: tuple[Role, ...]) -> IssuedKey:
    principal.require(Role.ADMIN)
    validate_key_name(name, roles)
    return await _issue_key(uow, name.strip(), tuple(dict.fromkeys(roles)))


async def _issue_key(uow: UnitOfWork, name: str, roles: tuple[Role, ...]) -> IssuedKey:
    secret, key_hash, prefix = generate_api_key()
    key = ApiKey(
        id=new_id(), tenant_id=uow.tenant_id, name=name, prefix=prefix, roles=roles,
        created_at=uow.clock.now(), revoked_at=None, last_used_at=None,
    )
    await uow.api_keys.insert(key, key_hash)
    return IssuedKey(key, secret)


async def revoke_api_key(uow: UnitOfWork, principal: Principal, key_id: UUID) -> ApiKey:
    principal.require(Role.ADMIN)
    if key_id == principal.key_id:
        raise InvalidInput("A key cannot revoke itself; use another admin key.", "id")
    key = await uow.api_keys.revoke(key_id, uow.clock.now())
    if key is None:
        raise NotFound("API key", "id")
    return key


async def advance_test_clock(uow: UnitOfWork, principal: Principal, by_seconds: float) -> Tenant:
    """Sandbox only: move the tenant's clock forward so due deadlines fire as if that time had passed."""
    principal.require(Role.ADMIN)
    tenant = await uow.tenants.get_current()
    if tenant.mode is not TenantMode.SANDBOX:
        raise Forbidden("Only sandbox tenants have a test clock.")
    offset = advanced_clock_offset(tenant.clock_offset, by_seconds)
    return await uow.tenants.set_clock_offset(offset.total_seconds())
