"""Policy problems are reported on the request's fields, keeping the policy's name in the message."""

from __future__ import annotations

from domain.errors import FieldProblem
from domain.problem_paths import DECLARATION_INPUT_PATHS, NOTICE_INPUT_PATHS, as_input_problems


def test_notice_problems_point_at_request_fields() -> None:
    problems = as_input_problems([
        FieldProblem("good_faith_statement", "This field is required.", "required"),
        FieldProblem("right.legal_status", "The right is invalidated.", "right_not_in_force"),
        FieldProblem("complainant_identity", "This field is required.", "required"),
        FieldProblem("evidence", "Evidence of kind 'x' is required.", "required"),
    ], NOTICE_INPUT_PATHS)
    assert [(p.field, p.code) for p in problems] == [
        ("statements.goodFaith", "required"), ("ipRightId", "right_not_in_force"), ("complainantId", "required"),
        ("evidence", "required")]
    assert problems[0].message == "This field is required. (policy: good_faith_statement)"
    assert problems[1].message == "The right is invalidated. (policy: right.legal_status)"
    assert "legal name" in problems[2].message
    assert problems[3].message == "Evidence of kind 'x' is required."  # already a request field: unchanged


def test_declaration_problems_point_at_request_fields() -> None:
    [consent, contact] = as_input_problems([
        FieldProblem("consent_to_jurisdiction", "This field is required.", "required"),
        FieldProblem("contact_address", "This field is required.", "required"),
    ], DECLARATION_INPUT_PATHS)
    assert consent.field == "consentToJurisdiction"
    assert (contact.field, contact.message) == (
        "caseIds", "The merchant's postal address must be on record for the party (upsertParty personalData). "
                   "(policy: contact_address)")
