"""The tenant policy: a typed, versioned document that says how a platform runs notice-and-action.

Every legal setting from DESIGN.md §1/§3 is a field here, so one engine serves PRC ECL, EU DSA and
US DMCA tenants. A tenant starts from a preset (`PRESETS`) and adjusts it; the document is parsed
with `parse_policy`, which reports every problem at once with dotted paths
(`declarations.window.min_days`). `policy_json_schema()` is the published contract
(`schema/policy.schema.json`, kept in sync by a test).

Conventions:
- snake_case keys; unknown keys are rejected; models are frozen (treat the dicts inside as
  read-only too: evaluation caches a compiled form per policy object).
- lists that are really sets (right types, fields, evidence kinds) are tuples that reject
  duplicates, so a dumped document keeps its order and stays byte-stable.
- cross-field rules report each conflict at the path of the field to change. Regime minimums
  (`regime`: cn-ecl | eu-dsa | us-dmca; `custom` has none) are checked once every section is
  valid on its own, so a document with field errors reports those first.
- no secrets in the document: it is versioned, simulated and shown to admins, so the DSA
  export takes `token_ref` (the name of a secret held by the deployment), not a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.calendar import DayKind, WindowRule
from domain.errors import FieldProblem, InvalidInput
from domain.redaction import compile_tenant_pattern
from domain.reference import RightType

__all__ = [
    "POLICY_SCHEMA_ID",
    "PRESETS",
    "AbusiveNotifierPolicy",
    "AppealsPolicy",
    "ClarificationPolicy",
    "DayKind",
    "DeclarationField",
    "DeclarationWindow",
    "DeclarationsPolicy",
    "DisclosurePolicy",
    "DsaExportPolicy",
    "EvidenceRequirement",
    "EvidenceSet",
    "Locale",
    "MeasureType",
    "NoticeField",
    "NoticesPolicy",
    "NotificationsPolicy",
    "Policy",
    "Regime",
    "RepeatInfringerPolicy",
    "RetentionPolicy",
    "ReviewMode",
    "RightType",
    "StrikeVoider",
    "SuspensionGround",
    "SuspensionGroundPolicy",
    "SuspensionPolicy",
    "TrustPolicy",
    "WindowStart",
    "parse_policy",
    "parse_policy_json",
    "policy_json_schema",
]

POLICY_SCHEMA_ID = "urn:noticehub:schema:policy:v1"


# ----- vocabularies ----------------------------------------------------------------------------


class Regime(StrEnum):
    """The legal regime the policy implements; its statutory minimums are enforced (`custom`: none)."""

    CN_ECL = "cn-ecl"
    EU_DSA = "eu-dsa"
    US_DMCA = "us-dmca"
    CUSTOM = "custom"


class NoticeField(StrEnum):
    EXPLANATION = "explanation"
    GOOD_FAITH_STATEMENT = "good_faith_statement"
    ACCURACY_STATEMENT = "accuracy_statement"
    AUTHORITY_STATEMENT = "authority_statement"
    SIGNATURE = "signature"
    COMPLAINANT_IDENTITY = "complainant_identity"
    CONTACT_EMAIL = "contact_email"
    REGISTRATION_NUMBER = "registration_number"
    LISTING_URLS = "listing_urls"


class DeclarationField(StrEnum):
    EXPLANATION = "explanation"
    GROUNDS = "grounds"
    MERCHANT_IDENTITY = "merchant_identity"
    CONTACT_EMAIL = "contact_email"
    CONTACT_ADDRESS = "contact_address"
    CONTACT_PHONE = "contact_phone"
    SIGNATURE = "signature"
    LISTING_URLS = "listing_urls"
    GOOD_FAITH_STATEMENT = "good_faith_statement"
    ACCURACY_STATEMENT = "accuracy_statement"
    CONSENT_TO_JURISDICTION = "consent_to_jurisdiction"


class ReviewMode(StrEnum):
    MANUAL = "manual"
    AUTO_FOR_TRUSTED = "auto_for_trusted"
    AUTO = "auto"


class MeasureType(StrEnum):
    REMOVE = "remove"
    BLOCK = "block"
    DISCONNECT_LINK = "disconnect_link"
    TERMINATE_TRANSACTIONS = "terminate_transactions"
    RESTRICT_REGION = "restrict_region"
    DEMOTE = "demote"
    WARN = "warn"


class WindowStart(StrEnum):
    DELIVERED_TO_COMPLAINANT = "delivered_to_complainant"
    RECEIVED = "received"


class SuspensionGround(StrEnum):
    TRADEMARK_INVALIDATION_PENDING = "trademark_invalidation_pending"
    PATENT_INVALIDATED = "patent_invalidated"
    COURT_ORDER = "court_order"
    OTHER = "other"


class StrikeVoider(StrEnum):
    RESTORED = "restored"
    APPEAL_WON = "appeal_won"
    RIGHT_INVALIDATED = "right_invalidated"


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


# ----- constrained scalars ---------------------------------------------------------------------

T = TypeVar("T")


def _no_duplicates(value: tuple[T, ...]) -> tuple[T, ...]:
    seen: set[object] = set()
    dups: list[str] = []
    for item in value:
        if item in seen:
            dups.append(item.value if isinstance(item, Enum) else str(item))
        seen.add(item)
    if dups:
        raise ValueError(f"duplicate entries: {', '.join(sorted(set(dups)))}")
    return value


UniqueTuple = Annotated[tuple[T, ...], AfterValidator(_no_duplicates), Field(json_schema_extra={"uniqueItems": True})]

EvidenceKind = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="Free-form evidence kind, e.g. registration_certificate, patent_evaluation_report, "
        "test_purchase, screenshot, authorization_letter.",
    ),
]
Jurisdiction = Annotated[
    str,
    Field(
        pattern=r"^([A-Z]{2}|\*)$",
        description="ISO 3166-1 alpha-2 code (EU for EU-wide rights, WO for WIPO), or * for any.",
    ),
]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")]
EventName = Annotated[
    str,
    Field(
        pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$",
        description="Event name such as case.measures_requested, a prefix wildcard case.*, or * for all.",
    ),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
EvidenceGroup = Annotated[
    tuple[EvidenceKind, ...],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_no_duplicates),
]

_MAX_REDACTION_PATTERN = 500


def _safe_regex(value: str) -> str:
    """Compiled as redaction will run it (RE2: linear time, so no pattern can stall intake)."""
    if len(value) > _MAX_REDACTION_PATTERN:
        raise ValueError(f"pattern longer than {_MAX_REDACTION_PATTERN} characters")
    compile_tenant_pattern(value)
    return value


RedactionPattern = Annotated[str, Field(min_length=1), AfterValidator(_safe_regex)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Cross-field rules report (path relative to the validated model, message) pairs. They travel in a
# PydanticCustomError's context so `parse_policy` can emit one FieldProblem per conflict at the
# exact path, and direct construction still fails with a readable ValidationError.
_RULE_ERROR = "policy_rule"


def _raise_rules(problems: list[tuple[str, str]]) -> NoReturn:
    summary = "; ".join(f"{path}: {message}" for path, message in problems)
    raise PydanticCustomError(_RULE_ERROR, "{summary}", {"summary": summary, "problems": tuple(problems)})


# ----- notices ---------------------------------------------------------------------------------


class EvidenceSet(_Model):
    """Evidence kinds a submission must carry: every kind in `all_of`, and at least one kind from
    each group in `any_of` (e.g. preliminary evidence: a test purchase *or* a screenshot)."""

    all_of: UniqueTuple[EvidenceKind] = ()
    any_of: tuple[EvidenceGroup, ...] = ()


class EvidenceRequirement(EvidenceSet):
    """Evidence required for notices relying on one right type; `by_jurisdiction` adds kinds when
    the right's jurisdiction matches (e.g. CN utility-model/design patents: patent_evaluation_report,
    SPC Guiding Opinions Art 5)."""

    by_jurisdiction: dict[CountryCode, UniqueTuple[EvidenceKind]] = Field(default_factory=dict)


class ClarificationPolicy(_Model):
    """Whether an incomplete notice may be completed (state `incomplete`) instead of rejected."""

    allowed: bool = True
    window_days: int = Field(default=7, ge=1, le=90, description="Days the complainant has to complete it.")


class NoticesPolicy(_Model):
    accepted_right_types: UniqueTuple[RightType] = Field(min_length=1)
    accepted_jurisdictions: UniqueTuple[Jurisdiction] = Field(
        default=("*",), min_length=1, description='Jurisdictions of the right relied on, or ["*"].'
    )
    required_fields: UniqueTuple[NoticeField] = ()
    required_fields_by_right_type: dict[RightType, UniqueTuple[NoticeField]] = Field(
        default_factory=dict,
        description="Fields required in addition to required_fields for one right type "
        "(e.g. registration_number for registered rights only).",
    )
    required_evidence: dict[RightType, EvidenceRequirement] = Field(default_factory=dict)
    verified_right_required: bool = False
    agent_authorization_required: bool = Field(
        default=True, description="A notice filed by an agent needs an authorization on record."
    )
    max_listings_per_notice: int = Field(default=300, ge=1, le=1000)
    review_mode: ReviewMode = ReviewMode.MANUAL
    default_measure: dict[RightType, MeasureType] = Field(
        description="Measure requested on an accepted notice; one per accepted right type."
    )
    allowed_measures: UniqueTuple[MeasureType] = Field(min_length=1)
    review_sla_hours: int = Field(default=24, ge=1, le=24 * 30)
    clarification: ClarificationPolicy = ClarificationPolicy()
    declaration_deadline_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="Days after measures are applied for the merchant to declare before the case "
        "closes; null: the case stays open.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> NoticesPolicy:
        problems: list[tuple[str, str]] = []
        if "*" in self.accepted_jurisdictions and len(self.accepted_jurisdictions) > 1:
            problems.append(("accepted_jurisdictions", '"*" accepts every jurisdiction; list it alone'))
        allowed = set(self.allowed_measures)
        for right_type in self.accepted_right_types:
            if right_type not in self.default_measure:
                problems.append(
                    (f"default_measure.{right_type.value}", "an accepted right type needs a default measure")
                )
        for right_type, measure in self.default_measure.items():
            if measure not in allowed:
                problems.append(
                    (f"default_measure.{right_type.value}", f"'{measure.value}' is not in allowed_measures")
                )
        if problems:
            _raise_rules(problems)
        return self


# ----- trust -----------------------------------------------------------------------------------


class TrustPolicy(_Model):
    """How a notifier becomes trusted (and stops being trusted) over a rolling window.

    Alibaba good-faith takedown: 90 days, >= 90 % accepted, <= 5 % successful declarations;
    Amazon Project Zero: 180 days, >= 90 % accepted. With `enabled` false nobody is trusted."""

    enabled: bool = False
    window_days: int = Field(default=90, ge=7, le=730)
    min_notices: int = Field(default=20, ge=1, le=1_000_000)
    min_acceptance_rate: Probability = 0.9
    max_successful_declaration_rate: Probability | None = 0.05
    cooloff_days: int = Field(default=90, ge=0, le=730, description="Wait before re-admission after removal.")


# ----- declarations ----------------------------------------------------------------------------


class DeclarationWindow(_Model):
    """The waiting window after an accepted declaration during which the complainant can show a
    complaint or lawsuit was filed (ECL 43: 15 calendar days from arrival; DMCA 512(g)(2)(C): not
    less than 10 nor more than 14 business days after receipt).

    Same semantics as `domain.calendar.WindowRule` (day 0 not counted, Civil Code 201): the window
    ends at the end of day `length_days`; `min_days` is the earliest day a restore may happen.
    `max_days`, when set, must equal `length_days` (it documents a statutory upper bound)."""

    length_days: int = Field(ge=1, le=365)
    day_kind: DayKind = DayKind.calendar
    starts_on: WindowStart = WindowStart.DELIVERED_TO_COMPLAINANT
    roll_over_rest_days: bool = Field(
        default=True, description="A window ending on a rest day ends on the next working day (CC 203)."
    )
    min_days: int | None = Field(default=None, ge=0, le=365)
    max_days: int | None = Field(default=None, ge=1, le=365)

    @model_validator(mode="after")
    def _bounds(self) -> DeclarationWindow:
        problems: list[tuple[str, str]] = []
        if self.min_days is not None and self.max_days is not None and self.min_days > self.max_days:
            problems.append(("min_days", f"min_days ({self.min_days}) exceeds max_days ({self.max_days})"))
        elif self.min_days is not None and self.min_days > self.length_days:
            problems.append(("min_days", f"min_days ({self.min_days}) exceeds length_days ({self.length_days})"))
        if self.max_days is not None and self.length_days != self.max_days:
            problems.append(("length_days", f"the window ends at max_days; set length_days to {self.max_days} as well"))
        if problems:
            _raise_rules(problems)
        return self

    def to_window_rule(self) -> WindowRule:
        """The calendar's rule for this window (domain.calendar does the date arithmetic)."""
        return WindowRule(
            length_days=self.length_days,
            day_kind=self.day_kind,
            roll_over_rest_days=self.roll_over_rest_days,
            min_days=self.min_days,
            max_days=self.max_days,
        )


