"""DSA statements of reasons (Art 17, Art 24(5)): queueing restriction decisions and submitting them
to the tenant's DSA Transparency Database (TDB) endpoint.

Queueing (event worker, reacting to outbox topics; nothing is added to the case transaction):
- `case.state_changed` with event `confirm_measures` -> the case's new `case.confirm_measures`
  decisions become statements (`queue_case_statements`); `account.restricted` (a merchant suspended or
  terminated as a repeat infringer) -> `queue_account_statement`. Only when the policy version the
  decision was taken under enables `disclosure.dsa_statements_of_reasons`. One row per decision
  (unique), so a redelivered event adds nothing. Mapping: domain.transparency and
  domain.statements_of_reasons.to_statement.
- `measure.lifted` / `account.reinstated` -> the end date goes into the statement if it is still
  pending; an accepted statement is never changed (the TDB cannot amend one).

Submitting: a durable `sor_submit` deadline per tenant (subject = the tenant) is the trigger and the
retry timer. `ensure_wakeup` keeps one pending at or before the earliest `next_attempt_at`. When it
fires, the scheduler's transaction only emits the internal topic `sor.submit_due`; the event worker
runs `submit_due`, which claims due rows (FOR UPDATE SKIP LOCKED, so concurrent passes split the
work), validates each batch locally with the TDB's rules (`validate_batch`: invalid statements are
rejected here with their problems and never sent), posts batches of at most MAX_BATCH through the
`StatementSink` port (rate limit, token, SSRF guard: infra/tdb_client.py) and handles the answers:
201 -> submitted; 422 naming statements -> those are rejected with the TDB's message (or, for
`existing_puids`, marked `duplicate` = already in the TDB, treated as submitted) and the rest of the
batch is sent again at once; anything else (5xx, 429, 401, timeout, connection error) -> the batch
waits `backoff` (exponential, capped, with jitter; 429 honours Retry-After) and the pass stops so a
failing endpoint is not hammered. Then the wake-up is re-armed for whatever is still pending.

Why a deadline plus the event worker rather than a free-running actor: the deadline row survives
restarts and broker loss, follows the tenant's (sandbox) clock, and there is exactly one per tenant;
the HTTP calls run in the event worker, never in the scheduler, so a slow TDB cannot delay legal
deadlines. The pass runs inside the worker's transaction: if it dies after the TDB accepted a batch,
the rows are still pending and the next pass gets `existing_puids` back, which counts as submitted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from domain.errors import FieldProblem, InvalidInput
from domain.ids import new_id
from domain.policy import DsaExportPolicy
from domain.ports import UnitOfWork
from domain.statements_of_reasons import MAX_BATCH, RestrictionFacts, needs_statement, to_statement, validate_batch
from domain.tenancy import Principal, Role
from domain.transparency import (
    ACCOUNT_RESTRICTIONS,
    REPEAT_INFRINGER,
    NewStatement,
    SorStatus,
    StatementOutcome,
    StatementRecord,
    SubjectKind,
    account_end_date,
    account_facts,
    account_needs_statement,
    listing_end_dates,
    listing_facts,
    measure_end,
    problems_text,
    restriction_end_dates,
    utc_day,
    with_end_dates,
)

SOR_SUBMIT = "sor_submit"  # deadline kind; subject = the tenant
SOR_DUE = "sor.submit_due"  # internal outbox topic: run a submission pass in the event worker
READERS = (Role.ADMIN, Role.AUDITOR)


# ----- port ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TdbAnswer:
    """What the TDB answered to one batch, already parsed.

    `status` None: no HTTP answer (timeout, connection error, or not sent: missing token, refused URL).
    `invalid`: 422 validation errors by index in the batch (`statement_<i>` keys).
    `duplicates`: 422 `existing_puids`: puids the TDB already holds."""

    status: int | None
    created: Mapping[str, str | None] = field(default_factory=dict)  # puid -> TDB uuid (201)
    invalid: Mapping[int, tuple[FieldProblem, ...]] = field(default_factory=dict)
    duplicates: tuple[str, ...] = ()
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status in (200, 201)


class StatementSink(Protocol):
    async def submit(self, endpoint: str, token_ref: str | None,
                     statements: Sequence[Mapping[str, Any]]) -> TdbAnswer: ...


@dataclass(frozen=True, slots=True)
class SubmitConfig:
    max_batches: int = 5  # claimed per pass; the wake-up is re-armed at once when more is due
    max_requests: int = 20  # per pass, and no new request after budget_s: the event worker's time limit is 60 s
    budget_s: float = 30.0
    base_backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    disabled_recheck_s: float = 3600.0  # export switched off with statements pending: look again later
    jitter: Callable[[], float] = random.random


def backoff(attempts: int, config: SubmitConfig, retry_after_s: float | None = None) -> timedelta:
    """Exponential in the attempts made so far, capped, with 'equal jitter' (half fixed, half random)."""
    delay = min(config.max_backoff_s, config.base_backoff_s * 2 ** max(attempts - 1, 0))
    delay = delay / 2 + delay / 2 * config.jitter()
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, config.max_backoff_s))
    return timedelta(seconds=delay)


# ----- queueing ------------------------------------------------------------------------------------


async def _export_policy(uow: UnitOfWork, version: int | None) -> DsaExportPolicy:
    policy = await uow.statements.policy(version) if version is not None else None
    if policy is None:
        policy = (await uow.policies.in_force()).policy
    return policy.disclosure.dsa_statements_of_reasons


def _new_statement(facts: RestrictionFacts, ends: Mapping[str, Any], now: datetime, *, kind: SubjectKind,
                   case_id: UUID | None = None, restriction_id: UUID | None = None,
                   measure_ids: tuple[UUID, ...] = ()) -> NewStatement:
    problems: tuple[FieldProblem, ...] = ()
    try:
        statement: Mapping[str, Any] = with_end_dates(to_statement(facts), ends)
        status = SorStatus.PENDING
    except InvalidInput as exc:  # e.g. one decision both suspending and terminating: cannot be mapped
        statement, status, problems = {"puid": str(facts.decision_id)}, SorStatus.REJECTED, tuple(exc.problems)
    assert isinstance(facts.decision_id, UUID)
    return NewStatement(id=new_id(), decision_id=facts.decision_id, subject_kind=kind, case_id=case_id,
                        restriction_id=restriction_id, measure_ids=measure_ids, statement=statement, status=status,
                        problems=problems, created_at=now, next_attempt_at=now)


async def queue_case_statements(uow: UnitOfWork, case_id: UUID) -> int:
    """A statement for each `case.confirm_measures` decision of the case not yet queued."""
    now = uow.clock.now()
    rows: list[NewStatement] = []
    for r in await uow.statements.listing_restrictions(case_id):
        if not r.measures or not (await _export_policy(uow, r.policy_version)).enabled:
            continue
        facts = listing_facts(r)
        if not needs_statement(facts):  # a warning only, or no effect in the EEA
            continue
        rows.append(_new_statement(facts, listing_end_dates(r), now, kind=SubjectKind.LISTING, case_id=case_id,
                                   measure_ids=tuple(m.id for m in r.measures)))
    return await _insert(uow, rows, now)


async def queue_account_statement(uow: UnitOfWork, restriction_id: UUID) -> int:
    """A statement for a merchant's suspension or termination as a repeat infringer."""
    a = await uow.statements.account_restriction(restriction_id)
    if a is None or not account_needs_statement(a) or not (await _export_policy(uow, a.policy_version)).enabled:
        return 0
    now = uow.clock.now()
    facts = account_facts(a)
    end = account_end_date(a)
    ends = restriction_end_dates([(ACCOUNT_RESTRICTIONS[a.kind], end)])
    return await _insert(uow, [_new_statement(facts, ends, now, kind=SubjectKind.ACCOUNT,
                                              restriction_id=restriction_id)], now)


