"""Bad input gets a clear, typed error and never loses or corrupts data (through GraphQL and the public routes).

NUL characters (PostgreSQL stores none in text or jsonb) are refused where GraphQL coerces input and on the
public HTTP routes; a NUL that reaches the database anyway is still a typed error. Clarifications, lengths
and review values are held to limits like those intake already has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from domain.errors import InvalidInput
from tests.api.test_policies import CREATE as CREATE_DRAFT
from tests.api.test_policies import UPDATE as UPDATE_DRAFT
from tests.api.test_policies import VALIDATE as VALIDATE_POLICY
from tests.api.test_policies import _create as _create_draft
from tests.conftest import CREATE_KEY, CREATE_TENANT, GraphQLClient
from tests.e2e.test_preset_flows import LISTINGS, PARTY, RIGHT, _seed
from tests.integration.test_cases_behaviour import (
    ACCEPT,
    CLARIFY,
    ERROR_FIELDS,
    INCOMPLETE_EVIDENCE,
    NOW,
    REJECT,
    SUBMIT,
    SUBMIT_MANY,
    _applied_case,
    _notice,
    _submit,
    _uuid,
)

NUL_MESSAGE = "Text must not contain NUL (U+0000) characters."
DECLARE = f"""mutation($input: SubmitDeclarationInput!) {{ submitDeclaration(input: $input) {{
  __typename ... on Error {{ {ERROR_FIELDS} }} }} }}"""
PROOF = f"""mutation($input: SubmitActionProofInput!) {{ submitActionProof(input: $input) {{
  __typename ... on CasesSuccess {{ cases {{ id state }} }} ... on Error {{ {ERROR_FIELDS} }} }} }}"""
LISTINGS_WITH_ERRORS = """mutation($input: UpsertListingsInput!) { upsertListings(input: $input) {
  __typename ... on UpsertListingsSuccess { succeeded failed results { listing { id } error {
    code field ... on InvalidInputError { problems { field message } } } } } } }"""
PARTY_PAYLOAD = f"""mutation($input: UpsertPartyInput!) {{ upsertParty(input: $input) {{
  __typename ... on Error {{ {ERROR_FIELDS} }} }} }}"""
RIGHT_PAYLOAD = f"""mutation($input: RegisterIpRightInput!) {{ registerIpRight(input: $input) {{
  __typename ... on Error {{ {ERROR_FIELDS} }} }} }}"""
PUBLIC_RECORDS = "query($t: String!) { records(tenant: $t) { edges { node { id } } } }"
NOTICE_ROW = "SELECT explanation, evidence, signature, statements FROM notices WHERE id = $1"
GLOBAL_ID = "Q2FzZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="  # Case:<zero uuid>; never reached


def _nul_error(body: dict[str, Any], *where: str) -> dict[str, Any]:
    """The one top-level error of a request refused before anything ran: typed, naming the field."""
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT", error
    assert NUL_MESSAGE in error["message"], error
    for part in where:
        assert part in error["message"], (part, error["message"])
    return error  # type: ignore[no-any-return]


def _problems(payload: dict[str, Any]) -> dict[str, str]:
    assert payload["__typename"] == "InvalidInputError", payload
    assert payload["code"] == "INVALID_INPUT"
    return {p["field"]: p["message"] for p in payload["problems"]}


# ----- 1. NUL characters -------------------------------------------------------------------------


async def test_nul_in_any_string_variable_is_refused_naming_the_field(make_tenant: Any, operator: GraphQLClient,
                                                                       db: Any, owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    admin = tenant.admin
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]
    tenant_id = await tenant.tenant_id(db)
    counts = {t: await owner_conn.fetchval(f"SELECT count(*) FROM {t} WHERE tenant_id = $1", tenant_id)
              for t in ("notices", "api_keys", "parties", "ip_rights", "listings", "policy_versions", "decisions")}
    nul = "bad\x00text"
    notice = _notice(s, ["sku-0"])
    cases: list[tuple[GraphQLClient, str, dict[str, Any], tuple[str, ...]]] = [
        (admin, SUBMIT, {"input": {**notice, "explanation": nul}}, ("$input", ".explanation")),
        (admin, SUBMIT, {"input": {**notice, "reasonCode": nul}}, (".reasonCode",)),
        (admin, SUBMIT, {"input": {**notice, "channel": nul}}, (".channel",)),
        (admin, SUBMIT, {"input": {**notice, "idempotencyKey": nul}}, (".idempotencyKey",)),
        (admin, SUBMIT, {"input": {**notice, "listingExternalIds": ["sku-0", nul]}}, (".listingExternalIds[1]",)),
        (admin, SUBMIT, {"input": {**notice, "evidence": [*notice["evidence"], {"kind": "k", "description": nul}]}},
         (".evidence[2].description",)),
        (admin, SUBMIT, {"input": {**notice, "complainantId": nul}}, (".complainantId",)),  # ID, not String
        (operator, CREATE_TENANT, {"input": {"slug": "nul-slug", "name": nul, "timezone": "Asia/Shanghai",
                                             "holidayCountry": "CN"}}, (".name",)),
        (admin, CREATE_KEY, {"input": {"name": nul, "roles": ["ADMIN"]}}, (".name",)),
        (admin, PARTY, {"input": {"kind": "MERCHANT", "externalRef": "m", "displayName": nul}}, (".displayName",)),
        (admin, PARTY, {"input": {"kind": "MERCHANT", "externalRef": "m", "displayName": "M",
                                  "personalData": {"address": nul}}}, (".personalData.address",)),
        (admin, RIGHT, {"input": {"holderId": s["holder"], "type": "TRADEMARK", "registrationNumber": "TM-2",
                                  "jurisdiction": "CN", "classes": ["25", nul]}}, (".classes[1]",)),
        (admin, CREATE_DRAFT, {"input": {"basedOn": "current", "note": nul}}, (".note",)),
        (admin, ACCEPT, {"input": {"caseId": case["id"], "reason": nul}}, (".reason",)),
        (admin, DECLARE, {"input": {"caseIds": [case["id"]], "grounds": "OWNER", "explanation": nul}},
         (".explanation",)),
        (admin, PROOF, {"input": {"caseIds": [case["id"]], "kind": "LAWSUIT", "authority": nul, "reference": "r",
                                  "filedOn": "2026-01-01"}}, (".authority",)),
        (admin, LISTINGS, {"input": {"items": [{"externalId": "e", "url": "https://m.example/1", "title": nul,
                                                "merchantRef": "shop"}]}}, (".items[0].title",)),
        (admin, "query($f: ReviewQueueFilter) { reviewQueue(filter: $f) { edges { cursor } } }",
         {"f": {"rightType": nul}}, ("$f", ".rightType")),
        (admin, "query($f: PartyFilter) { parties(filter: $f) { edges { cursor } } }",
         {"f": {"externalRef": nul}}, (".externalRef",)),
        (admin, "query($a: String) { parties(after: $a) { edges { cursor } } }", {"a": nul}, ("$a",)),
    ]
    for client, query, variables, where in cases:
        response = await client.raw(query, variables)
        assert response.status_code == 200
        _nul_error(response.json(), *where)
    # Nothing of it was written.
    assert await owner_conn.fetchval("SELECT count(*) FROM tenants WHERE slug = 'nul-slug'") == 0
    for table, before in counts.items():
        after = await owner_conn.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant_id)
        assert after == before, table


async def test_nul_in_a_literal_or_json_value_is_refused_naming_the_field(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    admin = tenant.admin
    literal = await admin.raw('mutation { createApiKey(input: {name: "a\\u0000b", roles: [ADMIN]}) { __typename } }')
    error = _nul_error(literal.json(), "Argument 'input'", ".name")
    assert error["locations"]

    in_list = await admin.raw('{ reviewQueue(filter: {rightType: "x", states: []}) { edges { cursor } }'
                              ' parties(filter: {externalRef: "\\u0000"}) { edges { cursor } } }')
    _nul_error(in_list.json(), "Argument 'filter'", ".externalRef")

    default = await admin.raw('query($a: String = "\\u0000") { parties(after: $a) { edges { cursor } } }')
    _nul_error(default.json(), "$a")

    draft = await _create_draft(admin, "current")
    document = dict(draft["policyVersion"]["document"])
    document["disclosure"] = {**document["disclosure"], "extra_redaction_patterns": ["ok", "bad\x00"]}
    updated = await admin.raw(UPDATE_DRAFT, {"input": {"id": draft["policyVersion"]["id"], "document": document}})
    _nul_error(updated.json(), "$input", ".document", "disclosure.extra_redaction_patterns.1")
    validated = await admin.raw(VALIDATE_POLICY, {"doc": {"bad\x00key": 1}})
    _nul_error(validated.json(), "$doc")
    json_literal = await admin.raw('{ validatePolicy(document: {notes: ["\\u0000"]}) { field } }')
    _nul_error(json_literal.json(), "Argument 'document'", ".notes[0]")


async def test_a_nul_in_one_item_of_a_batch_refuses_the_whole_call_and_writes_nothing(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """The whole request is refused at coercion, like any other ill-typed input: nothing is written, and the
    error names the item, so the client fixes it and sends the same batch again."""
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=3)
    tenant_id = await tenant.tenant_id(db)
    items = [_notice(s, ["sku-0"], idempotencyKey="n-0"), _notice(s, ["sku-1"], explanation="a\x00b"),
             _notice(s, ["sku-2"], idempotencyKey="n-2")]
    response = await s["integration"].raw(SUBMIT_MANY, {"input": {"notices": items}})
    _nul_error(response.json(), "$input", ".notices[1].explanation")
    for table in ("notices", "cases", "idempotency_keys"):
        assert await owner_conn.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant_id) == 0

    listings = [{"externalId": "new-0", "url": "https://m.example/n0", "title": "ok", "merchantRef": "shop"},
                {"externalId": "new-1", "url": "https://m.example/n1", "title": "Item\x00", "merchantRef": "shop"}]
    response = await s["integration"].raw(LISTINGS, {"input": {"items": listings}})
    _nul_error(response.json(), ".items[1].title")
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM listings WHERE tenant_id = $1 AND external_id LIKE 'new-%'", tenant_id) == 0

    items[1]["explanation"] = "ab"  # fixed: the same batch goes through
    batch = (await s["integration"](SUBMIT_MANY, {"input": {"notices": items}}))["submitNotices"]
    assert (batch["succeeded"], batch["failed"]) == (3, 0), batch


async def test_nul_on_the_public_graphql_endpoint_and_routes_is_a_400_typed_error(make_tenant: Any, http: Any) -> None:
    response = await http.post("/public/graphql", json={"query": PUBLIC_RECORDS, "variables": {"t": "a\x00b"}})
    assert response.status_code == 200
    _nul_error(response.json(), "$t")

    tenant = await make_tenant(mode="SANDBOX", country="CN")  # cn-ecl: the public feed is on
    for url, field in ((f"/p/{tenant.slug}%00", "tenant"), (f"/p/{tenant.slug}?q=a%00", "q"),
                       (f"/p/{tenant.slug}?kind=%00", "kind"), (f"/p/{tenant.slug}?right=x%00", "right"),
                       (f"/p/{tenant.slug}/d/%00", "id"), (f"/p/{tenant.slug}/export.csv?from=%00", "from"),
                       (f"/p/{tenant.slug}/export.jsonl?to=2026-01-01%00", "to"), ("/p/x%00y/export.csv", "tenant")):
        page = await http.get(url)
        assert page.status_code == 400, (url, page.status_code, page.text)
        assert page.text == f"Bad request: Parameter '{field}': {NUL_MESSAGE}", (url, page.text)
    assert (await http.get(f"/p/{tenant.slug}?q=fine")).status_code == 200

    admin = {"authorization": f"Bearer {tenant.admin.key}"}
    report = await http.get("/reports/transparency.csv?from=2026-01-01&to=2026-01-31%00", headers=admin)
    assert report.status_code == 400
    assert report.json() == {"error": {"code": "INVALID_INPUT", "field": "to",
                                       "message": f"Parameter 'to': {NUL_MESSAGE}"}}


async def test_a_character_the_database_refuses_is_a_typed_error_inside_a_unit_of_work(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    """The backstop for any path that did not check first: asyncpg's encoding errors become InvalidInput."""
    from domain import reference as ref
    from domain.services import reference as reference_service
    from domain.tenancy import Principal, Role

    tenant = await make_tenant(mode="SANDBOX")
    tenant_id = await tenant.tenant_id(db)
    principal = Principal(tenant_id=tenant_id, key_id=None, roles=frozenset({Role.ADMIN}))
    with pytest.raises(InvalidInput) as text_error:
        async with db.uow(tenant_id) as uow:
            await reference_service.upsert_party(uow, principal, ref.PartyInput(
                kind=ref.PartyKind.MERCHANT, external_ref="nul", display_name="a\x00b"))
    assert text_error.value.code.value == "INVALID_INPUT"
    assert "NUL" in text_error.value.message
    with pytest.raises(InvalidInput):
        async with db.uow(tenant_id) as uow:
            await uow.conn.execute("SELECT $1::jsonb", {"a": "\x00"})  # jsonb: UntranslatableCharacterError
    with pytest.raises(InvalidInput):
        async with db.operator() as op:
            await op.conn.execute("SELECT $1::text", "a\x00")
    assert await owner_conn.fetchval("SELECT count(*) FROM parties WHERE tenant_id = $1", tenant_id) == 0


