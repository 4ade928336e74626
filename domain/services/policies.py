"""Use cases for tenant policy versions: install, draft, edit, validate, publish, simulate.

Lifecycle: a version is created as a `draft` (from a preset, the version in force or any earlier
version), edited while it is a draft, and published; publishing supersedes the version in force.
Published and superseded versions never change, and decisions keep the version number they were
taken under, so publishing never rewrites history. Every change is a decision (`policy.*` kinds,
`policy_version` = the version the decision is about).

Only valid documents are stored: a draft's document is validated on every write and stored in its
normalized form (defaults filled in), so what is shown is exactly what would be evaluated.
Problems use dotted paths prefixed with the input field they belong to (`document.notices.
review_mode`), the same convention as every other input error.

Changes are serialized per tenant (`PolicyRepository.lock_for_change`), so concurrent drafts get
distinct numbers and concurrent publishes cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.decisions import DecisionDraft, Reason, RuleRecord
from domain.errors import Conflict, FieldProblem, InvalidInput, LimitExceeded, NotFound
from domain.ids import new_id
from domain.policies import PolicyStatus, PolicyVersion
from domain.policy import PRESETS, NoticeField, Policy, parse_policy
from domain.policy_eval import NoticeAssessment, NoticeFacts, evaluate_notice
from domain.ports import UnitOfWork
from domain.reference import LegalStatus, RightType, VerificationStatus
from domain.tenancy import Principal, Role

__all__ = [
    "MAX_SCENARIOS",
    "READERS",
    "PolicyScenario",
    "ScenarioResult",
    "SimulationResult",
    "create_policy_draft",
    "get_policy_in_force",
    "get_policy_version",
    "install_preset",
    "list_policy_versions",
    "publish_policy",
    "simulate_policy",
    "update_policy_draft",
    "validate_policy_document",
]

READERS = (Role.ADMIN, Role.REVIEWER, Role.AUDITOR)
EDITORS = (Role.ADMIN,)
MAX_SCENARIOS = 100
MAX_NOTE = 2000
MAX_LISTINGS = 100_000
DOCUMENT_FIELD = "document"

_BASED_ON = re.compile(r"^(?:preset:(?P<preset>[a-z0-9-]+)|version:(?P<version>[1-9][0-9]{0,8})|(?P<current>current))$")
_JURISDICTION = re.compile(r"^[A-Z]{2}$")
_EVIDENCE_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NOTICE_FIELDS = frozenset(f.value for f in NoticeField)


# ----- install (tenant creation) ---------------------------------------------------------------


async def install_preset(uow: UnitOfWork, preset: str, actor: str) -> PolicyVersion:
    """A new tenant starts with version 1 of a preset, published, so notices can be taken at once."""
    if preset not in PRESETS:
        raise InvalidInput(f"Unknown policy preset '{preset}'; use one of {sorted(PRESETS)}.", "policyPreset")
    now = uow.clock.now()
    version = PolicyVersion(
        id=new_id(), version=await uow.policies.next_version_number(), status=PolicyStatus.PUBLISHED,
        document=PRESETS[preset].model_dump(mode="json"), based_on=f"preset:{preset}", note=None,
        created_at=now, created_by=actor, published_at=now, published_by=actor,
    )
    await uow.policies.insert(version)
    uow.decisions.record(DecisionDraft(
        subject_type="policy_version", subject_id=version.id, kind="policy.publish", outcome="published",
        actor=actor, automated=False, policy_version=version.version,
        reason_text=f"Initial policy from preset {preset}.",
    ))
    return version


# ----- validation ------------------------------------------------------------------------------


def _prefixed(problems: Sequence[FieldProblem], prefix: str) -> list[FieldProblem]:
    return [FieldProblem(f"{prefix}.{p.field}" if p.field else prefix, p.message, p.code) for p in problems]


def _parse(document: object, prefix: str = DOCUMENT_FIELD) -> Policy:
    """Parse a decoded JSON document; InvalidInput lists every problem at `<prefix>.<dotted path>`."""
    if not isinstance(document, Mapping):
        raise InvalidInput("The policy document must be a JSON object.", prefix)
    try:
        return parse_policy(document)
    except InvalidInput as exc:
        raise InvalidInput.from_problems(_prefixed(exc.problems, prefix)) from None


def validate_policy_document(document: object, prefix: str = DOCUMENT_FIELD) -> list[FieldProblem]:
    """Every problem with a policy document (empty when valid); nothing is stored or recorded."""
    try:
        _parse(document, prefix)
    except InvalidInput as exc:
        return list(exc.problems) or [FieldProblem(exc.field or prefix, exc.message, "invalid")]
    return []


def _normalized(policy: Policy) -> dict[str, Any]:
    document: dict[str, Any] = policy.model_dump(mode="json")
    return document


def _check_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note is at most {MAX_NOTE} characters.", "note")
    return note or None


# ----- reads -----------------------------------------------------------------------------------


async def get_policy_in_force(uow: UnitOfWork, principal: Principal) -> PolicyVersion:
    principal.require(*READERS)
    in_force = await uow.policies.in_force()
    version = await uow.policies.get(in_force.version)
    if version is None:  # pragma: no cover - in_force just read it
        raise NotFound("Policy version")
    return version


async def get_policy_version(
    uow: UnitOfWork, principal: Principal, *, version: int | None = None, version_id: UUID | None = None
) -> PolicyVersion | None:
    """One version by number or by id; None when this tenant has no such version."""
    principal.require(*READERS)
    if version_id is not None:
        return await uow.policies.get_by_id(version_id)
    if version is None or version < 1:
        return None
    return await uow.policies.get(version)


async def list_policy_versions(
    uow: UnitOfWork, principal: Principal, after: UUID | None, first: int
) -> list[PolicyVersion]:
    """Versions oldest first (ids are time-ordered, so this is also version order)."""
    principal.require(*READERS)
    return await uow.policies.page(after, first)


# ----- changes ---------------------------------------------------------------------------------


async def _source_document(uow: UnitOfWork, based_on: str) -> tuple[dict[str, Any], str]:
    """The document a draft starts from, and the `based_on` recorded ("current" is resolved to its
    version number, so the record stays true after later publishes)."""
    match = _BASED_ON.match(based_on.strip())
    hint = f"Use preset:<name> ({', '.join(sorted(PRESETS))}), current or version:<n>."
    if match is None:
        raise InvalidInput(f"'{based_on}' is not a valid basedOn. {hint}", "basedOn")
    if (preset := match["preset"]) is not None:
        if preset not in PRESETS:
            raise InvalidInput(f"Unknown policy preset '{preset}'. {hint}", "basedOn")
        return _normalized(PRESETS[preset]), f"preset:{preset}"
    number = (await uow.policies.in_force()).version if match["current"] is not None else int(match["version"])
    source = await uow.policies.get(number)
    if source is None:
        raise NotFound(f"Policy version {number}", "basedOn")
    return dict(source.document), f"version:{number}"


async def create_policy_draft(
    uow: UnitOfWork, principal: Principal, based_on: str, note: str | None = None
) -> PolicyVersion:
    """A new draft version (next number) copied from a preset, the version in force or version n."""
    principal.require(*EDITORS)
    note = _check_note(note)
    await uow.policies.lock_for_change()
    document, source = await _source_document(uow, based_on)
    draft = PolicyVersion(
        id=new_id(), version=await uow.policies.next_version_number(), status=PolicyStatus.DRAFT,
        document=document, based_on=source, note=note, created_at=uow.clock.now(), created_by=principal.actor,
        published_at=None, published_by=None,
    )
    await uow.policies.insert(draft)
    uow.decisions.record(DecisionDraft(
        subject_type="policy_version", subject_id=draft.id, kind="policy.draft_created", outcome="draft",
        actor=principal.actor, automated=False, policy_version=draft.version,
        rules=(RuleRecord("policy.based_on", True, {"based_on": source}),),
        reason_text=note or f"Draft v{draft.version} from {source}.",
    ))
    return draft


async def _draft(uow: UnitOfWork, version_id: UUID, action: str) -> PolicyVersion:
    version = await uow.policies.get_by_id(version_id)
    if version is None:
        raise NotFound("Policy version", "id")
    if version.status is not PolicyStatus.DRAFT:
        raise Conflict(
            f"Policy v{version.version} is {version.status.value}; only drafts can be {action}. "
            f"Create a draft with basedOn \"version:{version.version}\" instead.",
            "id",
        )
    return version


async def update_policy_draft(
    uow: UnitOfWork, principal: Principal, version_id: UUID, document: object, note: str | None = None
) -> PolicyVersion:
    """Replace a draft's document. An invalid document is refused with every problem; nothing is stored."""
    principal.require(*EDITORS)
    problems: list[FieldProblem] = []
    try:
        note = _check_note(note)
    except InvalidInput as exc:
        problems.append(FieldProblem("note", exc.message, "invalid"))
    try:
        policy = _parse(document)
    except InvalidInput as exc:
        problems.extend(exc.problems or (FieldProblem(exc.field or DOCUMENT_FIELD, exc.message, "invalid"),))
    if problems:
        raise InvalidInput.from_problems(problems)
    await uow.policies.lock_for_change()
    await _draft(uow, version_id, "edited")
    updated = await uow.policies.update_draft(version_id, _normalized(policy), note)
    if updated is None:  # pragma: no cover - serialized by lock_for_change
        raise Conflict("The draft changed state while it was being edited; reload it.", "id")
    uow.decisions.record(DecisionDraft(
        subject_type="policy_version", subject_id=updated.id, kind="policy.draft_updated", outcome="draft",
        actor=principal.actor, automated=False, policy_version=updated.version,
        reason_text=note or f"Draft v{updated.version} edited.",
    ))
    return updated


