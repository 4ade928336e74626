"""DSA statements of reasons as we queue them, and the transparency report: pure types and mapping.

Statements (Art 17, Art 24(5)): one per restriction decision, `puid` = the decision id.
- Listing restrictions: the `case.confirm_measures` decision (the marketplace confirmed every measure
  the reviewer or automation requested); the statement covers the measures that decision put in
  force. Source: an Art 16 notice (`SOURCE_ARTICLE_16`). `SOURCE_TRUSTED_FLAGGER` is for Art 22
  trusted flaggers awarded by a Digital Services Coordinator, which we do not record; a notifier in
  the platform's own trusted programme is still an Art 16 notifier (see domain.statements_of_reasons.Source).
- Merchant account suspensions and terminations under the repeat-infringer policy (`account.suspension`
  / `account.termination` decisions). Own initiative (`SOURCE_VOLUNTARY`); warnings restrict nothing
  and notifier restrictions (Art 23(2), notice processing) are not restrictions of the recipient's
  content or account, so neither gets a statement.

`decision_facts` is built here from codes and dates only: right type and its jurisdiction code,
the notice's reason code (when it looks like a code), measure types, territorial scope, dates and
the rule figures of a repeat-infringer decision. Never party names, contact data, listing titles or
URLs, notice explanations or registration numbers.

End dates: a measure lifted (or planned to end) before the statement is accepted sets the end date
of its restriction type; once accepted a statement is immutable (the TDB has no amendment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import FieldProblem
from domain.notices import Measure, MeasureStatus
from domain.reference import RightType
from domain.statements_of_reasons import (
    END_DATE_FIELDS,
    MEASURE_MAPPING,
    AccountRestriction,
    Automation,
    Restriction,
    RestrictionFacts,
    Source,
)

LISTING_DECISION_KIND = "case.confirm_measures"
ACCOUNT_DECISION_KINDS = ("account.suspension", "account.termination")
ACCOUNT_RESTRICTIONS: Mapping[str, AccountRestriction] = {
    "suspension": AccountRestriction.SUSPEND,
    "termination": AccountRestriction.TERMINATE,
}
REPEAT_INFRINGER = "repeat_infringer"


class SorStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"  # accepted by the TDB (201)
    REJECTED = "rejected"  # invalid: refused locally before sending, or by the TDB (422)
    DUPLICATE = "duplicate"  # the TDB already had the puid: treated as submitted


class SubjectKind(StrEnum):
    LISTING = "listing"
    ACCOUNT = "account"


# ----- what a restriction decision did ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingRestriction:
    """A `case.confirm_measures` decision and what it put in force (no personal data is loaded)."""

    decision_id: UUID
    case_id: UUID
    decided_at: datetime
    policy_version: int | None
    right_type: RightType
    right_jurisdiction: str
    reason_code: str
    notice_received_at: datetime
    listing_created_at: datetime
    measures: tuple[Measure, ...]


@dataclass(frozen=True, slots=True)
class AccountRestrictionDecision:
    """An `account.<kind>` decision on a party's account restriction."""

    decision_id: UUID
    restriction_id: UUID
    decided_at: datetime
    policy_version: int | None
    automated: bool
    kind: str  # warning | suspension | termination
    reason: str  # repeat_infringer | unfounded_notices
    party_kind: str
    account_created_at: datetime
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    right_type: RightType | None  # of the merchant's latest strike
    figures: Mapping[str, Any] = field(default_factory=dict)  # the rule's inputs (DSA Art 23(3))


@dataclass(frozen=True, slots=True)
class NewStatement:
    id: UUID
    decision_id: UUID
    subject_kind: SubjectKind
    case_id: UUID | None
    restriction_id: UUID | None
    measure_ids: tuple[UUID, ...]
    statement: Mapping[str, Any]
    status: SorStatus
    problems: tuple[FieldProblem, ...]
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class StatementRecord:
    id: UUID
    decision_id: UUID
    puid: str
    subject_kind: SubjectKind
    case_id: UUID | None
    restriction_id: UUID | None
    measure_ids: tuple[UUID, ...]
    statement: Mapping[str, Any]
    status: SorStatus
    attempts: int
    last_status: int | None
    last_error: str | None
    problems: tuple[FieldProblem, ...]
    batch_id: UUID | None
    tdb_uuid: str | None
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    submitted_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What one submission pass decided for one statement (written back in one statement)."""

    id: UUID
    status: SorStatus
    next_attempt_at: datetime
    attempts: int = 0  # requests it was part of in this pass (a request that could not be made counts too)
    last_status: int | None = None
    last_error: str | None = None
    problems: tuple[FieldProblem, ...] = ()
    batch_id: UUID | None = None
    tdb_uuid: str | None = None
    attempted_at: datetime | None = None
    submitted_at: datetime | None = None
    keep_error: bool = False  # deferred without an attempt: keep the last error shown


# ----- facts -> statement -----------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_JURISDICTION = re.compile(r"[A-Za-z]{2,8}")
_RIGHT_WORDS: Mapping[RightType, str] = {
    RightType.TRADEMARK: "a trade mark",
    RightType.COPYRIGHT: "a copyright",
    RightType.PATENT: "a patent",
    RightType.DESIGN: "a design right",
    RightType.GEOGRAPHICAL_INDICATION: "a geographical indication",
    RightType.TRADE_SECRET: "a trade secret",
}
_REDRESS = ("The merchant was informed of the decision and its reasons and may contest it through the "
            "platform's internal complaint-handling system, out-of-court dispute settlement or the courts.")


def utc_day(value: datetime) -> date:
    return value.astimezone(UTC).date() if value.tzinfo is not None else value.date()


def _scope(measures: Sequence[Measure]) -> tuple[str, ...]:
    """The union of the measures' scopes; empty (everywhere) if any measure applies everywhere."""
    if not measures or any(not m.territorial_scope for m in measures):
        return ()
    return tuple(sorted({c for m in measures for c in m.territorial_scope}))