async def test_a_malformed_appeal_id_is_a_typed_error(make_tenant: Any) -> None:
    """decideAppeal's payload had no InvalidInputError, so the id check's error became "Unexpected error."."""
    tenant = await make_tenant(mode="SANDBOX")
    decided = (await tenant.admin('mutation { decideAppeal(input: {appealId: "bogus", uphold: true}) {'
                                  ' __typename ... on Error { code field } } }'))["decideAppeal"]
    assert decided == {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "appealId"}


# ----- 2. clarifyNotice --------------------------------------------------------------------------


async def test_clarification_is_held_to_intake_shape_checks_and_leaves_the_notice_unchanged(
    make_tenant: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX", timezone="Asia/Shanghai", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    integration: GraphQLClient = s["integration"]
    first = await _submit(integration, _notice(s, ["sku-0"], evidence=INCOMPLETE_EVIDENCE))
    notice_id = first["notice"]["id"]
    [case] = first["cases"]
    assert case["state"] == "INCOMPLETE"
    before = dict(await owner_conn.fetchrow(NOTICE_ROW, _uuid(notice_id)))

    certificate = {"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"}
    bad = (await integration(CLARIFY, {"input": {
        "noticeId": notice_id, "explanation": "x" * 30_000, "signature": "s" * 501,
        "evidence": [certificate, {"kind": "", "uri": "https://e.example/a"}, {"kind": "photo", "sha256": "NOT-HEX"},
                     {"kind": "photo", "uri": "not a uri"}, {"kind": "photo", "description": "d" * 2001}]}}))
    problems = _problems(bad["clarifyNotice"])
    assert set(problems) == {"explanation", "signature", "evidence.1.kind", "evidence.2.sha256", "evidence.3.uri",
                             "evidence.4.description"}, problems

    too_many = [certificate] * 100  # the notice holds one item already: 101 in all
    many = (await integration(CLARIFY, {"input": {"noticeId": notice_id, "evidence": too_many}}))["clarifyNotice"]
    assert list(_problems(many)) == ["evidence"]
    assert "100" in many["problems"][0]["message"]

    after = dict(await owner_conn.fetchrow(NOTICE_ROW, _uuid(notice_id)))
    assert after == before
    assert await owner_conn.fetchval("SELECT state FROM cases WHERE id = $1", _uuid(case["id"])) == "incomplete"

    good = (await integration(CLARIFY, {"input": {"noticeId": notice_id, "evidence": [certificate]}}))
    assert good["clarifyNotice"]["__typename"] == "CasesSuccess", good
    stored = orjson.loads(await owner_conn.fetchval("SELECT evidence FROM notices WHERE id = $1", _uuid(notice_id)))
    assert [e["kind"] for e in stored] == ["test_purchase", "registration_certificate"]


# ----- 3. length limits --------------------------------------------------------------------------


async def test_length_limits_on_notice_party_listing_and_right_fields(make_tenant: Any, db: Any,
                                                                     owner_conn: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    integration: GraphQLClient = s["integration"]
    tenant_id = await tenant.tenant_id(db)

    notice = _notice(s, ["sku-0"], channel="c" * 101,
                     evidence=[{"kind": "registration_certificate", "uri": "https://e.example/c.pdf",
                                "description": "d" * 2001}])
    refused = (await integration(SUBMIT, {"input": notice}))["submitNotice"]
    assert set(_problems(refused)) == {"channel", "evidence.0.description"}

    party = {"kind": "MERCHANT", "externalRef": "big", "displayName": "Big",
             "personalData": {"legalName": "n" * 500_000, "email": f"{'e' * 300}@x.example", "phone": "1" * 101,
                              "address": "a" * 2001, "idNumber": "i" * 101}}
    refused = (await integration(PARTY_PAYLOAD, {"input": party}))["upsertParty"]
    assert set(_problems(refused)) == {"personalData.legalName", "personalData.email", "personalData.phone",
                                       "personalData.address", "personalData.idNumber"}

    listing = {"externalId": "long-merchant", "url": "https://m.example/l", "title": "T", "merchantRef": "new-shop",
               "merchantDisplayName": "m" * 100_000}
    batch = (await integration(LISTINGS_WITH_ERRORS, {"input": {"items": [listing]}}))["upsertListings"]
    assert (batch["succeeded"], batch["failed"]) == (0, 1)
    assert [p["field"] for p in batch["results"][0]["error"]["problems"]] == ["merchantDisplayName"]

    right = {"holderId": s["holder"], "type": "TRADEMARK", "registrationNumber": "TM-9", "jurisdiction": "CN",
             "title": "t" * 501, "classes": ["25", "", "c" * 101]}
    refused = (await integration(RIGHT_PAYLOAD, {"input": right}))["registerIpRight"]
    assert set(_problems(refused)) == {"title", "classes.1", "classes.2"}

    assert await owner_conn.fetchval("SELECT count(*) FROM notices WHERE tenant_id = $1", tenant_id) == 0
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM parties WHERE tenant_id = $1 AND external_ref IN ('big', 'new-shop')", tenant_id) == 0
    assert await owner_conn.fetchval("SELECT count(*) FROM ip_rights WHERE tenant_id = $1", tenant_id) == 1



async def test_length_limits_on_review_declaration_and_proof_fields(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    reviewer: GraphQLClient = s["reviewer"]
    submitted = await _submit(s["integration"], _notice(s, ["sku-0", "sku-1"]))
    open_case, to_apply = (c["id"] for c in submitted["cases"])

    accept = (await reviewer(ACCEPT, {"input": {"caseId": open_case, "reason": "r" * 20_001}}))["acceptCase"]
    assert list(_problems(accept)) == ["reason"]
    reject = (await reviewer(REJECT, {"input": {"caseId": open_case, "text": "t" * 20_001, "reasons": [
        {"code": "c" * 101, "text": "x"}, {"code": "ok", "text": "y" * 20_001}]}}))["rejectCase"]
    assert set(_problems(reject)) == {"text", "reasons.0.code", "reasons.1.text"}

    await _applied_case(s, to_apply)
    declared = (await s["integration"](DECLARE, {"input": {
        "caseIds": [to_apply], "grounds": "OWNER", "explanation": "Ours.", "signature": "s" * 501}}))
    assert list(_problems(declared["submitDeclaration"])) == ["signature"]
    proof = (await s["integration"](PROOF, {"input": {
        "caseIds": [to_apply], "kind": "LAWSUIT", "authority": "a" * 301, "reference": "r" * 201,
        "filedOn": await _today(tenant.admin), "evidence": [{"kind": "filing", "uri": "https://court.example/1"}]}}))
    assert set(_problems(proof["submitActionProof"])) == {"authority", "reference"}
    case = await _case_state(reviewer, open_case)
    assert case == "UNDER_REVIEW"


async def _today(client: GraphQLClient) -> str:
    """The tenant's date (UTC), as the use cases compare dates."""
    now = datetime.fromisoformat((await client(NOW))["viewer"]["tenant"]["now"])
    return now.astimezone(UTC).date().isoformat()


async def _case_state(client: GraphQLClient, case_id: str) -> str:
    state: str = (await client("query($id: ID!) { node(id: $id) { ... on Case { state } } }",
                               {"id": case_id}))["node"]["state"]
    return state


# ----- 4. values that must not be accepted -------------------------------------------------------


async def test_accept_case_refuses_past_end_dates_bad_territories_and_duplicate_measures(
    make_tenant: Any, owner_conn: Any
) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    reviewer: GraphQLClient = s["reviewer"]
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]
    measures = [
        {"type": "REMOVE", "endDate": "2000-01-01"},
        {"type": "RESTRICT_REGION", "territorialScope": ["zz", "not a country", "DE"]},
        {"type": "RESTRICT_REGION", "territorialScope": ["FR", "DE"]},
        {"type": "RESTRICT_REGION", "territorialScope": ["DE", "FR"]},
    ]
    refused = (await reviewer(ACCEPT, {"input": {"caseId": case["id"], "measures": measures}}))["acceptCase"]
    problems = _problems(refused)
    assert set(problems) == {"measures.0.endDate", "measures.1.territorialScope.0",
                             "measures.1.territorialScope.1", "measures.3"}, problems
    assert "measures.2" in problems["measures.3"]
    assert await owner_conn.fetchval("SELECT count(*) FROM measures WHERE case_id = $1", _uuid(case["id"])) == 0
    assert await _case_state(reviewer, case["id"]) == "UNDER_REVIEW"

    fine = [{"type": "REMOVE", "endDate": "2999-01-01"}, {"type": "RESTRICT_REGION", "territorialScope": ["FR"]}]
    accepted = (await reviewer(ACCEPT, {"input": {"caseId": case["id"], "measures": fine}}))["acceptCase"]
    assert accepted["__typename"] == "CaseSuccess", accepted


async def test_reject_case_needs_a_reason_code_that_is_not_blank(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]
    for code in ("", "   "):
        refused = (await s["reviewer"](REJECT, {"input": {"caseId": case["id"], "reasons": [
            {"code": "insufficient_evidence"}, {"code": code}]}}))["rejectCase"]
        assert list(_problems(refused)) == ["reasons.1.code"]
    assert await _case_state(s["reviewer"], case["id"]) == "UNDER_REVIEW"


async def test_action_proof_filed_before_the_notice_was_received_is_refused(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    [case] = (await _submit(s["integration"], _notice(s, ["sku-0"])))["cases"]
    proof = {"caseIds": [case["id"]], "kind": "LAWSUIT", "authority": "Court", "reference": "R-1",
             "filedOn": "1900-01-01", "evidence": [{"kind": "filing", "uri": "https://court.example/1"}]}
    refused = (await s["integration"](PROOF, {"input": proof}))["submitActionProof"]
    problems = _problems(refused)
    assert list(problems) == ["filedOn"]
    assert "received" in problems["filedOn"]
