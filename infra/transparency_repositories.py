"""SQL for DSA statements of reasons (sor_submissions) and the transparency report's figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from domain.errors import FieldProblem
from domain.notices import Measure
from domain.policy import Policy, parse_policy
from domain.reference import RightType
from domain.transparency import (
    ACCOUNT_DECISION_KINDS,
    CASE_OUTCOMES,
    LISTING_DECISION_KIND,
    MODERATION_KINDS,
    REVIEW_KINDS,
    AccountRestrictionDecision,
    ListingRestriction,
    NewStatement,
    ReportFigures,
    SorStatus,
    StatementOutcome,
    StatementRecord,
    SubjectKind,
)
from infra.case_repositories import PENDING_FIRES_AT, measure_from_row

SOR_SUBMIT = "sor_submit"  # the deadline kind (domain.services.statements.SOR_SUBMIT)

_COLS = ("id, decision_id, puid, subject_kind, case_id, restriction_id, measure_ids, statement, status, attempts,"
         " last_status, last_error, problems, batch_id, tdb_uuid, created_at, next_attempt_at, last_attempt_at,"
         " submitted_at")

_POLICIES: dict[tuple[UUID, int], Policy] = {}


def _problems(items: Any) -> tuple[FieldProblem, ...]:
    return tuple(FieldProblem(p.get("field", ""), p.get("message", ""), p.get("code", "invalid")) for p in items or ())


def _problems_json(problems: Sequence[FieldProblem]) -> str:
    return orjson.dumps([{"field": p.field, "message": p.message, "code": p.code} for p in problems]).decode()


def statement_from_row(r: asyncpg.Record) -> StatementRecord:
    return StatementRecord(
        id=r["id"], decision_id=r["decision_id"], puid=r["puid"], subject_kind=SubjectKind(r["subject_kind"]),
        case_id=r["case_id"], restriction_id=r["restriction_id"], measure_ids=tuple(r["measure_ids"]),
        statement=r["statement"], status=SorStatus(r["status"]), attempts=r["attempts"],
        last_status=r["last_status"], last_error=r["last_error"], problems=_problems(r["problems"]),
        batch_id=r["batch_id"], tdb_uuid=r["tdb_uuid"], created_at=r["created_at"],
        next_attempt_at=r["next_attempt_at"], last_attempt_at=r["last_attempt_at"], submitted_at=r["submitted_at"],
    )


class StatementRepo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # -- facts of restriction decisions not yet queued ----------------------------------------------

    async def listing_restrictions(self, case_id: UUID) -> list[ListingRestriction]:
        """The case's `case.confirm_measures` decisions without a statement, oldest first, each with
        the applied measures it confirmed (applied by then, not claimed by an earlier statement)."""
        rows = await self.conn.fetch(
            "SELECT d.id, d.decided_at, d.policy_version, r.type AS right_type, r.jurisdiction, n.reason_code,"
            "   n.received_at, l.created_at AS listing_created_at"
            " FROM decisions d JOIN cases c ON c.tenant_id = d.tenant_id AND c.id = d.case_id"
            " JOIN notices n ON n.tenant_id = c.tenant_id AND n.id = c.notice_id"
            " JOIN ip_rights r ON r.tenant_id = n.tenant_id AND r.id = n.ip_right_id"
            " JOIN listings l ON l.tenant_id = c.tenant_id AND l.id = c.listing_id"
            " WHERE d.case_id = $1 AND d.kind = $2"
            "   AND NOT EXISTS (SELECT 1 FROM sor_submissions s WHERE s.tenant_id = d.tenant_id"
            "                   AND s.decision_id = d.id)"
            " ORDER BY d.seq",
            case_id, LISTING_DECISION_KIND,
        )
        if not rows:
            return []
        claimed: set[UUID] = {r["m"] for r in await self.conn.fetch(
            "SELECT unnest(measure_ids) AS m FROM sor_submissions WHERE case_id = $1", case_id)}
        measures = [measure_from_row(m) for m in await self.conn.fetch(
            "SELECT id, case_id, listing_id, type, territorial_scope, status, automated, requested_at, applied_at,"
            " failed_reason, lifted_at, end_date FROM measures WHERE case_id = $1 AND applied_at IS NOT NULL"
            " ORDER BY applied_at, id", case_id)]
        out: list[ListingRestriction] = []
        for r in rows:
            mine: list[Measure] = []
            for m in measures:
                if m.id not in claimed and m.applied_at is not None and m.applied_at <= r["decided_at"]:
                    mine.append(m)
                    claimed.add(m.id)
            out.append(ListingRestriction(
                decision_id=r["id"], case_id=case_id, decided_at=r["decided_at"], policy_version=r["policy_version"],
                right_type=RightType(r["right_type"]), right_jurisdiction=r["jurisdiction"],
                reason_code=r["reason_code"], notice_received_at=r["received_at"],
                listing_created_at=r["listing_created_at"], measures=tuple(mine),
            ))
        return out

    async def account_restriction(self, restriction_id: UUID) -> AccountRestrictionDecision | None:
        r = await self.conn.fetchrow(
            "SELECT d.id, d.decided_at, d.policy_version, d.automated, d.rules, ar.kind, ar.reason, ar.starts_at,"
            "   ar.ends_at, ar.ended_at, p.kind AS party_kind, p.created_at AS party_created_at,"
            "   (SELECT s.right_type FROM strikes s WHERE s.tenant_id = ar.tenant_id AND s.merchant_id = ar.party_id"
            "    ORDER BY (s.voided_at IS NULL) DESC, s.recorded_at DESC LIMIT 1) AS right_type"
            " FROM decisions d JOIN account_restrictions ar ON ar.tenant_id = d.tenant_id AND ar.id = d.subject_id"
            " JOIN parties p ON p.tenant_id = ar.tenant_id AND p.id = ar.party_id"
            " WHERE d.subject_id = $1 AND d.kind = any($2::text[])"
            "   AND NOT EXISTS (SELECT 1 FROM sor_submissions s WHERE s.tenant_id = d.tenant_id"
            "                   AND s.decision_id = d.id)"
            " ORDER BY d.seq LIMIT 1",
            restriction_id, list(ACCOUNT_DECISION_KINDS),
        )
        if r is None:
            return None
        rules = r["rules"] or []
        figures = rules[0].get("inputs", {}) if rules and isinstance(rules[0], Mapping) else {}
        return AccountRestrictionDecision(
            decision_id=r["id"], restriction_id=restriction_id, decided_at=r["decided_at"],
            policy_version=r["policy_version"], automated=r["automated"], kind=r["kind"], reason=r["reason"],
            party_kind=r["party_kind"], account_created_at=r["party_created_at"], starts_at=r["starts_at"],
            ends_at=r["ends_at"], ended_at=r["ended_at"],
            right_type=RightType(r["right_type"]) if r["right_type"] else None, figures=figures,
        )

    async def policy(self, version: int) -> Policy | None:
        key = (self.tenant_id, version)
        if key not in _POLICIES:
            document = await self.conn.fetchval("SELECT document FROM policy_versions WHERE version = $1", version)
            if document is None:
                return None
            _POLICIES[key] = parse_policy(document)
        return _POLICIES[key]

    # -- queue ----------------------------------------------------------------------------------

    async def insert_many(self, rows: Sequence[NewStatement]) -> int:
        if not rows:
            return 0
        inserted = await self.conn.fetch(
            "INSERT INTO sor_submissions (tenant_id, id, decision_id, puid, subject_kind, case_id, restriction_id,"
            " measure_ids, statement, status, problems, last_error, created_at, next_attempt_at)"
            " SELECT $1, u.id, u.decision_id, u.decision_id::text, u.subject_kind, u.case_id, u.restriction_id,"
            "   CASE WHEN u.measure_ids = '' THEN '{}'::uuid[] ELSE string_to_array(u.measure_ids, ',')::uuid[] END,"
            "   u.statement::jsonb, u.status, u.problems::jsonb, u.last_error, u.created_at, u.next_attempt_at"
            " FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::text[], $8::text[],"
            "   $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[])"
            "   AS u(id, decision_id, subject_kind, case_id, restriction_id, measure_ids, statement, status, problems,"
            "        last_error, created_at, next_attempt_at)"
            " ON CONFLICT (tenant_id, decision_id) DO NOTHING RETURNING id",
            self.tenant_id, [r.id for r in rows], [r.decision_id for r in rows],
            [r.subject_kind.value for r in rows], [r.case_id for r in rows], [r.restriction_id for r in rows],
            [",".join(str(m) for m in r.measure_ids) for r in rows],
            [orjson.dumps(dict(r.statement)).decode() for r in rows], [r.status.value for r in rows],
            [_problems_json(r.problems) for r in rows],
            ["; ".join(f"{p.field}: {p.message}" for p in r.problems) or None for r in rows],
            [r.created_at for r in rows], [r.next_attempt_at for r in rows],
        )
        return len(inserted)

    async def for_measure(self, case_id: UUID, measure_id: UUID) -> StatementRecord | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLS} FROM sor_submissions WHERE case_id = $1 AND $2 = any(measure_ids)"
            " ORDER BY id LIMIT 1 FOR UPDATE", case_id, measure_id)
        return statement_from_row(r) if r else None

    async def for_restriction(self, restriction_id: UUID) -> StatementRecord | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLS} FROM sor_submissions WHERE restriction_id = $1 ORDER BY id LIMIT 1 FOR UPDATE",
            restriction_id)
        return statement_from_row(r) if r else None

    async def replace_pending(self, statement_id: UUID, statement: Mapping[str, Any]) -> bool:
        """Change a statement's content; only while it is pending (an accepted one is immutable)."""
        status = await self.conn.execute(
            "UPDATE sor_submissions SET statement = $2 WHERE id = $1 AND status = 'pending'",
            statement_id, dict(statement))
        return bool(status == "UPDATE 1")

    # -- submission -----------------------------------------------------------------------------

    async def claim_due(self, now: datetime, limit: int) -> list[StatementRecord]:
        """Pending statements due by `now`, oldest first, locked for this transaction (SKIP LOCKED: a
        concurrent pass takes others)."""
        rows = await self.conn.fetch(
            f"SELECT {_COLS} FROM sor_submissions WHERE status = 'pending' AND next_attempt_at <= $1"
            " ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [statement_from_row(r) for r in rows]

    async def record(self, outcomes: Sequence[StatementOutcome]) -> None:
        if not outcomes:
            return
        await self.conn.execute(
            "UPDATE sor_submissions s SET status = u.status,"
            "   attempts = s.attempts + u.attempts,"
            "   next_attempt_at = u.next_attempt_at,"
            "   last_status = CASE WHEN u.keep_error THEN s.last_status ELSE u.last_status END,"
            "   last_error = CASE WHEN u.keep_error THEN s.last_error ELSE u.last_error END,"
            "   problems = CASE WHEN u.keep_error THEN s.problems ELSE u.problems::jsonb END,"
            "   batch_id = coalesce(u.batch_id, s.batch_id), tdb_uuid = coalesce(u.tdb_uuid, s.tdb_uuid),"
            "   last_attempt_at = coalesce(u.attempted_at, s.last_attempt_at),"
            "   submitted_at = coalesce(u.submitted_at, s.submitted_at)"
            " FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::text[], $7::text[],"
            "   $8::uuid[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::bool[])"
            "   AS u(id, status, attempts, next_attempt_at, last_status, last_error, problems, batch_id, tdb_uuid,"
            "        attempted_at, submitted_at, keep_error)"
            " WHERE s.id = u.id AND s.status = 'pending'",
            [o.id for o in outcomes], [o.status.value for o in outcomes], [o.attempts for o in outcomes],
            [o.next_attempt_at for o in outcomes], [o.last_status for o in outcomes],
            [o.last_error for o in outcomes], [_problems_json(o.problems) for o in outcomes],
            [o.batch_id for o in outcomes], [o.tdb_uuid for o in outcomes], [o.attempted_at for o in outcomes],
            [o.submitted_at for o in outcomes], [o.keep_error for o in outcomes],
        )

    async def next_due(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT min(next_attempt_at) FROM sor_submissions WHERE status = 'pending'")
        return value

    async def pending_wakeup(self) -> datetime | None:
        """The tenant's pending `sor_submit` wake-up; serialises arming it (transaction-scoped lock)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                f"{SOR_SUBMIT}:{self.tenant_id}")
        value: datetime | None = await self.conn.fetchval(
            f"SELECT min({PENDING_FIRES_AT}) FROM deadlines d"
            " WHERE d.kind = $1 AND d.subject_id = $2 AND d.status = 'pending'",
            SOR_SUBMIT, self.tenant_id)
        return value

    async def move_wakeup(self, at: datetime) -> None:
        """Make the pending wake-up fire at `at`: one in backoff after a failure (its due_at already past) is
        re-armed by dropping its retry time; `attempts` stays, so a handler that keeps failing is still set aside."""
        await self.conn.execute(
            "UPDATE deadlines d SET due_at = $3, retry_at = NULL WHERE d.kind = $1 AND d.subject_id = $2"
            f" AND d.status = 'pending' AND {PENDING_FIRES_AT} > $3", SOR_SUBMIT, self.tenant_id, at)

    async def retry_now(self, now: datetime) -> int:
        status = await self.conn.execute(
            "UPDATE sor_submissions SET next_attempt_at = $1 WHERE status = 'pending' AND next_attempt_at > $1", now)
        return int(status.split()[-1])

    # -- reads ----------------------------------------------------------------------------------

    async def page(self, status: SorStatus | None, after: UUID | None, first: int) -> list[StatementRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_COLS} FROM sor_submissions WHERE ($1::text IS NULL OR status = $1)"
            " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
            status.value if status else None, after, first)
        return [statement_from_row(r) for r in rows]

    async def get_many(self, ids: Sequence[UUID]) -> list[StatementRecord | None]:
        rows = await self.conn.fetch(f"SELECT {_COLS} FROM sor_submissions WHERE id = any($1::uuid[])", list(ids))
        found = {r["id"]: statement_from_row(r) for r in rows}
        return [found.get(i) for i in ids]


class TransparencyRepo:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    async def _counts(self, sql: str, *args: Any) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in await self.conn.fetch(sql, *args)}

    async def figures(self, start: datetime, end: datetime, default_sla_hours: int) -> ReportFigures:
        """Everything for [start, end): notices by received_at, measures by applied_at, declarations and
        appeals by when they were received/filed, decisions and suspensions by when they were taken."""
        by_right = await self._counts(
            "SELECT r.type, count(*) FROM notices n JOIN ip_rights r ON r.tenant_id = n.tenant_id"
            " AND r.id = n.ip_right_id WHERE n.received_at >= $1 AND n.received_at < $2 GROUP BY r.type", start, end)
        by_source = await self._counts(
            "SELECT CASE WHEN trusted THEN 'trusted' ELSE 'other' END, count(*) FROM notices"
            " WHERE received_at >= $1 AND received_at < $2 GROUP BY 1", start, end)
        measures = await self._counts(
            "SELECT type, count(*) FROM measures WHERE applied_at >= $1 AND applied_at < $2 GROUP BY type",
            start, end)
        declarations = await self._counts(
            "SELECT status, count(*) FROM declarations WHERE received_at >= $1 AND received_at < $2 GROUP BY status",
            start, end)
        outcomes = await self._counts(
            "SELECT outcome, count(*) FROM decisions WHERE kind LIKE 'case.%' AND outcome = any($3::text[])"
            " AND decided_at >= $1 AND decided_at < $2 GROUP BY outcome", start, end, list(CASE_OUTCOMES))
        suspensions = await self._counts(
            "SELECT reason, count(*) FROM account_restrictions WHERE kind IN ('suspension', 'termination')"
            " AND starts_at >= $1 AND starts_at < $2 GROUP BY reason", start, end)
        appeals = await self._counts(
            "SELECT status, count(*) FROM appeals WHERE filed_at >= $1 AND filed_at < $2 GROUP BY status", start, end)
        auto = await self.conn.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE automated) AS automated FROM decisions"
            " WHERE kind = any($3::text[]) AND decided_at >= $1 AND decided_at < $2",
            start, end, list(MODERATION_KINDS))
        action = await self.conn.fetchrow(
            "WITH firsts AS ("
            "  SELECT n.id, extract(epoch FROM min(m.applied_at) - n.received_at)::float8 AS seconds"
            "  FROM notices n JOIN cases c ON c.tenant_id = n.tenant_id AND c.notice_id = n.id"
            "  JOIN measures m ON m.tenant_id = c.tenant_id AND m.case_id = c.id"
            "  WHERE n.received_at >= $1 AND n.received_at < $2 AND m.applied_at IS NOT NULL"
            "  GROUP BY n.tenant_id, n.id, n.received_at)"
            " SELECT count(*) AS actioned,"
            "   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median,"
            "   percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90 FROM firsts", start, end)
        sla = await self.conn.fetchrow(
            "WITH period AS ("
            "  SELECT n.id, n.received_at, coalesce((pv.document->'notices'->>'review_sla_hours')::int, $3) AS hours"
            "  FROM notices n LEFT JOIN policy_versions pv ON pv.tenant_id = n.tenant_id"
            "    AND pv.version = n.policy_version"
            "  WHERE n.received_at >= $1 AND n.received_at < $2),"
            " handled AS ("
            "  SELECT c.notice_id, min(d.decided_at) AS at FROM period p"
            "  JOIN cases c ON c.notice_id = p.id"
            "  JOIN decisions d ON d.tenant_id = c.tenant_id AND d.case_id = c.id AND d.kind = any($4::text[])"
            "  GROUP BY c.notice_id)"
            " SELECT count(h.at) AS handled,"
            "   count(*) FILTER (WHERE h.at <= p.received_at + make_interval(hours => p.hours)) AS within"
            " FROM period p LEFT JOIN handled h ON h.notice_id = p.id",
            start, end, default_sla_hours, list(REVIEW_KINDS))
        statements = await self._counts(
            "SELECT status, count(*) FROM sor_submissions WHERE created_at >= $1 AND created_at < $2 GROUP BY status",
            start, end)
        return ReportFigures(
            notices_by_right_type=by_right, notices_trusted=by_source.get("trusted", 0),
            notices_other=by_source.get("other", 0), measures_applied_by_type=measures,
            declarations_by_status=declarations, case_outcomes=outcomes, suspensions_by_reason=suspensions,
            appeals_by_status=appeals, moderation_decisions=int(auto["total"]),
            automated_decisions=int(auto["automated"]), actioned_notices=int(action["actioned"]),
            time_to_action_median_s=action["median"], time_to_action_p90_s=action["p90"],
            notices_handled=int(sla["handled"]), notices_within_sla=int(sla["within"]),
            statements_by_status=statements,
        )