def measure_end(m: Measure) -> date | None:
    if m.status is MeasureStatus.LIFTED and m.lifted_at is not None:
        return utc_day(m.lifted_at)
    return m.end_date


def restriction_end_dates(items: Sequence[tuple[Restriction, date | None]]) -> dict[str, date]:
    """End date per TDB decision field: known only when every restriction of that field has one (the
    latest of them); a field with an indefinite restriction has none."""
    ends: dict[str, list[date | None]] = {}
    for restriction, end in items:
        mapped = MEASURE_MAPPING[restriction]
        if mapped is not None:
            ends.setdefault(mapped[0], []).append(end)
    return {name: max(d for d in days if d is not None) for name, days in ends.items()
            if days and all(d is not None for d in days)}


def with_end_dates(statement: Mapping[str, Any], ends: Mapping[str, date]) -> dict[str, Any]:
    """The statement with the end date of each restriction it contains and `ends` knows."""
    out = dict(statement)
    for name, end in ends.items():
        if name in out:
            out[END_DATE_FIELDS[name]] = end.isoformat()
    return out


def listing_facts(r: ListingRestriction) -> RestrictionFacts:
    measures = r.measures
    applied = [m.applied_at for m in measures if m.applied_at is not None]
    application = min(applied) if applied else r.decided_at
    content = min(r.listing_created_at, r.notice_received_at, application)
    automated = any(m.automated for m in measures)
    scope = _scope(measures)
    kinds = ", ".join(dict.fromkeys(m.type.value for m in measures))
    reason = f" (reason code: {r.reason_code})" if _CODE.fullmatch(r.reason_code or "") else ""
    where = f" registered or protected in {r.right_jurisdiction.upper()}" if _JURISDICTION.fullmatch(
        r.right_jurisdiction or "") else ""
    facts = (
        f"A notice under Article 16 DSA{reason} reported that this product listing infringes "
        f"{_RIGHT_WORDS[r.right_type]}{where}. The notice was received on {utc_day(r.notice_received_at)}. "
        f"The decision to restrict the listing was taken "
        f"{'by automated means under the platform policy' if automated else 'by a human reviewer'} "
        f"and the marketplace applied it on {utc_day(application)} (measures: {kinds}; territorial scope: "
        f"{', '.join(scope) if scope else 'all countries'}). {_REDRESS}"
    )
    return RestrictionFacts(
        decision_id=r.decision_id, measures=tuple(m.type for m in measures), right_type=r.right_type,
        source=Source.ARTICLE_16, automated_detection=False,
        automated_decision=Automation.FULLY if automated else Automation.NOT_AUTOMATED,
        content_date=utc_day(content), application_date=utc_day(application), decision_facts=facts,
        territorial_scope=scope,
    )


def listing_end_dates(r: ListingRestriction) -> dict[str, date]:
    return restriction_end_dates([(m.type, measure_end(m)) for m in r.measures])


