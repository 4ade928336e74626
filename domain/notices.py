"""Notices, cases, measures, declarations and action proofs: entities and input validation."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.cases import CaseState, CaseStatus
from domain.decisions import Reason
from domain.errors import FieldProblem, InvalidInput, Problems
from domain.policy import MeasureType
from domain.reference import MAX_CODE, MAX_NAME, MAX_REF, check_country

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)
MAX_TEXT = 20_000  # an explanation, a reason's text
MAX_IDEMPOTENCY_KEY = 200
MAX_SIGNATURE = 500
MAX_DESCRIPTION = 2_000  # an evidence item's description
MAX_EVIDENCE = 100


class MeasureStatus(StrEnum):
    REQUESTED = "requested"
    APPLIED = "applied"
    FAILED = "failed"
    LIFTED = "lifted"
    ENDED = "ended"


class DeclarationStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DeclarationGround(StrEnum):
    OWNER = "owner"
    AUTHORIZED = "authorized"
    NOT_INFRINGING = "not_infringing"
    RIGHT_INVALID = "right_invalid"
    EXHAUSTED = "exhausted"
    OTHER = "other"


class ProofKind(StrEnum):
    COMPLAINT = "complaint"
    LAWSUIT = "lawsuit"


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    uri: str | None = None
    sha256: str | None = None
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "uri": self.uri, "sha256": self.sha256, "description": self.description}


@dataclass(frozen=True, slots=True)
class Statements:
    good_faith: bool = False
    accuracy: bool = False
    authority: bool = False

    def as_json(self) -> dict[str, bool]:
        return {"good_faith": self.good_faith, "accuracy": self.accuracy, "authority": self.authority}


@dataclass(frozen=True, slots=True)
class NoticeInput:
    complainant_id: UUID
    ip_right_id: UUID
    reason_code: str
    listing_ids: tuple[UUID, ...] = ()
    listing_external_ids: tuple[str, ...] = ()
    agent_id: UUID | None = None
    explanation: str = ""
    evidence: tuple[Evidence, ...] = ()
    statements: Statements = Statements()
    signature: str | None = None
    channel: str = "api"
    idempotency_key: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What a retry must repeat exactly for its idempotency key to return the original result."""
        return {
            "complainant_id": str(self.complainant_id), "ip_right_id": str(self.ip_right_id),
            "reason_code": self.reason_code, "listing_ids": sorted(str(i) for i in self.listing_ids),
            "listing_external_ids": sorted(self.listing_external_ids),
            "agent_id": str(self.agent_id) if self.agent_id else None, "explanation": self.explanation,
            "evidence": [e.as_json() for e in self.evidence], "statements": self.statements.as_json(),
            "signature": self.signature, "channel": self.channel,
        }


@dataclass(frozen=True, slots=True)
class Notice:
    id: UUID
    complainant_id: UUID
    agent_id: UUID | None
    ip_right_id: UUID
    reason_code: str
    explanation: str
    evidence: tuple[Evidence, ...]
    statements: Statements
    signature: str | None
    channel: str
    idempotency_key: str | None
    policy_version: int
    trusted: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Case:
    id: UUID
    notice_id: UUID
    listing_id: UUID
    merchant_id: UUID
    status: CaseStatus
    priority: int
    review_due_at: datetime | None
    declaration_id: UUID | None
    window_starts_at: datetime | None
    window_earliest_end_at: datetime | None
    window_ends_at: datetime | None
    outcome_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revision: int
    notifier_id: UUID | None = None  # who filed: the agent when there is one, else the rights holder
    unfounded: bool = False  # a reviewer found the notice manifestly unfounded (DSA Art 23(2))
    automated_measures: bool = False  # its measures were requested by automation, not a person
    archived_at: datetime | None = None  # set by the archive pass; only ever on a closed case (Effect.UNARCHIVE)

    @property
    def state(self) -> CaseState:
        return self.status.state


@dataclass(frozen=True, slots=True)
class Measure:
    id: UUID
    case_id: UUID
    listing_id: UUID
    type: MeasureType
    territorial_scope: tuple[str, ...]
    status: MeasureStatus
    automated: bool
    requested_at: datetime
    applied_at: datetime | None
    failed_reason: str | None
    lifted_at: datetime | None
    end_date: date | None


