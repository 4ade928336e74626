"""A declaration's shape checks and the hash its idempotency key is stored with (domain.notices)."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from domain.notices import (
    MAX_IDEMPOTENCY_KEY,
    MAX_TEXT,
    DeclarationGround,
    DeclarationInput,
    Evidence,
    NoticeInput,
    declaration_shape_problems,
    notice_shape_problems,
    request_hash,
)

CASES = (uuid4(), uuid4())
DECLARATION = DeclarationInput(case_ids=CASES, grounds=DeclarationGround.NOT_INFRINGING, explanation="Genuine.",
                               evidence=(Evidence("purchase_invoice", uri="https://e.example/i.pdf"),),
                               idempotency_key="declaration-1")


def test_a_retry_hashes_the_same_whatever_the_case_order_and_key() -> None:
    assert request_hash(replace(DECLARATION, case_ids=CASES[::-1])) == request_hash(DECLARATION)
    assert request_hash(replace(DECLARATION, idempotency_key="other")) == request_hash(DECLARATION)


@pytest.mark.parametrize("change", [
    {"explanation": "Other."}, {"case_ids": CASES[:1]}, {"grounds": DeclarationGround.OTHER}, {"signature": "/Li/"},
    {"consent_to_jurisdiction": True}, {"evidence": ()},
])
def test_another_payload_hashes_differently(change: dict[str, object]) -> None:
    assert request_hash(replace(DECLARATION, **change)) != request_hash(DECLARATION)


@pytest.mark.parametrize("key", ["", "k" * (MAX_IDEMPOTENCY_KEY + 1)])
def test_declarations_and_notices_share_the_idempotency_key_limit(key: str) -> None:
    [problem] = declaration_shape_problems(replace(DECLARATION, idempotency_key=key))
    assert (problem.field, problem.message) == ("idempotencyKey", "1-200 characters.")
    notice = NoticeInput(complainant_id=uuid4(), ip_right_id=uuid4(), reason_code="counterfeit",
                         listing_ids=(uuid4(),), idempotency_key=key)
    assert [(p.field, p.message) for p in notice_shape_problems(notice, 10)] == [("idempotencyKey",
                                                                                 "1-200 characters.")]


def test_a_well_formed_declaration_has_no_shape_problems() -> None:
    assert declaration_shape_problems(replace(DECLARATION, idempotency_key="k" * MAX_IDEMPOTENCY_KEY)) == []
    assert declaration_shape_problems(replace(DECLARATION, idempotency_key=None)) == []
    [too_long] = declaration_shape_problems(replace(DECLARATION, explanation="x" * (MAX_TEXT + 1)))
    assert too_long.field == "explanation"
