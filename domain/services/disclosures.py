"""Use cases for public disclosure records: creating them from case events, publishing at their time,
reviewer redaction and withdrawal (both recorded as decisions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.decisions import AUTOMATED, DecisionDraft, Reason
from domain.disclosure import (
    DisclosureDraft,
    DisclosureKind,
    DisclosureStatus,
    check_manual_redaction,
    enabled,
    public_record,
    publish_time,
    rules_for,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.ids import new_id
from domain.notices import Notice, check_reasons
from domain.policies import PolicyInForce
from domain.ports import UnitOfWork
from domain.redaction import marker
from domain.reference import IpRight, Listing
from domain.tenancy import Principal, Role

DISCLOSURE_PUBLISH = "disclosure_publish"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _case_facts(kind: DisclosureKind, f: Mapping[str, Any], outcome: str | None) -> dict[str, Any]:
    if kind is DisclosureKind.NOTICE:
        keys = ("right_type", "right_jurisdiction", "registration_number", "reason_code", "explanation",
                "listing_title", "listing_url", "merchant_name", "notifier_name", "evidence", "received_at", "channel")
        return {k: _iso(f[k]) for k in keys}
    if kind is DisclosureKind.DECLARATION:
        return {"grounds": f["grounds"], "explanation": f["declaration_explanation"],
                "listing_title": f["listing_title"], "merchant_name": f["merchant_name"],
                "evidence": f["declaration_evidence"] or [], "received_at": _iso(f["declaration_received_at"])}
    return {"outcome": outcome or f["state"], "measures": sorted(f["measures"] or []),
            "listing_title": f["listing_title"], "merchant_name": f["merchant_name"],
            "notifier_name": f["notifier_name"], "decided_at": _iso(f["outcome_at"]), "right_type": f["right_type"]}


def notice_facts(notice: Notice, right: IpRight, listing: Listing, merchant_name: str | None,
                 notifier_name: str | None) -> dict[str, Any]:
    """What a notice record is built from, when the use case already holds the rows (intake): the same
    values `DisclosureRepository.case_facts` reads back from the database."""
    return {
        "right_type": right.type.value, "right_jurisdiction": right.jurisdiction,
        "registration_number": right.registration_number, "reason_code": notice.reason_code,
        "explanation": notice.explanation, "listing_title": listing.title, "listing_url": listing.url,
        "merchant_name": merchant_name, "notifier_name": notifier_name,
        "evidence": [e.as_json() for e in notice.evidence], "received_at": notice.received_at,
        "channel": notice.channel,
    }


async def record_case_disclosures(uow: UnitOfWork, in_force: PolicyInForce,
                                  items: Sequence[tuple[DisclosureKind, UUID, str | None]], now: datetime,
                                  prepared: Mapping[UUID, Mapping[str, Any]] | None = None) -> None:
    """One record per (kind, case) the policy publishes; immediate, or scheduled after its delay.
    `prepared`: the facts of new cases' notice records (`notice_facts`), by case, where the caller holds them."""
    policy = in_force.policy.disclosure
    wanted = [(k, c, o) for k, c, o in items if enabled(policy, k)]
    if not wanted:
        return
    known = prepared or {}
    missing = {c for k, c, _ in wanted if k is not DisclosureKind.NOTICE or c not in known}
    facts = await uow.disclosures.case_facts(list(missing)) if missing else {}
    drafts: list[DisclosureDraft] = []
    for kind, case_id, outcome in wanted:
        f = known.get(case_id) if kind is DisclosureKind.NOTICE else None
        if f is None:
            f = facts.get(case_id)
        if f is None or (kind is DisclosureKind.DECLARATION and not f["declaration_id"]):
            continue
        drafts.append(DisclosureDraft(kind, case_id, case_id, _case_facts(kind, f, outcome)))
    await _store(uow, in_force, drafts, now)


