"""Tenant policy through GraphQL: versions, drafts, validation, publishing, roles and simulation."""

from __future__ import annotations

import copy
from typing import Any

from domain.policy import POLICY_SCHEMA_ID, PRESETS
from tests.conftest import GraphQLClient

VERSION_FIELDS = "id version status regime document basedOn note createdBy publishedAt publishedBy"
POLICY = f"{{ policy {{ {VERSION_FIELDS} }} }}"
POLICY_VERSION = f"query($v: Int!) {{ policyVersion(version: $v) {{ {VERSION_FIELDS} }} }}"
POLICY_VERSIONS = """query($first: Int, $after: String) { policyVersions(first: $first, after: $after) {
  edges { cursor node { id version status } } pageInfo { hasNextPage endCursor } } }"""
PAYLOAD = f"""__typename
  ... on PolicyVersionSuccess {{ policyVersion {{ {VERSION_FIELDS} }} }}
  ... on InvalidInputError {{ code message field problems {{ field message code }} }}
  ... on Error {{ code message field }}"""
CREATE = f"mutation($input: CreatePolicyDraftInput!) {{ createPolicyDraft(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"mutation($input: UpdatePolicyDraftInput!) {{ updatePolicyDraft(input: $input) {{ {PAYLOAD} }} }}"
PUBLISH = f"mutation($input: PublishPolicyInput!) {{ publishPolicy(input: $input) {{ {PAYLOAD} }} }}"
VALIDATE = "query($doc: JSON!) { validatePolicy(document: $doc) { field message code } }"
EVALUATION = "outcome measure reviewDueHours clarificationDays problems { field code } ruleHits { ruleId passed inputs }"
SIMULATE = f"""query($input: SimulatePolicyInput!) {{ simulatePolicy(input: $input) {{
  __typename
  ... on SimulatePolicySuccess {{ simulatedVersion inForceVersion changedCount
      results {{ index label today changed simulated {{ {EVALUATION} }} inForce {{ {EVALUATION} }} }} }}
  ... on InvalidInputError {{ code message problems {{ field message code }} }}
  ... on Error {{ code message field }} }} }}"""


async def _count(owner_conn: Any, table: str, slug: str) -> int:
    return int(await owner_conn.fetchval(
        f"SELECT count(*) FROM {table} x JOIN tenants t ON t.id = x.tenant_id WHERE t.slug = $1", slug
    ))


async def _decisions(owner_conn: Any, slug: str, kind_prefix: str = "policy.") -> list[tuple[str, int, str]]:
    rows = await owner_conn.fetch(
        "SELECT d.kind, d.policy_version, d.actor FROM decisions d JOIN tenants t ON t.id = d.tenant_id"
        " WHERE t.slug = $1 AND d.kind LIKE $2 ORDER BY d.seq", slug, kind_prefix + "%",
    )
    return [(r["kind"], r["policy_version"], r["actor"]) for r in rows]


async def _create(client: GraphQLClient, based_on: str, note: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await client(CREATE, {"input": {"basedOn": based_on, "note": note}}))["createPolicyDraft"]
    return result


async def _update(client: GraphQLClient, version_id: str, document: Any, note: str | None = None) -> dict[str, Any]:
    variables = {"input": {"id": version_id, "document": document, "note": note}}
    result: dict[str, Any] = (await client(UPDATE, variables))["updatePolicyDraft"]
    return result


async def _publish(client: GraphQLClient, version_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client(PUBLISH, {"input": {"id": version_id}}))["publishPolicy"]
    return result


async def _draft(client: GraphQLClient, based_on: str = "current") -> dict[str, Any]:
    created = await _create(client, based_on)
    assert created["__typename"] == "PolicyVersionSuccess", created
    version: dict[str, Any] = created["policyVersion"]
    return version


def _forbidden(body: dict[str, Any]) -> None:
    """A top-level FORBIDDEN error and no data (a nullable field is null, a non-null one nulls `data`)."""
    assert not any((body["data"] or {}).values()), body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


# ----- versions in force -------------------------------------------------------------------------


