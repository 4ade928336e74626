"""DSA statements of reasons: mapping to the TDB v2 schema and the TDB's validation rules."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidInput
from domain.policy import MeasureType
from domain.reference import RightType
from domain.statements_of_reasons import (
    BATCH,
    EEA_COUNTRY_CODES,
    EMITTED_FIELDS,
    KEYWORD_BY_RIGHT_TYPE,
    KEYWORDS,
    MAX_BATCH,
    MEASURE_MAPPING,
    TDB_FIELDS,
    AccountRestriction,
    Automation,
    Restriction,
    RestrictionFacts,
    Source,
    needs_statement,
    to_statement,
    validate_batch,
    validate_statement,
)

DECISION_ID = UUID("0190f3a2-7b1c-7d4e-8f00-1234567890ab")

# the IP keywords legal-rules.md §2.3 lists
IP_KEYWORDS = {
    "KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_DESIGN_INFRINGEMENT", "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
}


def facts(**changes: Any) -> RestrictionFacts:
    base = RestrictionFacts(
        decision_id=DECISION_ID,
        measures=(MeasureType.REMOVE,),
        right_type=RightType.TRADEMARK,
        source=Source.ARTICLE_16,
        automated_detection=False,
        automated_decision=False,
        content_date=date(2025, 3, 1),
        application_date=date(2025, 7, 2),
        decision_facts="Listing offered handbags bearing a sign identical to the registered mark; "
                       "the notifier supplied a test purchase.",
    )
    return replace(base, **changes)


def statement(**changes: Any) -> dict[str, object]:
    """A valid statement with top-level changes; a value of ... deletes the key."""
    stmt = to_statement(facts(end_date=date(2025, 8, 1)))
    for key, value in changes.items():
        if value is ...:
            stmt.pop(key, None)
        else:
            stmt[key] = value
    return stmt


def fields_and_codes(stmt: dict[str, object]) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in validate_statement(stmt)}


# ----- mapping: measures -----------------------------------------------------------------------

MEASURE_TABLE: list[tuple[Restriction, str, str, str]] = [
    (MeasureType.REMOVE, "decision_visibility", "DECISION_VISIBILITY_CONTENT_REMOVED",
     "end_date_visibility_restriction"),
    (MeasureType.BLOCK, "decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED",
     "end_date_visibility_restriction"),
    (MeasureType.DISCONNECT_LINK, "decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED",
     "end_date_visibility_restriction"),
    (MeasureType.RESTRICT_REGION, "decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED",
     "end_date_visibility_restriction"),
    (MeasureType.DEMOTE, "decision_visibility", "DECISION_VISIBILITY_CONTENT_DEMOTED",
     "end_date_visibility_restriction"),
    (MeasureType.TERMINATE_TRANSACTIONS, "decision_provision", "DECISION_PROVISION_PARTIAL_TERMINATION",
     "end_date_service_restriction"),
    (AccountRestriction.SUSPEND, "decision_account", "DECISION_ACCOUNT_SUSPENDED", "end_date_account_restriction"),
    (AccountRestriction.TERMINATE, "decision_account", "DECISION_ACCOUNT_TERMINATED",
     "end_date_account_restriction"),
]


def test_every_restriction_has_a_mapping_row() -> None:
    assert set(MEASURE_MAPPING) == set(MeasureType) | set(AccountRestriction)
    assert {row[0] for row in MEASURE_TABLE} | {MeasureType.WARN} == set(MEASURE_MAPPING)


@pytest.mark.parametrize(("measure", "field", "value", "end_field"), MEASURE_TABLE)
def test_measure_maps_to_decision_field(measure: Restriction, field: str, value: str, end_field: str) -> None:
    scope = ("DE",) if measure is MeasureType.RESTRICT_REGION else ()
    stmt = to_statement(facts(measures=(measure,), territorial_scope=scope))
    expected: object = [value] if field == "decision_visibility" else value
    assert stmt[field] == expected
    decision_fields = {"decision_visibility", "decision_monetary", "decision_provision", "decision_account"}
    assert decision_fields & set(stmt) == {field}
    assert not any(k.startswith("end_date_") for k in stmt)  # not lifted: indefinite

    lifted = to_statement(facts(measures=(measure,), territorial_scope=scope, end_date=date(2025, 7, 20)))
    assert lifted[end_field] == "2025-07-20"
    assert [k for k in lifted if k.startswith("end_date_")] == [end_field]
    assert validate_statement(lifted) == ()


def test_warn_alone_needs_no_statement() -> None:
    warn = facts(measures=(MeasureType.WARN,))
    assert not needs_statement(warn)
    with pytest.raises(InvalidInput) as exc:
        to_statement(warn)
    assert [(p.field, p.code) for p in exc.value.problems] == [("measures", "not_reportable")]


def test_no_measures_needs_no_statement() -> None:
    assert not needs_statement(facts(measures=()))


def test_measures_of_one_decision_are_merged_into_one_statement() -> None:
    stmt = to_statement(facts(
        measures=(MeasureType.DEMOTE, MeasureType.WARN, MeasureType.REMOVE, MeasureType.BLOCK,
                  MeasureType.DISCONNECT_LINK, MeasureType.TERMINATE_TRANSACTIONS, AccountRestriction.SUSPEND),
        end_date=date(2025, 7, 9),
    ))
    assert stmt["decision_visibility"] == [  # deduplicated, in the schema's order
        "DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
    ]
    assert stmt["decision_provision"] == "DECISION_PROVISION_PARTIAL_TERMINATION"
    assert stmt["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert stmt["end_date_visibility_restriction"] == stmt["end_date_service_restriction"] == \
        stmt["end_date_account_restriction"] == "2025-07-09"
    assert stmt["puid"] == str(DECISION_ID)
    assert "warning" not in str(stmt["illegal_content_explanation"])
    assert validate_statement(stmt) == ()


def test_conflicting_single_valued_restrictions_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        to_statement(facts(measures=(AccountRestriction.SUSPEND, AccountRestriction.TERMINATE)))
    assert exc.value.problems[0].field == "measures"
    assert exc.value.problems[0].code == "conflict"


# ----- mapping: right types, source, automation, scope, dates ----------------------------------


@pytest.mark.parametrize(("right_type", "keyword"), [
    (RightType.TRADEMARK, "KEYWORD_TRADEMARK_INFRINGEMENT"),
    (RightType.COPYRIGHT, "KEYWORD_COPYRIGHT_INFRINGEMENT"),
    (RightType.PATENT, "KEYWORD_PATENT_INFRINGEMENT"),
    (RightType.DESIGN, "KEYWORD_DESIGN_INFRINGEMENT"),
    (RightType.GEOGRAPHICAL_INDICATION, "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT"),
    (RightType.TRADE_SECRET, "KEYWORD_TRADE_SECRET_INFRINGEMENT"),
])
def test_right_type_maps_to_ip_keyword(right_type: RightType, keyword: str) -> None:
    stmt = to_statement(facts(right_type=right_type))
    assert stmt["category"] == "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    assert stmt["category_specification"] == [keyword]
    assert "category_specification_other" not in stmt
    assert stmt["content_type"] == ["CONTENT_TYPE_PRODUCT"]
    assert stmt["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert stmt["illegal_content_legal_ground"] and stmt["illegal_content_explanation"]
    assert validate_statement(stmt) == ()


def test_every_right_type_has_a_keyword_listed_in_the_reference() -> None:
    assert set(KEYWORD_BY_RIGHT_TYPE) == set(RightType)
    assert set(KEYWORD_BY_RIGHT_TYPE.values()) == IP_KEYWORDS
    assert IP_KEYWORDS <= set(KEYWORDS)


@pytest.mark.parametrize("source", list(Source))
def test_source_type(source: Source) -> None:
    assert to_statement(facts(source=source))["source_type"] == source.value


@pytest.mark.parametrize(("detection", "decision", "expected_detection", "expected_decision"), [
    (False, False, "No", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    (True, True, "Yes", "AUTOMATED_DECISION_FULLY"),
    (True, Automation.PARTIALLY, "Yes", "AUTOMATED_DECISION_PARTIALLY"),
    (False, Automation.FULLY, "No", "AUTOMATED_DECISION_FULLY"),
])
def test_automation(detection: bool, decision: bool | Automation, expected_detection: str,
                    expected_decision: str) -> None:
    stmt = to_statement(facts(automated_detection=detection, automated_decision=decision))
    assert (stmt["automated_detection"], stmt["automated_decision"]) == (expected_detection, expected_decision)


def test_empty_scope_means_the_whole_eea() -> None:
    stmt = to_statement(facts(territorial_scope=()))
    assert stmt["territorial_scope"] == sorted(EEA_COUNTRY_CODES)
    assert len(EEA_COUNTRY_CODES) == 30


def test_scope_keeps_eea_codes_only() -> None:
    stmt = to_statement(facts(measures=(MeasureType.RESTRICT_REGION,), territorial_scope=("US", "fr", "EL", "DE", "CN")))
    assert stmt["territorial_scope"] == ["DE", "FR", "GR"]


def test_scope_outside_the_eea_needs_no_statement() -> None:
    outside = facts(measures=(MeasureType.RESTRICT_REGION,), territorial_scope=("CN", "US", "GB"))
    assert not needs_statement(outside)
    with pytest.raises(InvalidInput) as exc:
        to_statement(outside)
    assert exc.value.problems[0].field == "territorial_scope"


def test_datetimes_become_utc_dates() -> None:
    late_evening_beijing = datetime(2025, 7, 3, 1, 30, tzinfo=timezone(timedelta(hours=8)))
    stmt = to_statement(facts(application_date=late_evening_beijing,
                              content_date=datetime(2025, 3, 1, 23, 59, tzinfo=UTC)))
    assert stmt["application_date"] == "2025-07-02"
    assert stmt["content_date"] == "2025-03-01"


def test_overrides_and_reference_url() -> None:
    stmt = to_statement(facts(legal_ground="Art. 9 EUTMR", explanation="Identical sign, identical goods.",
                              reference_url="https://eur-lex.europa.eu/eli/reg/2017/1001/oj"))
    assert stmt["illegal_content_legal_ground"] == "Art. 9 EUTMR"
    assert stmt["illegal_content_explanation"] == "Identical sign, identical goods."
    assert stmt["decision_ground_reference_url"] == "https://eur-lex.europa.eu/eli/reg/2017/1001/oj"
    assert validate_statement(stmt) == ()


def test_every_combination_produces_a_valid_statement() -> None:
    reportable = [m for m, mapped in MEASURE_MAPPING.items() if mapped is not None]
    for measure, right, source, auto in itertools.product(reportable, RightType, Source, [True, False]):
        f = facts(measures=(measure,), right_type=right, source=source, automated_decision=auto,
                  automated_detection=auto, territorial_scope=("IT",), end_date=date(2025, 9, 1))
        stmt = to_statement(f)
        assert validate_statement(stmt) == (), (measure, right, source)
        assert len(str(stmt["illegal_content_explanation"])) <= 2000
        assert len(str(stmt["illegal_content_legal_ground"])) <= 500


# ----- no personal data ------------------------------------------------------------------------


def test_output_keys_are_an_allow_list() -> None:
    assert EMITTED_FIELDS <= TDB_FIELDS
    assert not EMITTED_FIELDS & {"source_identity", "account_type", "content_language", "content_id"}
    everything = to_statement(facts(
        measures=(MeasureType.REMOVE, MeasureType.TERMINATE_TRANSACTIONS, AccountRestriction.TERMINATE),
        end_date=date(2025, 8, 1), reference_url="https://example.eu/terms#ip",
    ))
    assert set(everything) <= EMITTED_FIELDS
    minimal = to_statement(facts())
    assert set(minimal) <= EMITTED_FIELDS
    assert "source_identity" not in minimal


def test_generated_texts_depend_on_enums_only() -> None:
    """The legal ground and explanation never echo decision-specific (possibly personal) data."""
    one = to_statement(facts(source=Source.TRUSTED_FLAGGER))
    other = to_statement(facts(source=Source.TRUSTED_FLAGGER, decision_id="other-decision",
                               decision_facts="Seller Zhang San, zhang@example.com", content_date=date(2024, 1, 1),
                               application_date=date(2024, 2, 2), territorial_scope=("DE",)))
    for key in ("illegal_content_legal_ground", "illegal_content_explanation"):
        assert one[key] == other[key]
        assert "@" not in str(one[key])


# ----- validation: a full valid statement ------------------------------------------------------


def test_full_valid_statement_passes() -> None:
    stmt = statement()
    assert stmt["end_date_visibility_restriction"] == "2025-08-01"
    assert validate_statement(stmt) == ()


def test_valid_statement_with_optional_fields_passes() -> None:
    stmt = statement(
        decision_visibility=["DECISION_VISIBILITY_OTHER"], decision_visibility_other="Listing hidden from search",
        decision_monetary="DECISION_MONETARY_OTHER", decision_monetary_other="Payout held",
        account_type="ACCOUNT_TYPE_BUSINESS", content_language="EN", content_id={"EAN-13": "4006381333931"},
        category_addition=["STATEMENT_CATEGORY_SCAMS_AND_FRAUD"],
        category_specification=["KEYWORD_OTHER", "KEYWORD_INAUTHENTIC_LISTINGS"],
        category_specification_other="Counterfeit",
        content_type=["CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_OTHER"], content_type_other="Listing",
        territorial_scope=None, source_identity="Rights holder association",
    )
    assert validate_statement(stmt) == ()


def test_incompatible_ground_needs_its_own_fields() -> None:
    stmt = statement(decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT")
    assert fields_and_codes(stmt) == {
        ("incompatible_content_ground", "required"), ("incompatible_content_explanation", "required"),
    }
    stmt.update(incompatible_content_ground="T&C 4.2", incompatible_content_explanation="Counterfeit goods banned",
                incompatible_content_illegal="Yes")
    assert validate_statement(stmt) == ()  # the illegal_* fields are ignored for this ground


# ----- validation: each rule fails with its path -----------------------------------------------

REQUIRED = ["decision_ground", "content_type", "category", "content_date", "application_date", "decision_facts",
            "source_type", "automated_detection", "automated_decision", "puid", "illegal_content_legal_ground",
            "illegal_content_explanation"]


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("missing", [..., None, "", "   "])
def test_required_field(name: str, missing: object) -> None:
    stmt = statement(**{name: missing})
    if name == "content_type" and missing in ("", "   "):
        return  # a string is not an array; covered below
    assert (name, "required") in fields_and_codes(stmt)


def test_at_least_one_restriction() -> None:
    stmt = statement(decision_visibility=...)
    assert fields_and_codes(stmt) == {("decision_visibility", "required")}
    assert fields_and_codes(statement(decision_visibility=[])) == {("decision_visibility", "required")}
    assert validate_statement(statement(decision_visibility=..., decision_account="DECISION_ACCOUNT_SUSPENDED")) \
        == ()


BAD = "x" * 501


@pytest.mark.parametrize(("changes", "field", "code"), [
    # enums
    ({"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED", "REMOVED"]}, "decision_visibility.1", "invalid"),
    ({"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"}, "decision_visibility", "invalid"),
    ({"decision_monetary": "DECISION_MONETARY_FINE"}, "decision_monetary", "invalid"),
    ({"decision_provision": "DECISION_PROVISION_SUSPENSION"}, "decision_provision", "invalid"),
    ({"decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account", "invalid"),
    ({"account_type": "ACCOUNT_TYPE_TRADER"}, "account_type", "invalid"),
    ({"decision_ground": "DECISION_GROUND_IP"}, "decision_ground", "invalid"),
    ({"content_type": ["CONTENT_TYPE_LISTING"]}, "content_type.0", "invalid"),
    ({"content_type": "CONTENT_TYPE_PRODUCT"}, "content_type", "invalid"),
    ({"category": "STATEMENT_CATEGORY_COUNTERFEIT"}, "category", "invalid"),
    ({"category_addition": ["STATEMENT_CATEGORY_VIOLENCE", "IP"]}, "category_addition.1", "invalid"),
    ({"category_specification": ["KEYWORD_COUNTERFEIT"]}, "category_specification.0", "invalid"),
    ({"source_type": "SOURCE_NOTICE"}, "source_type", "invalid"),
    ({"automated_detection": "yes"}, "automated_detection", "invalid"),
    ({"automated_detection": True}, "automated_detection", "invalid"),
    ({"automated_decision": "Yes"}, "automated_decision", "invalid"),
    # conditional requirements
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other", "required"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"], "decision_visibility_other": BAD},
     "decision_visibility_other", "too_long"),
    ({"decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other", "required"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other", "required"),
    ({"category_specification": ["KEYWORD_OTHER"]}, "category_specification_other", "required"),
    ({"category_specification": ["KEYWORD_OTHER"], "category_specification_other": BAD},
     "category_specification_other", "too_long"),
    ({"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT", "incompatible_content_ground": "T&C",
      "incompatible_content_explanation": "x", "incompatible_content_illegal": "Maybe"},
     "incompatible_content_illegal", "invalid"),
    # lengths
    ({"illegal_content_legal_ground": BAD}, "illegal_content_legal_ground", "too_long"),
    ({"illegal_content_explanation": "x" * 2001}, "illegal_content_explanation", "too_long"),
    ({"decision_facts": "x" * 5001}, "decision_facts", "too_long"),
    ({"decision_facts": 42}, "decision_facts", "invalid"),
    ({"source_identity": BAD}, "source_identity", "too_long"),
    ({"decision_ground_reference_url": "ftp://example.eu/law"}, "decision_ground_reference_url", "invalid"),
    ({"decision_ground_reference_url": "https://example.eu/" + "a" * 500}, "decision_ground_reference_url",
     "too_long"),
    # territory, language, product id
    ({"territorial_scope": ["DE", "US"]}, "territorial_scope.1", "invalid"),
    ({"territorial_scope": ["EL"]}, "territorial_scope.0", "invalid"),
    ({"territorial_scope": "DE"}, "territorial_scope", "invalid"),
    ({"content_language": "en"}, "content_language", "invalid"),
    ({"content_id": {"EAN-13": "12345"}}, "content_id.EAN-13", "invalid"),
    ({"content_id": {"SKU": "A-1"}}, "content_id.SKU", "unknown"),
    ({"content_id": "4006381333931"}, "content_id", "invalid"),
    # dates: format, bounds, ordering
    ({"content_date": "2025/03/01"}, "content_date", "invalid"),
    ({"content_date": "2025-3-1"}, "content_date", "invalid"),
    ({"content_date": "2025-02-30"}, "content_date", "invalid"),
    ({"content_date": "2025-03-01T10:00:00"}, "content_date", "invalid"),
    ({"content_date": "1999-12-31"}, "content_date", "out_of_range"),
    ({"application_date": "2019-12-31", "content_date": "2019-01-01"}, "application_date", "out_of_range"),
    ({"application_date": "2038-01-02"}, "application_date", "out_of_range"),
    ({"application_date": "2025-02-28"}, "application_date", "order"),
    ({"end_date_visibility_restriction": "2025-07-01"}, "end_date_visibility_restriction", "order"),
    ({"end_date_visibility_restriction": "01-08-2025"}, "end_date_visibility_restriction", "invalid"),
    ({"end_date_account_restriction": "2038-01-02", "decision_account": "DECISION_ACCOUNT_SUSPENDED"},
     "end_date_account_restriction", "out_of_range"),
    ({"end_date_service_restriction": "2025-07-01", "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION"},
     "end_date_service_restriction", "order"),
    # puid
    ({"puid": "decision 1"}, "puid", "invalid"),
    ({"puid": "tenant/decision"}, "puid", "invalid"),
    ({"puid": "abc\n"}, "puid", "invalid"),
    ({"puid": "é"}, "puid", "invalid"),
    ({"puid": "a" * 501}, "puid", "too_long"),
    ({"puid": 12345}, "puid", "invalid"),
    # the allow-list
    ({"merchant_email": "seller@example.com"}, "merchant_email", "unknown"),
    ({"url": "https://shop.example/item/1"}, "url", "unknown"),
])
def test_rule_violation_reports_its_path(changes: dict[str, object], field: str, code: str) -> None:
    problems = validate_statement(statement(**changes))
    assert (field, code) in {(p.field, p.code) for p in problems}, problems
    assert all(p.message for p in problems)


def test_boundary_values_pass() -> None:
    stmt = statement(
        puid="A" * 500, decision_facts="x" * 5000, illegal_content_legal_ground="x" * 500,
        illegal_content_explanation="x" * 2000, content_date="2000-01-01", application_date="2020-01-01",
        end_date_visibility_restriction="2020-01-01",
    )
    assert validate_statement(stmt) == ()
    assert validate_statement(statement(puid="a-B_9")) == ()
    assert validate_statement(statement(content_date="2038-01-01", application_date="2038-01-01",
                                        end_date_visibility_restriction="2038-01-01")) == ()


def test_not_an_object() -> None:
    assert [(p.field, p.code) for p in validate_statement(["puid"])] == [("", "invalid")]  # type: ignore[arg-type]


def test_all_problems_at_once() -> None:
    stmt = statement(puid="bad puid", category="X", decision_facts=..., merchant_phone="+86 138 0013 8000")
    assert {p.field for p in validate_statement(stmt)} == {"puid", "category", "decision_facts", "merchant_phone"}


# ----- batches ---------------------------------------------------------------------------------


def batch(n: int) -> list[dict[str, object]]:
    return [statement(puid=f"decision-{i}") for i in range(n)]


def test_batch_of_100_valid_statements_passes() -> None:
    assert validate_batch(batch(MAX_BATCH)) == {}


def test_batch_of_101_is_rejected() -> None:
    result = validate_batch(batch(MAX_BATCH + 1))
    assert list(result) == [BATCH]
    assert [(p.field, p.code) for p in result[BATCH]] == [("statements", "too_many")]


def test_empty_batch_is_rejected() -> None:
    assert [(p.field, p.code) for p in validate_batch([])[BATCH]] == [("statements", "required")]


def test_duplicate_puid_in_batch_is_flagged_at_the_later_statement() -> None:
    items = batch(5)
    items[3]["puid"] = "decision-1"
    items[4]["puid"] = "decision-1"
    result = validate_batch(items)
    assert set(result) == {3, 4}
    for i in (3, 4):
        assert [(p.field, p.code) for p in result[i]] == [("puid", "duplicate")]
        assert "statement 1" in result[i][0].message


def test_batch_reports_each_bad_statement_by_index() -> None:
    items = batch(4)
    items[2]["automated_detection"] = "maybe"
    items[0].pop("decision_facts")
    result = validate_batch(items)
    assert set(result) == {0, 2}
    assert [p.field for p in result[0]] == ["decision_facts"]
    assert [p.field for p in result[2]] == ["automated_detection"]


def test_batch_with_a_non_object_item() -> None:
    items: list[Any] = [*batch(2), "not a statement"]
    assert set(validate_batch(items)) == {2}