async def publish_policy(uow: UnitOfWork, principal: Principal, version_id: UUID) -> PolicyVersion:
    """Put a draft in force; the version in force becomes superseded. Decisions already taken keep
    their version. A draft older than the version in force is refused (it would silently undo the
    newer version's changes): create a new draft from it instead."""
    principal.require(*EDITORS)
    await uow.policies.lock_for_change()
    draft = await _draft(uow, version_id, "published")
    _parse(draft.document)  # re-validate: the rules may have tightened since the draft was written
    previous = (await uow.policies.in_force()).version
    if draft.version < previous:
        raise Conflict(
            f"Draft v{draft.version} is older than v{previous}, which is in force; publishing it would undo "
            f"v{previous}. Create a new draft with basedOn \"version:{draft.version}\" to publish its content.",
            "id",
        )
    published = await uow.policies.publish(version_id, uow.clock.now(), principal.actor)
    if published is None:  # pragma: no cover - serialized by lock_for_change
        raise Conflict("The draft changed state while it was being published; reload it.", "id")
    uow.decisions.record(DecisionDraft(
        subject_type="policy_version", subject_id=published.id, kind="policy.publish", outcome="published",
        actor=principal.actor, automated=False, policy_version=published.version,
        rules=(RuleRecord("policy.valid", True, {"version": published.version, "supersedes": previous,
                                                 "based_on": published.based_on}),),
        reasons=(Reason("policy.published", f"v{published.version} supersedes v{previous}."),),
        reason_text=published.note or f"Policy v{published.version} published; supersedes v{previous}.",
    ))
    return published


