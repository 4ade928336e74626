"""All SQL for reference data and tenancy. Rows in, domain dataclasses out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from domain.errors import Conflict, NotFound
from domain.reference import (
    PERSONAL_DATA_FIELDS,
    UNSENT,
    Invalidation,
    IpRight,
    IpRightInput,
    LegalStatus,
    LegalStatusInput,
    Listing,
    ListingInput,
    Party,
    PartyInput,
    PartyKind,
    PersonalData,
    RightType,
    VerificationStatus,
)
from domain.tenancy import ApiKey, Role, Tenant, TenantMode
from infra.trust_repositories import TrustRepo
from infra.write_batch import WriteBatch


class _Repo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID | None) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


def _in_order(ids: Sequence[UUID], rows: Sequence[Any], build: Any) -> list[Any]:
    by_id = {r["id"]: build(r) for r in rows}
    return [by_id.get(i) for i in ids]


# ----- tenants and keys --------------------------------------------------------------------------

_TENANT_COLS = "id, slug, name, timezone, holiday_country, mode, clock_offset, created_at"


def tenant_from_row(r: asyncpg.Record) -> Tenant:
    return Tenant(
        id=r["id"],
        slug=r["slug"],
        name=r["name"],
        timezone=r["timezone"],
        holiday_country=r["holiday_country"],
        mode=TenantMode(r["mode"]),
        clock_offset=r["clock_offset"] or timedelta(0),
        created_at=r["created_at"],
    )


class TenantRepo(_Repo):
    async def insert(self, tenant: Tenant) -> None:
        try:
            await self.conn.execute(
                "INSERT INTO tenants (id, slug, name, timezone, holiday_country, mode, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                tenant.id, tenant.slug, tenant.name, tenant.timezone, tenant.holiday_country,
                tenant.mode.value, tenant.created_at,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"A tenant with slug '{tenant.slug}' already exists.", "slug") from exc

    async def get_current(self) -> Tenant:
        row = await self.conn.fetchrow(f"SELECT {_TENANT_COLS} FROM tenants")
        if row is None:
            raise NotFound("Tenant")
        return tenant_from_row(row)

    async def set_clock_offset(self, offset_seconds: float) -> Tenant:
        row = await self.conn.fetchrow(
            f"UPDATE tenants SET clock_offset = make_interval(secs => $1) RETURNING {_TENANT_COLS}",
            offset_seconds,
        )
        if row is None:
            raise NotFound("Tenant")
        return tenant_from_row(row)


_KEY_COLS = "id, tenant_id, name, prefix, roles, created_at, revoked_at, last_used_at"


def key_from_row(r: asyncpg.Record) -> ApiKey:
    return ApiKey(
        id=r["id"],
        tenant_id=r["tenant_id"],
        name=r["name"],
        prefix=r["prefix"],
        roles=tuple(Role(x) for x in r["roles"]),
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
        last_used_at=r["last_used_at"],
    )


class ApiKeyRepo(_Repo):
    async def insert(self, key: ApiKey, key_hash: bytes) -> None:
        await self.conn.execute(
            "INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, roles, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            key.tenant_id, key.id, key.name, key.prefix, key_hash, [r.value for r in key.roles], key.created_at,
        )

    async def get(self, key_id: UUID) -> ApiKey | None:
        row = await self.conn.fetchrow(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = $1", key_id)
        return key_from_row(row) if row else None

    async def revoke(self, key_id: UUID, at: datetime) -> ApiKey | None:
        row = await self.conn.fetchrow(
            f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING {_KEY_COLS}",
            key_id, at,
        )
        return key_from_row(row) if row else None

    async def page(self, after: UUID | None, first: int) -> list[ApiKey]:
        rows = await self.conn.fetch(
            f"SELECT {_KEY_COLS} FROM api_keys WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
            after, first,
        )
        return [key_from_row(r) for r in rows]


# ----- parties -----------------------------------------------------------------------------------

_PARTY_COLS = "id, kind, external_ref, display_name, country, created_at, updated_at"


def party_from_row(r: asyncpg.Record) -> Party:
    return Party(
        id=r["id"],
        kind=PartyKind(r["kind"]),
        external_ref=r["external_ref"],
        display_name=r["display_name"],
        country=r["country"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


# An upsert writes the personal data columns it was sent ($8) and keeps the others.
_PERSONAL_UPSERT = (
    f"INSERT INTO party_personal_data (tenant_id, party_id, {', '.join(PERSONAL_DATA_FIELDS)})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, party_id) DO UPDATE SET "
    + "".join(f"{c} = CASE WHEN '{c}' = any($8::text[]) THEN EXCLUDED.{c} ELSE party_personal_data.{c} END, "
              for c in PERSONAL_DATA_FIELDS)
    + "updated_at = now()"
)


class PartyRepo(_Repo):
    async def upsert(self, data: PartyInput, new_id: UUID) -> Party:
        """Insert, or update the party with this external_ref: fields not sent keep their stored values."""
        country_sent = data.country is not UNSENT
        row = await self.conn.fetchrow(
            "INSERT INTO parties (tenant_id, id, kind, external_ref, display_name, country)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (tenant_id, external_ref) DO UPDATE SET display_name = EXCLUDED.display_name,"
            "   country = CASE WHEN $7 THEN EXCLUDED.country ELSE parties.country END, updated_at = now()"
            "   WHERE parties.kind = EXCLUDED.kind"
            f" RETURNING {_PARTY_COLS}",
            self.tenant_id, new_id, data.kind.value, data.external_ref, data.display_name,
            data.country if country_sent else None, country_sent,
        )
        if row is None:
            raise Conflict(
                f"externalRef '{data.external_ref}' already belongs to a party of another kind.", "externalRef"
            )
        personal = data.personal_data_sent()
        if personal:
            await self.conn.execute(_PERSONAL_UPSERT, self.tenant_id, row["id"],
                                    *(personal.get(c) for c in PERSONAL_DATA_FIELDS), list(personal))
        return party_from_row(row)

    async def get_many(self, ids: Sequence[UUID]) -> list[Party | None]:
        rows = await self.conn.fetch(f"SELECT {_PARTY_COLS} FROM parties WHERE id = any($1::uuid[])", list(ids))
        return _in_order(ids, rows, party_from_row)

    async def personal_data(self, party_id: UUID) -> PersonalData | None:
        r = await self.conn.fetchrow(
            "SELECT legal_name, email, phone, address, id_number FROM party_personal_data WHERE party_id = $1",
            party_id,
        )
        return PersonalData(**dict(r)) if r else None

    async def page(self, after: UUID | None, first: int, kind: str | None, external_ref: str | None) -> list[Party]:
        rows = await self.conn.fetch(
            f"SELECT {_PARTY_COLS} FROM parties WHERE ($1::uuid IS NULL OR id > $1)"
            " AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR external_ref = $4)"
            " ORDER BY id LIMIT $2",
            after, first, kind, external_ref,
        )
        return [party_from_row(r) for r in rows]

    async def contact_flags(self, party_ids: Sequence[UUID]) -> dict[UUID, tuple[bool, bool, bool, bool]]:
        """Which personal data is on record (legal name, email, address, phone), without reading it out."""
        rows = await self.conn.fetch(
            "SELECT party_id, legal_name IS NOT NULL AND legal_name <> '' AS name, email IS NOT NULL AS email,"
            " address IS NOT NULL AS address, phone IS NOT NULL AS phone FROM party_personal_data"
            " WHERE party_id = any($1::uuid[])", list(party_ids),
        )
        return {r["party_id"]: (r["name"], r["email"], r["address"], r["phone"]) for r in rows}

    async def ids_by_external_ref(self, refs: Sequence[str]) -> dict[str, tuple[UUID, str]]:
        rows = await self.conn.fetch(
            "SELECT external_ref, id, kind FROM parties WHERE external_ref = any($1::text[])", list(refs)
        )
        return {r["external_ref"]: (r["id"], r["kind"]) for r in rows}

    async def insert_merchants(self, rows: Sequence[tuple[UUID, str, str]]) -> None:
        if rows:
            await self.conn.execute(
                "INSERT INTO parties (tenant_id, id, kind, external_ref, display_name)"
                " SELECT $1, u.id, 'merchant', u.ref, u.name FROM unnest($2::uuid[], $3::text[], $4::text[])"
                "   AS u(id, ref, name) ON CONFLICT (tenant_id, external_ref) DO NOTHING",
                self.tenant_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            )


# ----- IP rights ---------------------------------------------------------------------------------

_RIGHT_COLS = (
    "id, holder_id, type, registration_number, jurisdiction, title, classes, valid_from, valid_until,"
    " verification_status, legal_status, invalidation_office, invalidation_case_number,"
    " invalidation_accepted_at, invalidation_outcome, invalidation_decided_at, created_at, updated_at"
)


def right_from_row(r: asyncpg.Record) -> IpRight:
    invalidation = (
        Invalidation(r["invalidation_office"], r["invalidation_case_number"], r["invalidation_accepted_at"],
                     r["invalidation_outcome"], r["invalidation_decided_at"])
        if r["invalidation_office"]
        else None
    )
    return IpRight(
        id=r["id"],
        holder_id=r["holder_id"],
        type=RightType(r["type"]),
        registration_number=r["registration_number"],
        jurisdiction=r["jurisdiction"],
        title=r["title"],
        classes=tuple(r["classes"]),
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        verification_status=VerificationStatus(r["verification_status"]),
        legal_status=LegalStatus(r["legal_status"]),
        invalidation=invalidation,
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


class IpRightRepo(_Repo):
    async def register(self, data: IpRightInput, new_id: UUID) -> IpRight:
        try:
            row = await self.conn.fetchrow(
                "INSERT INTO ip_rights (tenant_id, id, holder_id, type, registration_number, jurisdiction, title,"
                "   classes, valid_from, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT (tenant_id, jurisdiction, type, registration_number) DO UPDATE"
                "   SET title = coalesce(EXCLUDED.title, ip_rights.title), updated_at = now()"
                "   WHERE ip_rights.holder_id = EXCLUDED.holder_id"
                f" RETURNING {_RIGHT_COLS}",
                self.tenant_id, new_id, data.holder_id, data.type.value, data.registration_number,
                data.jurisdiction, data.title, list(data.classes), data.valid_from, data.valid_until,
            )
        except asyncpg.ForeignKeyViolationError as exc:
            raise NotFound("Holder party", "holderId") from exc
        if row is None:
            raise Conflict("This right is already registered to another holder.", "registrationNumber")
        return right_from_row(row)

    async def get_many(self, ids: Sequence[UUID]) -> list[IpRight | None]:
        rows = await self.conn.fetch(f"SELECT {_RIGHT_COLS} FROM ip_rights WHERE id = any($1::uuid[])", list(ids))
        return _in_order(ids, rows, right_from_row)

    async def page(self, after: UUID | None, first: int, holder_id: UUID | None) -> list[IpRight]:
        rows = await self.conn.fetch(
            f"SELECT {_RIGHT_COLS} FROM ip_rights WHERE ($1::uuid IS NULL OR id > $1)"
            " AND ($3::uuid IS NULL OR holder_id = $3) ORDER BY id LIMIT $2",
            after, first, holder_id,
        )
        return [right_from_row(r) for r in rows]

    async def set_verification(self, right_id: UUID, status: VerificationStatus) -> IpRight | None:
        row = await self.conn.fetchrow(
            f"UPDATE ip_rights SET verification_status = $2, updated_at = now() WHERE id = $1 RETURNING {_RIGHT_COLS}",
            right_id, status.value,
        )
        return right_from_row(row) if row else None

    async def set_invalidation_outcome(self, right_id: UUID, outcome: str, at: datetime,
                                       legal_status: LegalStatus) -> bool:
        done = await self.conn.execute(
            "UPDATE ip_rights SET invalidation_outcome = $2, invalidation_decided_at = $3, legal_status = $4,"
            " updated_at = now() WHERE id = $1 AND invalidation_office IS NOT NULL AND invalidation_outcome IS NULL",
            right_id, outcome, at, legal_status.value)
        return bool(done == "UPDATE 1")

    async def set_legal_status(self, right_id: UUID, data: LegalStatusInput) -> IpRight | None:
        inv = data.invalidation
        same = "(invalidation_office, invalidation_case_number, invalidation_accepted_at) IS NOT DISTINCT FROM"
        row = await self.conn.fetchrow(
            "UPDATE ip_rights SET legal_status = $2, invalidation_office = coalesce($3, invalidation_office),"
            " invalidation_case_number = coalesce($4, invalidation_case_number),"
            " invalidation_accepted_at = coalesce($5, invalidation_accepted_at),"
            f" invalidation_outcome = CASE WHEN $3 IS NULL OR {same} ($3, $4, $5) THEN invalidation_outcome END,"
            f" invalidation_decided_at = CASE WHEN $3 IS NULL OR {same} ($3, $4, $5) THEN invalidation_decided_at END,"
            f" updated_at = now() WHERE id = $1 RETURNING {_RIGHT_COLS}",
            right_id, data.legal_status.value,
            inv.office if inv else None, inv.case_number if inv else None, inv.accepted_at if inv else None,
        )
        return right_from_row(row) if row else None


# ----- listings ----------------------------------------------------------------------------------

_LISTING_COLS = "id, external_id, url, merchant_id, title, markets, restriction_state, created_at, updated_at"


def listing_from_row(r: asyncpg.Record) -> Listing:
    return Listing(
        id=r["id"],
        external_id=r["external_id"],
        url=r["url"],
        merchant_id=r["merchant_id"],
        title=r["title"],
        markets=tuple(r["markets"]),
        restriction_state=r["restriction_state"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


class ListingRepo(_Repo):
    async def upsert_many(self, rows: Sequence[tuple[UUID, ListingInput, UUID]]) -> list[tuple[Listing, bool]]:
        """Insert or update by external id in one statement; returns (listing, created) in input order."""
        result = await self.conn.fetch(
            "INSERT INTO listings (tenant_id, id, external_id, url, merchant_id, title, markets)"
            " SELECT $1, u.id, u.external_id, u.url, u.merchant_id, u.title,"
            "   string_to_array(u.markets, ',')"  # markets are validated ISO codes: no commas
            " FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[])"
            "   AS u(id, external_id, url, merchant_id, title, markets)"
            " ON CONFLICT (tenant_id, external_id) DO UPDATE SET url = EXCLUDED.url,"
            "   merchant_id = EXCLUDED.merchant_id, title = EXCLUDED.title, markets = EXCLUDED.markets,"
            "   updated_at = now()"
            f" RETURNING {_LISTING_COLS}, (xmax = 0) AS created",
            self.tenant_id,
            [r[0] for r in rows],
            [r[1].external_id for r in rows],
            [r[1].url for r in rows],
            [r[2] for r in rows],
            [r[1].title for r in rows],
            [",".join(r[1].markets) for r in rows],
        )
        by_ext = {r["external_id"]: (listing_from_row(r), bool(r["created"])) for r in result}
        return [by_ext[r[1].external_id] for r in rows]

    async def get_many(self, ids: Sequence[UUID]) -> list[Listing | None]:
        rows = await self.conn.fetch(f"SELECT {_LISTING_COLS} FROM listings WHERE id = any($1::uuid[])", list(ids))
        return _in_order(ids, rows, listing_from_row)

    async def page(self, after: UUID | None, first: int, merchant_id: UUID | None) -> list[Listing]:
        rows = await self.conn.fetch(
            f"SELECT {_LISTING_COLS} FROM listings WHERE ($1::uuid IS NULL OR id > $1)"
            " AND ($3::uuid IS NULL OR merchant_id = $3) ORDER BY id LIMIT $2",
            after, first, merchant_id,
        )
        return [listing_from_row(r) for r in rows]


# ----- idempotency -------------------------------------------------------------------------------


class IdempotencyRepo(_Repo):
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, writes: WriteBatch) -> None:
        super().__init__(conn, tenant_id)
        self.writes = writes

    async def get(self, operation: str, key: str) -> tuple[bytes, Any] | None:
        """One key's earlier request (notice intake reads its keys in batch: intake_references)."""
        row = await self.conn.fetchrow(
            "SELECT request_hash, result FROM idempotency_keys WHERE tenant_id = $1 AND operation = $2 AND key = $3",
            self.tenant_id, operation, key)
        return (bytes(row["request_hash"]), row["result"]) if row else None

    def put_many(self, operation: str, rows: Sequence[tuple[str, bytes, Any]]) -> None:
        """Staged into the transaction's final write; a key stored meanwhile by a concurrent request with the
        same key fails the transaction with a Conflict."""
        if not rows:
            return
        self.writes.add(
            "INSERT INTO idempotency_keys (tenant_id, operation, key, request_hash, result)"
            " SELECT $1, $2, u.key, u.request_hash, u.result::jsonb"
            " FROM unnest($3::text[], $4::bytea[], $5::text[]) AS u(key, request_hash, result)",
            self.tenant_id, operation, [k for k, _, _ in rows], [h for _, h, _ in rows],
            [orjson.dumps(r).decode() for _, _, r in rows],
            conflict=("idempotency_keys_pkey",
                      Conflict("A request with the same idempotencyKey is in progress; retry it.", "idempotencyKey")),
        )


