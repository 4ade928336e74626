"""Pure evaluation of a notice (and a declaration) against a tenant policy.

`evaluate_notice(policy, facts)` says what the engine does with a notice on intake: reject it,
ask for clarification (`incomplete`), queue it for review, or accept it automatically. It returns
the problems (for the complainant) and every rule it checked with what the rule saw (`hits`, for
the decision record), so an auto-decision is explainable and a policy can be simulated.

Rules, in the order they appear in `hits` (rule ids are stable; decision records store them):

| rule id                             | fails when                                      | failure |
|-------------------------------------|-------------------------------------------------|---------|
| notices.accepted_right_types        | the right type is not accepted                  | hard    |
| notices.accepted_jurisdictions      | the right's jurisdiction is not accepted        | hard    |
| notices.verified_right_required     | verification rejected; or unverified when required | hard |
| rights.legal_status                 | the right is expired or invalidated             | hard    |
| rights.valid_until                  | valid_until is before today                     | hard    |
| notices.max_listings_per_notice     | more listings than the cap                      | hard    |
| notices.listings_present            | no listing at all                               | soft    |
| notices.required_fields             | a required field is missing                     | soft    |
| notices.required_evidence.<type>    | a required evidence kind is missing             | soft    |
| notices.agent_authorization         | an agent files without authorization on record  | soft    |
| notices.review_mode                 | (never fails; `passed` = automation allowed)    | -       |

Outcome: any hard failure -> `reject`; else any soft failure -> `incomplete` when the policy
allows clarification, `reject` otherwise; else `auto_accept` when the review mode allows it
(`auto`, or `auto_for_trusted` with trust enabled and a trusted notifier) and the right is not
under a pending invalidation (an unstable right always goes to a human: SPC Guiding Op. Art 6,
Beijing guideline art 25); else `review`. Problems list every failure, hard and soft, so the
complainant learns everything at once.

Speed: the policy is compiled once per policy object (frozensets and dicts, no pydantic at
evaluation time) and cached; each rule's result (hit + problems) is memoized per compiled policy
under the few fact values it depends on, so an evaluation is set arithmetic and dict lookups.
`bench/policy_eval.py` measures it (target: 50,000 evaluations/s on one core).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

from domain.errors import FieldProblem
from domain.policy import Policy, ReviewMode

__all__ = [
    "CompiledPolicy",
    "DeclarationAssessment",
    "DeclarationOutcome",
    "NoticeAssessment",
    "NoticeFacts",
    "NoticeOutcome",
    "RuleHit",
    "compile_policy",
    "evaluate_declaration",
    "evaluate_notice",
]

NoticeOutcome = Literal["review", "incomplete", "reject", "auto_accept"]
DeclarationOutcome = Literal["accept_for_review", "incomplete", "reject"]


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What evaluation needs to know about a notice and the right it relies on.

    Status fields take the wire values (the `domain.reference` enums are str enums and work too):
    right_verification_status: unverified | verified | rejected;
    right_legal_status: active | expired | invalidation_pending | invalidated.
    `present_fields` uses `NoticeField` names; `evidence_kinds` the evidence kinds attached."""

    right_type: str
    right_jurisdiction: str
    right_verification_status: str
    right_legal_status: str
    right_valid_until: date | None
    today: date
    present_fields: frozenset[str]
    evidence_kinds: frozenset[str]
    listing_count: int
    has_agent: bool
    agent_authorized: bool
    notifier_trusted: bool


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule checked: its stable id, whether it passed, and the inputs it saw.

    `inputs` is a read-only mapping (hits are shared between assessments); values are str, int,
    bool, date, None or tuples of those; `dict(hit.inputs)` for serialization."""

    rule_id: str
    passed: bool
    inputs: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class NoticeAssessment:
    """`measure`: the policy's default measure for the right type; None when the outcome is reject.
    `review_due_hours`: the review SLA for `review` and `incomplete` (counted again from the
    clarification), 0 when no review is pending. `clarification_days`: the window to complete an
    `incomplete` notice, else None."""

    outcome: NoticeOutcome
    problems: tuple[FieldProblem, ...]
    hits: tuple[RuleHit, ...]
    measure: str | None
    review_due_hours: int
    clarification_days: int | None


@dataclass(frozen=True, slots=True)
class DeclarationAssessment:
    """`review_required`: whether a human must accept it (policy); `immediate_restore`: an accepted
    declaration restores at once for this right type (CN copyright regulation Art 17)."""

    outcome: DeclarationOutcome
    problems: tuple[FieldProblem, ...]
    hits: tuple[RuleHit, ...]
    review_required: bool
    immediate_restore: bool


# ----- compilation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _EvidenceRule:
    rule_id: str
    all_of: frozenset[str]
    any_of: tuple[frozenset[str], ...]
    any_of_sorted: tuple[tuple[str, ...], ...]
    by_jurisdiction: Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy reduced to lookup sets; build with `compile_policy`."""

    policy: Policy
    accepted_right_types: frozenset[str]
    accepted_right_types_sorted: tuple[str, ...]
    any_jurisdiction: bool
    accepted_jurisdictions: frozenset[str]
    accepted_jurisdictions_sorted: tuple[str, ...]
    required_fields_default: frozenset[str]
    required_fields: Mapping[str, frozenset[str]]
    evidence: Mapping[str, _EvidenceRule]
    verified_right_required: bool
    agent_authorization_required: bool
    max_listings: int
    review_mode: str
    auto_all: bool
    auto_trusted: bool
    default_measure: Mapping[str, str]
    review_sla_hours: int
    clarification_days: int | None
    declarations_allowed: bool
    declaration_required_fields: frozenset[str]
    declaration_all_of: frozenset[str]
    declaration_any_of: tuple[frozenset[str], ...]
    declaration_any_of_sorted: tuple[tuple[str, ...], ...]
    declaration_review_required: bool
    immediate_restore: frozenset[str]
    memo: dict[tuple[object, ...], tuple[RuleHit, tuple[FieldProblem, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    date_memo: dict[tuple[object, ...], tuple[RuleHit, tuple[FieldProblem, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )


def _build(policy: Policy) -> CompiledPolicy:
    n = policy.notices
    base_fields = frozenset(f.value for f in n.required_fields)
    fields = {
        t.value: base_fields | frozenset(f.value for f in extra) for t, extra in n.required_fields_by_right_type.items()
    }
    evidence = {
        t.value: _EvidenceRule(
            rule_id=f"notices.required_evidence.{t.value}",
            all_of=frozenset(req.all_of),
            any_of=tuple(frozenset(group) for group in req.any_of),
            any_of_sorted=tuple(tuple(sorted(group)) for group in req.any_of),
            by_jurisdiction={j: frozenset(kinds) for j, kinds in req.by_jurisdiction.items()},
        )
        for t, req in n.required_evidence.items()
    }
    d = policy.declarations
    return CompiledPolicy(
        policy=policy,
        accepted_right_types=frozenset(t.value for t in n.accepted_right_types),
        accepted_right_types_sorted=tuple(sorted(t.value for t in n.accepted_right_types)),
        any_jurisdiction="*" in n.accepted_jurisdictions,
        accepted_jurisdictions=frozenset(n.accepted_jurisdictions),
        accepted_jurisdictions_sorted=tuple(sorted(n.accepted_jurisdictions)),
        required_fields_default=base_fields,
        required_fields=fields,
        evidence=evidence,
        verified_right_required=n.verified_right_required,
        agent_authorization_required=n.agent_authorization_required,
        max_listings=n.max_listings_per_notice,
        review_mode=n.review_mode.value,
        auto_all=n.review_mode is ReviewMode.AUTO,
        auto_trusted=n.review_mode is ReviewMode.AUTO_FOR_TRUSTED and policy.trust.enabled,
        default_measure={t.value: m.value for t, m in n.default_measure.items()},
        review_sla_hours=n.review_sla_hours,
        clarification_days=n.clarification.window_days if n.clarification.allowed else None,
        declarations_allowed=d.allowed,
        declaration_required_fields=frozenset(f.value for f in d.required_fields),
        declaration_all_of=frozenset(d.required_evidence.all_of),
        declaration_any_of=tuple(frozenset(g) for g in d.required_evidence.any_of),
        declaration_any_of_sorted=tuple(tuple(sorted(g)) for g in d.required_evidence.any_of),
        declaration_review_required=d.review_required,
        immediate_restore=frozenset(t.value for t in d.immediate_restore),
    )


# Cache keyed by id(policy); the entry holds the policy itself, so the id cannot be reused while
# the entry lives, and the identity check guards against a stale id after eviction.
_CACHE_SIZE = 256
_cache: OrderedDict[int, CompiledPolicy] = OrderedDict()
_cache_lock = threading.Lock()


def compile_policy(policy: Policy | CompiledPolicy) -> CompiledPolicy:
    """The compiled form of a policy, cached per policy object (bounded: 256 entries, FIFO)."""
    if isinstance(policy, CompiledPolicy):
        return policy
    key = id(policy)
    compiled = _cache.get(key)
    if compiled is not None and compiled.policy is policy:
        return compiled
    compiled = _build(policy)
    with _cache_lock:
        _cache[key] = compiled
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


# ----- notices ---------------------------------------------------------------------------------

# A rule's result (its hit and the problems it reports) is a function of the compiled policy and
# a few fact values, so results are memoized per compiled policy under those values (building
# frozen dataclasses dominates the cost otherwise). Memoized hits are shared between assessments,
# so their inputs are read-only mappings.
_Entry = tuple[RuleHit, tuple[FieldProblem, ...]]
_MEMO_LIMIT = 4096
_HARD_LEGAL_STATUSES = frozenset({"expired", "invalidated"})
_NONE: tuple[FieldProblem, ...] = ()


def _entry(rule_id: str, passed: bool, inputs: dict[str, object], *problems: FieldProblem) -> _Entry:
    return RuleHit(rule_id, passed, MappingProxyType(inputs)), problems


def _remember(memo: dict[tuple[object, ...], _Entry], key: tuple[object, ...], entry: _Entry) -> _Entry:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = entry
    return entry


def _right_type(c: CompiledPolicy, right_type: str) -> _Entry:
    ok = right_type in c.accepted_right_types
    inputs: dict[str, object] = {"right_type": right_type, "accepted": c.accepted_right_types_sorted}
    if ok:
        return _entry("notices.accepted_right_types", True, inputs)
    problem = FieldProblem("right.type", f"Rights of type '{right_type}' are not accepted.", "not_accepted")
    return _entry("notices.accepted_right_types", False, inputs, problem)


def _jurisdiction(c: CompiledPolicy, jurisdiction: str) -> _Entry:
    ok = c.any_jurisdiction or jurisdiction in c.accepted_jurisdictions
    inputs: dict[str, object] = {"jurisdiction": jurisdiction, "accepted": c.accepted_jurisdictions_sorted}
    if ok:
        return _entry("notices.accepted_jurisdictions", True, inputs)
    problem = FieldProblem(
        "right.jurisdiction", f"Rights from jurisdiction '{jurisdiction}' are not accepted.", "not_accepted"
    )
    return _entry("notices.accepted_jurisdictions", False, inputs, problem)


def _verification(c: CompiledPolicy, status: str) -> _Entry:
    inputs: dict[str, object] = {"verification_status": status, "required": c.verified_right_required}
    if status == "verified" or (status == "unverified" and not c.verified_right_required):
        return _entry("notices.verified_right_required", True, inputs)
    if status == "rejected":
        problem = FieldProblem("right.verification_status", "The right failed verification.", "right_rejected")
    else:
        problem = FieldProblem(
            "right.verification_status",
            "The right must be verified before notices can rely on it.",
            "right_unverified",
        )
    return _entry("notices.verified_right_required", False, inputs, problem)


def _legal_status(status: str) -> _Entry:
    if status not in _HARD_LEGAL_STATUSES:
        return _entry("rights.legal_status", True, {"legal_status": status})
    problem = FieldProblem("right.legal_status", f"The right is {status}.", "right_not_in_force")
    return _entry("rights.legal_status", False, {"legal_status": status}, problem)


def _valid_until(valid_until: date | None, today: date) -> _Entry:
    inputs: dict[str, object] = {"valid_until": valid_until, "today": today}
    if valid_until is None or valid_until >= today:
        return _entry("rights.valid_until", True, inputs)
    problem = FieldProblem("right.valid_until", f"The right expired on {valid_until}.", "right_expired")
    return _entry("rights.valid_until", False, inputs, problem)


def _max_listings(c: CompiledPolicy, count: int) -> _Entry:
    inputs: dict[str, object] = {"listing_count": count, "max": c.max_listings}
    if count <= c.max_listings:
        return _entry("notices.max_listings_per_notice", True, inputs)
    problem = FieldProblem(
        "listings",
        f"A notice may target at most {c.max_listings} listings; this one targets {count}.",
        "limit_exceeded",
    )
    return _entry("notices.max_listings_per_notice", False, inputs, problem)


def _listings_present(count: int) -> _Entry:
    if count >= 1:
        return _entry("notices.listings_present", True, {"listing_count": count})
    problem = FieldProblem("listings", "At least one listing is required.", "required")
    return _entry("notices.listings_present", False, {"listing_count": count}, problem)


def _required_fields(missing: frozenset[str]) -> _Entry:
    names = tuple(sorted(missing))
    problems = tuple(FieldProblem(name, "This field is required.", "required") for name in names)
    return _entry("notices.required_fields", not names, {"missing": names}, *problems)


def _evidence(
    rule: _EvidenceRule,
    right_type: str,
    jurisdiction: str,
    extra: frozenset[str] | None,
    missing: frozenset[str],
    groups: tuple[int, ...],
) -> _Entry:
    kinds = tuple(sorted(missing))
    one_of = tuple(rule.any_of_sorted[i] for i in groups)
    problems: list[FieldProblem] = []
    for kind in kinds:
        where = f" in {jurisdiction}" if extra is not None and kind in extra else ""
        problems.append(
            FieldProblem(
                "evidence",
                f"Evidence of kind '{kind}' is required for {right_type} rights{where}.",
                "required",
            )
        )
    for group in one_of:
        problems.append(
            FieldProblem("evidence", f"Evidence of one of these kinds is required: {', '.join(group)}.", "required")
        )
    inputs: dict[str, object] = {"jurisdiction": jurisdiction, "missing": kinds, "missing_one_of": one_of}
    return _entry(rule.rule_id, not problems, inputs, *problems)


def _agent(c: CompiledPolicy, authorized: bool) -> _Entry:
    inputs: dict[str, object] = {"agent_authorized": authorized, "required": c.agent_authorization_required}
    if authorized or not c.agent_authorization_required:
        return _entry("notices.agent_authorization", True, inputs)
    problem = FieldProblem(
        "agent.authorization", "An agent needs the rights holder's authorization on record.", "required"
    )
    return _entry("notices.agent_authorization", False, inputs, problem)


def _review_mode(c: CompiledPolicy, trusted: bool, stable: bool) -> _Entry:
    automated = (c.auto_all or (c.auto_trusted and trusted)) and stable
    inputs: dict[str, object] = {
        "review_mode": c.review_mode,
        "notifier_trusted": trusted,
        "right_stable": stable,
    }
    return _entry("notices.review_mode", automated, inputs)


_VALID_FOREVER = _entry("rights.valid_until", True, {"valid_until": None})


def evaluate_notice(policy: Policy | CompiledPolicy, facts: NoticeFacts) -> NoticeAssessment:
    """Assess a notice on intake; see the module docstring for the rules and the outcome."""
    c = compile_policy(policy)
    memo = c.memo
    right_type = facts.right_type
    jurisdiction = facts.right_jurisdiction
    legal = facts.right_legal_status
    count = facts.listing_count

    key: tuple[object, ...] = ("t", right_type)
    e_type = memo.get(key) or _remember(memo, key, _right_type(c, right_type))
    key = ("j", jurisdiction)
    e_jur = memo.get(key) or _remember(memo, key, _jurisdiction(c, jurisdiction))
    key = ("v", facts.right_verification_status)
    e_ver = memo.get(key) or _remember(memo, key, _verification(c, facts.right_verification_status))
    key = ("l", legal)
    e_legal = memo.get(key) or _remember(memo, key, _legal_status(legal))
    valid_until = facts.right_valid_until
    if valid_until is None:
        e_until = _VALID_FOREVER
    else:
        # many distinct (valid_until, today) pairs: a memo of their own, so they never evict the rest
        date_key = (valid_until, facts.today)
        e_until = c.date_memo.get(date_key) or _remember(c.date_memo, date_key, _valid_until(valid_until, facts.today))
    key = ("n", count)
    e_max = memo.get(key) or _remember(memo, key, _max_listings(c, count))
    key = ("p", count)
    e_present = memo.get(key) or _remember(memo, key, _listings_present(count))
    missing = c.required_fields.get(right_type, c.required_fields_default) - facts.present_fields
    key = ("f", missing)
    e_fields = memo.get(key) or _remember(memo, key, _required_fields(missing))
    entries = [e_type, e_jur, e_ver, e_legal, e_until, e_max, e_present, e_fields]
    hard = not (
        e_type[0].passed
        and e_jur[0].passed
        and e_ver[0].passed
        and e_legal[0].passed
        and e_until[0].passed
        and e_max[0].passed
    )
    soft = not (e_present[0].passed and e_fields[0].passed)

    rule = c.evidence.get(right_type)
    if rule is not None:
        kinds = facts.evidence_kinds
        extra = rule.by_jurisdiction.get(jurisdiction)
        missing = (rule.all_of if extra is None else rule.all_of | extra) - kinds
        groups = tuple(i for i, group in enumerate(rule.any_of) if group.isdisjoint(kinds)) if rule.any_of else ()
        key = ("e", right_type, jurisdiction, missing, groups)
        e_evidence = memo.get(key) or _remember(
            memo, key, _evidence(rule, right_type, jurisdiction, extra, missing, groups)
        )
        entries.append(e_evidence)
        soft = soft or not e_evidence[0].passed

    if facts.has_agent:
        key = ("a", facts.agent_authorized)
        e_agent = memo.get(key) or _remember(memo, key, _agent(c, facts.agent_authorized))
        entries.append(e_agent)
        soft = soft or not e_agent[0].passed

    stable = legal != "invalidation_pending"
    key = ("r", facts.notifier_trusted, stable)
    e_mode = memo.get(key) or _remember(memo, key, _review_mode(c, facts.notifier_trusted, stable))
    entries.append(e_mode)

    hits = tuple([e[0] for e in entries])
    if not hard and not soft:
        if e_mode[0].passed:
            return NoticeAssessment("auto_accept", _NONE, hits, c.default_measure.get(right_type), 0, None)
        return NoticeAssessment("review", _NONE, hits, c.default_measure.get(right_type), c.review_sla_hours, None)
    problems = tuple([p for e in entries for p in e[1]])
    if hard or c.clarification_days is None:
        return NoticeAssessment("reject", problems, hits, None, 0, None)
    return NoticeAssessment(
        "incomplete",
        problems,
        hits,
        c.default_measure.get(right_type),
        c.review_sla_hours,
        c.clarification_days,
    )


# ----- declarations ----------------------------------------------------------------------------


def evaluate_declaration(
    policy: Policy | CompiledPolicy,
    present_fields: frozenset[str],
    evidence_kinds: frozenset[str],
    *,
    right_type: str | None = None,
) -> DeclarationAssessment:
    """Assess a declaration on intake: `reject` when the policy does not take declarations,
    `incomplete` when fields or evidence are missing (the merchant may complete it),
    else `accept_for_review` (see `review_required` for whether a human must decide)."""
    c = compile_policy(policy)
    immediate = right_type is not None and right_type in c.immediate_restore
    hits = [RuleHit("declarations.allowed", c.declarations_allowed, {"allowed": c.declarations_allowed})]
    if not c.declarations_allowed:
        problem = FieldProblem("declaration", "This platform does not take declarations.", "not_accepted")
        return DeclarationAssessment("reject", (problem,), tuple(hits), c.declaration_review_required, False)

    problems: list[FieldProblem] = []
    missing_fields = tuple(sorted(c.declaration_required_fields - present_fields))
    problems.extend(FieldProblem(name, "This field is required.", "required") for name in missing_fields)
    hits.append(RuleHit("declarations.required_fields", not missing_fields, {"missing": missing_fields}))

    missing_kinds = tuple(sorted(c.declaration_all_of - evidence_kinds))
    groups = [i for i, group in enumerate(c.declaration_any_of) if group.isdisjoint(evidence_kinds)]
    missing_any = tuple(c.declaration_any_of_sorted[i] for i in groups)
    problems.extend(
        FieldProblem("evidence", f"Evidence of kind '{kind}' is required.", "required") for kind in missing_kinds
    )
    problems.extend(
        FieldProblem("evidence", f"Evidence of one of these kinds is required: {', '.join(g)}.", "required")
        for g in missing_any
    )
    hits.append(
        RuleHit(
            "declarations.required_evidence",
            not missing_kinds and not missing_any,
            {"missing": missing_kinds, "missing_one_of": missing_any},
        )
    )
    outcome: DeclarationOutcome = "incomplete" if problems else "accept_for_review"
    return DeclarationAssessment(
        outcome, tuple(problems), tuple(hits), c.declaration_review_required, immediate and not problems
    )