async def _insert(uow: UnitOfWork, rows: Sequence[NewStatement], now: datetime) -> int:
    inserted = await uow.statements.insert_many(rows)
    if inserted and any(r.status is SorStatus.PENDING for r in rows):
        await ensure_wakeup(uow, now)
    return inserted


async def record_measure_lifted(uow: UnitOfWork, case_id: UUID, measure_id: UUID) -> bool:
    """Put the lift date into the measure's statement if it was not sent yet; True if it changed."""
    record = await uow.statements.for_measure(case_id, measure_id)
    if record is None or record.status is not SorStatus.PENDING:
        return False
    covered = set(record.measure_ids)
    measures = [m for m in await uow.measures.by_cases([case_id]) if m.id in covered]
    ends = restriction_end_dates([(m.type, measure_end(m)) for m in measures])
    return await _replace_if_changed(uow, record, with_end_dates(record.statement, ends))


async def record_account_reinstated(uow: UnitOfWork, restriction_id: UUID) -> bool:
    record = await uow.statements.for_restriction(restriction_id)
    if record is None or record.status is not SorStatus.PENDING:
        return False
    row = await uow.trust.restriction(restriction_id)
    if row is None or row["kind"] not in ACCOUNT_RESTRICTIONS:
        return False
    ends = [d for d in (row["ends_at"], row["ended_at"]) if d is not None]
    if not ends:
        return False
    day = restriction_end_dates([(ACCOUNT_RESTRICTIONS[row["kind"]], utc_day(min(ends)))])
    return await _replace_if_changed(uow, record, with_end_dates(record.statement, day))


