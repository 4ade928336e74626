"""Public disclosure records: what may be published about a case, projected through an allow-list and
redacted. The original stays private; a disclosure is immutable except for redaction and withdrawal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import Problems
from domain.notices import MAX_TEXT
from domain.policy import DisclosurePolicy
from domain.redaction import MARKER_PATTERN, RedactedRecord, RedactionRules, redact_fields, rules_from_policy


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


def check_manual_redaction(record: Mapping[str, Any], field: str, text: str, reason: str) -> None:
    """What a reviewer's redaction (every occurrence of `text` in `field` becomes a marker) may touch.

    Only a free-text field holding text: in a date, a code or an outcome a replaced passage breaks the value
    (received_at "2026-…" with "2" redacted is no timestamp). Only passages clear of the markers already in the
    text: replacing part of one ("[redacted") leaves text that is neither the marker nor what it hid."""
    p = Problems()
    p.at_most("reason", reason, MAX_TEXT)
    value = record.get(field)
    if field not in _FREE_TEXT or not isinstance(value, str):
        redactable = ", ".join(sorted(k for k in _FREE_TEXT if isinstance(record.get(k), str)))
        p.add("field", f"'{field}' is not a free-text field of this record; redactable: {redactable or 'none'}.")
    elif not text or text not in value:
        p.add("text", f"The field '{field}' does not contain that text.")
    elif _touches_marker(value, text):
        p.add("text", "The passage (or one of its occurrences) overlaps a redaction marker ([redacted:…]); "
              "give one that occurs only outside the markers.")
    p.raise_if_any()


def _touches_marker(value: str, text: str) -> bool:
    """Whether an occurrence of `text` that str.replace would replace overlaps or contains a marker."""
    markers = [m.span() for m in MARKER_PATTERN.finditer(value)]  # sorted, disjoint
    k = 0
    start = value.find(text)
    while start != -1 and k < len(markers):
        end = start + len(text)
        while k < len(markers) and markers[k][1] <= start:
            k += 1
        if k < len(markers) and markers[k][0] < end:
            return True
        start = value.find(text, end)
    return False


def publish_time(policy: DisclosurePolicy, now: datetime) -> datetime:
    return now + timedelta(hours=policy.delay_hours)