def _figure(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def account_facts(a: AccountRestrictionDecision) -> RestrictionFacts:
    restriction = ACCOUNT_RESTRICTIONS[a.kind]
    f = a.figures
    figures = ""
    if {"strikes_in_window", "threshold", "window_days"} <= set(f):
        figures = (f": {_figure(f['strikes_in_window'])} strikes for intellectual property infringements within "
                   f"{_figure(f['window_days'])} days, against a threshold of {_figure(f['threshold'])}"
                   + (", after a prior warning" if f.get("warned_in_window") else ""))
    until = f" until {utc_day(a.ends_at)}" if a.ends_at is not None else ""
    what = "suspended" if restriction is AccountRestriction.SUSPEND else "terminated"
    facts = (
        f"The merchant account was {what} under the platform's repeat-infringer policy (Article 23 DSA)"
        f"{figures}. The restriction applies from {utc_day(a.starts_at)}{until}. {_REDRESS}"
    )
    application = a.starts_at
    return RestrictionFacts(
        decision_id=a.decision_id, measures=(restriction,), right_type=a.right_type or RightType.TRADEMARK,
        source=Source.VOLUNTARY, automated_detection=a.automated,
        automated_decision=Automation.FULLY if a.automated else Automation.NOT_AUTOMATED,
        content_date=utc_day(min(a.account_created_at, application)), application_date=utc_day(application),
        decision_facts=facts,
    )


def account_end_date(a: AccountRestrictionDecision) -> date | None:
    ends = [d for d in (a.ends_at, a.ended_at) if d is not None]
    return utc_day(min(ends)) if ends else None


def account_needs_statement(a: AccountRestrictionDecision) -> bool:
    return a.reason == REPEAT_INFRINGER and a.party_kind == "merchant" and a.kind in ACCOUNT_RESTRICTIONS


def problems_text(problems: Sequence[FieldProblem], limit: int = 2000) -> str:
    return "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)[:limit]


# ----- transparency report ----------------------------------------------------------------------

MODERATION_KINDS = ("case.request_measures", "case.reject", "account.warning", "account.suspension",
                    "account.termination")
"""Decisions counted for the share of automated decisions: taking down or refusing to act on a notice,
and restricting an account."""
REVIEW_KINDS = ("case.request_measures", "case.reject")
"""The first of these on any of a notice's cases is when the notice was handled (review SLA)."""
CASE_OUTCOMES = ("rejected", "restored", "upheld", "settled", "withdrawn")


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """Raw counts for [start, end) as the repository reads them."""

    notices_by_right_type: Mapping[str, int]
    notices_trusted: int
    notices_other: int
    measures_applied_by_type: Mapping[str, int]
    declarations_by_status: Mapping[str, int]
    case_outcomes: Mapping[str, int]
    suspensions_by_reason: Mapping[str, int]
    appeals_by_status: Mapping[str, int]
    moderation_decisions: int
    automated_decisions: int
    actioned_notices: int
    time_to_action_median_s: float | None
    time_to_action_p90_s: float | None
    notices_handled: int
    notices_within_sla: int
    statements_by_status: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    period_from: date
    period_to: date
    timezone: str
    review_sla_hours: int
    figures: ReportFigures

    @property
    def notices(self) -> int:
        return self.figures.notices_trusted + self.figures.notices_other

    @property
    def automated_share(self) -> float | None:
        f = self.figures
        return f.automated_decisions / f.moderation_decisions if f.moderation_decisions else None

    @property
    def within_sla_share(self) -> float | None:
        return self.figures.notices_within_sla / self.notices if self.notices else None


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def report_rows(r: TransparencyReport) -> list[tuple[str, str, str]]:
    """The report as (section, key, value) rows: the CSV download, stable order."""
    f = r.figures
    rows: list[tuple[str, str, str]] = [
        ("period", "from", r.period_from.isoformat()),
        ("period", "to", r.period_to.isoformat()),
        ("period", "timezone", r.timezone),
        ("notices", "total", str(r.notices)),
    ]
    rows += [("notices_by_right_type", t.value, str(f.notices_by_right_type.get(t.value, 0))) for t in RightType]
    rows += [("notices_by_source", "trusted", str(f.notices_trusted)),
             ("notices_by_source", "other", str(f.notices_other))]
    rows += [("measures_applied_by_type", k, str(v)) for k, v in sorted(f.measures_applied_by_type.items())]
    d = f.declarations_by_status
    rows += [("declarations", "received", str(sum(d.values()))),
             ("declarations", "accepted", str(d.get("accepted", 0))),
             ("declarations", "rejected", str(d.get("rejected", 0))),
             ("declarations", "pending", str(d.get("submitted", 0)))]
    rows += [("case_outcomes", k, str(f.case_outcomes.get(k, 0))) for k in CASE_OUTCOMES]
    s = f.suspensions_by_reason
    rows += [("account_suspensions", "manifestly_illegal_content", str(s.get(REPEAT_INFRINGER, 0))),
             ("account_suspensions", "unfounded_notices", str(s.get("unfounded_notices", 0))),
             ("account_suspensions", "unfounded_complaints", "0")]
    a = f.appeals_by_status
    rows += [("appeals", "filed", str(sum(a.values()))),
             ("appeals", "upheld", str(a.get("upheld", 0))),
             ("appeals", "rejected", str(a.get("rejected", 0))),
             ("appeals", "pending", str(a.get("filed", 0)))]
    rows += [("automated_decisions", "decisions", str(f.moderation_decisions)),
             ("automated_decisions", "automated", str(f.automated_decisions)),
             ("automated_decisions", "share", _num(r.automated_share))]
    rows += [("time_to_action", "actioned_notices", str(f.actioned_notices)),
             ("time_to_action", "median_seconds", _num(f.time_to_action_median_s)),
             ("time_to_action", "p90_seconds", _num(f.time_to_action_p90_s))]
    rows += [("review_sla", "hours", str(r.review_sla_hours)),
             ("review_sla", "notices_handled", str(f.notices_handled)),
             ("review_sla", "within_sla", str(f.notices_within_sla)),
             ("review_sla", "share_within_sla", _num(r.within_sla_share))]
    rows += [("statements_of_reasons", st.value, str(f.statements_by_status.get(st.value, 0))) for st in SorStatus]
    return rows