async def _replace_if_changed(uow: UnitOfWork, record: StatementRecord, statement: Mapping[str, Any]) -> bool:
    if dict(statement) == dict(record.statement):
        return False
    return await uow.statements.replace_pending(record.id, statement)


# ----- outbox handlers (event worker) --------------------------------------------------------------


async def on_case_state_changed(uow: UnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    if payload.get("event") == "confirm_measures":
        await queue_case_statements(uow, UUID(payload["case_id"]))


async def on_account_restricted(uow: UnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    if payload.get("kind") in ACCOUNT_RESTRICTIONS and payload.get("reason") == REPEAT_INFRINGER:
        await queue_account_statement(uow, UUID(payload["restriction_id"]))


async def on_measure_lifted(uow: UnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    await record_measure_lifted(uow, UUID(payload["case_id"]), UUID(payload["measure_id"]))


async def on_account_reinstated(uow: UnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    await record_account_reinstated(uow, UUID(payload["restriction_id"]))


# ----- the wake-up ---------------------------------------------------------------------------------


async def ensure_wakeup(uow: UnitOfWork, at: datetime) -> None:
    """Make sure the tenant has a pending `sor_submit` deadline at or before `at` (one per tenant)."""
    pending = await uow.statements.pending_wakeup()
    if pending is None:
        await uow.deadlines.schedule([(SOR_SUBMIT, uow.tenant_id, at, {})])
    elif pending > at:
        await uow.statements.move_wakeup(at)


async def on_wakeup(uow: UnitOfWork, due: Sequence[Any]) -> None:
    """The `sor_submit` deadline handler (scheduler): hand the pass to the event worker, no I/O here."""
    uow.outbox.add(SOR_DUE, {"reason": "wakeup"})


# ----- the submission pass -------------------------------------------------------------------------


@dataclass
class PassResult:
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    submitted: int = 0
    duplicates: int = 0
    rejected_locally: int = 0
    rejected_by_tdb: int = 0
    deferred: int = 0


async def submit_due(uow: UnitOfWork, sink: StatementSink, config: SubmitConfig | None = None) -> PassResult:
    """One submission pass for the uow's tenant (see the module docstring)."""
    config = config or SubmitConfig()
    now = uow.clock.now()
    result = PassResult()
    export = (await uow.policies.in_force()).policy.disclosure.dsa_statements_of_reasons
    if not export.enabled or export.endpoint is None:
        if await uow.statements.next_due() is not None:
            await ensure_wakeup(uow, now + timedelta(seconds=config.disabled_recheck_s))
        return result
    endpoint = str(export.endpoint)
    claimed = await uow.statements.claim_due(now, MAX_BATCH * max(config.max_batches, 1))
    outcomes: dict[UUID, StatementOutcome] = {}
    retry_at: datetime | None = None
    for start in range(0, len(claimed), MAX_BATCH):
        chunk = claimed[start:start + MAX_BATCH]
        if retry_at is not None or _spent(result, config):
            # The endpoint failed (the rest waits with it) or this pass's budget is spent (next pass).
            _defer(chunk, retry_at or now, outcomes, result)
            continue
        local = validate_batch([r.statement for r in chunk])
        sendable: list[StatementRecord] = []
        for i, r in enumerate(chunk):
            if i in local:
                problems = tuple(local[i])
                outcomes[r.id] = StatementOutcome(r.id, SorStatus.REJECTED, now, last_error=problems_text(problems),
                                                  problems=problems)
                result.rejected_locally += 1
            else:
                sendable.append(r)
        retry_at = await _send(uow, sink, endpoint, export.token_ref, sendable, outcomes, result, config)
    await uow.statements.record(list(outcomes.values()))
    next_due = await uow.statements.next_due()
    if next_due is not None:
        await ensure_wakeup(uow, max(next_due, now))
    return result


async def _send(uow: UnitOfWork, sink: StatementSink, endpoint: str, token_ref: str | None,
                sendable: list[StatementRecord], outcomes: dict[UUID, StatementOutcome], result: PassResult,
                config: SubmitConfig) -> datetime | None:
    """Send one batch until it is settled; after a 422 naming statements the others go again at once.
    Returns the retry time if the endpoint failed (the batch is left pending)."""
    sent: dict[UUID, int] = {}
    while sendable:
        if _spent(result, config):
            _defer(sendable, uow.clock.now(), outcomes, result, sent)
            return None
        batch_id = new_id()
        for r in sendable:
            sent[r.id] = sent.get(r.id, 0) + 1
        answer = await sink.submit(endpoint, token_ref, [r.statement for r in sendable])
        result.requests += 1
        at = uow.clock.now()
        if answer.accepted:
            for r in sendable:
                outcomes[r.id] = StatementOutcome(
                    r.id, SorStatus.SUBMITTED, at, attempts=sent[r.id], last_status=answer.status, batch_id=batch_id,
                    tdb_uuid=answer.created.get(r.puid), attempted_at=at, submitted_at=at)
                result.submitted += 1
            return None
        invalid = {i: p for i, p in answer.invalid.items() if 0 <= i < len(sendable)}
        duplicates = set(answer.duplicates) & {r.puid for r in sendable}
        if answer.status == 422 and (invalid or duplicates):
            rest: list[StatementRecord] = []
            for i, r in enumerate(sendable):
                if i in invalid:
                    problems = invalid[i] or (FieldProblem("", "Rejected by the Transparency Database.", "tdb"),)
                    outcomes[r.id] = StatementOutcome(
                        r.id, SorStatus.REJECTED, at, attempts=sent[r.id], last_status=422,
                        last_error=problems_text(problems), problems=problems, batch_id=batch_id, attempted_at=at)
                    result.rejected_by_tdb += 1
                elif r.puid in duplicates:
                    outcomes[r.id] = StatementOutcome(
                        r.id, SorStatus.DUPLICATE, at, attempts=sent[r.id], last_status=422,
                        last_error="The Transparency Database already holds this puid; treated as submitted.",
                        batch_id=batch_id, attempted_at=at, submitted_at=at)
                    result.duplicates += 1
                else:
                    rest.append(r)
            sendable = rest
            continue
        error = answer.error or (f"HTTP {answer.status}" if answer.status else "no answer")
        for r in sendable:
            attempts = r.attempts + sent[r.id]
            outcomes[r.id] = StatementOutcome(
                r.id, SorStatus.PENDING, at + backoff(attempts, config, answer.retry_after_s), attempts=sent[r.id],
                last_status=answer.status, last_error=error[:2000], batch_id=batch_id, attempted_at=at)
        return max(o.next_attempt_at for o in (outcomes[r.id] for r in sendable))
    return None


def _spent(result: PassResult, config: SubmitConfig) -> bool:
    return result.requests >= config.max_requests or time.monotonic() - result.started > config.budget_s


def _defer(rows: Sequence[StatementRecord], at: datetime, outcomes: dict[UUID, StatementOutcome],
           result: PassResult, sent: Mapping[UUID, int] | None = None) -> None:
    """Leave rows pending until `at` without a new error (their attempts in this pass still count)."""
    for r in rows:
        previous = outcomes.get(r.id)
        outcomes[r.id] = StatementOutcome(
            r.id, SorStatus.PENDING, at, attempts=(sent or {}).get(r.id, 0),
            batch_id=previous.batch_id if previous else None, keep_error=True)
        result.deferred += 1


# ----- reads and operator actions ------------------------------------------------------------------


async def list_statements(uow: UnitOfWork, principal: Principal, status: SorStatus | None, after: UUID | None,
                          first: int) -> list[StatementRecord]:
    principal.require(*READERS)
    return await uow.statements.page(status, after, first)


async def submit_now(uow: UnitOfWork, principal: Principal) -> int:
    """Admin: send pending statements at the next scheduler tick instead of waiting out their backoff.
    Returns how many were waiting."""
    principal.require(Role.ADMIN)
    now = uow.clock.now()
    waiting = await uow.statements.retry_now(now)
    if await uow.statements.next_due() is not None:
        await ensure_wakeup(uow, now)
    return waiting