class ProcessedMessageRepo(_Repo):
    async def claim(self, message_id: UUID, handler: str) -> bool:
        """True the first time (message, handler) is seen: the caller runs its effect in this transaction."""
        inserted = await self.conn.fetchval(
            "INSERT INTO processed_messages (tenant_id, message_id, handler) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            self.tenant_id, message_id, handler,
        )
        return bool(inserted)


class IntakeRepo(_Repo):
    """Notice intake's reads in one round trip (nine statements before)."""

    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, trust: TrustRepo) -> None:
        super().__init__(conn, tenant_id)
        self.trust = trust

    async def references(
        self, operation: str, keys: Sequence[str], party_ids: Sequence[UUID], right_ids: Sequence[UUID],
        listing_ids: Sequence[UUID], listing_external_ids: Sequence[str], now: datetime, records_since: date,
    ) -> Any:
        """The parties' standing (trust, restrictions, notifier records since `records_since`) also goes to
        the transaction's TrustRepo, where the account rules look first."""
        from domain.ports import IntakeReferences
        from infra.trust_repositories import restrictions_by_party

        # A PL/pgSQL function for its cached generic plan (migration 0010). Arrays of table rows (no json
        # columns) and of composite types decode by field name.
        row = await self.conn.fetchrow(
            "SELECT * FROM intake_references($1, $2, $3, $4, $5, $6, $7, $8)",
            operation, list(keys), list(party_ids), list(right_ids), list(listing_ids), list(listing_external_ids),
            now, records_since,
        )
        parties = row["parties"]
        trusted = {p["id"]: p["trusted_since"] for p in parties}
        self.trust.remember(list(party_ids), trusted, row["restrictions"], row["records"], records_since)
        return IntakeReferences(
            replays={r["key"]: (bytes(r["request_hash"]), orjson.loads(r["result"])) for r in row["replays"]},
            parties={p["id"]: party_from_row(p) for p in parties},
            merchant_names={m["id"]: m["display_name"] for m in row["merchants"]},
            contacts={c["party_id"]: (c["legal_name"], c["email"], c["address"], c["phone"]) for c in row["contacts"]},
            trusted_since=trusted,
            restrictions=restrictions_by_party(party_ids, row["restrictions"]),
            rights={r["id"]: right_from_row(r) for r in row["rights"]},
            listings_by_id={x["id"]: listing_from_row(x) for x in row["by_id"]},
            listings_by_external_id={x["external_id"]: listing_from_row(x) for x in row["by_external_id"]},
            cooling={(c["listing_id"], c["measure_type"]) for c in row["cooling"]},
        )


