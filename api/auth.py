"""Authentication: the tenant always comes from the API key, never from the payload."""

from __future__ import annotations

import hmac
from uuid import UUID

import asyncpg

from domain.errors import Unauthenticated
from domain.tenancy import KEY_PREFIX, Principal, Role, hash_api_key

_LOOKUP = (
    "SELECT tenant_id, id, roles, revoked_at,"
    " (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds') AS stale"
    " FROM api_keys WHERE key_hash = $1"
)
_TOUCH = "UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2"


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthenticated()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise Unauthenticated("Malformed Authorization header; use 'Bearer <key>'.")
    return token


async def authenticate(pool: asyncpg.Pool, header: str | None, operator_key: str | None) -> Principal:
    """One indexed lookup per request, as the login role (member of the system role: may read key hashes)."""
    token = bearer_token(header)
    if operator_key and hmac.compare_digest(token.encode(), operator_key.encode()):
        return Principal(tenant_id=None, key_id=None, roles=frozenset(), is_operator=True)
    if not token.startswith(KEY_PREFIX):
        raise Unauthenticated("Unknown API key.")
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_LOOKUP, hash_api_key(token))
        if row is None:
            raise Unauthenticated("Unknown API key.")
        if row["revoked_at"] is not None:
            raise Unauthenticated("This API key has been revoked.")
        if row["stale"]:
            await conn.execute(_TOUCH, row["tenant_id"], row["id"])
    tenant_id: UUID = row["tenant_id"]
    return Principal(tenant_id=tenant_id, key_id=row["id"], roles=frozenset(Role(r) for r in row["roles"]))