class DeclarationsPolicy(_Model):
    """Non-infringement declarations / counter-notices / DSA internal complaints.

    `window` null means there is no waiting window: the declaration is decided on its merits by a
    reviewer (DSA Art 20) and, once accepted, the measures are lifted at once. With a window, an
    accepted declaration is forwarded and measures stay until the window ends without an action
    proof, when they are lifted. `restore_automatically` must stay true: the restoring is the law's
    (ECL 43, DMCA 512(g)), and without a window the reviewer's acceptance is the decision to restore."""

    allowed: bool = True
    required_fields: UniqueTuple[DeclarationField] = ()
    required_evidence: EvidenceSet = EvidenceSet()
    review_required: bool = True
    window: DeclarationWindow | None
    restore_automatically: bool = True
    immediate_restore: UniqueTuple[RightType] = Field(
        default=(),
        description="Right types for which an accepted declaration restores at once, with no window "
        "(CN Regulation on the right of communication via information network, Art 17: copyright).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DeclarationsPolicy:
        problems: list[tuple[str, str]] = []
        if self.allowed and self.window is None and not self.review_required:
            problems.append(
                ("review_required", "without a waiting window a declaration is decided on its merits by review"))
        if not self.restore_automatically:
            problems.append(("restore_automatically", "measures are lifted when a window ends without an action proof "
                             "(ECL 43, DMCA 512(g)) or when a reviewer accepts a declaration with no window; "
                             "there is no manual restore step"))
        if problems:
            _raise_rules(problems)
        return self


# ----- suspension, repeat infringers, abusive notifiers, appeals ------------------------------


class SuspensionGroundPolicy(_Model):
    """One ground on which handling of a case may be suspended (Beijing guideline art 25)."""

    required_evidence: UniqueTuple[EvidenceKind] = ()
    harm_statement_required: bool = False
    keep_measures_while_suspended: bool = False
    review_after_days: int | None = Field(default=None, ge=1, le=730)


class RepeatInfringerPolicy(_Model):
    enabled: bool = True
    strikes: int = Field(default=3, ge=1, le=1000, description="Weighted strikes within the window that suspend.")
    window_days: int = Field(default=365, ge=1, le=3650)
    warning_first: bool = True
    suspension_days: int = Field(default=30, ge=1, le=3650)
    termination_strikes: int | None = Field(default=None, ge=1, le=1000)
    severity: dict[RightType, Annotated[float, Field(gt=0.0, le=10.0)]] = Field(
        default_factory=dict, description="Strike weight per right type; missing types weigh 1."
    )
    voided_by: UniqueTuple[StrikeVoider] = (
        StrikeVoider.RESTORED,
        StrikeVoider.APPEAL_WON,
        StrikeVoider.RIGHT_INVALIDATED,
    )

    @model_validator(mode="after")
    def _consistent(self) -> RepeatInfringerPolicy:
        if self.termination_strikes is not None and self.termination_strikes < self.strikes:
            _raise_rules([("termination_strikes", f"must be at least strikes ({self.strikes})")])
        return self


class AbusiveNotifierPolicy(_Model):
    """Suspend processing notices from notifiers with frequent manifestly unfounded notices (DSA 23(2))."""

    enabled: bool = True
    min_notices: int = Field(default=20, ge=1, le=1_000_000)
    unfounded_ratio: float = Field(default=0.5, gt=0.0, le=1.0)
    window_days: int = Field(default=180, ge=1, le=3650)
    warning_first: bool = True
    suspension_days: int = Field(default=30, ge=1, le=3650)


class AppealsPolicy(_Model):
    window_days: int = Field(default=180, ge=1, le=3650, description="DSA Art 20: at least 180.")


class SuspensionPolicy(_Model):
    handling_grounds: dict[SuspensionGround, SuspensionGroundPolicy] = Field(default_factory=dict)
    repeat_infringer: RepeatInfringerPolicy = RepeatInfringerPolicy()
    abusive_notifier: AbusiveNotifierPolicy = AbusiveNotifierPolicy()
    override_cooloff_days: int = Field(
        default=30, ge=0, le=3650, description="After a human override, automation leaves the listing alone."
    )
    appeals: AppealsPolicy = AppealsPolicy()


# ----- disclosure, notifications, retention ----------------------------------------------------


class DsaExportPolicy(_Model):
    """Statements of reasons to the DSA Transparency Database (Art 24(5))."""

    enabled: bool = False
    endpoint: HttpUrl | None = None
    token_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Name of the secret holding the API token; the token itself never goes here.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DsaExportPolicy:
        if self.enabled and self.endpoint is None:
            _raise_rules([("endpoint", "required when the export is enabled")])
        return self


class DisclosurePolicy(_Model):
    publish_notices: bool = False
    publish_declarations: bool = False
    publish_results: bool = False
    publish_account_restrictions: bool = False
    delay_hours: int = Field(default=0, ge=0, le=24 * 90)
    show_evidence_uris: bool = False
    show_notifier_identity: bool = False
    extra_redaction_patterns: tuple[RedactionPattern, ...] = Field(
        default=(), max_length=50,
        description="More text to redact from public records: regular expressions in Python re syntax, run by "
        "RE2 in linear time (no lookarounds or backreferences; \\d \\w \\s and their negations are Unicode as in "
        "Python, but \\D \\W \\S inside [...] are refused; \\b is ASCII-only; \\uXXXX escapes accepted).",
    )
    public_feed: bool = False
    dsa_statements_of_reasons: DsaExportPolicy = DsaExportPolicy()


class NotificationsPolicy(_Model):
    locales: UniqueTuple[Locale] = Field(default=(Locale.EN,), min_length=1)
    default_locale: Locale = Locale.EN
    events: UniqueTuple[EventName] = ("*",)

    @model_validator(mode="after")
    def _consistent(self) -> NotificationsPolicy:
        if self.default_locale not in self.locales:
            _raise_rules([("default_locale", f"'{self.default_locale.value}' is not one of locales")])
        return self


class RetentionPolicy(_Model):
    archive_after_days: int = Field(default=30, ge=0, le=3650)
    keep_years: int = Field(default=3, ge=1, le=100)


# ----- the document ----------------------------------------------------------------------------


class Policy(_Model):
    """A tenant's policy document. Each published version is immutable; decisions record it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Noticehub tenant policy",
        json_schema_extra={"$id": POLICY_SCHEMA_ID},
    )

    schema_version: Literal[1] = 1
    regime: Regime
    notices: NoticesPolicy
    trust: TrustPolicy
    declarations: DeclarationsPolicy
    suspension: SuspensionPolicy
    disclosure: DisclosurePolicy
    notifications: NotificationsPolicy
    retention: RetentionPolicy

    @model_validator(mode="after")
    def _regime_minimums(self) -> Policy:
        problems: list[tuple[str, str]] = []
        check = _REGIME_CHECKS.get(self.regime)
        if check is not None:
            check(self, problems)
        if problems:
            _raise_rules(problems)
        return self


def _check_cn_ecl(p: Policy, problems: list[tuple[str, str]]) -> None:
    d = p.declarations
    if not d.allowed:
        problems.append(("declarations.allowed", "ECL 43 gives merchants the right to declare"))
    w = d.window
    if w is None:
        problems.append(("declarations.window", "ECL 43 requires the 15-day window"))
    else:
        if w.length_days != 15 or w.day_kind is not DayKind.calendar:
            problems.append(("declarations.window.length_days", "ECL 43: 15 calendar days"))
        if w.starts_on is not WindowStart.DELIVERED_TO_COMPLAINANT:
            problems.append(
                (
                    "declarations.window.starts_on",
                    "ECL 43: the window starts when the declaration reaches "
                    "the rights holder (delivered_to_complainant)",
                )
            )
        if not w.roll_over_rest_days:
            problems.append(
                (
                    "declarations.window.roll_over_rest_days",
                    "Civil Code 203: a period ending on a holiday ends on the next working day",
                )
            )
    if p.retention.keep_years < 3:
        problems.append(("retention.keep_years", "ECL 31: keep for at least 3 years"))


def _check_eu_dsa(p: Policy, problems: list[tuple[str, str]]) -> None:
    d = p.declarations
    if not d.allowed:
        problems.append(("declarations.allowed", "DSA Art 20: an internal complaint system is required"))
    if not d.review_required:
        problems.append(
            (
                "declarations.review_required",
                "DSA Art 20(6): complaints are not decided solely by automated means",
            )
        )
    if p.suspension.appeals.window_days < 180:
        problems.append(("suspension.appeals.window_days", "DSA Art 20(1): at least 180 days (six months)"))
    ri = p.suspension.repeat_infringer
    if ri.enabled and not ri.warning_first:
        problems.append(
            ("suspension.repeat_infringer.warning_first", "DSA Art 23(1): suspend only after a prior warning")
        )
    an = p.suspension.abusive_notifier
    if an.enabled and not an.warning_first:
        problems.append(
            ("suspension.abusive_notifier.warning_first", "DSA Art 23(2): suspend only after a prior warning")
        )


def _check_us_dmca(p: Policy, problems: list[tuple[str, str]]) -> None:
    d = p.declarations
    if not d.allowed:
        problems.append(("declarations.allowed", "512(g)(3): counter-notices must be accepted"))
    w = d.window
    if w is None:
        problems.append(("declarations.window", "512(g)(2)(C): restore 10-14 business days after receipt"))
    else:
        if w.day_kind is not DayKind.business:
            problems.append(("declarations.window.day_kind", "512(g)(2)(C) counts business days"))
        if w.starts_on is not WindowStart.RECEIVED:
            problems.append(
                (
                    "declarations.window.starts_on",
                    "512(g)(2)(C) counts from receipt of the counter-notice (received)",
                )
            )
        if w.min_days != 10:
            problems.append(("declarations.window.min_days", "512(g)(2)(C): not less than 10 business days"))
        if w.max_days != 14:
            problems.append(("declarations.window.max_days", "512(g)(2)(C): not more than 14 business days"))
    if not p.suspension.repeat_infringer.enabled:
        problems.append(
            (
                "suspension.repeat_infringer.enabled",
                "512(i)(1)(A): a repeat-infringer policy is a safe-harbor condition",
            )
        )


_REGIME_CHECKS = {Regime.CN_ECL: _check_cn_ecl, Regime.EU_DSA: _check_eu_dsa, Regime.US_DMCA: _check_us_dmca}


# ----- parsing and schema ----------------------------------------------------------------------

_CODES = {"missing": "required", "extra_forbidden": "unknown_field", _RULE_ERROR: "inconsistent"}


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]")


def problems_from_validation_error(exc: ValidationError) -> list[FieldProblem]:
    """One FieldProblem per pydantic error (cross-field errors expanded to their exact paths)."""
    problems: list[FieldProblem] = []
    for err in exc.errors(include_url=False):
        base = _dotted(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == _RULE_ERROR and "problems" in ctx:
            for sub, message in ctx["problems"]:
                path = f"{base}.{sub}" if base else sub
                problems.append(FieldProblem(path, message, "inconsistent"))
            continue
        problems.append(FieldProblem(base or "policy", err["msg"], _CODES.get(err["type"], "invalid")))
    return problems


def parse_policy(document: Mapping[str, Any]) -> Policy:
    """Validate a policy document (decoded JSON); raises InvalidInput listing every problem.

    Validated as JSON and strictly: a value must have the type the published JSON Schema gives it ("3" is
    not an integer, "yes" not a boolean), as every other validator of the schema would say."""
    return parse_policy_json(json.dumps(document))


def parse_policy_json(text: str | bytes) -> Policy:
    """Like parse_policy, from JSON text."""
    try:
        return Policy.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise InvalidInput.from_problems(problems_from_validation_error(exc)) from None


def policy_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the policy document (schema/policy.schema.json)."""
    schema = Policy.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": POLICY_SCHEMA_ID,
        **{k: v for k, v in schema.items() if k not in ("$id", "$schema")},
    }


