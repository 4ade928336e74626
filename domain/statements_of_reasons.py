"""DSA statements of reasons (Art 17, Art 24(5)): restriction facts -> a DSA Transparency Database v2
statement, and the database's validation rules as the single local source of truth.

Sources: ../shared/reference/legal-rules.md §2.3 (fields, enums, limits) and peers.md §1 (batch API,
puid uniqueness). Enumerations that §2.3 only summarises (the 16 categories, the v2 keywords) are
completed from the TDB v2 schema.

One statement per restriction **decision**, never per measure: `puid` is the decision id and the TDB
rejects a reused puid, so every measure a decision applies goes into that decision's one statement
(`decision_visibility` is an array; the other decision_* fields take one value each).

Mapping of our measures (`MEASURE_MAPPING`):

    measure / restriction    TDB field            value                                   end date field (*)
    remove                   decision_visibility  DECISION_VISIBILITY_CONTENT_REMOVED     ..._visibility_restriction
    block                    decision_visibility  DECISION_VISIBILITY_CONTENT_DISABLED    ..._visibility_restriction
    disconnect_link          decision_visibility  DECISION_VISIBILITY_CONTENT_DISABLED    ..._visibility_restriction
    restrict_region          decision_visibility  DECISION_VISIBILITY_CONTENT_DISABLED    ..._visibility_restriction
                             (the region goes to territorial_scope)
    demote                   decision_visibility  DECISION_VISIBILITY_CONTENT_DEMOTED     ..._visibility_restriction
    terminate_transactions   decision_provision   DECISION_PROVISION_PARTIAL_TERMINATION  ..._service_restriction
                             (the listing stays visible but can no longer be bought: part of the
                             service to the merchant ends; a later lift is the end date)
    warn                     none: a warning restricts nothing, so Art 17 asks for no statement
    account_suspend          decision_account     DECISION_ACCOUNT_SUSPENDED              ..._account_restriction
    account_terminate        decision_account     DECISION_ACCOUNT_TERMINATED             ..._account_restriction

    (*) end_date_visibility_restriction etc., set to `end_date` (lifted, or a planned end) when known.

Right type -> `category_specification` (`KEYWORD_BY_RIGHT_TYPE`); every right type has its own keyword
in §2.3, so KEYWORD_OTHER is never needed. `category` is always
STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS, `content_type` [CONTENT_TYPE_PRODUCT],
`decision_ground` DECISION_GROUND_ILLEGAL_CONTENT.

Territorial scope: our measures carry ISO codes, empty meaning "everywhere". The TDB docs call
`territorial_scope` required (its validator accepts null), so it is always sent: everywhere -> all 30
EEA codes (the TDB shows that list as "European Economic Area"); otherwise the EEA codes of the scope
(EL is accepted for Greece and sent as GR). A scope with no EEA country has no effect in the EEA:
no statement is due (`needs_statement` is False, `to_statement` raises).

No personal data: the statement has a fixed set of keys (`EMITTED_FIELDS`); `source_identity`,
`account_type`, `content_language` and `content_id` are never sent, the legal ground and explanation
are generated from enums (unless the caller overrides them), and `decision_facts` must be redacted
by the caller.

`validate_statement` applies the TDB's rules plus two local ones, reported with their own codes:
unknown keys (`unknown`: the TDB drops them silently; we refuse, as the allow-list guard) and date
ordering (`order`: application_date >= content_date, end dates >= application_date; the TDB itself
only bounds each date). Text fields must be JSON strings (Laravel would also take numbers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit
from uuid import UUID

from domain.errors import FieldProblem, InvalidInput
from domain.policy import MeasureType
from domain.reference import RightType

__all__ = [
    "AUTOMATED_DECISIONS",
    "BATCH",
    "CATEGORIES",
    "CONTENT_TYPES",
    "DECISION_ACCOUNTS",
    "DECISION_GROUNDS",
    "DECISION_MONETARIES",
    "DECISION_PROVISIONS",
    "DECISION_VISIBILITIES",
    "EEA_COUNTRY_CODES",
    "EMITTED_FIELDS",
    "KEYWORDS",
    "KEYWORD_BY_RIGHT_TYPE",
    "MAX_BATCH",
    "MEASURE_MAPPING",
    "SOURCE_TYPES",
    "TDB_FIELDS",
    "AccountRestriction",
    "Automation",
    "Restriction",
    "RestrictionFacts",
    "Source",
    "needs_statement",
    "to_statement",
    "validate_batch",
    "validate_statement",
]


# ----- vocabularies (TDB v2) -------------------------------------------------------------------

DECISION_VISIBILITIES: Final = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARIES: Final = (
    "DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER",
)
DECISION_PROVISIONS: Final = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNTS: Final = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES: Final = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
DECISION_GROUNDS: Final = ("DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT")
CONTENT_TYPES: Final = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)
CATEGORIES: Final = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
KEYWORDS: Final = (
    # animal welfare
    "KEYWORD_ANIMAL_HARM", "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    # consumer information
    "KEYWORD_HIDDEN_ADVERTISEMENT", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS", "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    # cyber violence
    "KEYWORD_CYBER_BULLYING_INTIMIDATION", "KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    # cyber violence against women
    "KEYWORD_BULLYING_AGAINST_GIRLS", "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN", "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    # data protection and privacy
    "KEYWORD_BIOMETRIC_DATA_BREACH", "KEYWORD_MISSING_PROCESSING_GROUND", "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_DATA_FALSIFICATION",
    # illegal or harmful speech
    "KEYWORD_DEFAMATION", "KEYWORD_DISCRIMINATION", "KEYWORD_HATE_SPEECH",
    # intellectual property (the ones this module emits)
    "KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_DESIGN_INFRINGEMENT", "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
    # civic discourse or elections
    "KEYWORD_MISINFORMATION_DISINFORMATION", "KEYWORD_VIOLATION_EU_LAW", "KEYWORD_VIOLATION_NATIONAL_LAW",
    # non-consensual behaviour, sexualised content
    "KEYWORD_ONLINE_BULLYING_INTIMIDATION", "KEYWORD_STALKING", "KEYWORD_ADULT_SEXUAL_MATERIAL",
    # protection of minors
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_UNSAFE_CHALLENGES",
    # risk for public security
    "KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE", "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_TERRORIST_CONTENT",
    # scams and fraud
    "KEYWORD_INAUTHENTIC_ACCOUNTS", "KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_PHISHING", "KEYWORD_PYRAMID_SCHEMES",
    # self-harm
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS", "KEYWORD_SELF_MUTILATION", "KEYWORD_SUICIDE",
    # scope of platform service / other violation of T&C
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS", "KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_NUDITY",
    # unsafe and prohibited products
    "KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_UNSAFE_PRODUCTS",
    # violence
    "KEYWORD_COORDINATED_HARM", "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED", "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_OTHER",
)
SOURCE_TYPES: Final = (
    "SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY",
)
YES_NO: Final = ("Yes", "No")
AUTOMATED_DECISIONS: Final = (
    "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED",
)
EEA_COUNTRY_CODES: Final = (  # the TDB's list: EU-27 plus IS, LI, NO; Greece is GR
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI",
    "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)

END_DATE_FIELDS: Final[Mapping[str, str]] = {
    "decision_visibility": "end_date_visibility_restriction",
    "decision_monetary": "end_date_monetary_restriction",
    "decision_provision": "end_date_service_restriction",
    "decision_account": "end_date_account_restriction",
}

TDB_FIELDS: Final = frozenset({
    "decision_visibility", "decision_visibility_other", "decision_monetary", "decision_monetary_other",
    "decision_provision", "decision_account", "account_type", "decision_ground", "decision_ground_reference_url",
    "illegal_content_legal_ground", "illegal_content_explanation", "incompatible_content_ground",
    "incompatible_content_explanation", "incompatible_content_illegal", "content_type", "content_type_other",
    "category", "category_addition", "category_specification", "category_specification_other",
    "territorial_scope", "content_language", "content_date", "application_date", *END_DATE_FIELDS.values(),
    "decision_facts", "source_type", "source_identity", "automated_detection", "automated_decision",
    "content_id", "puid",
})
"""Every field of the TDB v2 statement; anything else is refused (`unknown`)."""

EMITTED_FIELDS: Final = frozenset({
    "decision_visibility", "decision_provision", "decision_account", "end_date_visibility_restriction",
    "end_date_service_restriction", "end_date_account_restriction", "decision_ground",
    "decision_ground_reference_url", "illegal_content_legal_ground", "illegal_content_explanation",
    "content_type", "category", "category_specification", "territorial_scope", "content_date",
    "application_date", "decision_facts", "source_type", "automated_detection", "automated_decision", "puid",
})
"""The only keys `to_statement` can produce (no notifier identity, no account or language details)."""

MAX_BATCH: Final = 100
BATCH: Final = -1
"""Key of `validate_batch`'s result for problems of the batch itself (empty, too many statements)."""

