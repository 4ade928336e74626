"""Policy problems name what the policy requires (`good_faith_statement`, `right.legal_status`); a client
needs the field of its request to point at. Intake translates them; `simulatePolicy`, whose input is the
policy's own facts, keeps the policy's names. The policy's name stays in the message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.errors import FieldProblem

_ON_RECORD = "must be on record for the party (upsertParty personalData)"

NOTICE_INPUT_PATHS: Mapping[str, tuple[str, str]] = {
    "explanation": ("explanation", ""),
    "signature": ("signature", ""),
    "good_faith_statement": ("statements.goodFaith", ""),
    "accuracy_statement": ("statements.accuracy", ""),
    "authority_statement": ("statements.authority", ""),
    "complainant_identity": ("complainantId", f"The complainant's legal name {_ON_RECORD}."),
    "contact_email": ("complainantId", f"The complainant's email address {_ON_RECORD}."),
    "registration_number": ("ipRightId", ""),
    "listing_urls": ("listingIds", ""),
    "listings": ("listingIds", ""),
    "agent.authorization": ("evidence", "An agent needs the rights holder's authorization letter as evidence."),
    "right": ("ipRightId", ""),  # right.type, right.jurisdiction, right.legal_status, ...
}

DECLARATION_INPUT_PATHS: Mapping[str, tuple[str, str]] = {
    "explanation": ("explanation", ""),
    "grounds": ("grounds", ""),
    "signature": ("signature", ""),
    "good_faith_statement": ("statements.goodFaith", ""),
    "accuracy_statement": ("statements.accuracy", ""),
    "consent_to_jurisdiction": ("consentToJurisdiction", ""),
    "merchant_identity": ("caseIds", f"The merchant's legal name {_ON_RECORD}."),
    "contact_email": ("caseIds", f"The merchant's email address {_ON_RECORD}."),
    "contact_address": ("caseIds", f"The merchant's postal address {_ON_RECORD}."),
    "contact_phone": ("caseIds", f"The merchant's phone number {_ON_RECORD}."),
    "listing_urls": ("caseIds", ""),
}


def as_input_problems(problems: Iterable[FieldProblem], paths: Mapping[str, tuple[str, str]]) -> list[FieldProblem]:
    """Each problem on the request field it concerns (by its name, else the part before the first dot)."""
    out: list[FieldProblem] = []
    for p in problems:
        found = paths.get(p.field) or paths.get(p.field.split(".", 1)[0])
        if found is None:
            out.append(p)
            continue
        path, message = found
        out.append(FieldProblem(path, f"{message or p.message} (policy: {p.field})", p.code))
    return out