# ----- presets ---------------------------------------------------------------------------------

_ALL_RIGHTS = tuple(RightType)
_PRELIMINARY_INFRINGEMENT = ("test_purchase", "screenshot", "comparison_chart", "notarized_evidence")
_PRELIMINARY_NON_INFRINGEMENT = (
    "registration_certificate",
    "authorization_letter",
    "purchase_invoice",
    "invalidation_decision",
    "court_judgment",
    "prior_use_evidence",
)


def _cn_ecl() -> Policy:
    registered = (RightType.TRADEMARK, RightType.PATENT, RightType.DESIGN, RightType.GEOGRAPHICAL_INDICATION)
    preliminary = (_PRELIMINARY_INFRINGEMENT,)
    return Policy(
        regime=Regime.CN_ECL,
        notices=NoticesPolicy(
            accepted_right_types=_ALL_RIGHTS,
            accepted_jurisdictions=("*",),
            # ECL 42 (preliminary evidence, written guarantee) + Civil Code 1195 (true identity) +
            # SPC Guiding Op. Art 5 (rights proof, precise location).
            required_fields=(
                NoticeField.COMPLAINANT_IDENTITY,
                NoticeField.LISTING_URLS,
                NoticeField.ACCURACY_STATEMENT,
            ),
            required_fields_by_right_type={t: (NoticeField.REGISTRATION_NUMBER,) for t in registered},
            required_evidence={
                RightType.TRADEMARK: EvidenceRequirement(all_of=("registration_certificate",), any_of=preliminary),
                RightType.PATENT: EvidenceRequirement(
                    all_of=("registration_certificate",),
                    any_of=preliminary,
                    by_jurisdiction={"CN": ("patent_evaluation_report",)},
                ),
                RightType.DESIGN: EvidenceRequirement(
                    all_of=("registration_certificate",),
                    any_of=preliminary,
                    by_jurisdiction={"CN": ("patent_evaluation_report",)},
                ),
                RightType.COPYRIGHT: EvidenceRequirement(
                    any_of=(("registration_certificate", "ownership_statement"), _PRELIMINARY_INFRINGEMENT)
                ),
                RightType.GEOGRAPHICAL_INDICATION: EvidenceRequirement(
                    all_of=("registration_certificate",), any_of=preliminary
                ),
                RightType.TRADE_SECRET: EvidenceRequirement(all_of=("ownership_statement",), any_of=preliminary),
            },
            verified_right_required=False,
            max_listings_per_notice=300,
            review_mode=ReviewMode.AUTO_FOR_TRUSTED,
            default_measure={
                RightType.TRADEMARK: MeasureType.REMOVE,
                RightType.PATENT: MeasureType.DISCONNECT_LINK,
                RightType.DESIGN: MeasureType.DISCONNECT_LINK,
                RightType.COPYRIGHT: MeasureType.REMOVE,
                RightType.GEOGRAPHICAL_INDICATION: MeasureType.REMOVE,
                RightType.TRADE_SECRET: MeasureType.BLOCK,
            },
            allowed_measures=(
                MeasureType.REMOVE,
                MeasureType.BLOCK,
                MeasureType.DISCONNECT_LINK,
                MeasureType.TERMINATE_TRANSACTIONS,
                MeasureType.RESTRICT_REGION,
                MeasureType.WARN,
            ),
            review_sla_hours=24,
            clarification=ClarificationPolicy(allowed=True, window_days=7),
            declaration_deadline_days=30,
        ),
        trust=TrustPolicy(  # Alibaba good-faith takedown mechanism
            enabled=True,
            window_days=90,
            min_notices=20,
            min_acceptance_rate=0.90,
            max_successful_declaration_rate=0.05,
            cooloff_days=90,
        ),
        declarations=DeclarationsPolicy(
            allowed=True,
            # ECL 43(1) preliminary evidence + Civil Code 1196 true identity + SPC Guiding Op. Art 7.
            required_fields=(
                DeclarationField.MERCHANT_IDENTITY,
                DeclarationField.EXPLANATION,
                DeclarationField.ACCURACY_STATEMENT,
            ),
            required_evidence=EvidenceSet(any_of=(_PRELIMINARY_NON_INFRINGEMENT,)),
            review_required=True,
            window=DeclarationWindow(
                length_days=15,
                day_kind=DayKind.calendar,
                starts_on=WindowStart.DELIVERED_TO_COMPLAINANT,
                roll_over_rest_days=True,
            ),
            restore_automatically=True,
            immediate_restore=(),
        ),
        suspension=SuspensionPolicy(
            handling_grounds={
                SuspensionGround.TRADEMARK_INVALIDATION_PENDING: SuspensionGroundPolicy(
                    required_evidence=("invalidation_acceptance_notice",),
                    harm_statement_required=True,
                    keep_measures_while_suspended=False,
                    review_after_days=90,
                ),
                SuspensionGround.PATENT_INVALIDATED: SuspensionGroundPolicy(
                    required_evidence=("invalidation_decision",),
                    keep_measures_while_suspended=False,
                    review_after_days=90,
                ),
                SuspensionGround.COURT_ORDER: SuspensionGroundPolicy(
                    required_evidence=("court_order",), keep_measures_while_suspended=False
                ),
                SuspensionGround.OTHER: SuspensionGroundPolicy(
                    harm_statement_required=True, keep_measures_while_suspended=True, review_after_days=30
                ),
            },
            repeat_infringer=RepeatInfringerPolicy(
                enabled=True,
                strikes=3,
                window_days=365,
                warning_first=True,
                suspension_days=14,
                termination_strikes=5,
            ),
            abusive_notifier=AbusiveNotifierPolicy(
                enabled=True,
                min_notices=20,
                unfounded_ratio=0.6,
                window_days=90,
                warning_first=True,
                suspension_days=90,
            ),
            override_cooloff_days=30,
            appeals=AppealsPolicy(window_days=90),
        ),
        disclosure=DisclosurePolicy(  # ECL 44 (notices, declarations, results), ECL 36 (restrictions)
            publish_notices=True,
            publish_declarations=True,
            publish_results=True,
            publish_account_restrictions=True,
            delay_hours=24,
            show_evidence_uris=False,
            show_notifier_identity=True,
            public_feed=True,
        ),
        notifications=NotificationsPolicy(locales=(Locale.ZH_CN, Locale.EN), default_locale=Locale.ZH_CN),
        retention=RetentionPolicy(archive_after_days=30, keep_years=3),
    )