@dataclass(frozen=True, slots=True)
class MeasureRequest:
    type: MeasureType
    territorial_scope: tuple[str, ...] = ()
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Declaration:
    id: UUID
    merchant_id: UUID
    grounds: DeclarationGround
    explanation: str
    evidence: tuple[Evidence, ...]
    statements: Statements
    status: DeclarationStatus
    policy_version: int
    received_at: datetime
    reviewed_at: datetime | None
    forwarded_at: datetime | None
    delivered_at: datetime | None
    case_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class DeclarationInput:
    case_ids: tuple[UUID, ...]
    grounds: DeclarationGround
    explanation: str = ""
    evidence: tuple[Evidence, ...] = ()
    statements: Statements = Statements()
    signature: str | None = None
    consent_to_jurisdiction: bool = False
    idempotency_key: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What a retry must repeat exactly for its idempotency key to return the original declaration."""
        return {
            "case_ids": sorted(str(i) for i in self.case_ids), "grounds": self.grounds.value,
            "explanation": self.explanation, "evidence": [e.as_json() for e in self.evidence],
            "statements": self.statements.as_json(), "signature": self.signature,
            "consent_to_jurisdiction": self.consent_to_jurisdiction,
        }


def request_hash(item: NoticeInput | DeclarationInput) -> bytes:
    """Stored with an idempotency key: a retry under the key must hash the same."""
    return hashlib.sha256(json.dumps(item.fingerprint(), sort_keys=True).encode()).digest()


@dataclass(frozen=True, slots=True)
class ActionProofInput:
    case_ids: tuple[UUID, ...]
    kind: ProofKind
    authority: str
    reference: str
    filed_on: date
    evidence: tuple[Evidence, ...] = ()


def evidence_problems(p: Problems, evidence: Sequence[Evidence], name: str = "evidence", held: int = 0) -> None:
    """`held`: items the subject holds already (a clarification adds to the notice's); the limit is on all."""
    if held + len(evidence) > MAX_EVIDENCE:
        p.add(name, f"At most {MAX_EVIDENCE} evidence items" + (f" in all; {held} are held already." if held else "."))
    for i, e in enumerate(evidence):
        if not e.kind.strip() or len(e.kind) > MAX_CODE:
            p.add(f"{name}.{i}.kind", f"Give the kind of evidence (1-{MAX_CODE} characters).")
        if e.uri is not None and (len(e.uri) > 2048 or not _URI.match(e.uri)):
            p.add(f"{name}.{i}.uri", "Must be a URI of at most 2048 characters.")
        if e.sha256 is not None and not _SHA256.match(e.sha256):
            p.add(f"{name}.{i}.sha256", "Must be 64 lowercase hex characters.")
        p.at_most(f"{name}.{i}.description", e.description, MAX_DESCRIPTION)
        if e.uri is None and e.sha256 is None and not e.description.strip():
            p.add(f"{name}.{i}", "Evidence needs a URI, a SHA-256 or a description.")


def _statement_problems(p: Problems, explanation: str, evidence: Sequence[Evidence], signature: str | None,
                        idempotency_key: str | None = None, evidence_held: int = 0) -> None:
    """What a notice, its clarification and a declaration say: the same limits for all three."""
    p.at_most("explanation", explanation, MAX_TEXT)
    p.at_most("signature", signature, MAX_SIGNATURE)
    idempotency_key_problems(p, idempotency_key)
    evidence_problems(p, evidence, held=evidence_held)


def notice_shape_problems(item: NoticeInput, max_listings: int, prefix: str = "") -> list[FieldProblem]:
    """Problems that need no database: sizes, formats, missing references."""
    p = Problems(prefix)
    if not item.listing_ids and not item.listing_external_ids:
        p.add("listings", "A notice targets at least one listing.", "required")
    count = len(set(item.listing_ids)) + len(set(item.listing_external_ids))
    if count > max_listings:
        p.add("listings", f"At most {max_listings} listings per notice under this tenant's policy; got {count}.")
    if not item.reason_code.strip() or len(item.reason_code) > MAX_CODE:
        p.add("reasonCode", f"Give a reason code (1-{MAX_CODE} characters).")
    p.at_most("channel", item.channel, MAX_CODE)
    _statement_problems(p, item.explanation, item.evidence, item.signature, item.idempotency_key)
    return p.items


def clarification_problems(addition: NoticeInput, evidence_held: int) -> list[FieldProblem]:
    """Intake's checks on what a clarification adds, with paths into the clarification's input (what the notice
    holds passed them at intake); with the notice's `evidence_held` items, the evidence stays within the limit."""
    p = Problems()
    _statement_problems(p, addition.explanation, addition.evidence, addition.signature, evidence_held=evidence_held)
    return p.items


def action_proof_problems(item: ActionProofInput, today: date, received_on: date) -> list[FieldProblem]:
    """A filing is named, referenced and evidenced, and was filed between the notice's receipt and today."""
    p = Problems()
    for name, value, max_len, missing in (("authority", item.authority, MAX_NAME, "Name the court or authority."),
                                          ("reference", item.reference, MAX_REF, "Give the case or filing reference.")):
        if not value.strip():
            p.add(name, missing, "required")
        else:
            p.at_most(name, value, max_len)
    if not item.evidence:
        p.add("evidence", "Attach the filing as evidence.", "required")
    evidence_problems(p, item.evidence)
    if item.filed_on > today:
        p.add("filedOn", "The filing date is in the future.")
    elif item.filed_on < received_on:
        p.add("filedOn", f"The filing date is before the notice was received ({received_on.isoformat()}).")
    return p.items


def measure_problems(measures: Sequence[MeasureRequest], today: date) -> list[FieldProblem]:
    """What a reviewer's measures must be whatever the policy says: ending today or later, scoped to ISO country
    codes, and each asked for once (the same type, scope and end date twice is a mistake, not two measures)."""
    p = Problems()
    seen: dict[tuple[MeasureType, tuple[str, ...], date | None], int] = {}
    for n, m in enumerate(measures):
        if m.end_date is not None and m.end_date < today:
            p.add(f"measures.{n}.endDate", f"Must not be in the past (today is {today.isoformat()}).")
        for i, code in enumerate(m.territorial_scope):
            check_country(p, f"measures.{n}.territorialScope.{i}", code)
        key = (m.type, tuple(sorted(set(m.territorial_scope))), m.end_date)
        if key in seen:
            p.add(f"measures.{n}", f"The same measure as measures.{seen[key]}.")
        seen.setdefault(key, n)
    return p.items


def reason_problems(reasons: Sequence[Reason], text: str, text_field: str = "text") -> list[FieldProblem]:
    """The reason codes and texts a reviewer gives with a decision: codes not blank, everything bounded."""
    p = Problems()
    for n, reason in enumerate(reasons):
        p.text(f"reasons.{n}.code", reason.code, MAX_CODE)
        p.at_most(f"reasons.{n}.text", reason.text, MAX_TEXT)
    p.at_most(text_field, text, MAX_TEXT)
    return p.items


def check_reasons(reasons: Sequence[Reason], reason_text: str, text_field: str = "text") -> None:
    """Reason codes and free text as a decision, or the record beside it, keeps them (see `reason_problems`):
    every use case taking a reason, statement or explanation bounds it here, as intake does."""
    problems = reason_problems(reasons, reason_text, text_field)
    if problems:
        raise InvalidInput.from_problems(problems)


def declaration_shape_problems(item: DeclarationInput) -> list[FieldProblem]:
    """Problems that need no database: sizes and formats."""
    p = Problems()
    _statement_problems(p, item.explanation, item.evidence, item.signature, item.idempotency_key)
    return p.items


def idempotency_key_problems(p: Problems, key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        p.add("idempotencyKey", f"1-{MAX_IDEMPOTENCY_KEY} characters.")


def notice_present_fields(item: NoticeInput, *, has_identity: bool, has_email: bool) -> frozenset[str]:
    """The policy's NoticeField names this notice supplies."""
    present = {"registration_number"}  # the right relied on always carries its registration number
    if item.explanation.strip():
        present.add("explanation")
    if item.statements.good_faith:
        present.add("good_faith_statement")
    if item.statements.accuracy:
        present.add("accuracy_statement")
    if item.statements.authority:
        present.add("authority_statement")
    if item.signature and item.signature.strip():
        present.add("signature")
    if has_identity:
        present.add("complainant_identity")
    if has_email:
        present.add("contact_email")
    if item.listing_ids or item.listing_external_ids:
        present.add("listing_urls")
    return frozenset(present)


def declaration_present_fields(item: DeclarationInput, *, has_identity: bool, has_email: bool,
                               has_address: bool, has_phone: bool) -> frozenset[str]:
    present = {"grounds", "listing_urls"}
    if item.explanation.strip():
        present.add("explanation")
    if item.statements.good_faith:
        present.add("good_faith_statement")
    if item.statements.accuracy:
        present.add("accuracy_statement")
    if item.signature and item.signature.strip():
        present.add("signature")
    if item.consent_to_jurisdiction:
        present.add("consent_to_jurisdiction")
    for flag, name in ((has_identity, "merchant_identity"), (has_email, "contact_email"),
                       (has_address, "contact_address"), (has_phone, "contact_phone")):
        if flag:
            present.add(name)
    return frozenset(present)