async def tenant_id_by_slug(conn: asyncpg.Connection, slug: str) -> UUID | None:
    """System-role lookup for operator tooling (CLI)."""
    value: UUID | None = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", slug)
    return value


# ----- policy versions ---------------------------------------------------------------------------

_POLICY_COLS = "id, version, status, document, based_on, note, created_at, created_by, published_at, published_by"
# Published versions never change, so their parsed form is shared across requests and tenants' loads.
_PARSED_POLICIES: dict[tuple[UUID, int], Any] = {}


def policy_version_from_row(r: asyncpg.Record) -> Any:
    from domain.policies import PolicyStatus, PolicyVersion

    return PolicyVersion(
        id=r["id"], version=r["version"], status=PolicyStatus(r["status"]), document=r["document"],
        based_on=r["based_on"], note=r["note"], created_at=r["created_at"], created_by=r["created_by"],
        published_at=r["published_at"], published_by=r["published_by"],
    )


class PolicyRepo(_Repo):
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID | None, published: int | None = None) -> None:
        super().__init__(conn, tenant_id)
        # The version in force as the transaction began (tenants.policy_version, read with the tenant switch);
        # forgotten once this transaction inserts or publishes a version.
        self._published = published

    async def in_force(self) -> Any:
        """The published policy (parsed once per process per version)."""
        from domain.errors import PolicyViolation
        from domain.policies import PolicyInForce
        from domain.policy import parse_policy

        version = self._published
        if version is None:
            version = await self.conn.fetchval("SELECT version FROM policy_versions WHERE status = 'published'")
        if version is None:
            raise PolicyViolation("This tenant has no published policy; publish one first.")
        assert self.tenant_id is not None
        key = (self.tenant_id, int(version))
        policy = _PARSED_POLICIES.get(key)
        if policy is None:
            document = await self.conn.fetchval(
                "SELECT document FROM policy_versions WHERE version = $1", version
            )
            policy = _PARSED_POLICIES[key] = parse_policy(document)
        return PolicyInForce(version, policy)

    async def insert(self, version: Any) -> None:
        self._published = None
        await self.conn.execute(
            "INSERT INTO policy_versions (tenant_id, id, version, status, document, based_on, note, created_at,"
            " created_by, published_at, published_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            self.tenant_id, version.id, version.version, version.status.value, version.document, version.based_on,
            version.note, version.created_at, version.created_by, version.published_at, version.published_by,
        )

    async def next_version_number(self) -> int:
        value = await self.conn.fetchval("SELECT coalesce(max(version), 0) + 1 FROM policy_versions")
        return int(value)

    async def get(self, version: int) -> Any:
        row = await self.conn.fetchrow(f"SELECT {_POLICY_COLS} FROM policy_versions WHERE version = $1", version)
        return policy_version_from_row(row) if row else None

    async def get_by_id(self, version_id: UUID) -> Any:
        row = await self.conn.fetchrow(f"SELECT {_POLICY_COLS} FROM policy_versions WHERE id = $1", version_id)
        return policy_version_from_row(row) if row else None

    async def page(self, after: UUID | None, first: int) -> list[Any]:
        rows = await self.conn.fetch(
            f"SELECT {_POLICY_COLS} FROM policy_versions WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
            after, first,
        )
        return [policy_version_from_row(r) for r in rows]

    async def update_draft(self, version_id: UUID, document: dict[str, Any], note: str | None) -> Any:
        row = await self.conn.fetchrow(
            f"UPDATE policy_versions SET document = $2, note = coalesce($3, note) WHERE id = $1 AND status = 'draft'"
            f" RETURNING {_POLICY_COLS}",
            version_id, document, note,
        )
        return policy_version_from_row(row) if row else None

    async def publish(self, version_id: UUID, at: datetime, by: str) -> Any:
        """Supersede the version in force and publish this draft (the unique index allows one)."""
        self._published = None
        await self.conn.execute(
            "UPDATE policy_versions SET status = 'superseded' WHERE status = 'published'"
        )
        row = await self.conn.fetchrow(
            "UPDATE policy_versions SET status = 'published', published_at = $2, published_by = $3"
            f" WHERE id = $1 AND status = 'draft' RETURNING {_POLICY_COLS}",
            version_id, at, by,
        )
        return policy_version_from_row(row) if row else None

    async def lock_for_change(self) -> None:
        """Serialize policy changes per tenant until the transaction ends (version numbers, publish)."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('noticehub.policy:' || $1::text, 0))", str(self.tenant_id)
        )
