"""All SQL for disclosure records and the public reads of them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from infra.write_batch import WriteBatch

_COLS = ("id, kind, case_id, subject_id, right_type, listing_title, merchant_name, record, redactions, status,"
         " created_at, publish_at, published_at, withdrawn_at, withdraw_reason")

# The columns of the public export, in the order of its CSV header and JSON-lines keys.
EXPORT_COLUMNS = ("id", "kind", "published_at", "right_type", "listing_title", "merchant_name", "record")
_EXPORT_SELECT = "id, kind, published_at, right_type, listing_title, merchant_name, record::text AS record"

# What a public record about a case may be built from (display data only: no personal data table).
# Each related row is fetched per case through its key (LATERAL ... LIMIT 1): asyncpg's prepared statement
# soon runs a generic plan, and for plain joins that plan hashed the tenant's whole notices and listings
# tables (18 ms per call at a few thousand cases, growing with the tenant).
_CASE_FACTS = """
SELECT c.id AS case_id, c.state, c.outcome_at, n.id AS notice_id, n.reason_code, n.explanation, n.evidence,
  n.received_at, n.channel, r.type AS right_type, r.jurisdiction AS right_jurisdiction,
  r.registration_number, l.title AS listing_title, l.url AS listing_url, m.display_name AS merchant_name,
  f.display_name AS notifier_name, d.id AS declaration_id, d.grounds, d.explanation AS declaration_explanation,
  d.evidence AS declaration_evidence, d.received_at AS declaration_received_at,
  (SELECT coalesce(array_agg(DISTINCT x.type), '{}') FROM measures x
     WHERE x.tenant_id = c.tenant_id AND x.case_id = c.id AND x.applied_at IS NOT NULL) AS measures
FROM unnest($1::uuid[]) AS wanted(id)
JOIN cases c ON c.tenant_id = $2 AND c.id = wanted.id
CROSS JOIN LATERAL (SELECT * FROM notices n WHERE n.tenant_id = c.tenant_id AND n.id = c.notice_id LIMIT 1) n
CROSS JOIN LATERAL (SELECT * FROM ip_rights r WHERE r.tenant_id = c.tenant_id AND r.id = n.ip_right_id LIMIT 1) r
CROSS JOIN LATERAL (SELECT * FROM listings l WHERE l.tenant_id = c.tenant_id AND l.id = c.listing_id LIMIT 1) l
CROSS JOIN LATERAL (SELECT display_name FROM parties m WHERE m.tenant_id = c.tenant_id AND m.id = c.merchant_id
                    LIMIT 1) m
CROSS JOIN LATERAL (SELECT display_name FROM parties f
                    WHERE f.tenant_id = c.tenant_id AND f.id = coalesce(n.agent_id, n.complainant_id) LIMIT 1) f
LEFT JOIN LATERAL (SELECT * FROM declarations d WHERE d.tenant_id = c.tenant_id AND d.id = c.declaration_id
                   LIMIT 1) d ON true
