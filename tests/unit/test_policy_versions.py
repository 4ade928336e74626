"""Policy version use cases against an in-memory unit of work: lifecycle rules, decisions, simulation."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.clock import FixedClock
from domain.decisions import DecisionDraft
from domain.errors import Conflict, ErrorCode, Forbidden, InvalidInput, LimitExceeded, NotFound
from domain.policies import PolicyInForce, PolicyStatus, PolicyVersion
from domain.policy import PRESETS, parse_policy
from domain.reference import LegalStatus, RightType, VerificationStatus
from domain.services import policies as svc
from domain.tenancy import Principal, Role, Tenant, TenantMode

ADMIN = Principal(tenant_id=uuid4(), key_id=uuid4(), roles=frozenset({Role.ADMIN}))
AUDITOR = Principal(tenant_id=ADMIN.tenant_id, key_id=uuid4(), roles=frozenset({Role.AUDITOR}))
INTEGRATION = Principal(tenant_id=ADMIN.tenant_id, key_id=uuid4(), roles=frozenset({Role.INTEGRATION}))


class FakePolicies:
    def __init__(self) -> None:
        self.rows: dict[UUID, PolicyVersion] = {}
        self.locks = 0

    async def in_force(self) -> PolicyInForce:
        [v] = [v for v in self.rows.values() if v.status is PolicyStatus.PUBLISHED]
        return PolicyInForce(v.version, parse_policy(v.document))

    async def insert(self, version: PolicyVersion) -> None:
        self.rows[version.id] = version

    async def next_version_number(self) -> int:
        return max((v.version for v in self.rows.values()), default=0) + 1

    async def get(self, version: int) -> PolicyVersion | None:
        return next((v for v in self.rows.values() if v.version == version), None)

    async def get_by_id(self, version_id: UUID) -> PolicyVersion | None:
        return self.rows.get(version_id)

    async def page(self, after: UUID | None, first: int) -> list[PolicyVersion]:
        return sorted(self.rows.values(), key=lambda v: v.version)[:first]

    async def update_draft(self, version_id: UUID, document: dict[str, Any], note: str | None) -> PolicyVersion | None:
        v = self.rows.get(version_id)
        if v is None or v.status is not PolicyStatus.DRAFT:
            return None
        self.rows[version_id] = replace(v, document=document, note=note if note is not None else v.note)
        return self.rows[version_id]

    async def publish(self, version_id: UUID, at: datetime, by: str) -> PolicyVersion | None:
        for k, v in list(self.rows.items()):
            if v.status is PolicyStatus.PUBLISHED:
                self.rows[k] = replace(v, status=PolicyStatus.SUPERSEDED)
        v = self.rows[version_id]
        self.rows[version_id] = replace(v, status=PolicyStatus.PUBLISHED, published_at=at, published_by=by)
        return self.rows[version_id]

    async def lock_for_change(self) -> None:
        self.locks += 1


class FakeDecisions:
    def __init__(self) -> None:
        self.drafts: list[DecisionDraft] = []

    def record(self, draft: DecisionDraft) -> UUID:
        self.drafts.append(draft)
        return uuid4()


class FakeTenants:
    async def get_current(self) -> Tenant:
        return Tenant(id=ADMIN.tenant_id or uuid4(), slug="t", name="T", timezone="Asia/Shanghai",
                      holiday_country="CN", mode=TenantMode.LIVE, clock_offset=timedelta(0),
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))


class FakeUow:
    def __init__(self) -> None:
        # 20:00 UTC is already the next day in Shanghai: simulation uses the tenant's date.
        self.clock = FixedClock(datetime(2026, 5, 4, 20, 0, tzinfo=UTC))
        self.policies = FakePolicies()
        self.decisions = FakeDecisions()
        self.tenants = FakeTenants()


@pytest.fixture
async def uow() -> FakeUow:
    u = FakeUow()
    await svc.install_preset(u, "cn-ecl", "operator")
    return u


def complete_trademark(**changes: Any) -> svc.PolicyScenario:
    base = svc.PolicyScenario(
        right_type=RightType.TRADEMARK, jurisdiction="CN", verification_status=VerificationStatus.VERIFIED,
        present_fields=("complainant_identity", "listing_urls", "accuracy_statement", "registration_number"),
        evidence_kinds=("registration_certificate", "test_purchase"), notifier_trusted=True,
    )
    return replace(base, **changes)


async def test_lifecycle_records_a_decision_per_change(uow: FakeUow) -> None:
    draft = await svc.create_policy_draft(uow, ADMIN, "current", note="  tighten  ")
    assert (draft.version, draft.status, draft.based_on, draft.note) == (2, PolicyStatus.DRAFT, "version:1", "tighten")
    document = copy.deepcopy(draft.document)
    document["notices"]["max_listings_per_notice"] = 10
    updated = await svc.update_policy_draft(uow, ADMIN, draft.id, document)
    assert updated.note == "tighten"  # a missing note keeps the previous one
    published = await svc.publish_policy(uow, ADMIN, draft.id)
    assert published.status is PolicyStatus.PUBLISHED
    assert (await uow.policies.in_force()).version == 2
    assert [(d.kind, d.policy_version, d.actor) for d in uow.decisions.drafts] == [
        ("policy.publish", 1, "operator"),
        ("policy.draft_created", 2, ADMIN.actor),
        ("policy.draft_updated", 2, ADMIN.actor),
        ("policy.publish", 2, ADMIN.actor),
    ]
    assert uow.decisions.drafts[-1].rules[0].inputs["supersedes"] == 1
    assert uow.policies.locks == 3


async def test_invalid_documents_report_every_problem_under_document(uow: FakeUow) -> None:
    draft = await svc.create_policy_draft(uow, ADMIN, "preset:eu-dsa")
    document = copy.deepcopy(draft.document)
    document["suspension"]["appeals"]["window_days"] = 30  # DSA Art 20: >= 180
    with pytest.raises(InvalidInput) as exc:
        await svc.update_policy_draft(uow, ADMIN, draft.id, document, note="x" * 2001)
    assert [p.field for p in exc.value.problems] == ["note", "document.suspension.appeals.window_days"]
    assert uow.policies.rows[draft.id].document == draft.document
    assert svc.validate_policy_document(document, prefix="policy") == [
        replace(exc.value.problems[1], field="policy.suspension.appeals.window_days")
    ]
    assert svc.validate_policy_document("nope")[0].field == "document"
    assert svc.validate_policy_document(PRESETS["us-dmca"].model_dump(mode="json")) == []


@pytest.mark.parametrize(
    ("based_on", "error"),
    [("current ", None), ("preset:eu-dsa", None), ("version:1", None), ("version:0", InvalidInput),
     ("preset:", InvalidInput), ("preset:uk", InvalidInput), ("version:7", NotFound), ("CURRENT", InvalidInput)],
)
async def test_based_on_forms(uow: FakeUow, based_on: str, error: type[Exception] | None) -> None:
    if error is None:
        assert (await svc.create_policy_draft(uow, ADMIN, based_on)).version == 2
    else:
        with pytest.raises(error) as exc:
            await svc.create_policy_draft(uow, ADMIN, based_on)
        assert exc.value.field == "basedOn"


async def test_only_drafts_change_and_older_drafts_cannot_undo_newer_versions(uow: FakeUow) -> None:
    v1 = await uow.policies.get(1)
    assert v1 is not None
    with pytest.raises(Conflict):
        await svc.publish_policy(uow, ADMIN, v1.id)
    with pytest.raises(Conflict):
        await svc.update_policy_draft(uow, ADMIN, v1.id, v1.document)
    older = await svc.create_policy_draft(uow, ADMIN, "current")
    newer = await svc.create_policy_draft(uow, ADMIN, "current")
    await svc.publish_policy(uow, ADMIN, newer.id)
    with pytest.raises(Conflict) as exc:
        await svc.publish_policy(uow, ADMIN, older.id)
    assert "version:2" in exc.value.message
    with pytest.raises(NotFound):
        await svc.publish_policy(uow, ADMIN, uuid4())


async def test_roles(uow: FakeUow) -> None:
    for principal in (AUDITOR, INTEGRATION):
        with pytest.raises(Forbidden):
            await svc.create_policy_draft(uow, principal, "current")
    assert (await svc.get_policy_in_force(uow, AUDITOR)).version == 1
    with pytest.raises(Forbidden) as exc:
        await svc.get_policy_in_force(uow, INTEGRATION)
    assert exc.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(Forbidden):
        await svc.simulate_policy(uow, INTEGRATION, [complete_trademark()], document={})


async def test_simulation_compares_with_the_version_in_force_and_records_nothing(uow: FakeUow) -> None:
    document = PRESETS["cn-ecl"].model_dump(mode="json")
    document["notices"]["review_mode"] = "manual"
    recorded = len(uow.decisions.drafts)
    result = await svc.simulate_policy(
        uow, AUDITOR, [complete_trademark(), complete_trademark(legal_status=LegalStatus.INVALIDATION_PENDING)],
        document=document,
    )
    assert (result.candidate_version, result.in_force_version, result.changed_count) == (None, 1, 1)
    changed, unstable = result.results
    assert (changed.in_force.outcome, changed.candidate.outcome, changed.changed) == ("auto_accept", "review", True)
    # A right under a pending invalidation always goes to a human, under either version.
    assert (unstable.in_force.outcome, unstable.candidate.outcome, unstable.changed) == ("review", "review", False)
    assert changed.facts.today == date(2026, 5, 5)  # the tenant's date (Asia/Shanghai)
    assert len(uow.decisions.drafts) == recorded
    assert len(uow.policies.rows) == 1


async def test_simulation_input_problems(uow: FakeUow) -> None:
    bad = complete_trademark(jurisdiction="cn", present_fields=("signature", "Signature"), evidence_kinds=("OK",),
                             listing_count=-1, agent_authorized=True, label="x" * 201)
    with pytest.raises(InvalidInput) as exc:
        await svc.simulate_policy(uow, ADMIN, [complete_trademark(), bad], document={"regime": "cn-ecl"})
    fields = [p.field for p in exc.value.problems]
    assert fields[:6] == ["scenarios.1.jurisdiction", "scenarios.1.presentFields.1", "scenarios.1.evidenceKinds.0",
                          "scenarios.1.listingCount", "scenarios.1.agentAuthorized", "scenarios.1.label"]
    assert "document.notices" in fields
    with pytest.raises(InvalidInput):
        await svc.simulate_policy(uow, ADMIN, [complete_trademark()])
    with pytest.raises(LimitExceeded):
        await svc.simulate_policy(uow, ADMIN, [complete_trademark()] * 101, document={})
    with pytest.raises(NotFound):
        await svc.simulate_policy(uow, ADMIN, [complete_trademark()], version_id=uuid4())
