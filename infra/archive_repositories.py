"""SQL for archive bundles (reading a closed case's whole record, bundle rows, purge marks) and audit reads.

Case material is read as `to_jsonb(row)`, so whatever columns a table has (now or after a later
migration) go into the bundle, in one statement per table for a whole batch. The archive
transaction runs with `TIME ZONE 'UTC'` so timestamps render the same way in every process, which
keeps a bundle's bytes (and so its hash) a function of the rows alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.archive import BundleRecord, CaseMaterial
from domain.decisions import GENESIS_HASH, Decision
from infra.case_repositories import decision_from_row

_DECISION_COLS = ("tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome, actor, automated,"
                  " policy_version, rules, reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash")

# What a bundle entry needs, in `entry_from_row`'s order (the tenant is the transaction's).
ENTRY_COLS = ("seq, id, subject_type, subject_id, case_id, kind, outcome, actor, automated, policy_version, rules,"
              " reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash")
_D_COLS = ", ".join(f"d.{c.strip()}" for c in ENTRY_COLS.split(","))

# Tables written by other parts of the service whose rows tied to a case (by an indexed `case_id`) belong in
# its record; checked at run time: a table that is missing, unreadable or without `case_id` is skipped.
RELATED_TABLES = ("disclosures", "suspensions", "appeals", "strikes")


class _Repo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


class AuditRepo(_Repo):
    async def chain_head(self) -> tuple[int, bytes]:
        row = await self.conn.fetchrow("SELECT seq, hash FROM decision_chain_heads")
        return (int(row["seq"]), bytes(row["hash"])) if row else (0, GENESIS_HASH)

    async def head_and_beyond(self) -> tuple[int, bytes, int | None]:
        """The chain head and the first seq stored past it (normally none), in one snapshot."""
        row = await self.conn.fetchrow(
            "SELECT h.seq, h.hash, (SELECT min(d.seq) FROM decisions d WHERE d.seq > h.seq) AS beyond"
            " FROM decision_chain_heads h")
        if row is None:
            beyond = await self.conn.fetchval("SELECT min(seq) FROM decisions")
            return 0, GENESIS_HASH, beyond
        return int(row["seq"]), bytes(row["hash"]), row["beyond"]

    async def chain(self, after_seq: int, up_to_seq: int, limit: int) -> list[Decision]:
        rows = await self.conn.fetch(
            f"SELECT {_DECISION_COLS} FROM decisions WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            after_seq, up_to_seq, limit)
        return [decision_from_row(r) for r in rows]

    async def decision(self, decision_id: UUID) -> Decision | None:
        r = await self.conn.fetchrow(f"SELECT {_DECISION_COLS} FROM decisions WHERE id = $1", decision_id)
        return decision_from_row(r) if r else None

    async def decision_at(self, seq: int) -> Decision | None:
        r = await self.conn.fetchrow(f"SELECT {_DECISION_COLS} FROM decisions WHERE seq = $1", seq)
        return decision_from_row(r) if r else None

    async def decision_hashes(self, ids: Sequence[UUID]) -> dict[UUID, bytes]:
        rows = await self.conn.fetch("SELECT id, hash FROM decisions WHERE id = any($1::uuid[])", list(ids))
        return {r["id"]: bytes(r["hash"]) for r in rows}


_BUNDLE_COLS = ("id, case_id, sha256, uri, size, format, decision_id, last_decision_seq, policy_version, closed_at,"
                " retention_until, created_at, verified_at, verified_ok, purged_at, purge_decision_id,"
                " object_deleted_at, version")


def bundle_from_row(r: asyncpg.Record) -> BundleRecord:
    return BundleRecord(
        id=r["id"], case_id=r["case_id"], sha256=r["sha256"], uri=r["uri"], size=r["size"], format=r["format"],
        decision_id=r["decision_id"], last_decision_seq=r["last_decision_seq"], policy_version=r["policy_version"],
        closed_at=r["closed_at"], retention_until=r["retention_until"], created_at=r["created_at"],
        verified_at=r["verified_at"], verified_ok=r["verified_ok"], purged_at=r["purged_at"],
        purge_decision_id=r["purge_decision_id"], object_deleted_at=r["object_deleted_at"], version=r["version"],
    )


# `version`: a case an appeal reopened after it was archived gets its next bundle when it closes again.
_DUE_CASES = """
SELECT c.id, c.notice_id, c.listing_id, c.merchant_id, c.declaration_id,
  coalesce(c.outcome_at, c.updated_at) AS closed_at, to_jsonb(c) - 'tenant_id' AS doc,
  (SELECT coalesce(max(b.version), 0) + 1 FROM archive_bundles b WHERE b.tenant_id = c.tenant_id AND b.case_id = c.id)
    AS version