async def test_new_tenant_has_v1_in_force_from_the_preset_of_its_country(make_tenant: Any) -> None:
    cn = await make_tenant(country="CN")
    policy = (await cn.admin(POLICY))["policy"]
    assert policy["version"] == 1
    assert policy["status"] == "PUBLISHED"
    assert policy["regime"] == "cn-ecl"
    assert policy["basedOn"] == "preset:cn-ecl"
    assert policy["publishedAt"] is not None
    assert policy["document"] == PRESETS["cn-ecl"].model_dump(mode="json")

    us = await make_tenant(timezone="America/New_York", country="US")
    policy = (await us.admin(POLICY))["policy"]
    assert (policy["version"], policy["regime"]) == (1, "us-dmca")
    versions = (await us.admin(POLICY_VERSIONS))["policyVersions"]
    assert [e["node"]["version"] for e in versions["edges"]] == [1]
    assert (await us.admin(POLICY_VERSION, {"v": 2}))["policyVersion"] is None


async def test_presets_and_json_schema_are_published(make_tenant: Any, operator: GraphQLClient) -> None:
    tenant = await make_tenant()
    integration = await tenant.client("integration")
    data = await integration("{ policyPresets { name regime document } policyJsonSchema }")
    assert {p["name"] for p in data["policyPresets"]} == {"cn-ecl", "eu-dsa", "us-dmca"}
    eu = next(p for p in data["policyPresets"] if p["name"] == "eu-dsa")
    assert eu["document"] == PRESETS["eu-dsa"].model_dump(mode="json")
    assert data["policyJsonSchema"]["$id"] == POLICY_SCHEMA_ID
    # Not tenant data: the operator may read them too (e.g. to pick a preset for createTenant).
    assert len((await operator("{ policyPresets { name } }"))["policyPresets"]) == 3


# ----- drafts ------------------------------------------------------------------------------------


