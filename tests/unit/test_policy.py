"""Tenant policy: presets, parsing (all problems, dotted paths), cross-field rules, evaluation,
and the published JSON Schema (drift test).

Regenerate schema/policy.schema.json after a deliberate change:
    .venv/bin/python -m tests.unit.test_policy
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.calendar import DMCA_512G_RESTORE_WINDOW, ECL_43_DECLARATION_WINDOW
from domain.errors import ErrorCode, InvalidInput
from domain.policy import (
    POLICY_SCHEMA_ID,
    PRESETS,
    DeclarationWindow,
    Policy,
    parse_policy,
    parse_policy_json,
    policy_json_schema,
)
from domain.policy_eval import (
    NoticeFacts,
    compile_policy,
    evaluate_declaration,
    evaluate_notice,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "policy.schema.json"


def render_policy_schema() -> str:
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_policy_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(render_policy_schema(), encoding="utf-8")


# ----- helpers ---------------------------------------------------------------------------------


def doc(preset: str, **changes: Any) -> dict[str, Any]:
    """The preset as a JSON document with dotted-path changes (`notices__review_mode="auto"`)."""
    document = copy.deepcopy(PRESETS[preset].model_dump(mode="json"))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = document
        for part in parents:
            node = node[part]
        node[last] = value
    return document


def problems_of(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        parse_policy(document)
    assert info.value.code is ErrorCode.INVALID_INPUT
    return {p.field: p.code for p in info.value.problems}


TODAY = date(2026, 7, 1)

CN_FIELDS = frozenset({"complainant_identity", "listing_urls", "accuracy_statement", "registration_number"})
CN_PATENT_EVIDENCE = frozenset({"registration_certificate", "test_purchase", "patent_evaluation_report"})
DSA_FIELDS = frozenset({"explanation", "listing_urls", "complainant_identity", "contact_email", "good_faith_statement"})
DMCA_FIELDS = frozenset(
    {
        "signature",
        "explanation",
        "listing_urls",
        "complainant_identity",
        "contact_email",
        "good_faith_statement",
        "accuracy_statement",
        "authority_statement",
    }
)


def facts(**overrides: Any) -> NoticeFacts:
    base = NoticeFacts(
        right_type="patent",
        right_jurisdiction="CN",
        right_verification_status="verified",
        right_legal_status="active",
        right_valid_until=date(2030, 1, 1),
        today=TODAY,
        present_fields=CN_FIELDS,
        evidence_kinds=CN_PATENT_EVIDENCE,
        listing_count=10,
        has_agent=False,
        agent_authorized=False,
        notifier_trusted=False,
    )
    return replace(base, **overrides)


def with_review_mode(preset: str, mode: str) -> Policy:
    return parse_policy(doc(preset, notices__review_mode=mode))


# ----- presets and round trips -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates_and_round_trips(name: str) -> None:
    preset = PRESETS[name]
    assert preset.regime.value == name
    document = preset.model_dump(mode="json")
    assert parse_policy(document) == preset
    text = preset.model_dump_json()
    again = parse_policy_json(text)
    assert again == preset
    assert again.model_dump_json() == text  # byte-stable: lists keep their order
    assert json.loads(text) == document


def test_preset_windows_match_the_calendar_rules() -> None:
    cn = PRESETS["cn-ecl"].declarations.window
    us = PRESETS["us-dmca"].declarations.window
    assert cn is not None
    assert us is not None
    assert cn.to_window_rule() == ECL_43_DECLARATION_WINDOW
    assert us.to_window_rule() == DMCA_512G_RESTORE_WINDOW
    assert PRESETS["eu-dsa"].declarations.window is None  # decided on the merits, no waiting window


def test_preset_contents_follow_the_statutes() -> None:
    cn, eu, us = PRESETS["cn-ecl"], PRESETS["eu-dsa"], PRESETS["us-dmca"]
    ground = cn.suspension.handling_grounds
    pending = next(g for k, g in ground.items() if k.value == "trademark_invalidation_pending")
    assert pending.required_evidence == ("invalidation_acceptance_notice",)
    assert pending.harm_statement_required
    assert cn.retention.keep_years >= 3
    assert (cn.trust.window_days, cn.trust.min_acceptance_rate, cn.trust.max_successful_declaration_rate) == (
        90,
        0.9,
        0.05,
    )
    assert eu.suspension.appeals.window_days >= 180
    assert eu.suspension.repeat_infringer.warning_first
    assert eu.suspension.abusive_notifier.warning_first
    assert {f.value for f in eu.notices.required_fields} == DSA_FIELDS
    assert {f.value for f in us.notices.required_fields} == DMCA_FIELDS
    assert (us.trust.window_days, us.trust.min_acceptance_rate) == (180, 0.9)


# ----- parse errors ----------------------------------------------------------------------------


def test_parse_reports_every_problem_with_dotted_paths() -> None:
    document = doc(
        "cn-ecl",
        notices__max_listings_per_notice=5000,
        declarations__window={**doc("cn-ecl")["declarations"]["window"], "day_kind": "weekly"},
        trust__min_acceptance_rate=1.5,
    )
    with pytest.raises(InvalidInput) as info:
        parse_policy(document)
    fields = [p.field for p in info.value.problems]
    assert sorted(fields) == [
        "declarations.window.day_kind",
        "notices.max_listings_per_notice",
        "trust.min_acceptance_rate",
    ]
    assert info.value.field in fields
    assert "notices.max_listings_per_notice" in info.value.message


def test_parse_reports_unknown_missing_and_nested_keys() -> None:
    document = doc("eu-dsa", notices__colour="red")
    del document["retention"]
    document["notices"]["default_measure"]["patentt"] = "remove"
    document["notices"]["required_evidence"] = {"patent": {"all_of": ["Bad Kind"]}}
    assert problems_of(document) == {
        "notices.colour": "unknown_field",
        "retention": "required",
        "notices.default_measure.patentt": "invalid",
        "notices.required_evidence.patent.all_of.0": "invalid",
    }


def test_parse_rejects_duplicates_and_a_non_mapping_document() -> None:
    assert problems_of(doc("us-dmca", notices__allowed_measures=["remove", "remove"])) == {
        "notices.allowed_measures": "invalid"
    }
    with pytest.raises(InvalidInput) as info:
        parse_policy([])  # type: ignore[arg-type]
    assert info.value.problems[0].field == "policy"


def test_parse_policy_json_reports_malformed_json() -> None:
    with pytest.raises(InvalidInput):
        parse_policy_json("{not json")


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [(r"\b\d{3}-\d{2}-\d{4}\b", True), ("[unclosed", False), (r"(?<=:)\w+", False), (r"(\w)\1", False),
     # RE2 runs these in linear time, so they are harmless (Python's re backtracks for ever on them)
     ("(a+)+$", True), (r"(\w*)*@", True), ("(a|a)+$", True), (r"[\u4e00-\u9fff]{2}", True),
     # Python's Unicode \d \w \s are translated; a negated one inside [...] has no RE2 spelling
     (r"[\d\s-]+", True), (r"[\D]", False)],
)
def test_redaction_patterns_compile_as_re2_runs_them(pattern: str, ok: bool) -> None:
    document = doc("cn-ecl", disclosure__extra_redaction_patterns=[pattern])
    if ok:
        assert parse_policy(document).disclosure.extra_redaction_patterns == (pattern,)
    else:
        assert problems_of(document) == {"disclosure.extra_redaction_patterns.0": "invalid"}


# ----- cross-field rules -----------------------------------------------------------------------


def test_window_bounds() -> None:
    window = {
        "length_days": 12,
        "day_kind": "business",
        "starts_on": "received",
        "min_days": 14,
        "max_days": 12,
    }
    assert problems_of(doc("cn-ecl", regime="custom", declarations__window=window)) == {
        "declarations.window.min_days": "inconsistent"
    }
    window = {
        "length_days": 10,
        "day_kind": "business",
        "starts_on": "received",
        "min_days": 10,
        "max_days": 14,
    }
    assert problems_of(doc("cn-ecl", regime="custom", declarations__window=window)) == {
        "declarations.window.length_days": "inconsistent"
    }
    with pytest.raises(ValidationError):
        DeclarationWindow(length_days=5, min_days=6)


def test_default_measure_must_be_allowed_and_cover_accepted_types() -> None:
    measures = {**doc("cn-ecl")["notices"]["default_measure"], "patent": "demote"}
    del measures["design"]
    assert problems_of(doc("cn-ecl", notices__default_measure=measures)) == {
        "notices.default_measure.patent": "inconsistent",
        "notices.default_measure.design": "inconsistent",
    }


def test_wildcard_jurisdiction_stands_alone_and_default_locale_is_offered() -> None:
    assert problems_of(doc("eu-dsa", notices__accepted_jurisdictions=["*", "DE"])) == {
        "notices.accepted_jurisdictions": "inconsistent"
    }
    assert problems_of(doc("eu-dsa", notifications__default_locale="zh-CN")) == {
        "notifications.default_locale": "inconsistent"
    }


def test_dsa_export_needs_an_endpoint() -> None:
    sor = {"enabled": True, "endpoint": None, "token_ref": "DSA_TDB_TOKEN"}
    assert problems_of(doc("us-dmca", disclosure__dsa_statements_of_reasons=sor)) == {
        "disclosure.dsa_statements_of_reasons.endpoint": "inconsistent"
    }


def test_no_window_means_review_on_the_merits() -> None:
    assert problems_of(doc("eu-dsa", regime="custom", declarations__review_required=False)) == {
        "declarations.review_required": "inconsistent"
    }


@pytest.mark.parametrize("name", ["cn-ecl", "eu-dsa", "us-dmca"])
def test_restoring_is_not_optional(name: str) -> None:
    """The setting did nothing when false; now it says so instead of being ignored."""
    assert problems_of(doc(name, regime="custom", declarations__restore_automatically=False)) == {
        "declarations.restore_automatically": "inconsistent"
    }


def test_dsa_regime_minimums_are_all_reported() -> None:
    document = doc("eu-dsa", declarations__review_required=True)
    document["suspension"]["appeals"]["window_days"] = 90
    document["suspension"]["repeat_infringer"]["warning_first"] = False
    document["suspension"]["abusive_notifier"]["warning_first"] = False
    assert problems_of(document) == {
        "suspension.appeals.window_days": "inconsistent",
        "suspension.repeat_infringer.warning_first": "inconsistent",
        "suspension.abusive_notifier.warning_first": "inconsistent",
    }
    # the same settings are fine for a custom regime
    document["regime"] = "custom"
    assert parse_policy(document).regime.value == "custom"


def test_dmca_regime_needs_10_to_14_business_days_from_receipt() -> None:
    window = {"length_days": 15, "day_kind": "calendar", "starts_on": "delivered_to_complainant"}
    assert problems_of(doc("us-dmca", declarations__window=window)) == {
        "declarations.window.day_kind": "inconsistent",
        "declarations.window.starts_on": "inconsistent",
        "declarations.window.min_days": "inconsistent",
        "declarations.window.max_days": "inconsistent",
    }
    assert problems_of(doc("us-dmca", declarations__window=None)) == {"declarations.window": "inconsistent"}


def test_cn_ecl_regime_needs_15_calendar_days_and_3_years() -> None:
    window = {**doc("cn-ecl")["declarations"]["window"], "length_days": 10, "roll_over_rest_days": False}
    document = doc("cn-ecl", declarations__window=window, retention__keep_years=2)
    assert problems_of(document) == {
        "declarations.window.length_days": "inconsistent",
        "declarations.window.roll_over_rest_days": "inconsistent",
        "retention.keep_years": "inconsistent",
    }


def test_direct_construction_enforces_the_same_rules() -> None:
    with pytest.raises(ValidationError) as info:
        Policy.model_validate(doc("cn-ecl", retention__keep_years=1))
    assert "ECL 31" in str(info.value)


# ----- notice evaluation -----------------------------------------------------------------------


def test_cn_complete_notice_goes_to_review_under_manual_mode() -> None:
    result = evaluate_notice(with_review_mode("cn-ecl", "manual"), facts(notifier_trusted=True))
    assert result.outcome == "review"
    assert result.problems == ()
    assert result.measure == "disconnect_link"
    assert result.review_due_hours == 24
    assert result.clarification_days is None
    assert all(hit.passed for hit in result.hits if hit.rule_id != "notices.review_mode")


def test_cn_missing_patent_evaluation_report_is_incomplete_naming_evidence() -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(evidence_kinds=CN_PATENT_EVIDENCE - {"patent_evaluation_report"}))
    assert result.outcome == "incomplete"
    assert [p.field for p in result.problems] == ["evidence"]
    assert "patent_evaluation_report" in result.problems[0].message
    assert result.clarification_days == 7
    hit = next(h for h in result.hits if h.rule_id == "notices.required_evidence.patent")
    assert not hit.passed
    assert hit.inputs["missing"] == ("patent_evaluation_report",)


def test_cn_patent_evaluation_report_only_for_cn_patents() -> None:
    result = evaluate_notice(
        PRESETS["cn-ecl"],
        facts(right_jurisdiction="US", evidence_kinds=CN_PATENT_EVIDENCE - {"patent_evaluation_report"}),
    )
    assert result.outcome == "review"


def test_cn_preliminary_evidence_is_any_of() -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(evidence_kinds=frozenset({"registration_certificate"})))
    assert result.outcome == "incomplete"
    assert len(result.problems) == 2  # patent evaluation report + one of the preliminary kinds
    assert {p.field for p in result.problems} == {"evidence"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"right_legal_status": "invalidated"}, "right.legal_status"),
        ({"right_legal_status": "expired"}, "right.legal_status"),
        ({"right_valid_until": date(2026, 6, 30)}, "right.valid_until"),
        ({"right_verification_status": "rejected"}, "right.verification_status"),
        ({"listing_count": 301}, "listings"),
        ({"right_type": "plant_variety"}, "right.type"),
    ],
)
def test_cn_hard_failures_reject(change: dict[str, Any], field: str) -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(**change, notifier_trusted=True))
    assert result.outcome == "reject"
    assert field in [p.field for p in result.problems]
    assert result.measure is None
    assert result.review_due_hours == 0


def test_reject_lists_soft_problems_too() -> None:
    result = evaluate_notice(
        PRESETS["cn-ecl"], facts(listing_count=301, present_fields=CN_FIELDS - {"accuracy_statement"})
    )
    assert result.outcome == "reject"
    assert [p.field for p in result.problems] == ["listings", "accuracy_statement"]


def test_trusted_notifier_auto_accepted_under_auto_for_trusted() -> None:
    assert PRESETS["cn-ecl"].notices.review_mode.value == "auto_for_trusted"
    trusted = evaluate_notice(PRESETS["cn-ecl"], facts(notifier_trusted=True))
    assert trusted.outcome == "auto_accept"
    assert trusted.measure == "disconnect_link"
    assert trusted.review_due_hours == 0
    assert evaluate_notice(PRESETS["cn-ecl"], facts(notifier_trusted=False)).outcome == "review"


def test_trust_disabled_means_nobody_is_auto_accepted() -> None:
    policy = parse_policy(doc("cn-ecl", trust__enabled=False))
    assert evaluate_notice(policy, facts(notifier_trusted=True)).outcome == "review"


def test_pending_invalidation_always_goes_to_a_human() -> None:
    policy = with_review_mode("cn-ecl", "auto")
    assert evaluate_notice(policy, facts()).outcome == "auto_accept"
    result = evaluate_notice(policy, facts(right_legal_status="invalidation_pending"))
    assert result.outcome == "review"
    assert result.hits[-1].inputs["right_stable"] is False


def test_unverified_right_rejected_only_when_verification_required() -> None:
    assert evaluate_notice(PRESETS["cn-ecl"], facts(right_verification_status="unverified")).outcome == "review"
    policy = parse_policy(doc("cn-ecl", notices__verified_right_required=True))
    result = evaluate_notice(policy, facts(right_verification_status="unverified"))
    assert result.outcome == "reject"
    assert result.problems[0].code == "right_unverified"


def test_agent_without_authorization_is_incomplete() -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(has_agent=True, agent_authorized=False))
    assert result.outcome == "incomplete"
    assert [p.field for p in result.problems] == ["agent.authorization"]
    assert evaluate_notice(PRESETS["cn-ecl"], facts(has_agent=True, agent_authorized=True)).outcome == "review"


def test_without_clarification_missing_items_reject() -> None:
    policy = parse_policy(doc("cn-ecl", notices__clarification={"allowed": False, "window_days": 7}))
    result = evaluate_notice(policy, facts(present_fields=frozenset()))
    assert result.outcome == "reject"
    assert {p.field for p in result.problems} == set(CN_FIELDS)
    assert result.clarification_days is None


def test_jurisdiction_not_accepted_rejects() -> None:
    policy = parse_policy(doc("cn-ecl", notices__accepted_jurisdictions=["CN", "HK"]))
    assert evaluate_notice(policy, facts(right_jurisdiction="HK")).outcome == "review"
    result = evaluate_notice(policy, facts(right_jurisdiction="US"))
    assert result.outcome == "reject"
    assert [p.field for p in result.problems] == ["right.jurisdiction"]


def test_zero_listings_is_incomplete() -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(listing_count=0))
    assert result.outcome == "incomplete"
    assert [p.field for p in result.problems] == ["listings"]


def dsa_facts(**overrides: Any) -> NoticeFacts:
    base: dict[str, Any] = {
        "right_type": "trademark",
        "right_jurisdiction": "EU",
        "present_fields": DSA_FIELDS,
        "evidence_kinds": frozenset(),
    }
    return facts(**{**base, **overrides})


def test_dsa_evaluation_table() -> None:
    eu = PRESETS["eu-dsa"]
    assert evaluate_notice(eu, dsa_facts(notifier_trusted=True)).outcome == "review"  # manual
    missing = evaluate_notice(eu, dsa_facts(present_fields=DSA_FIELDS - {"good_faith_statement"}))
    assert missing.outcome == "incomplete"
    assert [p.field for p in missing.problems] == ["good_faith_statement"]
    assert missing.clarification_days == 14
    too_many = evaluate_notice(eu, dsa_facts(listing_count=1000))
    assert too_many.outcome == "reject"
    assert [p.field for p in too_many.problems] == ["listings"]
    assert evaluate_notice(eu, dsa_facts(right_legal_status="invalidated")).outcome == "reject"
    auto = with_review_mode("eu-dsa", "auto_for_trusted")
    assert evaluate_notice(auto, dsa_facts(notifier_trusted=True)).outcome == "auto_accept"


def dmca_facts(**overrides: Any) -> NoticeFacts:
    base: dict[str, Any] = {
        "right_type": "copyright",
        "right_jurisdiction": "US",
        "right_valid_until": None,
        "present_fields": DMCA_FIELDS,
        "evidence_kinds": frozenset(),
    }
    return facts(**{**base, **overrides})


def test_dmca_evaluation_table() -> None:
    us = PRESETS["us-dmca"]
    assert evaluate_notice(us, dmca_facts(notifier_trusted=True)).outcome == "auto_accept"
    assert evaluate_notice(us, dmca_facts()).outcome == "review"
    assert evaluate_notice(with_review_mode("us-dmca", "manual"), dmca_facts(notifier_trusted=True)).outcome == (
        "review"
    )
    unsigned = evaluate_notice(us, dmca_facts(present_fields=DMCA_FIELDS - {"signature", "authority_statement"}))
    assert unsigned.outcome == "incomplete"
    assert [p.field for p in unsigned.problems] == ["authority_statement", "signature"]
    assert evaluate_notice(us, dmca_facts(right_type="trade_secret")).outcome == "reject"
    assert evaluate_notice(us, dmca_facts(listing_count=301)).problems[0].field == "listings"


def test_hits_are_stable_records() -> None:
    result = evaluate_notice(PRESETS["cn-ecl"], facts(has_agent=True, agent_authorized=True))
    assert [h.rule_id for h in result.hits] == [
        "notices.accepted_right_types",
        "notices.accepted_jurisdictions",
        "notices.verified_right_required",
        "rights.legal_status",
        "rights.valid_until",
        "notices.max_listings_per_notice",
        "notices.listings_present",
        "notices.required_fields",
        "notices.required_evidence.patent",
        "notices.agent_authorization",
        "notices.review_mode",
    ]
    again = evaluate_notice(PRESETS["cn-ecl"], facts(has_agent=True, agent_authorized=True))
    assert again == result
    with pytest.raises(TypeError):
        result.hits[0].inputs["right_type"] = "x"  # type: ignore[index]
    json.dumps([dict(h.inputs) for h in result.hits], default=str)


def test_compiled_policy_is_cached_per_policy_object() -> None:
    policy = PRESETS["eu-dsa"]
    assert compile_policy(policy) is compile_policy(policy)
    copy_ = policy.model_copy(update={"regime": policy.regime})
    assert compile_policy(copy_) is not compile_policy(policy)
    assert evaluate_notice(compile_policy(policy), dsa_facts()) == evaluate_notice(policy, dsa_facts())


@settings(max_examples=300, deadline=None)
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    right_type=st.sampled_from(["trademark", "patent", "design", "copyright", "trade_secret", "x"]),
    legal=st.sampled_from(["active", "expired", "invalidation_pending", "invalidated"]),
    verification=st.sampled_from(["unverified", "verified", "rejected"]),
    fields=st.frozensets(st.sampled_from(sorted(DMCA_FIELDS | CN_FIELDS))),
    evidence=st.frozensets(st.sampled_from(sorted(CN_PATENT_EVIDENCE | {"screenshot"}))),
    count=st.integers(0, 1200),
    has_agent=st.booleans(),
    authorized=st.booleans(),
    trusted=st.booleans(),
)
def test_outcome_agrees_with_problems(
    preset: str,
    right_type: str,
    legal: str,
    verification: str,
    fields: frozenset[str],
    evidence: frozenset[str],
    count: int,
    has_agent: bool,
    authorized: bool,
    trusted: bool,
) -> None:
    result = evaluate_notice(
        PRESETS[preset],
        facts(
            right_type=right_type,
            right_legal_status=legal,
            right_verification_status=verification,
            present_fields=fields,
            evidence_kinds=evidence,
            listing_count=count,
            has_agent=has_agent,
            agent_authorized=authorized,
            notifier_trusted=trusted,
        ),
    )
    failed = [h for h in result.hits if not h.passed and h.rule_id != "notices.review_mode"]
    assert (result.outcome in ("review", "auto_accept")) == (not result.problems) == (not failed)
    assert (result.measure is None) == (result.outcome == "reject")
    assert (result.clarification_days is not None) == (result.outcome == "incomplete")


# ----- declaration evaluation ------------------------------------------------------------------


def test_cn_declaration() -> None:
    cn = PRESETS["cn-ecl"]
    fields = frozenset({"merchant_identity", "explanation", "accuracy_statement"})
    ok = evaluate_declaration(cn, fields, frozenset({"purchase_invoice"}))
    assert ok.outcome == "accept_for_review"
    assert ok.problems == ()
    assert ok.review_required
    assert not ok.immediate_restore
    missing = evaluate_declaration(cn, fields - {"merchant_identity"}, frozenset())
    assert missing.outcome == "incomplete"
    assert [p.field for p in missing.problems] == ["merchant_identity", "evidence"]


def test_dmca_counter_notice_and_immediate_restore() -> None:
    us = PRESETS["us-dmca"]
    result = evaluate_declaration(us, frozenset({"signature"}), frozenset())
    assert result.outcome == "incomplete"
    assert "consent_to_jurisdiction" in [p.field for p in result.problems]
    policy = parse_policy(doc("cn-ecl", declarations__immediate_restore=["copyright"]))
    fields = frozenset({"merchant_identity", "explanation", "accuracy_statement"})
    restore = evaluate_declaration(policy, fields, frozenset({"authorization_letter"}), right_type="copyright")
    assert restore.immediate_restore
    assert not evaluate_declaration(
        policy, fields, frozenset({"authorization_letter"}), right_type="patent"
    ).immediate_restore


def test_declarations_not_allowed_rejects() -> None:
    policy = parse_policy(doc("cn-ecl", regime="custom", declarations__allowed=False))
    result = evaluate_declaration(policy, frozenset(), frozenset())
    assert result.outcome == "reject"
    assert result.problems[0].code == "not_accepted"


# ----- published JSON Schema -------------------------------------------------------------------


def test_json_schema_shape() -> None:
    schema = policy_json_schema()
    assert schema["$id"] == POLICY_SCHEMA_ID
    assert schema["title"] == "Noticehub tenant policy"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"regime", "notices", "declarations", "retention"}


def test_committed_json_schema_has_not_drifted() -> None:
    assert SCHEMA_PATH.exists(), "run: .venv/bin/python -m tests.unit.test_policy"
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_policy_schema(), (
        "schema/policy.schema.json is out of date with domain/policy.py; if the change is deliberate, "
        "regenerate it with: .venv/bin/python -m tests.unit.test_policy"
    )


if __name__ == "__main__":
    write_policy_schema()
    print(f"wrote {SCHEMA_PATH}")


def test_values_must_have_the_schema_types() -> None:
    """What the published JSON Schema refuses, parsing refuses: no string or boolean taken for a number."""
    assert problems_of(doc("cn-ecl", retention__keep_years="3", trust__min_notices=True,
                           disclosure__publish_notices="yes")) == {
        "retention.keep_years": "invalid",
        "trust.min_notices": "invalid",
        "disclosure.publish_notices": "invalid",
    }


def test_integers_are_bounded_so_every_document_can_be_stored() -> None:
    """An integer beyond 64 bits passed validation and then failed to be stored ("Unexpected error.")."""
    huge = 10 ** 20
    problems = problems_of(doc("cn-ecl", suspension__abusive_notifier__min_notices=huge,
                               suspension__repeat_infringer__strikes=huge))
    assert set(problems) == {"suspension.abusive_notifier.min_notices", "suspension.repeat_infringer.strikes"}