_IP_CATEGORY = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


# ----- facts -----------------------------------------------------------------------------------


class AccountRestriction(StrEnum):
    """Restrictions of the merchant's account (repeat infringers); not listing measures."""

    SUSPEND = "account_suspend"
    TERMINATE = "account_terminate"


Restriction = MeasureType | AccountRestriction


class Source(StrEnum):
    """What led to the decision (Art 17(3)(b)).

    TRUSTED_FLAGGER only for an entity with Art 22 status awarded by a Digital Services Coordinator;
    a notifier in the platform's own trusted-notifier programme (`Notice.trusted`) is ARTICLE_16.
    The TDB had to correct a platform's mislabelled trusted-flagger statements (legal-rules §2.3).
    """

    ARTICLE_16 = "SOURCE_ARTICLE_16"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
    VOLUNTARY = "SOURCE_VOLUNTARY"


class Automation(StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


@dataclass(frozen=True, slots=True)
class RestrictionFacts:
    """What one restriction decision did, in our vocabulary, free of personal data.

    - `decision_id`: the decision's id, sent as `puid` (never reused, so one statement per decision).
    - `measures`: every restriction the decision applied (one listing's measures, or an account
      restriction); merged into the one statement.
    - `territorial_scope`: ISO 3166-1 alpha-2 codes where the measures apply; empty = everywhere.
      For several measures give the union, or empty if any of them applies everywhere.
    - `content_date`: when the listing was created (or, failing that, the notice date);
      `application_date`: when the measure was applied; `end_date`: when it was lifted or is set to
      end, if known when the statement is made (a TDB statement cannot be amended later).
      A `datetime` is reduced to its UTC date.
    - `automated_decision`: True = fully automated, False = not automated, or an `Automation`.
    - `decision_facts`: facts and circumstances, already redacted by the caller (<= 5000 characters).
    - `reference_url`: optional link to the law or terms relied on (`decision_ground_reference_url`);
      not the listing URL, which the v2 schema has no field for and which may identify the merchant.
    - `legal_ground` / `explanation`: override the texts generated from the right type.
    """

    decision_id: UUID | str
    measures: tuple[Restriction, ...]
    right_type: RightType
    source: Source
    automated_detection: bool
    automated_decision: bool | Automation
    content_date: date
    application_date: date
    decision_facts: str
    territorial_scope: tuple[str, ...] = ()
    end_date: date | None = None
    reference_url: str | None = None
    legal_ground: str | None = None
    explanation: str | None = None


# ----- mapping tables --------------------------------------------------------------------------

MEASURE_MAPPING: Final[Mapping[Restriction, tuple[str, str] | None]] = {
    MeasureType.REMOVE: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_REMOVED"),
    MeasureType.BLOCK: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED"),
    MeasureType.DISCONNECT_LINK: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED"),
    MeasureType.RESTRICT_REGION: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED"),
    MeasureType.DEMOTE: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_DEMOTED"),
    MeasureType.TERMINATE_TRANSACTIONS: ("decision_provision", "DECISION_PROVISION_PARTIAL_TERMINATION"),
    MeasureType.WARN: None,
    AccountRestriction.SUSPEND: ("decision_account", "DECISION_ACCOUNT_SUSPENDED"),
    AccountRestriction.TERMINATE: ("decision_account", "DECISION_ACCOUNT_TERMINATED"),
}
"""Measure -> (TDB decision field, value); None = not a restriction, no statement."""

KEYWORD_BY_RIGHT_TYPE: Final[Mapping[RightType, str]] = {
    RightType.TRADEMARK: "KEYWORD_TRADEMARK_INFRINGEMENT",
    RightType.COPYRIGHT: "KEYWORD_COPYRIGHT_INFRINGEMENT",
    RightType.PATENT: "KEYWORD_PATENT_INFRINGEMENT",
    RightType.DESIGN: "KEYWORD_DESIGN_INFRINGEMENT",
    RightType.GEOGRAPHICAL_INDICATION: "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    RightType.TRADE_SECRET: "KEYWORD_TRADE_SECRET_INFRINGEMENT",
}

_RIGHT_LABEL: Final[Mapping[RightType, str]] = {
    RightType.TRADEMARK: "trade mark",
    RightType.COPYRIGHT: "copyright",
    RightType.PATENT: "patent",
    RightType.DESIGN: "design right",
    RightType.GEOGRAPHICAL_INDICATION: "protected geographical indication",
    RightType.TRADE_SECRET: "trade secret",
}

_LEGAL_GROUND: Final[Mapping[RightType, str]] = {
    RightType.TRADEMARK: "Trade mark infringement: Regulation (EU) 2017/1001 (EU trade mark), "
    "Directive (EU) 2015/2436 and the national trade mark law of the Member States concerned.",
    RightType.COPYRIGHT: "Copyright infringement: Directive 2001/29/EC and the national copyright law "
    "of the Member States concerned.",
    RightType.PATENT: "Patent infringement: the national patent law of the Member States concerned "
    "and, for unitary patents, the Agreement on a Unified Patent Court.",
    RightType.DESIGN: "Design infringement: Regulation (EC) No 6/2002 (EU design), Directive 98/71/EC and "
    "the national design law of the Member States concerned.",
    RightType.GEOGRAPHICAL_INDICATION: "Infringement of a protected geographical indication: "
    "Regulation (EU) 2024/1143, Regulation (EU) 2023/2411 and national law.",
    RightType.TRADE_SECRET: "Infringement of a trade secret (infringing goods): Directive (EU) 2016/943 and "
    "the national law of the Member States concerned.",
}

_MEASURE_LABEL: Final[Mapping[Restriction, str]] = {
    MeasureType.REMOVE: "removal of the listing",
    MeasureType.BLOCK: "disabling access to the listing",
    MeasureType.DISCONNECT_LINK: "disconnecting the link to the listing",
    MeasureType.RESTRICT_REGION: "disabling access to the listing in the territories concerned",
    MeasureType.DEMOTE: "demotion of the listing",
    MeasureType.TERMINATE_TRANSACTIONS: "termination of transactions on the listing",
    MeasureType.WARN: "a warning to the merchant",
    AccountRestriction.SUSPEND: "suspension of the merchant account",
    AccountRestriction.TERMINATE: "termination of the merchant account",
}

_SOURCE_LABEL: Final[Mapping[Source, str]] = {
    Source.ARTICLE_16: "a notice submitted under Article 16 DSA",
    Source.TRUSTED_FLAGGER: "a notice submitted by a trusted flagger (Article 22 DSA)",
    Source.OTHER_NOTIFICATION: "a notification",
    Source.VOLUNTARY: "the platform's own initiative",
}

_AUTOMATION_LABEL: Final[Mapping[Automation, str]] = {
    Automation.FULLY: "taken by automated means",
    Automation.PARTIALLY: "taken with the help of automated means",
    Automation.NOT_AUTOMATED: "taken by a human reviewer",
}

_DECISION_FIELDS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
_SINGLE_VALUED = _DECISION_FIELDS[1:]
_COUNTRY_ALIASES: Final[Mapping[str, str]] = {"EL": "GR"}  # EU institutional code for Greece


# ----- facts -> statement ----------------------------------------------------------------------


def _automation(value: bool | Automation) -> Automation:
    if isinstance(value, Automation):
        return value
    return Automation.FULLY if value else Automation.NOT_AUTOMATED


def _day(value: date) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if value.tzinfo is not None else value.date()
    return value.isoformat()


def _eea_scope(scope: tuple[str, ...]) -> list[str]:
    if not scope:
        return list(EEA_COUNTRY_CODES)
    codes = {_COUNTRY_ALIASES.get(c.strip().upper(), c.strip().upper()) for c in scope}
    return sorted(codes & set(EEA_COUNTRY_CODES))


def _not_reportable(facts: RestrictionFacts) -> FieldProblem | None:
    if not any(MEASURE_MAPPING[m] for m in facts.measures):
        return FieldProblem("measures", "No restriction in the sense of Art 17 DSA (a warning or nothing); "
                            "no statement of reasons is due.", "not_reportable")
    if not _eea_scope(facts.territorial_scope):
        return FieldProblem("territorial_scope", "The measures apply outside the EEA only; "
                            "no statement of reasons is due.", "not_reportable")
    return None


def needs_statement(facts: RestrictionFacts) -> bool:
    """Whether the decision restricts anything in the EEA, i.e. whether Art 17 asks for a statement."""
    return _not_reportable(facts) is None


def to_statement(facts: RestrictionFacts) -> dict[str, object]:
    """The decision's statement of reasons in the TDB v2 field names and enums (JSON-ready values).

    Raises InvalidInput (`not_reportable`) when no statement is due (see `needs_statement`) and
    (`conflict`) when the measures need two values of a single-valued field (suspend and terminate
    the account at once). Everything else is left to `validate_statement`, the one rule set.
    """
    problem = _not_reportable(facts)
    if problem is not None:
        raise InvalidInput.from_problems([problem])

    visibility: set[str] = set()
    single: dict[str, str] = {}
    for measure in facts.measures:
        mapped = MEASURE_MAPPING[measure]
        if mapped is None:
            continue
        name, value = mapped
        if name == "decision_visibility":
            visibility.add(value)
        elif single.setdefault(name, value) != value:
            raise InvalidInput.from_problems([FieldProblem(
                "measures", f"One decision cannot be both {single[name]} and {value}.", "conflict")])

    end = _day(facts.end_date) if facts.end_date is not None else None
    automation = _automation(facts.automated_decision)
    stmt: dict[str, object] = {}
    if visibility:
        stmt["decision_visibility"] = [v for v in DECISION_VISIBILITIES if v in visibility]
        if end is not None:
            stmt[END_DATE_FIELDS["decision_visibility"]] = end
    for name in _SINGLE_VALUED:
        if name in single:
            stmt[name] = single[name]
            if end is not None:
                stmt[END_DATE_FIELDS[name]] = end

    restrictions = ", ".join(_MEASURE_LABEL[m] for m in dict.fromkeys(facts.measures) if MEASURE_MAPPING[m])
    explanation = facts.explanation if facts.explanation is not None else (
        f"The listing was considered to infringe a {_RIGHT_LABEL[facts.right_type]} protected in the "
        f"territories concerned. The decision follows {_SOURCE_LABEL[facts.source]} and was "
        f"{_AUTOMATION_LABEL[automation]}. Restriction applied: {restrictions}."
    )
    stmt["decision_ground"] = _ILLEGAL
    if facts.reference_url is not None:
        stmt["decision_ground_reference_url"] = facts.reference_url
    stmt["illegal_content_legal_ground"] = (
        facts.legal_ground if facts.legal_ground is not None else _LEGAL_GROUND[facts.right_type])
    stmt["illegal_content_explanation"] = explanation
    stmt["content_type"] = ["CONTENT_TYPE_PRODUCT"]
    stmt["category"] = _IP_CATEGORY
    stmt["category_specification"] = [KEYWORD_BY_RIGHT_TYPE[facts.right_type]]
    stmt["territorial_scope"] = _eea_scope(facts.territorial_scope)
    stmt["content_date"] = _day(facts.content_date)
    stmt["application_date"] = _day(facts.application_date)
    stmt["decision_facts"] = facts.decision_facts
    stmt["source_type"] = facts.source.value
    stmt["automated_detection"] = "Yes" if facts.automated_detection else "No"
    stmt["automated_decision"] = automation.value
    stmt["puid"] = str(facts.decision_id)
    return stmt


# ----- validation ------------------------------------------------------------------------------

_PUID = re.compile(r"[A-Za-z0-9_-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"[A-Z]{2}")
_EAN13 = re.compile(r"\d{13}")
_CONTENT_DATE_RANGE = (date(2000, 1, 1), date(2038, 1, 1))
_APPLICATION_DATE_RANGE = (date(2020, 1, 1), date(2038, 1, 1))
_END_DATE_RANGE = (date.min, date(2038, 1, 1))

_VISIBILITY_SET = frozenset(DECISION_VISIBILITIES)
_CONTENT_TYPE_SET = frozenset(CONTENT_TYPES)
_CATEGORY_SET = frozenset(CATEGORIES)
_KEYWORD_SET = frozenset(KEYWORDS)
_EEA_SET = frozenset(EEA_COUNTRY_CODES)


class _Check:
    """Laravel-like field rules over one decoded JSON statement, collecting FieldProblems."""

    def __init__(self, stmt: Mapping[str, object]) -> None:
        self.stmt = stmt
        self.problems: list[FieldProblem] = []

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.problems.append(FieldProblem(field, message, code))

    def present(self, name: str) -> bool:
        """Laravel's `required`: not null, not blank, not an empty array."""
        value = self.stmt.get(name)
        if value is None:
            return False
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, (list, tuple, Mapping)):
            return len(value) > 0
        return True

    def text(self, name: str, max_len: int, *, required: bool = False) -> str | None:
        if not self.present(name):
            if required:
                self.add(name, "Required.", "required")
            return None
        value = self.stmt[name]
        if not isinstance(value, str):
            self.add(name, "Must be a string.")
            return None
        if len(value) > max_len:
            self.add(name, f"At most {max_len} characters; got {len(value)}.", "too_long")
        return value

    def choice(self, name: str, allowed: Sequence[str] | frozenset[str], *, required: bool = False) -> str | None:
        if not self.present(name):
            if required:
                self.add(name, "Required.", "required")
            return None
        value = self.stmt[name]
        if not isinstance(value, str) or value not in allowed:
            self.add(name, f"Not an allowed value: {value!r}.")
            return None
        return value

    def choices(self, name: str, allowed: frozenset[str], *, required: bool = False) -> list[str]:
        if not self.present(name):
            if required:
                self.add(name, "Required.", "required")
            return []
        value = self.stmt[name]
        if not isinstance(value, list):
            self.add(name, "Must be an array.")
            return []
        good: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item in allowed:
                good.append(item)
            else:
                self.add(f"{name}.{i}", f"Not an allowed value: {item!r}.")
        return good

    def day(self, name: str, bounds: tuple[date, date], *, required: bool = False) -> date | None:
        if not self.present(name):
            if required:
                self.add(name, "Required.", "required")
            return None
        value = self.stmt[name]
        parsed: date | None = None
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.add(name, f"Must be a date in the format YYYY-MM-DD; got {value!r}.")
            return None
        low, high = bounds
        if not low <= parsed <= high:
            lower = f"on or after {low.isoformat()} and " if low > date.min else ""
            self.add(name, f"Must be {lower}on or before {high.isoformat()}.", "out_of_range")
            return None
        return parsed


def validate_statement(stmt: Mapping[str, object]) -> tuple[FieldProblem, ...]:
    """Every problem the TDB would report for this statement (plus the local `unknown` and `order`
    rules), with the TDB field name as the path (`decision_visibility.0` for array items)."""
    if not isinstance(stmt, Mapping):
        return (FieldProblem("", "A statement must be a JSON object."),)
    c = _Check(stmt)
    for key in stmt:
        if key not in TDB_FIELDS:
            c.add(str(key), "Not a field of the statement of reasons schema.", "unknown")

    # restrictions: at least one of the four
    visibility = c.choices("decision_visibility", _VISIBILITY_SET)
    if "DECISION_VISIBILITY_OTHER" in visibility:
        c.text("decision_visibility_other", 500, required=True)
    monetary = c.choice("decision_monetary", DECISION_MONETARIES)
    if monetary == "DECISION_MONETARY_OTHER":
        c.text("decision_monetary_other", 500, required=True)
    c.choice("decision_provision", DECISION_PROVISIONS)
    c.choice("decision_account", DECISION_ACCOUNTS)
    c.choice("account_type", ACCOUNT_TYPES)
    if not any(c.present(name) for name in _DECISION_FIELDS):
        c.add("decision_visibility", "Give at least one of decision_visibility, decision_monetary, "
              "decision_provision or decision_account.", "required")

    # ground
    ground = c.choice("decision_ground", DECISION_GROUNDS, required=True)
    if ground == _ILLEGAL:
        c.text("illegal_content_legal_ground", 500, required=True)
        c.text("illegal_content_explanation", 2000, required=True)
    elif ground == _INCOMPATIBLE:
        c.text("incompatible_content_ground", 500, required=True)
        c.text("incompatible_content_explanation", 2000, required=True)
        c.choice("incompatible_content_illegal", YES_NO)
    url = c.text("decision_ground_reference_url", 500)
    if url is not None and not _is_web_url(url):
        c.add("decision_ground_reference_url", "Must be an http(s) URL.")

    # content and classification
    if "CONTENT_TYPE_OTHER" in c.choices("content_type", _CONTENT_TYPE_SET, required=True):
        c.text("content_type_other", 500, required=True)
    c.choice("category", _CATEGORY_SET, required=True)
    c.choices("category_addition", _CATEGORY_SET)
    if "KEYWORD_OTHER" in c.choices("category_specification", _KEYWORD_SET):
        c.text("category_specification_other", 500, required=True)
    if c.present("territorial_scope"):  # nullable in the TDB's validator
        c.choices("territorial_scope", _EEA_SET)
    language = c.text("content_language", 2)
    if language is not None and not _LANGUAGE.fullmatch(language):
        c.add("content_language", "Must be an upper-case ISO 639-1 code such as EN.")
    _content_id(c)

    # dates
    content_date = c.day("content_date", _CONTENT_DATE_RANGE, required=True)
    application_date = c.day("application_date", _APPLICATION_DATE_RANGE, required=True)
    if content_date and application_date and application_date < content_date:
        c.add("application_date", "Must not be before content_date.", "order")
    for name in END_DATE_FIELDS.values():
        end = c.day(name, _END_DATE_RANGE)
        if end and application_date and end < application_date:
            c.add(name, "Must not be before application_date.", "order")

    # facts, source, automation, id
    c.text("decision_facts", 5000, required=True)
    source = c.choice("source_type", SOURCE_TYPES, required=True)
    if source != "SOURCE_VOLUNTARY":  # the TDB ignores source_identity for own-initiative decisions
        c.text("source_identity", 500)
    c.choice("automated_detection", YES_NO, required=True)
    c.choice("automated_decision", AUTOMATED_DECISIONS, required=True)
    puid = c.text("puid", 500, required=True)
    if puid is not None and not _PUID.fullmatch(puid):
        c.add("puid", "Only letters, digits, '-' and '_' are allowed.")
    return tuple(c.problems)


def _content_id(c: _Check) -> None:
    if not c.present("content_id"):
        return
    value = c.stmt["content_id"]
    if not isinstance(value, Mapping):
        c.add("content_id", "Must be an object with the key EAN-13.")
        return
    for key, item in value.items():
        if key != "EAN-13":
            c.add(f"content_id.{key}", "The only identifier accepted is EAN-13.", "unknown")
        elif not isinstance(item, str) or not _EAN13.fullmatch(item):
            c.add("content_id.EAN-13", "Must be 13 digits.")


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def validate_batch(statements: Sequence[Mapping[str, object]]) -> dict[int, tuple[FieldProblem, ...]]:
    """Problems per statement index (only those with problems; {} = the batch is acceptable).

    Batch-level problems (no statements, more than MAX_BATCH) are under the key BATCH (-1).
    A puid already used earlier in the batch is a `duplicate` problem at the later index. The TDB
    rejects the whole batch if any statement has a problem (its error keys are `statement_<index>`).
    """
    result: dict[int, tuple[FieldProblem, ...]] = {}
    if not statements:
        result[BATCH] = (FieldProblem("statements", "Give 1 to 100 statements.", "required"),)
    elif len(statements) > MAX_BATCH:
        result[BATCH] = (FieldProblem(
            "statements", f"At most {MAX_BATCH} statements per batch; got {len(statements)}.", "too_many"),)
    first_index: dict[str, int] = {}
    for i, stmt in enumerate(statements):
        problems = list(validate_statement(stmt))
        puid = stmt.get("puid") if isinstance(stmt, Mapping) else None
        if isinstance(puid, str) and puid:
            if puid in first_index:
                problems.append(FieldProblem(
                    "puid", f"Same puid as statement {first_index[puid]} in this batch.", "duplicate"))
            else:
                first_index[puid] = i
        if problems:
            result[i] = tuple(problems)
    return result