async def record_restriction_disclosure(uow: UnitOfWork, in_force: PolicyInForce, restriction_id: UUID,
                                        party_id: UUID, kind: str, reason: str, starts_at: datetime,
                                        ends_at: datetime | None) -> None:
    """ECL 36: warnings and suspensions of merchants are publicised too."""
    if not enabled(in_force.policy.disclosure, DisclosureKind.ACCOUNT_RESTRICTION) or reason != "repeat_infringer":
        return
    name = await uow.disclosures.party_name(party_id)
    draft = DisclosureDraft(DisclosureKind.ACCOUNT_RESTRICTION, restriction_id, None, {
        "merchant_name": name, "restriction": kind, "reason": reason, "starts_at": _iso(starts_at),
        "ends_at": _iso(ends_at)})
    await _store(uow, in_force, [draft], starts_at)


async def _store(uow: UnitOfWork, in_force: PolicyInForce, drafts: Sequence[DisclosureDraft], now: datetime) -> None:
    policy = in_force.policy.disclosure
    rules = rules_for(policy)
    publish_at = publish_time(policy, now)
    immediate = publish_at <= now
    rows: list[dict[str, Any]] = []
    for d in drafts:
        redacted = public_record(policy, d, rules)
        rows.append({
            "id": new_id(), "kind": d.kind.value, "case_id": d.case_id, "subject_id": d.subject_id,
            "right_type": d.facts.get("right_type"), "listing_title": redacted.fields.get("listing_title"),
            "merchant_name": redacted.fields.get("merchant_name"), "record": redacted.fields,
            "redactions": [{"field": r.field, "category": r.category} for r in redacted.redactions],
            "status": (DisclosureStatus.PUBLISHED if immediate else DisclosureStatus.SCHEDULED).value,
            "created_at": now, "publish_at": publish_at, "published_at": now if immediate else None,
        })
    uow.disclosures.insert_many(rows)
    if not immediate:
        uow.deadlines.schedule_at_commit([(DISCLOSURE_PUBLISH, r["id"], publish_at, {}) for r in rows])


async def publish_due(uow: UnitOfWork, disclosure_ids: Sequence[UUID]) -> int:
    return await uow.disclosures.publish(disclosure_ids, uow.clock.now())


async def withdraw_disclosure(uow: UnitOfWork, principal: Principal, disclosure_id: UUID, reason: str) -> None:
    principal.require(Role.REVIEWER, Role.ADMIN)
    if not reason.strip():
        raise InvalidInput("Say why the disclosure is withdrawn.", "reason")
    check_reasons((), reason, "reason")
    if await uow.disclosures.get(disclosure_id) is None:
        raise NotFound("Disclosure", "id")
    if not await uow.disclosures.withdraw(disclosure_id, uow.clock.now(), reason):
        raise Conflict("The disclosure is already withdrawn.", "id")
    in_force = await uow.policies.in_force()
    uow.decisions.record(DecisionDraft(
        subject_type="disclosure", subject_id=disclosure_id, kind="disclosure.withdraw", outcome="withdrawn",
        actor=principal.actor, automated=False, policy_version=in_force.version, reasons=(Reason("withdrawn", reason),),
    ))


async def redact_disclosure(uow: UnitOfWork, principal: Principal, disclosure_id: UUID, field: str, text: str,
                            reason: str) -> Mapping[str, Any]:
    """A reviewer hides a passage the patterns missed; the record changes only by this recorded step.

    The record is read locked: a redaction rewrites the whole record, so two at once would otherwise each
    start from the unredacted text and the later commit would publish the earlier one's passage again."""
    principal.require(Role.REVIEWER, Role.ADMIN)
    row = await uow.disclosures.get(disclosure_id, lock=True)
    if row is None:
        raise NotFound("Disclosure", "id")
    record = dict(row["record"])
    check_manual_redaction(record, field, text, reason)
    record[field] = record[field].replace(text, marker("manual"))
    redactions = [*row["redactions"], {"field": field, "category": "manual"}]
    await uow.disclosures.replace_record(disclosure_id, record, redactions, record.get("listing_title"),
                                         record.get("merchant_name"))
    in_force = await uow.policies.in_force()
    uow.decisions.record(DecisionDraft(
        subject_type="disclosure", subject_id=disclosure_id, kind="disclosure.redact", outcome="redacted",
        actor=principal.actor, automated=False, policy_version=in_force.version,
        reasons=(Reason("manual_redaction", f"{field}: {reason}"),),
    ))
    return record


__all__ = ["AUTOMATED", "DISCLOSURE_PUBLISH", "publish_due", "record_case_disclosures"]