def _eu_dsa() -> Policy:
    return Policy(
        regime=Regime.EU_DSA,
        notices=NoticesPolicy(
            accepted_right_types=_ALL_RIGHTS,
            accepted_jurisdictions=("*",),
            # Art 16(2)(a)-(d)
            required_fields=(
                NoticeField.EXPLANATION,
                NoticeField.LISTING_URLS,
                NoticeField.COMPLAINANT_IDENTITY,
                NoticeField.CONTACT_EMAIL,
                NoticeField.GOOD_FAITH_STATEMENT,
            ),
            verified_right_required=False,
            max_listings_per_notice=300,
            review_mode=ReviewMode.MANUAL,  # trusted flaggers get priority (Art 22), not automation
            default_measure=dict.fromkeys(_ALL_RIGHTS, MeasureType.REMOVE),
            allowed_measures=(
                MeasureType.REMOVE,
                MeasureType.BLOCK,
                MeasureType.RESTRICT_REGION,
                MeasureType.DEMOTE,
                MeasureType.TERMINATE_TRANSACTIONS,
                MeasureType.WARN,
            ),
            review_sla_hours=48,
            clarification=ClarificationPolicy(allowed=True, window_days=14),
            declaration_deadline_days=None,
        ),
        trust=TrustPolicy(
            enabled=True,
            window_days=180,
            min_notices=20,
            min_acceptance_rate=0.90,
            max_successful_declaration_rate=None,
            cooloff_days=90,
        ),
        declarations=DeclarationsPolicy(  # Art 20 internal complaints, decided on the merits
            allowed=True,
            required_fields=(DeclarationField.EXPLANATION,),
            review_required=True,
            window=None,
            restore_automatically=True,
        ),
        suspension=SuspensionPolicy(
            handling_grounds={
                SuspensionGround.COURT_ORDER: SuspensionGroundPolicy(required_evidence=("court_order",)),
                SuspensionGround.OTHER: SuspensionGroundPolicy(
                    harm_statement_required=True, keep_measures_while_suspended=True, review_after_days=30
                ),
            },
            repeat_infringer=RepeatInfringerPolicy(
                enabled=True,
                strikes=3,
                window_days=180,
                warning_first=True,
                suspension_days=30,
                termination_strikes=None,
            ),
            abusive_notifier=AbusiveNotifierPolicy(
                enabled=True,
                min_notices=10,
                unfounded_ratio=0.5,
                window_days=180,
                warning_first=True,
                suspension_days=30,
            ),
            override_cooloff_days=30,
            appeals=AppealsPolicy(window_days=180),
        ),
        disclosure=DisclosurePolicy(
            publish_results=True,
            publish_account_restrictions=True,
            delay_hours=0,
            show_evidence_uris=False,
            show_notifier_identity=False,
            public_feed=False,
            dsa_statements_of_reasons=DsaExportPolicy(
                enabled=True,
                endpoint=HttpUrl("https://transparency.dsa.ec.europa.eu/api/v1/statements"),
                token_ref="DSA_TDB_TOKEN",
            ),
        ),
        notifications=NotificationsPolicy(locales=(Locale.EN,), default_locale=Locale.EN),
        retention=RetentionPolicy(archive_after_days=30, keep_years=5),
    )