FROM cases c
WHERE c.state = 'closed' AND c.archived_at IS NULL AND coalesce(c.outcome_at, c.updated_at) <= $1
ORDER BY coalesce(c.outcome_at, c.updated_at), c.id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""


def _docs(rows: Sequence[asyncpg.Record]) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r["doc"] for r in rows}


def entry_from_row(tenant: str, r: asyncpg.Record) -> dict[str, Any]:
    """`domain.archive.decision_entry` straight from a row of ENTRY_COLS (no Decision in between: this runs for
    every decision of every archived case); tests hold the two to the same output."""
    (seq, id_, subject_type, subject_id, case_id, kind, outcome, actor, automated, policy_version, rules,
     reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash_) = r
    return {
        "tenant_id": tenant, "seq": seq, "id": str(id_), "subject_type": subject_type,
        "subject_id": str(subject_id), "case_id": str(case_id) if case_id else None, "kind": kind,
        "outcome": outcome, "actor": actor, "automated": automated, "policy_version": policy_version,
        "rules": rules, "reasons": reasons, "reason_text": reason_text, "trace_id": trace_id, "span_id": span_id,
        "decided_at": (decided_at if decided_at.tzinfo is UTC else decided_at.astimezone(UTC)).isoformat(
            timespec="microseconds"),
        "prev_hash": prev_hash.hex(), "hash": hash_.hex(),
    }