# ----- simulation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyScenario:
    """A hypothetical notice, in the vocabulary of `NoticeFacts`. `today` defaults to the tenant's
    date. (Past cases will become scenarios too: a case's stored facts map onto these fields.)"""

    right_type: RightType
    jurisdiction: str
    verification_status: VerificationStatus = VerificationStatus.UNVERIFIED
    legal_status: LegalStatus = LegalStatus.ACTIVE
    valid_until: date | None = None
    today: date | None = None
    present_fields: tuple[str, ...] = ()
    evidence_kinds: tuple[str, ...] = ()
    listing_count: int = 1
    has_agent: bool = False
    agent_authorized: bool = False
    notifier_trusted: bool = False
    label: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    index: int
    label: str | None
    facts: NoticeFacts
    candidate: NoticeAssessment
    in_force: NoticeAssessment

    @property
    def changed(self) -> bool:
        a, b = self.candidate, self.in_force
        return (a.outcome, a.measure, a.problems) != (b.outcome, b.measure, b.problems)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """`candidate_version`: the simulated version's number, None for an inline document."""

    candidate_version: int | None
    in_force_version: int
    results: tuple[ScenarioResult, ...] = field(default_factory=tuple)

    @property
    def changed_count(self) -> int:
        return sum(1 for r in self.results if r.changed)


def _scenario_problems(index: int, s: PolicyScenario) -> list[FieldProblem]:
    at = f"scenarios.{index}"
    problems: list[FieldProblem] = []
    if not _JURISDICTION.match(s.jurisdiction):
        problems.append(FieldProblem(f"{at}.jurisdiction", "Use an ISO 3166-1 alpha-2 code such as CN, US or EU."))
    for i, name in enumerate(s.present_fields):
        if name not in _NOTICE_FIELDS:
            known = ", ".join(sorted(_NOTICE_FIELDS))
            message = f"Unknown notice field '{name}'; use one of {known}."
            problems.append(FieldProblem(f"{at}.presentFields.{i}", message))
    for i, kind in enumerate(s.evidence_kinds):
        if not _EVIDENCE_KIND.match(kind):
            problems.append(FieldProblem(f"{at}.evidenceKinds.{i}", "Use lowercase letters, digits and underscores."))
    if not 0 <= s.listing_count <= MAX_LISTINGS:
        problems.append(FieldProblem(f"{at}.listingCount", f"Use 0 to {MAX_LISTINGS}."))
    if s.agent_authorized and not s.has_agent:
        problems.append(FieldProblem(f"{at}.agentAuthorized", "Only a notice filed by an agent has an authorization."))
    if s.label is not None and len(s.label) > 200:
        problems.append(FieldProblem(f"{at}.label", "A label is at most 200 characters."))
    return problems