"""


class DisclosureRepo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, writes: WriteBatch) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.writes = writes

    async def case_facts(self, case_ids: Sequence[UUID]) -> dict[UUID, Mapping[str, Any]]:
        rows = await self.conn.fetch(_CASE_FACTS, list(case_ids), self.tenant_id)
        return {r["case_id"]: dict(r) for r in rows}

    async def party_name(self, party_id: UUID) -> str | None:
        value: str | None = await self.conn.fetchval("SELECT display_name FROM parties WHERE id = $1", party_id)
        return value

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Staged into the transaction's final write (nothing reads a new record back before COMMIT)."""
        if not rows:
            return
        self.writes.add(  # one statement part for the batch (a thousand cases' records at most)
            "INSERT INTO disclosures (tenant_id, id, kind, case_id, subject_id, right_type, listing_title,"
            " merchant_name, record, redactions, status, created_at, publish_at, published_at)"
            " SELECT $1, u.id, u.kind, u.case_id, u.subject_id, u.right_type, u.listing_title, u.merchant_name,"
            "   u.record::jsonb, u.redactions::jsonb, u.status, u.created_at, u.publish_at, u.published_at"
            " FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[],"
            "   $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[])"
            " AS u(id, kind, case_id, subject_id, right_type, listing_title, merchant_name, record, redactions,"
            "   status, created_at, publish_at, published_at)",
            self.tenant_id, [r["id"] for r in rows], [r["kind"] for r in rows], [r["case_id"] for r in rows],
            [r["subject_id"] for r in rows], [r["right_type"] for r in rows], [r["listing_title"] for r in rows],
            [r["merchant_name"] for r in rows], [orjson.dumps(r["record"]).decode() for r in rows],
            [orjson.dumps(r["redactions"]).decode() for r in rows], [r["status"] for r in rows],
            [r["created_at"] for r in rows], [r["publish_at"] for r in rows], [r["published_at"] for r in rows],
        )

    async def publish(self, ids: Sequence[UUID], at: datetime) -> int:
        done = await self.conn.execute(
            "UPDATE disclosures SET status = 'published', published_at = $2 WHERE id = any($1::uuid[])"
            " AND status = 'scheduled'", list(ids), at)
        return int(done.split()[-1])

    async def get(self, disclosure_id: UUID, *, lock: bool = False) -> Mapping[str, Any] | None:
        """`lock`: hold the row until COMMIT, for a read-modify-write of the record (see `redact_disclosure`)."""
        row = await self.conn.fetchrow(f"SELECT {_COLS} FROM disclosures WHERE id = $1"
                                       + (" FOR UPDATE" if lock else ""), disclosure_id)
        return dict(row) if row else None

    async def withdraw(self, disclosure_id: UUID, at: datetime, reason: str) -> bool:
        done = await self.conn.execute(
            "UPDATE disclosures SET status = 'withdrawn', withdrawn_at = $2, withdraw_reason = $3"
            " WHERE id = $1 AND status <> 'withdrawn'", disclosure_id, at, reason)
        return bool(done == "UPDATE 1")

    async def replace_record(self, disclosure_id: UUID, record: Mapping[str, Any], redactions: list[Any],
                             listing_title: str | None, merchant_name: str | None) -> None:
        await self.conn.execute(
            "UPDATE disclosures SET record = $2, redactions = $3, listing_title = $4, merchant_name = $5"
            " WHERE id = $1", disclosure_id, dict(record), redactions, listing_title, merchant_name)

    async def public_page(self, after: tuple[datetime, UUID] | None, first: int, kind: str | None,
                          right_type: str | None, since: datetime | None, until: datetime | None,
                          name: str | None) -> list[Mapping[str, Any]]:
        """Published records, newest first; keyset on (published_at, id) so any page costs the same.

        The name filter (ILIKE '%...%') walks the tenant's records in that order. Under row-level security
        the planner may neither use an index for ILIKE nor its column statistics (texticlike is not
        leakproof), so it guesses a low match rate and a high cost, which turns on JIT compilation (~7 ms)
        for what is usually a sub-millisecond walk; JIT is switched off for this transaction then."""
        if name is not None:
            await self.conn.execute("SET LOCAL jit = off")
        rows = await self.conn.fetch(
            f"SELECT {_COLS} FROM disclosures WHERE status = 'published'"
            " AND ($1::timestamptz IS NULL OR (published_at, id) < ($1, $2::uuid))"
            " AND ($4::text IS NULL OR kind = $4) AND ($5::text IS NULL OR right_type = $5)"
            " AND ($6::timestamptz IS NULL OR published_at >= $6) AND ($7::timestamptz IS NULL OR published_at < $7)"
            " AND ($8::text IS NULL OR listing_title ILIKE '%' || $8 || '%' OR merchant_name ILIKE '%' || $8 || '%')"
            " ORDER BY published_at DESC, id DESC LIMIT $3",
            after[0] if after else None, after[1] if after else None, first, kind, right_type, since, until, name,
        )
        return [dict(r) for r in rows]

    async def public_for_case(self, case_id: UUID) -> list[Mapping[str, Any]]:
        rows = await self.conn.fetch(
            f"SELECT {_COLS} FROM disclosures WHERE case_id = $1 AND status = 'published' ORDER BY published_at",
            case_id)
        return [dict(r) for r in rows]

    async def public_timeline(self, case_id: UUID) -> list[tuple[str, datetime]]:
        """Dates only: received, measures applied and lifted, declaration received, outcome."""
        rows = await self.conn.fetch(
            "SELECT 'received' AS step, n.received_at AS at FROM cases c JOIN notices n"
            "   ON n.tenant_id = c.tenant_id AND n.id = c.notice_id WHERE c.id = $1"
            " UNION ALL SELECT 'measure_applied:' || type, applied_at FROM measures WHERE case_id = $1"
            "   AND applied_at IS NOT NULL"
            " UNION ALL SELECT 'measure_lifted:' || type, lifted_at FROM measures WHERE case_id = $1"
            "   AND lifted_at IS NOT NULL"
            " UNION ALL SELECT 'declaration_received', d.received_at FROM cases c JOIN declarations d"
            "   ON d.tenant_id = c.tenant_id AND d.id = c.declaration_id WHERE c.id = $1"
            " UNION ALL SELECT 'outcome:' || coalesce((SELECT outcome FROM decisions WHERE case_id = $1"
            "   AND outcome IN ('restored', 'upheld', 'settled', 'rejected', 'withdrawn') ORDER BY seq DESC LIMIT 1),"
            "   state), outcome_at FROM cases WHERE id = $1 AND outcome_at IS NOT NULL"
            " ORDER BY 2", case_id)
        return [(r["step"], r["at"]) for r in rows]

    async def export_batches(self, since: datetime, until: datetime,
                             batch: int = 2000) -> AsyncGenerator[list[asyncpg.Record], None]:
        """The public export: every published record in [since, until), oldest first, as lists of up to `batch`
        records with just the EXPORT_COLUMNS (in that order), `record` as its JSON text (jsonb::text, the text
        the connection's jsonb codec would parse; parsing it in the caller's loop costs ~4 us a row less).
        Call once per transaction.

        A DECLAREd cursor, not a protocol-level portal (asyncpg's `cursor()`): a portal is planned to return
        every row, which for a tenant's whole history is a parallel seq scan of all tenants plus a sort that
        spills to disk before the first row; a cursor is planned for a fast start (cursor_tuple_fraction), i.e.
        a walk of disclosures_public with no sort and constant memory. FETCH in batches also means one query
        (and one trace span) per batch, not per row as asyncpg's cursor iterator is traced."""
        await self.conn.execute(
            f"DECLARE public_export NO SCROLL CURSOR FOR SELECT {_EXPORT_SELECT} FROM disclosures"
            " WHERE status = 'published' AND published_at >= $1 AND published_at < $2 ORDER BY published_at, id",
            since, until)
        # asyncpg prepares and caches the FETCH with the row shape it saw first: the cursor's name stands for
        # this one query, so never DECLARE public_export for anything else.
        fetch = f"FETCH FORWARD {int(batch)} FROM public_export"
        while rows := await self.conn.fetch(fetch):
            yield rows