class ArchiveRepo(_Repo):
    _related_tables: tuple[str, ...] | None = None

    async def _related(self) -> tuple[str, ...]:
        """The related tables present, readable here, and with a `case_id` column (once per process)."""
        if ArchiveRepo._related_tables is None:
            rows = await self.conn.fetch(
                "SELECT table_name::text AS t FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = any($1::text[]) AND column_name = 'case_id'"
                " AND has_table_privilege(table_name::text, 'SELECT') ORDER BY 1", list(RELATED_TABLES))
            ArchiveRepo._related_tables = tuple(r["t"] for r in rows)
        return ArchiveRepo._related_tables

    async def due_material(self, closed_before: datetime, limit: int) -> list[CaseMaterial]:
        """Lock up to `limit` closed, unarchived cases closed before the cutoff and read their whole record.

        One statement per table for the whole batch; link columns come back as native uuids alongside each
        row's JSON so that nothing is parsed twice.
        """
        conn = self.conn
        await conn.execute("SET LOCAL TIME ZONE 'UTC'")
        cases = await conn.fetch(_DUE_CASES, closed_before, limit)
        if not cases:
            return []
        case_ids = [r["id"] for r in cases]
        notice_ids = list({r["notice_id"] for r in cases})
        listing_ids = list({r["listing_id"] for r in cases})
        declaration_ids = list({r["declaration_id"] for r in cases} - {None})

        notices = {r["id"]: r for r in await conn.fetch(
            "SELECT id, ip_right_id, complainant_id, agent_id, to_jsonb(n) - 'tenant_id' AS doc FROM notices n"
            " WHERE id = any($1::uuid[])", notice_ids)}
        listings = _docs(await conn.fetch(
            "SELECT id, to_jsonb(l) - 'tenant_id' AS doc FROM listings l WHERE id = any($1::uuid[])", listing_ids))
        rights = {r["id"]: r for r in await conn.fetch(
            "SELECT id, holder_id, to_jsonb(r) - 'tenant_id' AS doc FROM ip_rights r WHERE id = any($1::uuid[])",
            list({n["ip_right_id"] for n in notices.values()}))}
        party_ids = {r["merchant_id"] for r in cases}
        party_ids |= {n[k] for n in notices.values() for k in ("complainant_id", "agent_id")}
        party_ids |= {r["holder_id"] for r in rights.values()}
        parties = _docs(await conn.fetch(
            "SELECT id, to_jsonb(p) - 'tenant_id' AS doc FROM parties p WHERE id = any($1::uuid[])",
            list(party_ids - {None})))
        declarations = _docs(await conn.fetch(
            "SELECT id, to_jsonb(d) - 'tenant_id' AS doc FROM declarations d WHERE id = any($1::uuid[])",
            declaration_ids)) if declaration_ids else {}
        by_case: dict[str, dict[UUID, list[Mapping[str, Any]]]] = {"measures": defaultdict(list),
                                                                   "action_proofs": defaultdict(list)}
        for table in by_case:
            for r in await conn.fetch(
                    f"SELECT case_id, to_jsonb(x) - 'tenant_id' AS doc FROM {table} x WHERE case_id = any($1::uuid[])",
                    case_ids):
                by_case[table][r["case_id"]].append(r["doc"])

        # Which cases each id (case, notice, declaration) belongs to.
        owners: dict[UUID, set[UUID]] = defaultdict(set)
        for r in cases:
            owners[r["id"]].add(r["id"])
            owners[r["notice_id"]].add(r["id"])
            if r["declaration_id"] is not None:
                owners[r["declaration_id"]].add(r["id"])

        # Joins against the id lists (hash joins), not `= any(array)` filters, whose cost grows with both sides.
        decisions = [*await conn.fetch(
            f"SELECT {_D_COLS} FROM unnest($1::uuid[]) AS c(id) JOIN decisions d ON d.case_id = c.id", case_ids),
            *await conn.fetch(
            f"SELECT {_D_COLS} FROM unnest($1::uuid[]) AS s(id) JOIN decisions d ON d.subject_id = s.id"
            " WHERE d.case_id IS NULL", list(owners))]
        by_case_decisions: dict[UUID, list[Mapping[str, Any]]] = defaultdict(list)
        tenant = str(self.tenant_id)
        for r in decisions:
            entry = entry_from_row(tenant, r)
            targets = owners.get(r["subject_id"], set())
            if r["case_id"] is not None and r["case_id"] in owners and r["case_id"] not in targets:
                targets = {*targets, r["case_id"]}
            for cid in targets:
                by_case_decisions[cid].append(entry)

        related: dict[UUID, dict[str, list[Mapping[str, Any]]]] = defaultdict(dict)
        for table in await self._related():
            for r in await conn.fetch(
                    f"SELECT t.case_id, to_jsonb(t) - 'tenant_id' AS doc FROM unnest($1::uuid[]) AS k(id)"
                    f" JOIN {table} t ON t.case_id = k.id", case_ids):
                related[r["case_id"]].setdefault(table, []).append(r["doc"])

        out: list[CaseMaterial] = []
        for r in cases:
            cid = r["id"]
            notice = notices.get(r["notice_id"])
            right = rights.get(notice["ip_right_id"]) if notice else None
            pids = [r["merchant_id"]]
            if notice:
                pids += [notice["complainant_id"], notice["agent_id"]]
            if right:
                pids.append(right["holder_id"])
            decl = declarations.get(r["declaration_id"])
            out.append(CaseMaterial(
                case_id=cid, closed_at=r["closed_at"], case=r["doc"], notice=notice["doc"] if notice else None,
                listing=listings.get(r["listing_id"]), ip_right=right["doc"] if right else None,
                parties=[parties[p] for p in dict.fromkeys(pids) if p in parties],
                measures=by_case["measures"].get(cid, []), declarations=[decl] if decl else [],
                action_proofs=by_case["action_proofs"].get(cid, []),
                related=related.get(cid, {}),
                decisions=by_case_decisions.get(cid, []), version=r["version"],
            ))
        return out

    async def insert_bundles(self, records: Sequence[BundleRecord]) -> int:
        """Insert the bundle rows and mark their cases archived; returns how many cases were marked.

        `due_material` claimed the cases FOR UPDATE; the UPDATE still marks only cases that are closed and not
        archived, and bumps their revision, so a use case that read a case before this commit (an appeal about
        to reopen it) cannot then save over it: `CaseRepo.save` is optimistic on the revision."""
        if not records:
            return 0
        rs = records
        await self.conn.execute(
            "INSERT INTO archive_bundles (tenant_id, id, case_id, sha256, uri, size, format, decision_id,"
            " last_decision_seq, policy_version, closed_at, retention_until, created_at, version)"
            " SELECT $1, u.* FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[],"
            "   $8::uuid[], $9::bigint[], $10::int[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],"
            "   $14::int[]) AS u",
            self.tenant_id, [r.id for r in rs], [r.case_id for r in rs], [r.sha256 for r in rs], [r.uri for r in rs],
            [r.size for r in rs], [r.format for r in rs], [r.decision_id for r in rs],
            [r.last_decision_seq for r in rs], [r.policy_version for r in rs], [r.closed_at for r in rs],
            [r.retention_until for r in rs], [r.created_at for r in rs], [r.version for r in rs],
        )
        done = await self.conn.execute(
            "UPDATE cases c SET archived_at = u.at, revision = c.revision + 1"
            " FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)"
            " WHERE c.id = u.id AND c.state = 'closed' AND c.archived_at IS NULL",
            [r.case_id for r in rs], [r.created_at for r in rs])
        return int(done.split()[-1])

    async def bundles_by_ids(self, ids: Sequence[UUID], *, lock: bool = False) -> list[BundleRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_BUNDLE_COLS} FROM archive_bundles WHERE id = any($1::uuid[]) ORDER BY id"
            + (" FOR UPDATE" if lock else ""), list(ids))
        return [bundle_from_row(r) for r in rows]

    async def for_case(self, case_id: UUID) -> BundleRecord | None:
        """The case's newest bundle."""
        r = await self.conn.fetchrow(
            f"SELECT {_BUNDLE_COLS} FROM archive_bundles WHERE case_id = $1 ORDER BY version DESC LIMIT 1", case_id)
        return bundle_from_row(r) if r else None

    async def current(self, case_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        """{case id: its newest bundle's id} for those of the cases that are archived now (not reopened since)."""
        rows = await self.conn.fetch(
            "SELECT DISTINCT ON (b.case_id) b.case_id, b.id FROM archive_bundles b"
            " JOIN cases c ON c.tenant_id = b.tenant_id AND c.id = b.case_id AND c.archived_at IS NOT NULL"
            " WHERE b.case_id = any($1::uuid[]) ORDER BY b.case_id, b.version DESC", list(case_ids))
        return {r["case_id"]: r["id"] for r in rows}

    async def page(self, after: UUID | None, limit: int, *, live_only: bool = False) -> list[BundleRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_BUNDLE_COLS} FROM archive_bundles WHERE ($1::uuid IS NULL OR id > $1)"
            " AND (NOT $3 OR purged_at IS NULL) ORDER BY id LIMIT $2", after, limit, live_only)
        return [bundle_from_row(r) for r in rows]

    async def count_live(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM archive_bundles WHERE purged_at IS NULL"))

    async def mark_purged(self, rows: Sequence[tuple[UUID, UUID]], at: datetime) -> None:
        """(case id, purge decision id): every bundle of the case not purged yet, and the case."""
        if not rows:
            return
        await self.conn.execute(
            "UPDATE archive_bundles b SET purged_at = $3, purge_decision_id = u.decision_id"
            " FROM unnest($1::uuid[], $2::uuid[]) AS u(case_id, decision_id)"
            " WHERE b.case_id = u.case_id AND b.purged_at IS NULL",
            [r[0] for r in rows], [r[1] for r in rows], at)
        await self.conn.execute(
            "UPDATE cases SET purged_at = $2 WHERE id = any($1::uuid[])", [r[0] for r in rows], at)

    async def extend_retention(self, rows: Sequence[tuple[UUID, datetime]]) -> None:
        await self.conn.execute(
            "UPDATE archive_bundles b SET retention_until = u.until"
            " FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, until) WHERE b.id = u.id",
            [r[0] for r in rows], [r[1] for r in rows])

    async def pending_object_deletes(self, limit: int) -> list[BundleRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_BUNDLE_COLS} FROM archive_bundles WHERE purged_at IS NOT NULL AND object_deleted_at IS NULL"
            " ORDER BY purged_at, id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [bundle_from_row(r) for r in rows]

    async def mark_objects_deleted(self, ids: Sequence[UUID], at: datetime) -> None:
        if ids:
            await self.conn.execute(
                "UPDATE archive_bundles SET object_deleted_at = $2 WHERE id = any($1::uuid[])", list(ids), at)

    async def record_verification(self, results: Sequence[tuple[UUID, bool]], at: datetime) -> None:
        if results:
            await self.conn.execute(
                "UPDATE archive_bundles b SET verified_at = $3, verified_ok = u.ok"
                " FROM unnest($1::uuid[], $2::bool[]) AS u(id, ok) WHERE b.id = u.id",
                [r[0] for r in results], [r[1] for r in results], at)
