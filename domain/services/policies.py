"""Use cases for tenant policy versions."""

from __future__ import annotations

from domain.decisions import DecisionDraft
from domain.errors import InvalidInput
from domain.ids import new_id
from domain.policies import PolicyStatus, PolicyVersion
from domain.policy import PRESETS
from domain.ports import UnitOfWork


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
        actor=actor, automated=False, policy_version=version.version, reason_text=f"Initial policy from preset {preset}.",
    ))
    return version
