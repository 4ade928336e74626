"""Writes decisions into the tenant's hash chain, in the use case's transaction, just before commit.

Recording opens the `decision` span (so the row carries its trace and span id); flushing locks the
tenant's chain head, links each decision to the previous one and inserts them in one statement.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson
from opentelemetry import trace

from domain.clock import Clock
from domain.decisions import GENESIS_HASH, Decision, DecisionDraft, chain_hash
from domain.ids import new_id
from infra import metrics
from infra.write_batch import WRITTEN, WriteBatch

_tracer = trace.get_tracer("noticehub.decisions")

# Locks the tenant's chain head until COMMIT; after the transaction's staged writes, when sent with them.
_LOCK_HEAD = (
    f"INSERT INTO decision_chain_heads (tenant_id, seq, hash) SELECT $1, 0, $2 WHERE {WRITTEN}"
    " ON CONFLICT (tenant_id) DO UPDATE SET seq = decision_chain_heads.seq RETURNING seq, hash"
)
# The rows and the moved chain head in one statement (the head stays locked until COMMIT either way).
_INSERT = """
WITH added AS (INSERT INTO decisions (tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome, actor,
  automated, policy_version, rules, reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash)
SELECT $1, u.seq, u.id, u.subject_type, u.subject_id, u.case_id, u.kind, u.outcome, u.actor, u.automated,
  u.policy_version, u.rules::jsonb, u.reasons::jsonb, u.reason_text, u.trace_id, u.span_id, u.decided_at,
  u.prev_hash, u.hash
FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[],
  $10::boolean[], $11::integer[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
  $17::timestamptz[], $18::bytea[], $19::bytea[])
  AS u(seq, id, subject_type, subject_id, case_id, kind, outcome, actor, automated, policy_version, rules, reasons,
       reason_text, trace_id, span_id, decided_at, prev_hash, hash))
UPDATE decision_chain_heads SET seq = $20, hash = $21 WHERE tenant_id = $1
"""


class _Pending:
    __slots__ = ("decided_at", "draft", "id", "rules", "span_id", "trace_id")

    def __init__(self, draft: DecisionDraft, decided_at: Any, trace_id: str | None, span_id: str | None) -> None:
        self.id = new_id()
        self.draft = draft
        self.decided_at = decided_at
        self.trace_id = trace_id
        self.span_id = span_id
        self.rules = [r.as_json() for r in draft.rules]


class DecisionLog:
    def __init__(self, tenant_id: UUID, clock: Clock) -> None:
        self.tenant_id = tenant_id
        self.clock = clock
        self._pending: list[_Pending] = []
        self.written: list[Decision] = []

    def record(self, draft: DecisionDraft) -> UUID:
        # A plain started-and-ended span: nothing runs inside it, so it is never made current
        # (attaching and detaching a context was half of its cost in bulk use cases).
        span = _tracer.start_span(
            "decision",
            attributes={
                "decision.kind": draft.kind,
                "decision.outcome": draft.outcome,
                "decision.subject_type": draft.subject_type,
                "decision.automated": draft.automated,
                "decision.policy_version": draft.policy_version or 0,
                "decision.rule_ids": tuple(r.rule_id for r in draft.rules),
            },
        )
        ctx = span.get_span_context()
        span.end()
        ids = (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")) if ctx.is_valid else (None, None)
        pending = _Pending(draft, self.clock.now(), *ids)
        self._pending.append(pending)
        return pending.id

    async def flush(self, conn: asyncpg.Connection, writes: WriteBatch | None = None) -> None:
        """`writes`: the transaction's staged rows, sent with the statement that locks the chain head."""
        if not self._pending:
            if writes is not None:
                await writes.flush(conn)
            return
        head = (await writes.flush(conn, _LOCK_HEAD, self.tenant_id, GENESIS_HASH) if writes is not None
                else await conn.fetchrow(_LOCK_HEAD.replace(WRITTEN, "true"), self.tenant_id, GENESIS_HASH))
        assert head is not None
        seq, prev = int(head["seq"]), bytes(head["hash"])
        rows: list[Decision] = []
        for p in self._pending:
            seq += 1
            d = p.draft
            decision = Decision(
                tenant_id=self.tenant_id, seq=seq, id=p.id, subject_type=d.subject_type, subject_id=d.subject_id,
                case_id=d.case_id, kind=d.kind, outcome=d.outcome, actor=d.actor, automated=d.automated,
                policy_version=d.policy_version, rules=p.rules, reasons=[r.as_json() for r in d.reasons],
                reason_text=d.reason_text, trace_id=p.trace_id, span_id=p.span_id, decided_at=p.decided_at,
                prev_hash=prev, hash=b"",
            )
            digest = chain_hash(prev, decision)
            # Not yet shared with anyone: set the hash in place rather than copying the whole record.
            object.__setattr__(decision, "hash", digest)
            rows.append(decision)
            prev = digest
        await conn.execute(
            _INSERT, self.tenant_id,
            [r.seq for r in rows], [r.id for r in rows], [r.subject_type for r in rows],
            [r.subject_id for r in rows], [r.case_id for r in rows], [r.kind for r in rows],
            [r.outcome for r in rows], [r.actor for r in rows], [r.automated for r in rows],
            [r.policy_version for r in rows], [_json(r.rules) for r in rows], [_json(r.reasons) for r in rows],
            [r.reason_text for r in rows], [r.trace_id for r in rows], [r.span_id for r in rows],
            [r.decided_at for r in rows], [r.prev_hash for r in rows], [r.hash for r in rows], seq, prev,
        )
        self.written.extend(rows)
        metrics.record_decisions((r.kind, r.outcome, r.automated) for r in rows)
        self._pending.clear()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
