"""All SQL for suspensions, strikes, account restrictions, notifier records, trust, cool-offs and appeals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.trust import NotifierRecord, RestrictionKind, RestrictionReason, RestrictionRecord, Strike
from infra.write_batch import WriteBatch


def restrictions_by_party(
    party_ids: Iterable[UUID], rows: Iterable[tuple[Any, ...]]
) -> dict[UUID, list[tuple[UUID, RestrictionRecord]]]:
    """Every asked-for party gets a list (empty when it has no restriction), oldest first; `rows` are
    party_restriction values (migration 0010) in their field order."""
    out: dict[UUID, list[tuple[UUID, RestrictionRecord]]] = {p: [] for p in party_ids}
    for party_id, restriction_id, kind, reason, starts_at, ends_at, ended_at in rows:
        out.setdefault(party_id, []).append(
            (restriction_id, RestrictionRecord(RestrictionKind(kind), RestrictionReason(reason), starts_at, ends_at,
                                               ended_at)))
    return out


NOTIFIER_FIELDS = ("notices", "cases", "accepted", "rejected", "unfounded", "successful_declarations", "withdrawn")


class TrustRepo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, writes: WriteBatch) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.writes = writes
        self._counts: dict[tuple[UUID, date], Counter[str]] = {}
        # Read once per transaction (intake and the account rules both need them); kept current by the
        # writes below, which are the only writers of these rows.
        self._trusted: dict[UUID, datetime | None] = {}
        self._restrictions: dict[UUID, list[tuple[UUID, RestrictionRecord]]] = {}
        self._records: dict[tuple[UUID, date], tuple[int, ...]] = {}  # stored sums; pending counts added on read

    async def lock_parties(self, party_ids: Iterable[UUID], records_since: date | None = None) -> None:
        """Account rules for these parties run one transaction at a time (lock held until commit): two
        transactions adding strikes for one merchant at once could otherwise both miss, or both make, the
        escalation. Their trust and restrictions are read again once the lock is held (by queries that start
        after the wait, inside party_standing), with their notifier records since `records_since` if given."""
        ids = sorted(set(party_ids))
        if ids:
            await self._load(ids, records_since, take_locks=True)

    async def read_parties(self, party_ids: Iterable[UUID], records_since: date | None = None) -> None:
        """As `lock_parties` without the locks, for what this transaction has not read yet: a first look for
        rules that only act when it shows a change."""
        ids = sorted(p for p in set(party_ids) if not (
            p in self._restrictions and p in self._trusted
            and (records_since is None or (p, records_since) in self._records)))
        if ids:
            await self._load(ids, records_since)

    # -- notifier record -------------------------------------------------------------------------

    async def bump(self, counts: Mapping[tuple[UUID, date], Mapping[str, int]]) -> None:
        """Add to the notifiers' daily counters. Written by `flush` at the end of the transaction (one upsert
        for all of them): a notifier's row of the day is hot (every notice of that notifier updates it) and
        its lock is held until commit. `record` in the same transaction already counts them."""
        for key, fields in counts.items():
            self._counts.setdefault(key, Counter()).update({f: n for f, n in fields.items() if f in NOTIFIER_FIELDS})

    def stage_counts(self) -> None:
        """The buffered counters, as one upsert in the transaction's final write (keys sorted: one lock order
        for every transaction)."""
        if not self._counts:
            return
        counts, self._counts = self._counts, {}
        self._records.clear()  # stored sums no longer include everything once the pending counts are cleared
        keys = sorted(counts)
        columns = {f: [counts[k][f] for k in keys] for f in NOTIFIER_FIELDS}
        self.writes.add(
            "INSERT INTO notifier_days (tenant_id, party_id, day, notices, cases, accepted, rejected, unfounded,"
            " successful_declarations, withdrawn)"
            " SELECT $1, u.* FROM unnest($2::uuid[], $3::date[], $4::int[], $5::int[], $6::int[], $7::int[],"
            "   $8::int[], $9::int[], $10::int[]) AS u"
            " ON CONFLICT (tenant_id, party_id, day) DO UPDATE SET"
            + ", ".join(f" {f} = notifier_days.{f} + EXCLUDED.{f}" for f in NOTIFIER_FIELDS),
            self.tenant_id,
            [k[0] for k in keys],
            [k[1] for k in keys],
            *columns.values(),
        )

    async def record(self, party_id: UUID, since: date) -> NotifierRecord:
        stored = self._records.get((party_id, since))
        if stored is None:
            await self._load([party_id], since)
            stored = self._records[(party_id, since)]
        values = dict(zip(NOTIFIER_FIELDS, stored, strict=True))
        for (party, day), pending in self._counts.items():  # this transaction's counts, not yet written
            if party == party_id and day > since:
                for f, n in pending.items():
                    values[f] += n
        return NotifierRecord(**values)

    async def trusted_since(self, party_ids: Sequence[UUID]) -> dict[UUID, datetime | None]:
        missing = [p for p in party_ids if p not in self._trusted]
        if missing:
            await self._load(missing)
        return {p: self._trusted[p] for p in party_ids if p in self._trusted}

    async def trust_removed_at(self, party_id: UUID) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT max(decided_at) FROM decisions WHERE subject_id = $1 AND kind = 'notifier.trust'"
            " AND outcome = 'untrusted'",
            party_id,
        )
        return value

    async def set_trusted(self, party_id: UUID, since: datetime | None) -> None:
        await self.conn.execute("UPDATE parties SET trusted_since = $2 WHERE id = $1", party_id, since)
        self._trusted.pop(party_id, None)

    # -- strikes ---------------------------------------------------------------------------------

    async def record_strikes(
        self, case_ids: Sequence[UUID], weights: Mapping[str, float], at: datetime, ids: Sequence[UUID]
    ) -> list[UUID]:
        """One strike per case (weight by the right type the notice relied on); returns the merchants."""
        rows = await self.conn.fetch(
            "INSERT INTO strikes (tenant_id, id, merchant_id, case_id, right_type, weight, recorded_at)"
            " SELECT $1, u.id, c.merchant_id, c.id, r.type, coalesce(($3::jsonb ->> r.type)::float, 1.0), $4"
            " FROM unnest($2::uuid[], $5::uuid[]) AS u(case_id, id)"
            " JOIN cases c ON c.tenant_id = $1 AND c.id = u.case_id"
            " JOIN notices n ON n.tenant_id = c.tenant_id AND n.id = c.notice_id"
            " JOIN ip_rights r ON r.tenant_id = n.tenant_id AND r.id = n.ip_right_id"
            " RETURNING merchant_id",
            self.tenant_id,
            list(case_ids),
            dict(weights),
            at,
            list(ids),
        )
        return list({r["merchant_id"] for r in rows})

    async def void_strikes(self, case_ids: Sequence[UUID], reason: str, at: datetime) -> list[UUID]:
        rows = await self.conn.fetch(
            "UPDATE strikes SET voided_at = $3, void_reason = $2 WHERE case_id = any($1::uuid[])"
            " AND voided_at IS NULL RETURNING merchant_id",
            list(case_ids),
            reason,
            at,
        )
        return list({r["merchant_id"] for r in rows})

    async def strikes(self, merchant_id: UUID, since: datetime) -> list[Strike]:
        rows = await self.conn.fetch(
            "SELECT weight, recorded_at, voided_at IS NOT NULL AS voided FROM strikes"
            " WHERE merchant_id = $1 AND recorded_at > $2",
            merchant_id,
            since,
        )
        return [Strike(r["weight"], r["recorded_at"], r["voided"]) for r in rows]

    # -- account restrictions --------------------------------------------------------------------

    async def restrictions(self, party_id: UUID) -> list[tuple[UUID, RestrictionRecord]]:
        if party_id not in self._restrictions:
            await self._load([party_id])
        return list(self._restrictions.get(party_id, ()))

    async def _load(self, party_ids: Sequence[UUID], records_since: date | None = None, *,
                    take_locks: bool = False) -> None:
        """Trust, restrictions and (optionally) stored notifier records of these parties, in one round trip
        (kept for the transaction; the writes below keep them current). party_standing: migration 0010."""
        row = await self.conn.fetchrow(
            "SELECT * FROM party_standing($1, $2, $3, $4)", self.tenant_id, list(party_ids), take_locks,
            records_since,
        )
        self.remember(party_ids, {t["id"]: t["trusted_since"] for t in row["trusted"]}, row["restrictions"],
                      row["records"], records_since)

    def remember(self, party_ids: Sequence[UUID], trusted: Mapping[UUID, datetime | None],
                 restrictions: Iterable[Any], records: Iterable[Any], records_since: date | None) -> None:
        """Standing read elsewhere in this transaction (notice intake reads its filers' with everything else):
        restriction and notifier_totals rows as party_standing returns them (migration 0010)."""
        self._trusted.update(trusted)
        self._restrictions.update(restrictions_by_party(party_ids, restrictions))
        if records_since is not None:
            zero = (0,) * len(NOTIFIER_FIELDS)
            self._records.update({(p, records_since): zero for p in party_ids})
            self._records.update({(r["party_id"], records_since): tuple(r[f] for f in NOTIFIER_FIELDS)
                                  for r in records})

    async def add_restriction(
        self, restriction_id: UUID, party_id: UUID, record: RestrictionRecord, counts: Mapping[str, Any]
    ) -> None:
        await self.conn.execute(
            "INSERT INTO account_restrictions (tenant_id, id, party_id, reason, kind, counts, starts_at, ends_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            self.tenant_id,
            restriction_id,
            party_id,
            record.reason.value,
            record.kind.value,
            dict(counts),
            record.starts_at,
            record.ends_at,
        )
        self._restrictions.pop(party_id, None)

    async def end_restriction(self, restriction_id: UUID, at: datetime, reason: str) -> UUID | None:
        party: UUID | None = await self.conn.fetchval(
            "UPDATE account_restrictions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL"
            " RETURNING party_id",
            restriction_id,
            at,
            reason,
        )
        self._restrictions.clear()
        return party

    async def restriction(self, restriction_id: UUID) -> Mapping[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM account_restrictions WHERE id = $1", restriction_id)
        return dict(row) if row else None

    async def restriction_rows(self, party_id: UUID | None, after: UUID | None, first: int) -> list[Mapping[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT * FROM account_restrictions WHERE ($1::uuid IS NULL OR party_id = $1)"
            " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
            party_id,
            after,
            first,
        )
        return [dict(r) for r in rows]

    # -- suspensions of handling ------------------------------------------------------------------

    async def add_suspension(self, row: Mapping[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO suspensions (tenant_id, id, case_id, ip_right_id, ground, evidence, harm_statement, status,"
            " requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9)",
            self.tenant_id,
            row["id"],
            row["case_id"],
            row["ip_right_id"],
            row["ground"],
            row["evidence"],
            row["harm_statement"],
            row["requested_by"],
            row["requested_at"],
        )

    async def suspension(self, suspension_id: UUID) -> Mapping[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM suspensions WHERE id = $1", suspension_id)
        return dict(row) if row else None

    async def decide_suspension(
        self, suspension_id: UUID, status: str, by: str, at: datetime, review_at: datetime | None
    ) -> bool:
        done = await self.conn.execute(
            "UPDATE suspensions SET status = $2, decided_by = $3, decided_at = $4, review_at = $5"
            " WHERE id = $1 AND status = 'requested'",
            suspension_id,
            status,
            by,
            at,
            review_at,
        )
        return bool(done == "UPDATE 1")

    async def lift_suspensions(self, case_ids: Sequence[UUID], at: datetime) -> None:
        await self.conn.execute(
            "UPDATE suspensions SET status = 'lifted', lifted_at = $2 WHERE case_id = any($1::uuid[])"
            " AND status = 'granted'",
            list(case_ids),
            at,
        )

    async def cases_relying_on(self, right_id: UUID) -> list[UUID]:
        rows = await self.conn.fetch(
            "SELECT c.id FROM cases c JOIN notices n ON n.tenant_id = c.tenant_id AND n.id = c.notice_id"
            " WHERE n.ip_right_id = $1 ORDER BY c.id",
            right_id,
        )
        return [r["id"] for r in rows]

    # -- overrides and appeals -------------------------------------------------------------------

    async def add_cooloffs(self, rows: Sequence[tuple[UUID, str, datetime, UUID]]) -> None:
        if rows:
            await self.conn.executemany(
                "INSERT INTO override_cooloffs (tenant_id, listing_id, measure_type, until, case_id)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, listing_id, measure_type)"
                " DO UPDATE SET until = greatest(override_cooloffs.until, EXCLUDED.until), case_id = EXCLUDED.case_id",
                [(self.tenant_id, *r) for r in rows],
            )

    async def standing_appeal(self, decision_id: UUID) -> str | None:
        status: str | None = await self.conn.fetchval(
            "SELECT status FROM appeals WHERE decision_id = $1 AND status IN ('filed', 'upheld')", decision_id)
        return status

    async def add_appeal(self, row: Mapping[str, Any]) -> bool:
        done = await self.conn.execute(
            "INSERT INTO appeals (tenant_id, id, decision_id, case_id, appellant_id, grounds, explanation, evidence,"
            " status, filed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'filed', $9)"
            " ON CONFLICT (tenant_id, decision_id) WHERE status IN ('filed', 'upheld') DO NOTHING",
            self.tenant_id,
            row["id"],
            row["decision_id"],
            row["case_id"],
            row["appellant_id"],
            row["grounds"],
            row["explanation"],
            row["evidence"],
            row["filed_at"],
        )
        return bool(done == "INSERT 0 1")

    async def appeal(self, appeal_id: UUID) -> Mapping[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM appeals WHERE id = $1", appeal_id)
        return dict(row) if row else None

    async def decide_appeal(self, appeal_id: UUID, status: str, by: str, at: datetime) -> bool:
        done = await self.conn.execute(
            "UPDATE appeals SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'filed'",
            appeal_id,
            status,
            by,
            at,
        )
        return bool(done == "UPDATE 1")
