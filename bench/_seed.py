"""Seeding for the notice benchmarks: a tenant (cn-ecl preset), an integration key, a rights holder with
contact data, a merchant, a verified-looking trademark and listings, through the service layer (as the
e2e tests do through GraphQL), plus the notice payload those tests submit (complete: goes to review)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.reference import IpRightInput, ListingInput, PartyInput, PartyKind, PersonalDataInput, RightType
from domain.services.reference import register_ip_right, upsert_listings, upsert_party
from domain.services.tenancy import IssuedKey, NewTenant, create_api_key, create_tenant
from domain.tenancy import Principal, Role, Tenant, TenantMode
from infra.db import Database, create_pool
from infra.settings import get_settings

OPERATOR = Principal(None, None, frozenset(), is_operator=True)

# The cn-ecl notice of tests/e2e/test_preset_flows.py: complete, so each case goes to review.
EVIDENCE = [{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"},
            {"kind": "test_purchase", "sha256": "a" * 64}]
STATEMENTS = {"accuracy": True, "goodFaith": True}


@dataclass
class Seeded:
    tenant_id: UUID
    key: str  # integration + admin roles
    principal: Principal
    holder_id: UUID
    merchant_id: UUID
    right_id: UUID
    listing_ids: list[UUID]
    listing_external_ids: list[str]


async def open_db(max_size: int = 4) -> Database:
    settings = get_settings()
    return Database(await create_pool(settings, min_size=1, max_size=max_size), settings)


async def new_tenant(db: Database, mode: TenantMode = TenantMode.LIVE) -> tuple[Tenant, IssuedKey]:
    """A fresh cn-ecl tenant (Asia/Shanghai, CN holidays) and its first admin key."""
    return await create_tenant(db, OPERATOR, NewTenant(f"bench-{uuid.uuid4().hex[:8]}", "Bench", "Asia/Shanghai",
                                                       "CN", mode))


async def seed_tenant(db: Database, *, listings: int, mode: TenantMode = TenantMode.LIVE) -> Seeded:
    tenant, admin = await new_tenant(db, mode)
    admin_principal = Principal(tenant.id, admin.key.id, frozenset({Role.ADMIN}))
    async with db.uow(tenant.id) as uow:
        issued = await create_api_key(uow, admin_principal, "bench", (Role.INTEGRATION, Role.ADMIN))
    principal = Principal(tenant.id, issued.key.id, frozenset({Role.INTEGRATION, Role.ADMIN}))
    async with db.uow(tenant.id) as uow:
        holder = await upsert_party(uow, principal, PartyInput(
            PartyKind.RIGHTS_HOLDER, "brand", "Brand",
            personal_data=PersonalDataInput(legal_name="Brand Holdings Ltd", email="legal@brand.example")))
        merchant = await upsert_party(uow, principal, PartyInput(
            PartyKind.MERCHANT, "shop", "Shop", personal_data=PersonalDataInput(
                legal_name="Li Si", email="li@shop.example", phone="+86 138 0000 0000", address="Hangzhou")))
        right = await register_ip_right(uow, principal, IpRightInput(holder.id, RightType.TRADEMARK, "TM-1", "CN"))
    ids: list[UUID] = []
    ext: list[str] = []
    for start in range(0, listings, 1000):
        items = [ListingInput(f"sku-{n}", f"https://m.example/{n}", merchant_ref="shop", title=f"Item {n}")
                 for n in range(start, min(start + 1000, listings))]
        async with db.uow(tenant.id) as uow:
            results = await upsert_listings(uow, principal, items)
        for r in results:
            assert r.listing is not None, r.error
            ids.append(r.listing.id)
            ext.append(r.listing.external_id)
    await analyze(db)
    return Seeded(tenant.id, issued.secret, principal, holder.id, merchant.id, right.id, ids, ext)


async def analyze(db: Database) -> None:
    """Planner statistics, as a live database has them (autovacuum lags a freshly seeded one by a minute)."""
    async with db.pool.acquire() as conn:
        await conn.execute("ANALYZE")


async def analyze_url(url: str) -> None:
    """ANALYZE through a connection of its own (e.g. once a warm-up has put rows in the empty tables: with
    statistics from empty tables the planner keeps choosing plans that scan a tenant's cases)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def notice_variables(s: Seeded, listing_external_id: str, reason: str, key: str | None) -> dict[str, Any]:
    """GraphQL input of one notice against one listing (global ids, as a client sends them)."""
    from api.types import global_id

    item: dict[str, Any] = {
        "complainantId": global_id("Party", s.holder_id), "ipRightId": global_id("IpRight", s.right_id),
        "reasonCode": reason, "listingExternalIds": [listing_external_id],
        "explanation": "Counterfeit of our registered mark.", "evidence": EVIDENCE, "statements": STATEMENTS,
    }
    if key is not None:
        item["idempotencyKey"] = key
    return item
