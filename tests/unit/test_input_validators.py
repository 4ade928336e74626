"""The pure input validators: lengths, clarifications, measures, reasons, action proofs (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.decisions import Reason
from domain.errors import InvalidInput, Problems
from domain.notices import (
    MAX_DESCRIPTION,
    MAX_EVIDENCE,
    MAX_SIGNATURE,
    MAX_TEXT,
    ActionProofInput,
    DeclarationGround,
    DeclarationInput,
    Evidence,
    MeasureRequest,
    NoticeInput,
    ProofKind,
    action_proof_problems,
    clarification_problems,
    declaration_shape_problems,
    measure_problems,
    notice_shape_problems,
    reason_problems,
)
from domain.policy import MeasureType
from domain.reference import (
    MAX_CODE,
    MAX_NAME,
    MAX_REF,
    PERSONAL_DATA_FIELDS,
    UNSENT,
    IpRightInput,
    ListingInput,
    PartyInput,
    PartyKind,
    PersonalDataInput,
    RightType,
    listing_problems,
    validate_ip_right,
    validate_party,
)

TODAY = date(2026, 11, 30)
FILE = Evidence(kind="registration_certificate", uri="https://e.example/cert.pdf")


def _notice(**changes: object) -> NoticeInput:
    fields: dict[str, object] = {"complainant_id": uuid4(), "ip_right_id": uuid4(), "reason_code": "counterfeit",
                                 "listing_external_ids": ("sku-1",), "evidence": (FILE,)}
    fields.update(changes)
    return NoticeInput(**fields)  # type: ignore[arg-type]


def _fields(problems: list[object]) -> list[str]:
    return [p.field for p in problems]  # type: ignore[attr-defined]


def _invalid_fields(call: object) -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        call()  # type: ignore[operator]
    return {p.field for p in caught.value.problems}


def test_problems_bound_optional_text_and_require_the_rest() -> None:
    p = Problems("items.2.")
    p.at_most("note", None, 3)
    p.at_most("note", "abc", 3)
    p.text("name", "abc", 3)
    assert p.items == []
    p.at_most("note", "abcd", 3)
    p.text("name", "   ", 3)
    assert [(x.field, x.message) for x in p.items] == [("items.2.note", "Must be at most 3 characters."),
                                                       ("items.2.name", "Must not be empty.")]
    with pytest.raises(InvalidInput):
        p.raise_if_any()


def test_a_notice_is_held_to_channel_and_evidence_description_lengths() -> None:
    assert notice_shape_problems(_notice(channel="c" * MAX_CODE), 10) == []
    long_description = Evidence(kind="photo", description="d" * (MAX_DESCRIPTION + 1))
    problems = notice_shape_problems(_notice(channel="c" * (MAX_CODE + 1), evidence=(FILE, long_description)), 10)
    assert _fields(problems) == ["channel", "evidence.1.description"]


def test_a_clarification_is_checked_with_paths_into_its_own_input() -> None:
    addition = _notice(explanation="x" * (MAX_TEXT + 1), signature="s" * (MAX_SIGNATURE + 1),
                       evidence=(FILE, Evidence(kind="", uri="https://e.example/a"),
                                 Evidence(kind="photo", sha256="NOT-HEX"),
                                 Evidence(kind="photo", uri="not a uri")))
    assert set(_fields(clarification_problems(addition, evidence_held=5))) == {
        "explanation", "signature", "evidence.1.kind", "evidence.2.sha256", "evidence.3.uri"}
    assert clarification_problems(_notice(evidence=(FILE,)), evidence_held=MAX_EVIDENCE - 1) == []
    [full] = clarification_problems(_notice(evidence=(FILE, FILE)), evidence_held=MAX_EVIDENCE - 1)
    assert full.field == "evidence" and f"{MAX_EVIDENCE - 1} are held" in full.message


def test_a_declaration_is_held_to_signature_and_key_lengths() -> None:
    declaration = DeclarationInput(case_ids=(uuid4(),), grounds=DeclarationGround.OWNER, signature="s" * 501,
                                   idempotency_key="k" * (MAX_REF + 1))
    assert _fields(declaration_shape_problems(declaration)) == ["signature", "idempotencyKey"]


def test_personal_data_listing_merchant_names_and_right_classes_are_bounded() -> None:
    personal = PersonalDataInput(legal_name="n" * (MAX_NAME + 1), email="e@x.example", phone="1" * 51,
                            address="a" * 1001, id_number="i" * 101)
    party = PartyInput(kind=PartyKind.MERCHANT, external_ref="m", display_name="M", personal_data=personal)
    assert _invalid_fields(lambda: validate_party(party)) == {
        "personalData.legalName", "personalData.phone", "personalData.address", "personalData.idNumber"}
    validate_party(PartyInput(kind=PartyKind.MERCHANT, external_ref="m", display_name="M",
                              personal_data=PersonalDataInput(legal_name="n" * MAX_NAME)))

    listing = ListingInput(external_id="e", url="https://m.example/1", merchant_ref="m", title="T",
                           merchant_display_name="m" * (MAX_NAME + 1))
    assert _fields(listing_problems(0, listing)) == ["merchantDisplayName"]
    blank_name = ListingInput(external_id="e", url="https://m.example/1", merchant_ref="m", title="T",
                              merchant_display_name="  ")
    assert _fields(listing_problems(0, blank_name)) == ["merchantDisplayName"]
    unnamed = ListingInput(external_id="e", url="https://m.example/1", merchant_ref="m", title="T")
    assert listing_problems(0, unnamed) == []

    right = IpRightInput(holder_id=uuid4(), type=RightType.TRADEMARK, registration_number="TM-1", jurisdiction="CN",
                         title="t" * 501, classes=("25", "", "c" * (MAX_CODE + 1)))
    assert _invalid_fields(lambda: validate_ip_right(right)) == {"title", "classes.1", "classes.2"}



def test_a_party_update_writes_only_the_personal_data_it_was_sent() -> None:
    """Left out (UNSENT): kept; None: cleared; personal_data None: all of it cleared."""
    def party(**fields: Any) -> PartyInput:
        return PartyInput(kind=PartyKind.MERCHANT, external_ref="m", display_name="M", **fields)

    assert party().personal_data_sent() == {}
    assert party().country is UNSENT
    assert party(personal_data=PersonalDataInput()).personal_data_sent() == {}
    assert party(personal_data=PersonalDataInput(email="e@x.example", legal_name=None)).personal_data_sent() == {
        "legal_name": None, "email": "e@x.example"}
    assert party(personal_data=None).personal_data_sent() == dict.fromkeys(PERSONAL_DATA_FIELDS)
    validate_party(party(country=None, personal_data=None))  # clearing is valid
    assert _invalid_fields(lambda: validate_party(party(country="cn", personal_data=PersonalDataInput(
        email="nope")))) == {"country", "personalData.email"}

def test_measures_end_today_or_later_in_iso_countries_and_once_each() -> None:
    assert measure_problems([MeasureRequest(MeasureType.REMOVE, end_date=TODAY),
                             MeasureRequest(MeasureType.RESTRICT_REGION, ("FR", "DE")),
                             MeasureRequest(MeasureType.RESTRICT_REGION, ("FR",))], TODAY) == []
    problems = measure_problems([
        MeasureRequest(MeasureType.REMOVE, end_date=TODAY - timedelta(days=1)),
        MeasureRequest(MeasureType.RESTRICT_REGION, ("zz", "not a country", "DE")),
        MeasureRequest(MeasureType.RESTRICT_REGION, ("FR", "DE")),
        MeasureRequest(MeasureType.RESTRICT_REGION, ("DE", "FR")),
    ], TODAY)
    assert _fields(problems) == ["measures.0.endDate", "measures.1.territorialScope.0",
                                 "measures.1.territorialScope.1", "measures.3"]
    assert "measures.2" in problems[-1].message


def test_reason_codes_must_not_be_blank_and_reasons_are_bounded() -> None:
    assert reason_problems([Reason("insufficient_evidence", "why")], "text") == []
    problems = reason_problems([Reason(""), Reason("   "), Reason("c" * (MAX_CODE + 1)), Reason("ok", "t" * 20_001)],
                               "x" * 20_001, "reason")
    assert _fields(problems) == ["reasons.0.code", "reasons.1.code", "reasons.2.code", "reasons.3.text", "reason"]


def test_an_action_proof_is_filed_between_the_notice_and_today() -> None:
    received = date(2026, 11, 2)

    def proof(filed_on: date, authority: str = "Court", reference: str = "R-1") -> ActionProofInput:
        return ActionProofInput(case_ids=(uuid4(),), kind=ProofKind.LAWSUIT, authority=authority,
                                reference=reference, filed_on=filed_on, evidence=(FILE,))

    assert action_proof_problems(proof(received), TODAY, received) == []
    assert action_proof_problems(proof(TODAY), TODAY, received) == []
    [early] = action_proof_problems(proof(date(1900, 1, 1)), TODAY, received)
    assert early.field == "filedOn" and "2026-11-02" in early.message
    [late] = action_proof_problems(proof(TODAY + timedelta(days=1)), TODAY, received)
    assert late.field == "filedOn" and "future" in late.message
    problems = action_proof_problems(proof(TODAY, authority=" ", reference="r" * (MAX_REF + 1)), TODAY, received)
    assert [(p.field, p.code) for p in problems] == [("authority", "required"), ("reference", "invalid")]
    assert _fields(action_proof_problems(proof(TODAY, authority="a" * (MAX_NAME + 1)), TODAY, received)) == [
        "authority"]