async def test_drafts_from_a_preset_the_current_version_or_a_version_number(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    v1 = (await tenant.admin(POLICY))["policy"]

    from_preset = await _create(tenant.admin, "preset:eu-dsa", note="try the DSA rules")
    draft = from_preset["policyVersion"]
    assert (draft["version"], draft["status"], draft["regime"]) == (2, "DRAFT", "eu-dsa")
    assert draft["basedOn"] == "preset:eu-dsa"
    assert draft["note"] == "try the DSA rules"
    assert draft["publishedAt"] is None
    assert draft["createdBy"].startswith("apikey:")

    from_current = (await _create(tenant.admin, "current"))["policyVersion"]
    assert from_current["version"] == 3
    assert from_current["basedOn"] == "version:1"  # "current" is recorded as the version it was then
    assert from_current["document"] == v1["document"]

    from_number = (await _create(tenant.admin, "version:2"))["policyVersion"]
    assert (from_number["version"], from_number["basedOn"], from_number["regime"]) == (4, "version:2", "eu-dsa")

    # Drafts do not change what is in force.
    assert (await tenant.admin(POLICY))["policy"]["version"] == 1
    versions = (await tenant.admin(POLICY_VERSIONS, {"first": 2}))["policyVersions"]
    assert [e["node"]["version"] for e in versions["edges"]] == [1, 2]
    assert versions["pageInfo"]["hasNextPage"] is True
    rest = (await tenant.admin(POLICY_VERSIONS, {"first": 10, "after": versions["pageInfo"]["endCursor"]}))
    assert [e["node"]["version"] for e in rest["policyVersions"]["edges"]] == [3, 4]
    assert [k for k, _, _ in await _decisions(owner_conn, tenant.slug)] == [
        "policy.publish", "policy.draft_created", "policy.draft_created", "policy.draft_created"
    ]

    bad = await _create(tenant.admin, "yesterday")
    assert (bad["__typename"], bad["field"]) == ("InvalidInputError", "basedOn")
    unknown_preset = await _create(tenant.admin, "preset:uk-osa")
    assert unknown_preset["__typename"] == "InvalidInputError"
    assert "cn-ecl" in unknown_preset["message"]
    missing = await _create(tenant.admin, "version:99")
    assert (missing["__typename"], missing["field"]) == ("NotFoundError", "basedOn")
    assert await _count(owner_conn, "policy_versions", tenant.slug) == 4


async def test_an_invalid_document_is_refused_with_every_problem_and_nothing_is_stored(
    make_tenant: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant()
    draft = await _draft(tenant.admin)
    decisions_before = await _decisions(owner_conn, tenant.slug)

    document = copy.deepcopy(draft["document"])
    document["notices"]["max_listings_per_notice"] = 0
    document["notices"]["review_mode"] = "sometimes"
    document["disclosure"]["unknown_flag"] = True
    result = await _update(tenant.admin, draft["id"], document, note="three mistakes")
    assert result["__typename"] == "InvalidInputError", result
    assert result["code"] == "INVALID_INPUT"
    assert {p["field"] for p in result["problems"]} == {
        "document.notices.max_listings_per_notice",
        "document.notices.review_mode",
        "document.disclosure.unknown_flag",
    }
    assert {p["code"] for p in result["problems"]} >= {"unknown_field"}

    stored = (await tenant.admin(POLICY_VERSION, {"v": draft["version"]}))["policyVersion"]
    assert stored["document"] == draft["document"]
    assert stored["note"] is None
    assert await _decisions(owner_conn, tenant.slug) == decisions_before

    # A regime minimum is reported at the field to change (cn-ecl: 15 calendar days, ECL 43).
    document = copy.deepcopy(draft["document"])
    document["declarations"]["window"]["length_days"] = 10
    result = await _update(tenant.admin, draft["id"], document)
    assert [(p["field"], p["code"]) for p in result["problems"]] == [
        ("document.declarations.window.length_days", "inconsistent")
    ]
    not_an_object = await _update(tenant.admin, draft["id"], ["notices"])
    assert (not_an_object["__typename"], not_an_object["problems"][0]["field"]) == ("InvalidInputError", "document")

    # A valid document is stored normalized, and the edit is a decision.
    document = copy.deepcopy(draft["document"])
    document["notices"]["review_mode"] = "manual"
    del document["notices"]["review_sla_hours"]  # a default is filled in
    result = await _update(tenant.admin, draft["id"], document, note="manual review")
    assert result["__typename"] == "PolicyVersionSuccess", result
    updated = result["policyVersion"]
    assert updated["document"]["notices"]["review_mode"] == "manual"
    assert updated["document"]["notices"]["review_sla_hours"] == 24
    assert updated["note"] == "manual review"
    assert (await _decisions(owner_conn, tenant.slug))[-1][:2] == ("policy.draft_updated", draft["version"])

    wrong_type = await _update(tenant.admin, "QXBpS2V5OjE=", document)
    assert (wrong_type["__typename"], wrong_type["field"]) == ("InvalidInputError", "id")


async def test_validate_policy_returns_problems_and_stores_nothing(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    before = await _count(owner_conn, "policy_versions", tenant.slug)
    decisions = await _decisions(owner_conn, tenant.slug)
    valid = PRESETS["us-dmca"].model_dump(mode="json")
    assert (await tenant.admin(VALIDATE, {"doc": valid}))["validatePolicy"] == []

    broken = copy.deepcopy(valid)
    broken["declarations"]["window"]["min_days"] = 7
    broken["retention"]["keep_years"] = 0
    del broken["trust"]
    problems = (await tenant.admin(VALIDATE, {"doc": broken}))["validatePolicy"]
    assert {(p["field"], p["code"]) for p in problems} == {
        ("document.retention.keep_years", "invalid"),
        ("document.trust", "required"),
    }  # the DMCA minimum on min_days is checked once the sections are valid on their own
    del broken["retention"]["keep_years"]
    broken["trust"] = valid["trust"]
    problems = (await tenant.admin(VALIDATE, {"doc": broken}))["validatePolicy"]
    assert [p["field"] for p in problems] == ["document.declarations.window.min_days"]
    assert "512(g)" in problems[0]["message"]

    assert await _count(owner_conn, "policy_versions", tenant.slug) == before
    assert await _decisions(owner_conn, tenant.slug) == decisions


# ----- publishing --------------------------------------------------------------------------------


async def test_publish_supersedes_the_version_in_force_and_is_a_decision(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    v1 = (await tenant.admin(POLICY))["policy"]
    draft = await _draft(tenant.admin)
    document = copy.deepcopy(draft["document"])
    document["notices"]["max_listings_per_notice"] = 50
    assert (await _update(tenant.admin, draft["id"], document))["__typename"] == "PolicyVersionSuccess"

    published = await _publish(tenant.admin, draft["id"])
    assert published["__typename"] == "PolicyVersionSuccess", published
    v2 = published["policyVersion"]
    assert (v2["version"], v2["status"]) == (2, "PUBLISHED")
    assert v2["publishedAt"] is not None
    assert v2["publishedBy"] == v2["createdBy"]

    in_force = (await tenant.admin(POLICY))["policy"]
    assert (in_force["id"], in_force["version"]) == (draft["id"], 2)
    assert in_force["document"]["notices"]["max_listings_per_notice"] == 50
    old = (await tenant.admin(POLICY_VERSION, {"v": 1}))["policyVersion"]
    assert old["status"] == "SUPERSEDED"
    assert old["document"] == v1["document"]  # a published version never changes

    decisions = await _decisions(owner_conn, tenant.slug, "policy.publish")
    assert [(k, v) for k, v, _ in decisions] == [("policy.publish", 1), ("policy.publish", 2)]
    assert decisions[1][2] == v2["publishedBy"]
    row = await owner_conn.fetchrow(
        "SELECT d.rules::text AS rules, d.automated FROM decisions d JOIN tenants t ON t.id = d.tenant_id"
        " WHERE t.slug = $1 AND d.kind = 'policy.publish' AND d.policy_version = 2", tenant.slug,
    )
    assert '"supersedes": 1' in row["rules"]
    assert row["automated"] is False

    # Published and superseded versions are not drafts: typed conflicts, nothing changes.
    again = await _publish(tenant.admin, draft["id"])
    assert (again["__typename"], again["code"], again["field"]) == ("ConflictError", "CONFLICT", "id")
    assert "published" in again["message"]
    back = await _publish(tenant.admin, v1["id"])
    assert back["__typename"] == "ConflictError"
    edit = await _update(tenant.admin, draft["id"], document)
    assert edit["__typename"] == "ConflictError"
    assert (await tenant.admin(POLICY))["policy"]["version"] == 2
    assert len(await _decisions(owner_conn, tenant.slug, "policy.publish")) == 2


async def test_an_older_draft_cannot_undo_a_newer_published_version(make_tenant: Any) -> None:
    tenant = await make_tenant()
    older = await _draft(tenant.admin)
    newer = await _draft(tenant.admin)
    assert (await _publish(tenant.admin, newer["id"]))["__typename"] == "PolicyVersionSuccess"
    refused = await _publish(tenant.admin, older["id"])
    assert refused["__typename"] == "ConflictError"
    assert f'version:{older["version"]}' in refused["message"]
    # The way forward the message gives works.
    redo = await _draft(tenant.admin, f'version:{older["version"]}')
    assert (await _publish(tenant.admin, redo["id"]))["policyVersion"]["version"] == 4


async def test_publish_unknown_version_is_not_found(make_tenant: Any) -> None:
    tenant = await make_tenant()
    other = await make_tenant()
    foreign = await _draft(other.admin)  # another tenant's draft does not exist here
    result = await _publish(tenant.admin, foreign["id"])
    assert (result["__typename"], result["field"]) == ("NotFoundError", "id")
    assert (await other.admin(POLICY))["policy"]["version"] == 1


# ----- roles -------------------------------------------------------------------------------------


async def test_only_admins_change_policy_and_integrations_cannot_read_it(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    draft = await _draft(tenant.admin)
    versions = await _count(owner_conn, "policy_versions", tenant.slug)
    decisions = await _decisions(owner_conn, tenant.slug)
    for role in ("reviewer", "auditor", "integration"):
        client = await tenant.client(role)
        _forbidden((await client.raw(CREATE, {"input": {"basedOn": "current"}})).json())
        _forbidden((await client.raw(UPDATE, {"input": {"id": draft["id"], "document": draft["document"]}})).json())
        _forbidden((await client.raw(PUBLISH, {"input": {"id": draft["id"]}})).json())
    assert await _count(owner_conn, "policy_versions", tenant.slug) == versions
    assert await _decisions(owner_conn, tenant.slug) == decisions
    assert (await tenant.admin(POLICY))["policy"]["version"] == 1

    for role in ("reviewer", "auditor"):
        client = await tenant.client(role)
        assert (await client(POLICY))["policy"]["version"] == 1
        assert len((await client(POLICY_VERSIONS))["policyVersions"]["edges"]) == 2
        node = await client("query($id: ID!) { node(id: $id) { ... on PolicyVersion { version status } } }",
                            {"id": draft["id"]})
        assert node["node"] == {"version": 2, "status": "DRAFT"}
    integration = await tenant.client("integration")
    _forbidden((await integration.raw(POLICY)).json())
    _forbidden((await integration.raw(POLICY_VERSIONS)).json())
    _forbidden((await integration.raw(POLICY_VERSION, {"v": 1})).json())
    node = (await integration.raw("query($id: ID!) { node(id: $id) { id } }", {"id": draft["id"]})).json()
    assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ----- simulation --------------------------------------------------------------------------------

# A complete cn-ecl trademark notice (ECL 42 + Civil Code 1195 fields, registration + preliminary evidence).
COMPLETE_TRADEMARK = {
    "rightType": "TRADEMARK", "jurisdiction": "CN", "verificationStatus": "VERIFIED",
    "presentFields": ["complainant_identity", "listing_urls", "accuracy_statement", "registration_number"],
    "evidenceKinds": ["registration_certificate", "test_purchase"], "listingCount": 3,
}


async def test_simulation_shows_what_a_draft_changes_and_writes_nothing(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()  # cn-ecl: auto_for_trusted
    draft = await _draft(tenant.admin)
    document = copy.deepcopy(draft["document"])
    document["notices"]["review_mode"] = "manual"
    assert (await _update(tenant.admin, draft["id"], document))["__typename"] == "PolicyVersionSuccess"

    scenarios = [
        {**COMPLETE_TRADEMARK, "notifierTrusted": True, "label": "trusted, complete"},
        {**COMPLETE_TRADEMARK, "notifierTrusted": True, "evidenceKinds": ["test_purchase"], "label": "no certificate"},
        {**COMPLETE_TRADEMARK, "rightType": "PATENT", "legalStatus": "EXPIRED"},
        {**COMPLETE_TRADEMARK, "validUntil": "2020-01-01", "today": "2026-05-01"},
    ]
    counts = {t: await _count(owner_conn, t, tenant.slug) for t in ("policy_versions", "decisions", "outbox")}
    reviewer = await tenant.client("reviewer")
    data = await reviewer(SIMULATE, {"input": {"id": draft["id"], "scenarios": scenarios}})
    result = data["simulatePolicy"]
    assert result["__typename"] == "SimulatePolicySuccess", result
    assert (result["simulatedVersion"], result["inForceVersion"], result["changedCount"]) == (2, 1, 1)
    trusted, incomplete, expired, lapsed = result["results"]

    assert trusted["label"] == "trusted, complete"
    assert trusted["changed"] is True
    assert (trusted["inForce"]["outcome"], trusted["inForce"]["measure"]) == ("AUTO_ACCEPT", "remove")
    assert (trusted["simulated"]["outcome"], trusted["simulated"]["measure"]) == ("REVIEW", "remove")
    assert trusted["simulated"]["reviewDueHours"] == 24
    mode = {h["ruleId"]: h for h in trusted["simulated"]["ruleHits"]}["notices.review_mode"]
    assert mode["passed"] is False
    assert mode["inputs"] == {"review_mode": "manual", "notifier_trusted": True, "right_stable": True}
    in_force_mode = {h["ruleId"]: h for h in trusted["inForce"]["ruleHits"]}["notices.review_mode"]
    assert (in_force_mode["passed"], in_force_mode["inputs"]["review_mode"]) == (True, "auto_for_trusted")

    assert incomplete["changed"] is False
    assert incomplete["simulated"]["outcome"] == incomplete["inForce"]["outcome"] == "INCOMPLETE"
    assert incomplete["simulated"]["clarificationDays"] == 7
    assert {p["field"] for p in incomplete["simulated"]["problems"]} == {"evidence"}

    assert expired["simulated"]["outcome"] == "REJECT"
    assert {p["field"] for p in expired["simulated"]["problems"]} >= {"right.legal_status"}
    assert lapsed["today"] == "2026-05-01"
    lapsed_hit = {h["ruleId"]: h for h in lapsed["simulated"]["ruleHits"]}["rights.valid_until"]
    assert lapsed_hit == {"ruleId": "rights.valid_until", "passed": False,
                          "inputs": {"valid_until": "2020-01-01", "today": "2026-05-01"}}

    assert {t: await _count(owner_conn, t, tenant.slug) for t in counts} == counts
    assert (await tenant.admin(POLICY_VERSION, {"v": 2}))["policyVersion"]["status"] == "DRAFT"


async def test_simulate_an_unsaved_document(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(timezone="America/New_York", country="US")  # us-dmca: auto_for_trusted
    document = PRESETS["us-dmca"].model_dump(mode="json")
    document["notices"]["review_mode"] = "auto"
    scenario = {"rightType": "COPYRIGHT", "jurisdiction": "US", "notifierTrusted": False,
                "presentFields": ["signature", "explanation", "listing_urls", "complainant_identity", "contact_email",
                                  "good_faith_statement", "accuracy_statement", "authority_statement"]}
    before = await _count(owner_conn, "policy_versions", tenant.slug)
    data = await tenant.admin(SIMULATE, {"input": {"document": document, "scenarios": [scenario]}})
    result = data["simulatePolicy"]
    assert result["__typename"] == "SimulatePolicySuccess", result
    assert (result["simulatedVersion"], result["inForceVersion"]) == (None, 1)
    [only] = result["results"]
    assert (only["inForce"]["outcome"], only["simulated"]["outcome"]) == ("REVIEW", "AUTO_ACCEPT")
    assert await _count(owner_conn, "policy_versions", tenant.slug) == before


async def test_simulation_input_errors_are_typed(make_tenant: Any) -> None:
    tenant = await make_tenant()
    broken = PRESETS["cn-ecl"].model_dump(mode="json")
    broken["notices"]["review_mode"] = "sometimes"
    bad_scenario = {**COMPLETE_TRADEMARK, "jurisdiction": "china", "presentFields": ["signature", "selfie"],
                    "agentAuthorized": True}
    result = (await tenant.admin(SIMULATE, {"input": {"document": broken, "scenarios": [COMPLETE_TRADEMARK,
                                                                                        bad_scenario]}}))
    result = result["simulatePolicy"]
    assert result["__typename"] == "InvalidInputError"
    assert {p["field"] for p in result["problems"]} == {
        "document.notices.review_mode", "scenarios.1.jurisdiction", "scenarios.1.presentFields.1",
        "scenarios.1.agentAuthorized",
    }

    neither = (await tenant.admin(SIMULATE, {"input": {"scenarios": [COMPLETE_TRADEMARK]}}))["simulatePolicy"]
    assert (neither["__typename"], neither["field"]) == ("InvalidInputError", "id")
    v1 = (await tenant.admin(POLICY))["policy"]
    empty = (await tenant.admin(SIMULATE, {"input": {"id": v1["id"], "scenarios": []}}))["simulatePolicy"]
    assert (empty["__typename"], empty["field"]) == ("InvalidInputError", "scenarios")
    too_many = (await tenant.admin(SIMULATE, {"input": {"id": v1["id"], "scenarios": [COMPLETE_TRADEMARK] * 101}}))
    assert too_many["simulatePolicy"]["__typename"] == "LimitExceededError"
    other = await make_tenant()
    foreign = (await other.admin(POLICY))["policy"]["id"]
    missing = (await tenant.admin(SIMULATE, {"input": {"id": foreign, "scenarios": [COMPLETE_TRADEMARK]}}))
    assert missing["simulatePolicy"]["__typename"] == "NotFoundError"
    # Simulating the version in force against itself changes nothing.
    same = (await tenant.admin(SIMULATE, {"input": {"id": v1["id"], "scenarios": [COMPLETE_TRADEMARK]}}))
    assert same["simulatePolicy"]["changedCount"] == 0

    integration = await tenant.client("integration")
    _forbidden((await integration.raw(SIMULATE, {"input": {"id": v1["id"], "scenarios": [COMPLETE_TRADEMARK]}})).json())


async def test_concurrent_changes_are_serialized(make_tenant: Any) -> None:
    import asyncio

    tenant = await make_tenant()
    created = await asyncio.gather(*[_create(tenant.admin, "current") for _ in range(5)])
    assert sorted(c["policyVersion"]["version"] for c in created) == [2, 3, 4, 5, 6]

    draft_id = created[0]["policyVersion"]["id"]
    results = await asyncio.gather(*[_publish(tenant.admin, draft_id) for _ in range(3)])
    assert sorted(r["__typename"] for r in results) == ["ConflictError", "ConflictError", "PolicyVersionSuccess"]
    statuses = [e["node"]["status"] for e in (await tenant.admin(POLICY_VERSIONS))["policyVersions"]["edges"]]
    assert statuses.count("PUBLISHED") == 1
