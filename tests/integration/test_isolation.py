"""Tenant isolation: through the API and through raw SQL under the application role."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

UPSERT_PARTY = """mutation($input: UpsertPartyInput!) { upsertParty(input: $input) {
  __typename ... on UpsertPartySuccess { party { id } } ... on Error { code } } }"""
UPSERT_LISTINGS = """mutation($input: UpsertListingsInput!) { upsertListings(input: $input) {
  ... on UpsertListingsSuccess { results { listing { id } error { code } } } } }"""

TENANT_TABLES = ["api_keys", "parties", "party_personal_data", "ip_rights", "listings", "outbox",
                 "processed_messages", "deadlines", "idempotency_keys"]


async def _seed(tenant: Any) -> dict[str, str]:
    client = await tenant.client("integration")
    party = (await client(UPSERT_PARTY, {"input": {"kind": "RIGHTS_HOLDER", "externalRef": "shared-ref",
                                                   "displayName": tenant.slug,
                                                   "personalData": {"email": "a@b.example"}}}))
    listing = await client(UPSERT_LISTINGS, {"input": {"items": [
        {"externalId": "shared-sku", "url": "https://s.example/1", "title": tenant.slug, "merchantRef": "m",
         "merchantDisplayName": "M"}]}})
    right = await client("""mutation($h: ID!) { registerIpRight(input: {holderId: $h, type: TRADEMARK,
        registrationNumber: "1", jurisdiction: "CN"}) { ... on IpRightSuccess { ipRight { id } } } }""",
                         {"h": party["upsertParty"]["party"]["id"]})
    return {"party": party["upsertParty"]["party"]["id"],
            "listing": listing["upsertListings"]["results"][0]["listing"]["id"],
            "right": right["registerIpRight"]["ipRight"]["id"]}


async def test_graphql_sees_and_changes_nothing_of_another_tenant(make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    ids_a, ids_b = await _seed(a), await _seed(b)
    client_a = await a.client("integration", "reviewer")
    # Lists show only A's rows, although both tenants use the same external refs.
    for field in ("parties", "listings", "ipRights"):
        data = await client_a(f"{{ {field}(first: 200) {{ edges {{ node {{ id }} }} }} }}")
        seen = {e["node"]["id"] for e in data[field]["edges"]}
        assert seen, field
        assert not seen & set(ids_b.values()), field
    # Direct reads of B's ids by global id return nothing.
    for node_id in ids_b.values():
        data = await client_a("query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert data["node"] is None
    # Mutations aimed at B's objects fail as not found and change nothing.
    verify = await client_a("""mutation($id: ID!) { setIpRightVerification(input: {id: $id, status: VERIFIED}) {
        __typename ... on Error { code } } }""", {"id": ids_b["right"]})
    assert verify["setIpRightVerification"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}
    b_client = await b.client("integration")
    data = await b_client("query($id: ID!) { node(id: $id) { ... on IpRight { verificationStatus } } }",
                          {"id": ids_b["right"]})
    assert data["node"]["verificationStatus"] == "UNVERIFIED"
    # Registering a right for B's holder from A: B's party is invisible to A.
    cross = await client_a("""mutation($h: ID!) { registerIpRight(input: {holderId: $h, type: PATENT,
        registrationNumber: "9", jurisdiction: "CN"}) { __typename ... on Error { code field } } }""",
                           {"h": ids_b["party"]})
    assert cross["registerIpRight"] == {"__typename": "NotFoundError", "code": "NOT_FOUND", "field": "holderId"}
    # Keys of A cannot revoke B's keys.
    b_key = b.key_ids["integration"]
    revoke = await a.admin("""mutation($id: ID!) { revokeApiKey(input: {id: $id}) { __typename } }""", {"id": b_key})
    assert revoke["revokeApiKey"]["__typename"] == "NotFoundError"
    assert ids_a["party"] != ids_b["party"]


async def test_raw_sql_under_app_role_is_confined_to_the_set_tenant(make_tenant: Any, db: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    await _seed(a)
    await _seed(b)
    tenant_a, tenant_b = await a.tenant_id(db), await b.tenant_id(db)
    async with db.tenant_tx(tenant_a) as conn:
        for table in TENANT_TABLES:
            foreign = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id <> $1", tenant_a)
            assert foreign == 0, table
        assert await conn.fetchval("SELECT count(*) FROM parties") >= 2
        assert await conn.fetchval("SELECT count(*) FROM tenants") == 1
        # Updates and deletes of B's rows affect nothing; inserts for B are refused.
        assert await conn.execute("UPDATE parties SET display_name = 'x' WHERE tenant_id = $1", tenant_b) == "UPDATE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM parties WHERE tenant_id = $1", tenant_b)
    async with db.tenant_tx(tenant_a) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # WITH CHECK: row-level security violation
            await conn.execute(
                "INSERT INTO parties (tenant_id, id, kind, external_ref, display_name)"
                " VALUES ($1, gen_random_uuid(), 'merchant', 'evil', 'evil')", tenant_b)


async def test_missing_tenant_setting_sees_nothing(db: Any, make_tenant: Any) -> None:
    await _seed(await make_tenant())
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('role', $1, true)", db.app_role)
        for table in [*TENANT_TABLES, "tenants"]:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_app_role_is_not_privileged(owner_conn: Any) -> None:
    row = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'noticehub_app'")
    assert (row["rolsuper"], row["rolbypassrls"]) == (False, False)
    forced = await owner_conn.fetch(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        " AND relrowsecurity AND relforcerowsecurity")
    assert {r["relname"] for r in forced} >= {*TENANT_TABLES, "tenants"}
