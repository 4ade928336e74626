"""Public disclosure records: what may be published about a case, projected through an allow-list and
redacted. The original stays private; a disclosure is immutable except for redaction and withdrawal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.policy import DisclosurePolicy
from domain.redaction import RedactedRecord, RedactionRules, redact_fields, rules_from_policy


class DisclosureKind(StrEnum):
    NOTICE = "notice"
    DECLARATION = "declaration"
    RESULT = "result"
    ACCOUNT_RESTRICTION = "account_restriction"


class DisclosureStatus(StrEnum):
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


# Fields a public record may ever carry, per kind. Nothing else can leak by being forgotten: party
# legal names, emails, phones, addresses and ID numbers are not in any list.
_ALLOW: dict[DisclosureKind, frozenset[str]] = {
    DisclosureKind.NOTICE: frozenset({"right_type", "right_jurisdiction", "registration_number", "reason_code",
                                      "explanation", "listing_title", "listing_url", "merchant_name", "notifier_name",
                                      "evidence", "received_at", "channel"}),
    DisclosureKind.DECLARATION: frozenset({"grounds", "explanation", "listing_title", "merchant_name", "evidence",
                                           "received_at"}),
    DisclosureKind.RESULT: frozenset({"outcome", "measures", "listing_title", "merchant_name", "notifier_name",
                                      "decided_at", "right_type"}),
    DisclosureKind.ACCOUNT_RESTRICTION: frozenset({"merchant_name", "restriction", "reason", "starts_at",
                                                   "ends_at"}),
}
_FREE_TEXT = frozenset({"explanation", "listing_title", "merchant_name", "notifier_name", "evidence"})


@dataclass(frozen=True, slots=True)
class DisclosureDraft:
    kind: DisclosureKind
    subject_id: UUID
    case_id: UUID | None
    facts: Mapping[str, Any]


def enabled(policy: DisclosurePolicy, kind: DisclosureKind) -> bool:
    return {
        DisclosureKind.NOTICE: policy.publish_notices,
        DisclosureKind.DECLARATION: policy.publish_declarations,
        DisclosureKind.RESULT: policy.publish_results,
        DisclosureKind.ACCOUNT_RESTRICTION: policy.publish_account_restrictions,
    }[kind]


def rules_for(policy: DisclosurePolicy) -> RedactionRules:
    return rules_from_policy(policy.extra_redaction_patterns, hide_urls=not policy.show_evidence_uris)


def public_record(policy: DisclosurePolicy, draft: DisclosureDraft, rules: RedactionRules) -> RedactedRecord:
    """Allow-list projection + free-text redaction; optional fields follow the policy."""
    allow = set(_ALLOW[draft.kind])
    if not policy.show_notifier_identity:
        allow.discard("notifier_name")
    facts = dict(draft.facts)
    if "evidence" in facts:
        shown = ("kind", "description", "uri") if policy.show_evidence_uris else ("kind", "description")
        facts["evidence"] = [" ".join(str(e[k]) for k in shown if e.get(k)) for e in facts["evidence"]]
    return redact_fields(facts, frozenset(allow), _FREE_TEXT, rules)


def publish_time(policy: DisclosurePolicy, now: datetime) -> datetime:
    return now + timedelta(hours=policy.delay_hours)