def _us_dmca() -> Policy:
    covered = (RightType.COPYRIGHT, RightType.TRADEMARK, RightType.PATENT, RightType.DESIGN)
    return Policy(
        regime=Regime.US_DMCA,
        notices=NoticesPolicy(
            accepted_right_types=covered,
            accepted_jurisdictions=("*",),
            # 512(c)(3)(A)(i)-(vi); "the work" is identified in the explanation.
            required_fields=(
                NoticeField.SIGNATURE,
                NoticeField.EXPLANATION,
                NoticeField.LISTING_URLS,
                NoticeField.COMPLAINANT_IDENTITY,
                NoticeField.CONTACT_EMAIL,
                NoticeField.GOOD_FAITH_STATEMENT,
                NoticeField.ACCURACY_STATEMENT,
                NoticeField.AUTHORITY_STATEMENT,
            ),
            verified_right_required=False,
            max_listings_per_notice=300,
            review_mode=ReviewMode.AUTO_FOR_TRUSTED,  # Amazon Project Zero-style self-service
            default_measure=dict.fromkeys(covered, MeasureType.REMOVE),
            allowed_measures=(MeasureType.REMOVE, MeasureType.BLOCK, MeasureType.RESTRICT_REGION),
            review_sla_hours=24,
            clarification=ClarificationPolicy(allowed=True, window_days=10),
            declaration_deadline_days=None,
        ),
        trust=TrustPolicy(
            enabled=True,
            window_days=180,
            min_notices=20,
            min_acceptance_rate=0.90,
            max_successful_declaration_rate=None,
            cooloff_days=90,
        ),
        declarations=DeclarationsPolicy(  # 512(g)(3)(A)-(D)
            allowed=True,
            required_fields=(
                DeclarationField.SIGNATURE,
                DeclarationField.LISTING_URLS,
                DeclarationField.GOOD_FAITH_STATEMENT,
                DeclarationField.MERCHANT_IDENTITY,
                DeclarationField.CONTACT_ADDRESS,
                DeclarationField.CONTACT_PHONE,
                DeclarationField.CONSENT_TO_JURISDICTION,
            ),
            review_required=True,
            window=DeclarationWindow(
                length_days=14,
                day_kind=DayKind.business,
                starts_on=WindowStart.RECEIVED,
                roll_over_rest_days=True,  # moot: a business-day window always ends on a working day
                min_days=10,
                max_days=14,
            ),
            restore_automatically=True,
        ),
        suspension=SuspensionPolicy(
            handling_grounds={
                SuspensionGround.COURT_ORDER: SuspensionGroundPolicy(required_evidence=("court_order",)),
                SuspensionGround.OTHER: SuspensionGroundPolicy(
                    harm_statement_required=True, keep_measures_while_suspended=True, review_after_days=30
                ),
            },
            repeat_infringer=RepeatInfringerPolicy(  # 512(i)(1)(A)
                enabled=True,
                strikes=2,
                window_days=365,
                warning_first=True,
                suspension_days=14,
                termination_strikes=3,
            ),
            abusive_notifier=AbusiveNotifierPolicy(
                enabled=True,
                min_notices=20,
                unfounded_ratio=0.5,
                window_days=180,
                warning_first=True,
                suspension_days=30,
            ),
            override_cooloff_days=30,
            appeals=AppealsPolicy(window_days=90),
        ),
        disclosure=DisclosurePolicy(),  # voluntary (Lumen-style); everything off
        notifications=NotificationsPolicy(locales=(Locale.EN,), default_locale=Locale.EN),
        retention=RetentionPolicy(archive_after_days=30, keep_years=3),
    )


PRESETS: dict[str, Policy] = {
    Regime.CN_ECL.value: _cn_ecl(),
    Regime.EU_DSA.value: _eu_dsa(),
    Regime.US_DMCA.value: _us_dmca(),
}
"""Starting points for tenants; `PRESETS["cn-ecl"].model_dump(mode="json")` is an editable document."""
