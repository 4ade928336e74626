"""All SQL for notices, cases, measures, declarations, action proofs, deadlines and decision reads."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from opentelemetry import propagate

from domain.cases import CaseState, CaseStatus
from domain.decisions import Decision
from domain.ids import new_id
from domain.notices import (
    Case,
    Declaration,
    DeclarationGround,
    DeclarationStatus,
    Evidence,
    Measure,
    MeasureStatus,
    Notice,
    Statements,
)
from domain.policy import MeasureType
from infra.write_batch import WriteBatch, combine


class _Repo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _evidence(items: Any) -> tuple[Evidence, ...]:
    return tuple(Evidence(e["kind"], e.get("uri"), e.get("sha256"), e.get("description") or "") for e in items or ())


def _statements(s: Mapping[str, Any] | None) -> Statements:
    s = s or {}
    return Statements(bool(s.get("good_faith")), bool(s.get("accuracy")), bool(s.get("authority")))


# ----- notices -----------------------------------------------------------------------------------

_NOTICE_COLS = ("id, complainant_id, agent_id, ip_right_id, reason_code, explanation, evidence, statements, signature,"
                " channel, idempotency_key, policy_version, trusted, received_at")


def notice_from_row(r: asyncpg.Record) -> Notice:
    return Notice(
        id=r["id"], complainant_id=r["complainant_id"], agent_id=r["agent_id"], ip_right_id=r["ip_right_id"],
        reason_code=r["reason_code"], explanation=r["explanation"], evidence=_evidence(r["evidence"]),
        statements=_statements(r["statements"]), signature=r["signature"], channel=r["channel"],
        idempotency_key=r["idempotency_key"], policy_version=r["policy_version"], trusted=r["trusted"],
        received_at=r["received_at"],
    )


def _notice_insert(tenant_id: UUID | None, notices: Sequence[Notice]) -> tuple[str, list[Any]]:
    sql, *args = (
        "INSERT INTO notices (tenant_id, id, complainant_id, agent_id, ip_right_id, reason_code, explanation,"
        " evidence, statements, signature, channel, idempotency_key, policy_version, trusted, received_at)"
        " SELECT $1, u.id, u.complainant_id, u.agent_id, u.ip_right_id, u.reason_code, u.explanation,"
        "   u.evidence::jsonb, u.statements::jsonb, u.signature, u.channel, u.idempotency_key, u.policy_version,"
        "   u.trusted, u.received_at"
        " FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[],"
        "   $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::bool[], $15::timestamptz[])"
        " AS u(id, complainant_id, agent_id, ip_right_id, reason_code, explanation, evidence, statements,"
        "   signature, channel, idempotency_key, policy_version, trusted, received_at)",
        tenant_id,
        [n.id for n in notices], [n.complainant_id for n in notices], [n.agent_id for n in notices],
        [n.ip_right_id for n in notices], [n.reason_code for n in notices], [n.explanation for n in notices],
        [_json([e.as_json() for e in n.evidence]) for n in notices],
        [_json(n.statements.as_json()) for n in notices], [n.signature for n in notices],
        [n.channel for n in notices], [n.idempotency_key for n in notices],
        [n.policy_version for n in notices], [n.trusted for n in notices], [n.received_at for n in notices],
    )
    return sql, args


class NoticeRepo(_Repo):
    async def get_many(self, ids: Sequence[UUID]) -> list[Notice | None]:
        rows = await self.conn.fetch(f"SELECT {_NOTICE_COLS} FROM notices WHERE id = any($1::uuid[])", list(ids))
        found = {r["id"]: notice_from_row(r) for r in rows}
        return [found.get(i) for i in ids]

    async def update_content(self, notice: Notice) -> None:
        await self.conn.execute(
            "UPDATE notices SET explanation = $2, evidence = $3, statements = $4, signature = $5 WHERE id = $1",
            notice.id, notice.explanation, [e.as_json() for e in notice.evidence], notice.statements.as_json(),
            notice.signature,
        )


# ----- cases -------------------------------------------------------------------------------------

_CASE_COLS = ("id, notice_id, listing_id, merchant_id, state, suspended_from, measures_active, priority,"
              " review_due_at, declaration_id, window_starts_at, window_earliest_end_at, window_ends_at, outcome_at,"
              " created_at, updated_at, revision, notifier_id, unfounded, automated_measures, archived_at")


def case_from_row(r: asyncpg.Record) -> Case:
    suspended_from = CaseState(r["suspended_from"]) if r["suspended_from"] else None
    return Case(
        id=r["id"], notice_id=r["notice_id"], listing_id=r["listing_id"], merchant_id=r["merchant_id"],
        status=CaseStatus(CaseState(r["state"]), suspended_from, r["measures_active"]), priority=r["priority"],
        review_due_at=r["review_due_at"], declaration_id=r["declaration_id"], window_starts_at=r["window_starts_at"],
        window_earliest_end_at=r["window_earliest_end_at"], window_ends_at=r["window_ends_at"],
        outcome_at=r["outcome_at"], created_at=r["created_at"], updated_at=r["updated_at"], revision=r["revision"],
        notifier_id=r["notifier_id"], unfounded=r["unfounded"], automated_measures=r["automated_measures"],
        archived_at=r["archived_at"],
    )


class CaseRepo(_Repo):
    async def insert_many(self, cases: Sequence[Case], notices: Sequence[Notice] = ()) -> None:
        """`notices`: new notices these cases belong to, written by the same statement."""
        if not cases:
            if notices:
                only, only_args = _notice_insert(self.tenant_id, notices)
                await self.conn.execute(only, *only_args)
            return
        sql, *args = (
            "INSERT INTO cases (tenant_id, id, notice_id, listing_id, merchant_id, state, measures_active, priority,"
            " review_due_at, created_at, updated_at, notifier_id, automated_measures)"
            " SELECT $1, u.id, u.notice_id, u.listing_id, u.merchant_id, u.state, u.measures_active, u.priority,"
            "   u.review_due_at, u.created_at, u.created_at, u.notifier_id, u.automated_measures"
            " FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::bool[], $8::smallint[],"
            "   $9::timestamptz[], $10::timestamptz[], $11::uuid[], $12::bool[])"
            " AS u(id, notice_id, listing_id, merchant_id, state, measures_active, priority, review_due_at,"
            "   created_at, notifier_id, automated_measures)",
            self.tenant_id, [c.id for c in cases], [c.notice_id for c in cases], [c.listing_id for c in cases],
            [c.merchant_id for c in cases], [c.state.value for c in cases],
            [c.status.measures_active for c in cases], [c.priority for c in cases],
            [c.review_due_at for c in cases], [c.created_at for c in cases], [c.notifier_id for c in cases],
            [c.automated_measures for c in cases],
        )
        if notices:
            sql, args = combine([_notice_insert(self.tenant_id, notices)], sql, *args)
        await self.conn.execute(sql, *args)

    async def get_many(self, ids: Sequence[UUID]) -> list[Case | None]:
        rows = await self.conn.fetch(f"SELECT {_CASE_COLS} FROM cases WHERE id = any($1::uuid[])", list(ids))
        found = {r["id"]: case_from_row(r) for r in rows}
        return [found.get(i) for i in ids]

    async def lock(self, case_id: UUID) -> Case | None:
        r = await self.conn.fetchrow(f"SELECT {_CASE_COLS} FROM cases WHERE id = $1 FOR UPDATE", case_id)
        return case_from_row(r) if r else None

    async def by_notice(self, notice_id: UUID) -> list[Case]:
        rows = await self.conn.fetch(f"SELECT {_CASE_COLS} FROM cases WHERE notice_id = $1 ORDER BY id", notice_id)
        return [case_from_row(r) for r in rows]

    async def by_declaration(self, declaration_id: UUID) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLS} FROM cases WHERE declaration_id = $1 ORDER BY id", declaration_id)
        return [case_from_row(r) for r in rows]

    async def move_windows(self, ends: Sequence[tuple[UUID, datetime]]) -> None:
        if ends:
            await self.conn.execute(
                "UPDATE cases c SET window_earliest_end_at = c.window_earliest_end_at + (u.ends_at - c.window_ends_at),"
                " window_ends_at = u.ends_at FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, ends_at)"
                " WHERE c.id = u.id AND c.window_ends_at IS NOT NULL",
                [e[0] for e in ends], [e[1] for e in ends])

    async def save_many(self, items: Sequence[tuple[Case, int]]) -> int:
        """Write cases if nobody changed them since they were read (optimistic concurrency), in one statement,
        each checked against its own expected revision; returns how many were written, so fewer than given means
        someone changed one of them meanwhile."""
        if not items:
            return 0
        items = sorted(items, key=lambda x: x[0].id)  # one lock order for every transaction
        cases = [c for c, _ in items]
        status = await self.conn.execute(
            "UPDATE cases c SET state = u.state, suspended_from = u.suspended_from,"
            " measures_active = u.measures_active, review_due_at = u.review_due_at,"
            " declaration_id = u.declaration_id, window_starts_at = u.window_starts_at,"
            " window_earliest_end_at = u.window_earliest_end_at, window_ends_at = u.window_ends_at,"
            " outcome_at = u.outcome_at, updated_at = u.updated_at, unfounded = u.unfounded,"
            " automated_measures = u.automated_measures, archived_at = u.archived_at, revision = c.revision + 1"
            " FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[], $8::uuid[],"
            "   $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],"
            "   $14::bool[], $15::bool[], $16::timestamptz[])"
            " AS u(id, expected, state, suspended_from, measures_active, review_due_at, declaration_id,"
            "   window_starts_at, window_earliest_end_at, window_ends_at, outcome_at, updated_at, unfounded,"
            "   automated_measures, archived_at)"
            " WHERE c.tenant_id = $1 AND c.id = u.id AND c.revision = u.expected",
            self.tenant_id, [c.id for c in cases], [expected for _, expected in items],
            [c.state.value for c in cases],
            [c.status.suspended_from.value if c.status.suspended_from else None for c in cases],
            [c.status.measures_active for c in cases], [c.review_due_at for c in cases],
            [c.declaration_id for c in cases], [c.window_starts_at for c in cases],
            [c.window_earliest_end_at for c in cases], [c.window_ends_at for c in cases],
            [c.outcome_at for c in cases], [c.updated_at for c in cases], [c.unfounded for c in cases],
            [c.automated_measures for c in cases], [c.archived_at for c in cases],
        )
        return int(status.split()[-1])

    async def page(self, after: UUID | None, first: int, states: Sequence[str] | None,
                   notice_id: UUID | None, listing_id: UUID | None) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLS} FROM cases WHERE ($1::uuid IS NULL OR id > $1)"
            " AND ($3::text[] IS NULL OR state = any($3)) AND ($4::uuid IS NULL OR notice_id = $4)"
            " AND ($5::uuid IS NULL OR listing_id = $5) ORDER BY id LIMIT $2",
            after, first, list(states) if states else None, notice_id, listing_id,
        )
        return [case_from_row(r) for r in rows]

    async def review_queue(self, after: tuple[int, datetime | None, UUID] | None, first: int,
                           states: Sequence[str], right_type: str | None) -> list[Case]:
        """Priority first (trusted notifiers), then the review SLA due soonest; keyset on all three.
        A case without a due time sorts last (NULLS LAST), so the keyset compares it as 'infinity'."""
        rows = await self.conn.fetch(
            f"SELECT {', '.join('c.' + c.strip() for c in _CASE_COLS.split(','))} FROM cases c"
            " JOIN notices n ON n.tenant_id = c.tenant_id AND n.id = c.notice_id"
            " JOIN ip_rights r ON r.tenant_id = n.tenant_id AND r.id = n.ip_right_id"
            " WHERE c.state = any($1::text[]) AND ($2::text IS NULL OR r.type = $2)"
            "   AND ($3::smallint IS NULL OR (-c.priority, coalesce(c.review_due_at, 'infinity'), c.id)"
            "     > (-$3::smallint, coalesce($4::timestamptz, 'infinity'), $5))"
            " ORDER BY c.priority DESC, c.review_due_at, c.id LIMIT $6",
            list(states), right_type, after[0] if after else None, after[1] if after else None,
            after[2] if after else None, first,
        )
        return [case_from_row(r) for r in rows]


# ----- measures ----------------------------------------------------------------------------------

_MEASURE_COLS = ("id, case_id, listing_id, type, territorial_scope, status, automated, requested_at, applied_at,"
                 " failed_reason, lifted_at, end_date")


def measure_from_row(r: asyncpg.Record) -> Measure:
    return Measure(
        id=r["id"], case_id=r["case_id"], listing_id=r["listing_id"], type=MeasureType(r["type"]),
        territorial_scope=tuple(r["territorial_scope"]), status=MeasureStatus(r["status"]), automated=r["automated"],
        requested_at=r["requested_at"], applied_at=r["applied_at"], failed_reason=r["failed_reason"],
        lifted_at=r["lifted_at"], end_date=r["end_date"],
    )


class MeasureRepo(_Repo):
    async def insert_many(self, measures: Sequence[Measure]) -> None:
        if not measures:
            return
        await self.conn.execute(
            "INSERT INTO measures (tenant_id, id, case_id, listing_id, type, territorial_scope, status, automated,"
            " requested_at, end_date)"
            " SELECT $1, u.id, u.case_id, u.listing_id, u.type, string_to_array(u.scope, ','), u.status, u.automated,"
            "   u.requested_at, u.end_date"
            " FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::bool[],"
            "   $9::timestamptz[], $10::date[]) AS u(id, case_id, listing_id, type, scope, status, automated,"
            "   requested_at, end_date)",
            self.tenant_id, [m.id for m in measures], [m.case_id for m in measures], [m.listing_id for m in measures],
            [m.type.value for m in measures], [",".join(m.territorial_scope) for m in measures],
            [m.status.value for m in measures], [m.automated for m in measures],
            [m.requested_at for m in measures], [m.end_date for m in measures],
        )

    async def lock_siblings(self, measure_id: UUID) -> list[Measure]:
        # The case first, then its measures in id order: the order every case transition takes them in (it
        # writes the case, then ends or inserts measures), so the two cannot deadlock.
        await self.conn.execute("SELECT 1 FROM cases WHERE id = (SELECT case_id FROM measures WHERE id = $1)"
                                " FOR NO KEY UPDATE", measure_id)
        rows = await self.conn.fetch(
            f"SELECT {_MEASURE_COLS} FROM measures WHERE case_id = (SELECT case_id FROM measures WHERE id = $1)"
            " ORDER BY id FOR UPDATE", measure_id)
        return [measure_from_row(r) for r in rows]

    async def by_cases(self, case_ids: Sequence[UUID]) -> list[Measure]:
        rows = await self.conn.fetch(
            f"SELECT {_MEASURE_COLS} FROM measures WHERE case_id = any($1::uuid[]) ORDER BY id", list(case_ids))
        return [measure_from_row(r) for r in rows]

    async def mark(self, measure_id: UUID, status: MeasureStatus, at: datetime, reason: str | None) -> Measure | None:
        r = await self.conn.fetchrow(
            "UPDATE measures SET status = $2, applied_at = CASE WHEN $2 = 'applied' THEN $3 ELSE applied_at END,"
            " failed_reason = CASE WHEN $2 = 'failed' THEN $4 ELSE failed_reason END"
            f" WHERE id = $1 AND status = 'requested' RETURNING {_MEASURE_COLS}",
            measure_id, status.value, at, reason,
        )
        return measure_from_row(r) if r else None

    async def end_for_cases(self, case_ids: Sequence[UUID], status: MeasureStatus, at: datetime) -> list[Measure]:
        """Lift (or end) every requested or applied measure of the cases; returns those changed. A failed
        measure is left as it is: it was never in force, and its status and reason are the record."""
        rows = await self.conn.fetch(
            "UPDATE measures SET status = $2, lifted_at = $3 WHERE case_id = any($1::uuid[])"
            f" AND status IN ('requested', 'applied') RETURNING {_MEASURE_COLS}",
            list(case_ids), status.value, at,
        )
        return [measure_from_row(r) for r in rows]

    async def refresh_listings(self, listing_ids: Sequence[UUID]) -> None:
        """A listing's restriction state is derived from its applied measures.

        The rows are locked first, in id order, and recomputed by a second statement: its snapshot is
        taken after the wait, so it sees the measures of a transaction that held a listing meanwhile. (In
        one statement, a waiting UPDATE re-checks the row but reads the measures as they were when it
        started, and wrote 'none' over a measure committed while it waited.)"""
        if listing_ids:
            ids = sorted(set(listing_ids))
            # NO KEY UPDATE: serialises refreshes without blocking intake, whose new cases key-share their listing
            await self.conn.execute(
                "SELECT 1 FROM listings WHERE id = any($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", ids)
            await self.conn.execute(
                "UPDATE listings l SET restriction_state = coalesce((SELECT string_agg(DISTINCT m.type, ','"
                "   ORDER BY m.type) FROM measures m WHERE m.tenant_id = l.tenant_id AND m.listing_id = l.id"
                "   AND m.status = 'applied'), 'none'), updated_at = now() WHERE l.id = any($1::uuid[])",
                ids,
            )


# ----- declarations and proofs -------------------------------------------------------------------

_DECL_COLS = ("id, merchant_id, grounds, explanation, evidence, statements, status, policy_version, received_at,"
              " reviewed_at, forwarded_at, delivered_at")


def declaration_from_row(r: asyncpg.Record, case_ids: Sequence[UUID] = ()) -> Declaration:
    return Declaration(
        id=r["id"], merchant_id=r["merchant_id"], grounds=DeclarationGround(r["grounds"]),
        explanation=r["explanation"], evidence=_evidence(r["evidence"]), statements=_statements(r["statements"]),
        status=DeclarationStatus(r["status"]), policy_version=r["policy_version"], received_at=r["received_at"],
        reviewed_at=r["reviewed_at"], forwarded_at=r["forwarded_at"], delivered_at=r["delivered_at"],
        case_ids=tuple(case_ids),
    )


class DeclarationRepo(_Repo):
    async def insert(self, d: Declaration, identity: Mapping[str, Any], idempotency_key: str | None) -> bool:
        await self.conn.execute(
            "INSERT INTO declarations (tenant_id, id, merchant_id, grounds, explanation, evidence, statements,"
            " identity, status, policy_version, idempotency_key, received_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            self.tenant_id, d.id, d.merchant_id, d.grounds.value, d.explanation, [e.as_json() for e in d.evidence],
            d.statements.as_json(), dict(identity), d.status.value, d.policy_version, idempotency_key, d.received_at,
        )
        # A case answered or decided meanwhile (its row was locked and changed: another declaration, its deadline
        # closing it) is not claimed: the caller sees fewer.
        status = await self.conn.execute(
            "UPDATE cases SET declaration_id = $1, revision = revision + 1"
            " WHERE id = any($2::uuid[]) AND declaration_id IS NULL AND state = $3",
            d.id, list(d.case_ids), CaseState.MEASURES_APPLIED.value)
        return bool(status == f"UPDATE {len(set(d.case_ids))}")

    async def get(self, declaration_id: UUID) -> Declaration | None:
        r = await self.conn.fetchrow(f"SELECT {_DECL_COLS} FROM declarations WHERE id = $1", declaration_id)
        if r is None:
            return None
        case_ids = await self.conn.fetch("SELECT id FROM cases WHERE declaration_id = $1 ORDER BY id", declaration_id)
        return declaration_from_row(r, [c["id"] for c in case_ids])

    async def mark_reviewed(self, declaration_id: UUID, status: DeclarationStatus, at: datetime) -> bool:
        # From submitted only: a second review waits for the first's row lock, then finds nothing to move.
        result = await self.conn.execute(
            "UPDATE declarations SET status = $2, reviewed_at = $3 WHERE id = $1 AND status = 'submitted'",
            declaration_id, status.value, at)
        return bool(result == "UPDATE 1")

    async def mark_forwarded(self, declaration_id: UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE declarations SET forwarded_at = coalesce(forwarded_at, $2) WHERE id = $1", declaration_id, at)

    async def mark_delivered(self, declaration_id: UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE declarations SET delivered_at = $2 WHERE id = $1", declaration_id, at)


class ProofRepo(_Repo):
    async def insert_many(self, rows: Sequence[tuple[UUID, UUID, str, str, str, Any, list[dict[str, Any]], datetime]]
                          ) -> None:
        await self.conn.executemany(
            "INSERT INTO action_proofs (tenant_id, id, case_id, kind, authority, reference, filed_on, evidence,"
            " submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [(self.tenant_id, *r) for r in rows],
        )


# ----- deadlines ---------------------------------------------------------------------------------


# When a pending deadline `d` will fire, on its tenant's clock: its due time, or, while the scheduler backs off
# after its handler failed, not before `retry_at` (real time, so shifted by a sandbox tenant's test clock).
# A wake-up in backoff still has its past due_at: read alone, it looks armed for hours (infra/scheduler.py).
PENDING_FIRES_AT = ("greatest(d.due_at, coalesce(d.retry_at"
                    " + (SELECT t.clock_offset FROM tenants t WHERE t.id = d.tenant_id), d.due_at))")


class DeadlineRepo(_Repo):
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, writes: WriteBatch) -> None:
        super().__init__(conn, tenant_id)
        self.writes = writes

    async def schedule(self, rows: Sequence[tuple[str, UUID, datetime, Mapping[str, Any]]]) -> None:
        """(kind, subject id, due at, payload); the current trace context rides along to the scheduler."""
        if rows:
            await self.conn.execute(*self._insert(rows))

    def schedule_at_commit(self, rows: Sequence[tuple[str, UUID, datetime, Mapping[str, Any]]]) -> None:
        """As `schedule`, staged into the transaction's final write: for wake-ups nothing in this transaction
        pauses, resumes or cancels again."""
        if rows:
            sql, *args = self._insert(rows)
            self.writes.add(sql, *args)

    def _insert(self, rows: Sequence[tuple[str, UUID, datetime, Mapping[str, Any]]]) -> tuple[Any, ...]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return (
            "INSERT INTO deadlines (tenant_id, id, kind, subject_id, due_at, payload, trace_context)"
            " SELECT $1, u.id, u.kind, u.subject_id, u.due_at, u.payload::jsonb, $7::jsonb"
            " FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[], $6::text[])"
            "   AS u(id, kind, subject_id, due_at, payload)",
            self.tenant_id, [new_id() for _ in rows], [r[0] for r in rows], [r[1] for r in rows],
            [r[2] for r in rows], [_json(dict(r[3])) for r in rows], carrier,
        )

    async def cancel(self, subject_ids: Sequence[UUID], kinds: Sequence[str]) -> None:
        await self.conn.execute(
            "UPDATE deadlines SET status = 'cancelled' WHERE subject_id = any($1::uuid[]) AND kind = any($2::text[])"
            " AND status IN ('pending', 'paused')",
            list(subject_ids), list(kinds),
        )

    async def pause(self, subject_ids: Sequence[UUID], at: datetime, kinds: Sequence[str] | None = None) -> None:
        """Stop the clock: remember how much time was left. `kinds`: only deadlines of these kinds (None: all)."""
        await self.conn.execute(
            "UPDATE deadlines SET status = 'paused', payload = payload || jsonb_build_object('remaining_s',"
            " greatest(extract(epoch FROM due_at - $2), 0)) WHERE subject_id = any($1::uuid[]) AND status = 'pending'"
            " AND ($3::text[] IS NULL OR kind = any($3::text[]))",
            list(subject_ids), at, None if kinds is None else list(kinds),
        )

    async def resume(self, subject_ids: Sequence[UUID], at: datetime,
                     kinds: Sequence[str] | None = None) -> list[tuple[str, UUID, datetime]]:
        """Run a stopped clock on from `at` with the time it had left. `kinds`: as for `pause`."""
        rows = await self.conn.fetch(
            "UPDATE deadlines SET status = 'pending',"
            " due_at = $2::timestamptz + make_interval(secs => (payload->>'remaining_s')::float)"
            " WHERE subject_id = any($1::uuid[]) AND status = 'paused'"
            " AND ($3::text[] IS NULL OR kind = any($3::text[])) RETURNING kind, subject_id, due_at",
            list(subject_ids), at, None if kinds is None else list(kinds),
        )
        return [(r["kind"], r["subject_id"], r["due_at"]) for r in rows]

    async def pending_for(self, subject_id: UUID) -> list[tuple[str, datetime, str]]:
        rows = await self.conn.fetch(
            "SELECT kind, due_at, status FROM deadlines WHERE subject_id = $1 AND status IN ('pending', 'paused')"
            " ORDER BY due_at", subject_id)
        return [(r["kind"], r["due_at"], r["status"]) for r in rows]


# ----- decision reads ----------------------------------------------------------------------------

_DECISION_COLS = ("tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome, actor, automated,"
                  " policy_version, rules, reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash")


def decision_from_row(r: asyncpg.Record) -> Decision:
    return Decision(
        tenant_id=r["tenant_id"], seq=r["seq"], id=r["id"], subject_type=r["subject_type"],
        subject_id=r["subject_id"], case_id=r["case_id"], kind=r["kind"], outcome=r["outcome"], actor=r["actor"],
        automated=r["automated"], policy_version=r["policy_version"], rules=r["rules"], reasons=r["reasons"],
        reason_text=r["reason_text"], trace_id=r["trace_id"], span_id=r["span_id"], decided_at=r["decided_at"],
        prev_hash=bytes(r["prev_hash"]), hash=bytes(r["hash"]),
    )


class DecisionReadRepo(_Repo):
    async def for_subject(self, subject_id: UUID, after_seq: int | None, first: int) -> list[Decision]:
        rows = await self.conn.fetch(
            f"SELECT {_DECISION_COLS} FROM decisions WHERE (subject_id = $1 OR case_id = $1)"
            " AND ($2::bigint IS NULL OR seq > $2) ORDER BY seq LIMIT $3",
            subject_id, after_seq, first,
        )
        return [decision_from_row(r) for r in rows]

    async def get(self, decision_id: UUID) -> Decision | None:
        r = await self.conn.fetchrow(f"SELECT {_DECISION_COLS} FROM decisions WHERE id = $1", decision_id)
        return decision_from_row(r) if r else None

    async def any_since(self, case_id: UUID, after_seq: int, kinds: Collection[str]) -> bool:
        found: bool = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM decisions WHERE case_id = $1 AND seq > $2 AND kind = any($3::text[]))",
            case_id, after_seq, list(kinds))
        return found

    async def chain(self, after_seq: int, limit: int) -> list[Decision]:
        rows = await self.conn.fetch(
            f"SELECT {_DECISION_COLS} FROM decisions WHERE seq > $1 ORDER BY seq LIMIT $2", after_seq, limit)
        return [decision_from_row(r) for r in rows]