def _facts(s: PolicyScenario, today: date) -> NoticeFacts:
    return NoticeFacts(
        right_type=s.right_type.value, right_jurisdiction=s.jurisdiction,
        right_verification_status=s.verification_status.value, right_legal_status=s.legal_status.value,
        right_valid_until=s.valid_until, today=s.today or today, present_fields=frozenset(s.present_fields),
        evidence_kinds=frozenset(s.evidence_kinds), listing_count=s.listing_count, has_agent=s.has_agent,
        agent_authorized=s.agent_authorized, notifier_trusted=s.notifier_trusted,
    )


async def simulate_policy(
    uow: UnitOfWork,
    principal: Principal,
    scenarios: Sequence[PolicyScenario],
    *,
    version_id: UUID | None = None,
    document: object = None,
    case_ids: Sequence[UUID] = (),
) -> SimulationResult:
    """What a version (by id: a draft or any past version) or an inline document would decide for
    each scenario, next to what the version in force decides. Reads only: writes and records nothing."""
    principal.require(*READERS)
    if (version_id is None) == (document is None):
        raise InvalidInput("Give either the id of a policy version or an inline document, not both.", "id")
    if case_ids:
        scenarios = [*scenarios, *await _past_case_scenarios(uow, case_ids)]
    if not scenarios:
        raise InvalidInput("Give at least one scenario or past case.", "scenarios")
    if len(scenarios) > MAX_SCENARIOS:
        raise LimitExceeded(f"At most {MAX_SCENARIOS} scenarios per simulation.", "scenarios")
    problems = [p for i, s in enumerate(scenarios) for p in _scenario_problems(i, s)]
    candidate: Policy | None = None
    if document is not None:
        try:
            candidate = _parse(document)
        except InvalidInput as exc:
            problems.extend(exc.problems or (FieldProblem(exc.field or DOCUMENT_FIELD, exc.message, "invalid"),))
    if problems:
        raise InvalidInput.from_problems(problems)

    candidate_version: int | None = None
    if candidate is None:
        assert version_id is not None
        stored = await uow.policies.get_by_id(version_id)
        if stored is None:
            raise NotFound("Policy version", "id")
        candidate, candidate_version = _parse(stored.document), stored.version
    in_force = await uow.policies.in_force()
    tenant = await uow.tenants.get_current()
    today = uow.clock.now().astimezone(ZoneInfo(tenant.timezone)).date()

    results = []
    for index, scenario in enumerate(scenarios):
        facts = _facts(scenario, today)
        results.append(ScenarioResult(
            index=index, label=scenario.label, facts=facts,
            candidate=evaluate_notice(candidate, facts), in_force=evaluate_notice(in_force.policy, facts),
        ))
    return SimulationResult(candidate_version, in_force.version, tuple(results))


async def _past_case_scenarios(uow: UnitOfWork, case_ids: Sequence[UUID]) -> list[PolicyScenario]:
    """A past case as the engine saw it at intake: its notice's right, fields, evidence and listing
    count, on the day it was received (so "what would this version have decided?")."""
    from domain.notices import NoticeInput, notice_present_fields

    cases = await uow.cases.get_many(list(case_ids))
    missing = [FieldProblem(f"caseIds.{i}", "No such case.", "not_found") for i, c in enumerate(cases) if c is None]
    if missing:
        raise InvalidInput.from_problems(missing)
    found = [c for c in cases if c is not None]
    notices = {n.id: n for n in await uow.notices.get_many(list({c.notice_id for c in found})) if n}
    rights = {r.id: r for r in await uow.ip_rights.get_many(list({n.ip_right_id for n in notices.values()})) if r}
    contacts = await uow.parties.contact_flags(list({n.complainant_id for n in notices.values()}))
    scenarios = []
    for case in found:
        notice = notices[case.notice_id]
        right = rights[notice.ip_right_id]
        listing_count = len(await uow.cases.by_notice(notice.id))
        has_identity, has_email, _, _ = contacts.get(notice.complainant_id, (False, False, False, False))
        as_input = NoticeInput(complainant_id=notice.complainant_id, ip_right_id=notice.ip_right_id,
                               reason_code=notice.reason_code, listing_ids=(case.listing_id,),
                               agent_id=notice.agent_id, explanation=notice.explanation, evidence=notice.evidence,
                               statements=notice.statements, signature=notice.signature)
        scenarios.append(PolicyScenario(
            right_type=right.type, jurisdiction=right.jurisdiction, verification_status=right.verification_status,
            legal_status=right.legal_status, valid_until=right.valid_until, today=notice.received_at.date(),
            present_fields=tuple(sorted(notice_present_fields(as_input, has_identity=has_identity,
                                                              has_email=has_email))),
            evidence_kinds=tuple(sorted({e.kind for e in notice.evidence})), listing_count=listing_count,
            has_agent=notice.agent_id is not None,
            agent_authorized=any(e.kind == "authorization_letter" for e in notice.evidence),
            notifier_trusted=notice.trusted, label=f"case:{case.id}",
        ))
    return scenarios
