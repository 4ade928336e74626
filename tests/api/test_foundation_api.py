"""Authentication, roles, typed errors, limits and reference data through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import GraphQLClient

VIEWER = "{ viewer { roles isOperator tenant { slug mode } } }"
UPSERT_PARTY = """
mutation($input: UpsertPartyInput!) { upsertParty(input: $input) {
  __typename ... on UpsertPartySuccess { party { id kind externalRef displayName } }
  ... on InvalidInputError { code message field problems { field message } }
  ... on Error { code message field } } }
"""
UPSERT_LISTINGS = """
mutation($input: UpsertListingsInput!) { upsertListings(input: $input) {
  __typename
  ... on UpsertListingsSuccess { succeeded failed results { index created
      listing { id externalId merchant { externalRef kind } markets }
      error { __typename code message field } } }
  ... on Error { code message field } } }
"""


async def _count(owner_conn: Any, table: str) -> int:
    return int(await owner_conn.fetchval(f"SELECT count(*) FROM {table}"))


async def test_missing_key_is_a_clear_graphql_error(http: Any, owner_conn: Any) -> None:
    before = await _count(owner_conn, "parties")
    anonymous = GraphQLClient(http, None)
    response = await anonymous.raw(UPSERT_PARTY, {"input": {"kind": "MERCHANT", "externalRef": "x", "displayName": "X"}})
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _count(owner_conn, "parties") == before


@pytest.mark.parametrize(
    ("header", "message_part"),
    [("Basic abc", "Malformed"), ("Bearer", "Malformed"), ("Bearer nhk_not-a-real-key", "Unknown"),
     ("Bearer something-else", "Unknown")],
)
async def test_malformed_or_unknown_key_rejected(http: Any, header: str, message_part: str) -> None:
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"authorization": header})
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message_part in error["message"]


async def test_revoked_key_stops_working_at_once(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    integration = await tenant.client("integration")
    assert (await integration(VIEWER))["viewer"]["roles"] == ["INTEGRATION"]
    revoke = """mutation($id: ID!) { revokeApiKey(input: {id: $id}) {
        __typename ... on RevokeApiKeySuccess { apiKey { revokedAt } } } }"""
    data = await tenant.admin(revoke, {"id": tenant.key_ids["integration"]})
    assert data["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    before = await _count(owner_conn, "parties")
    response = await integration.raw(UPSERT_PARTY, {"input": {"kind": "MERCHANT", "externalRef": "m", "displayName": "M"}})
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]
    assert await _count(owner_conn, "parties") == before


async def test_wrong_role_is_forbidden_and_writes_nothing(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    auditor = await tenant.client("auditor")
    before = await _count(owner_conn, "parties")
    response = await auditor.raw(UPSERT_PARTY, {"input": {"kind": "MERCHANT", "externalRef": "m1", "displayName": "M"}})
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "integration" in body["errors"][0]["message"]
    assert await _count(owner_conn, "parties") == before
    # Only admins list keys; only the operator creates tenants.
    keys = await auditor.raw("{ apiKeys { edges { node { id } } } }")
    assert keys.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    create = await auditor.raw(
        'mutation { createTenant(input: {slug: "zz-top", name: "Z", timezone: "UTC", holidayCountry: "US"}) '
        "{ __typename } }"
    )
    assert create.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_operator_key_cannot_act_inside_a_tenant(operator: GraphQLClient) -> None:
    response = await operator.raw("{ parties { edges { node { id } } } }")
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_tenant_input_reports_every_field(operator: GraphQLClient) -> None:
    data = await operator(
        'mutation { createTenant(input: {slug: "Bad Slug", name: "", timezone: "Mars/Base", holidayCountry: "china"}) {'
        " __typename ... on InvalidInputError { problems { field } } } }"
    )
    result = data["createTenant"]
    assert result["__typename"] == "InvalidInputError"
    assert {p["field"] for p in result["problems"]} == {"slug", "name", "timezone", "holidayCountry"}


async def test_party_upsert_is_idempotent_by_external_ref_and_hides_personal_data(make_tenant: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    variables = {"input": {"kind": "RIGHTS_HOLDER", "externalRef": "rh-1", "displayName": "Brand Co",
                           "personalData": {"legalName": "Zhang San", "email": "zhang@example.cn"}}}
    first = (await client(UPSERT_PARTY, variables))["upsertParty"]
    second = (await client(UPSERT_PARTY, variables))["upsertParty"]
    assert first["party"]["id"] == second["party"]["id"]
    response = await client.raw('{ parties { edges { node { legalName } } } }')
    assert response.json()["errors"][0]["message"].startswith("Cannot query field")
    bad = (await client(UPSERT_PARTY, {"input": {"kind": "MERCHANT", "externalRef": "", "displayName": "M",
                                                 "country": "cn", "personalData": {"email": "nope"}}}))["upsertParty"]
    assert bad["__typename"] == "InvalidInputError"
    assert {p["field"] for p in bad["problems"]} == {"externalRef", "country", "personalData.email"}


async def test_party_upsert_changes_only_the_fields_it_sends(make_tenant: Any, db: Any, owner_conn: Any) -> None:
    """A left-out field keeps its stored value; a field sent as null is cleared (personalData: null: all of it)."""
    tenant = await make_tenant()
    client = await tenant.client("integration")
    tenant_id = await tenant.tenant_id(db)

    async def stored() -> dict[str, Any]:
        row = await owner_conn.fetchrow(
            "SELECT p.display_name, p.country, d.legal_name, d.email, d.phone, d.address, d.id_number"
            " FROM parties p LEFT JOIN party_personal_data d ON (d.tenant_id, d.party_id) = (p.tenant_id, p.id)"
            " WHERE p.tenant_id = $1 AND p.external_ref = 'shop'", tenant_id)
        return dict(row)

    async def upsert(**fields: Any) -> None:
        payload = (await client(UPSERT_PARTY, {"input": {"kind": "MERCHANT", "externalRef": "shop", **fields}}))
        assert payload["upsertParty"]["__typename"] == "UpsertPartySuccess", payload

    full = {"legalName": "Li Si", "email": "li@shop.example", "phone": "+86 138 0000 0000", "address": "Hangzhou",
            "idNumber": "X-1"}
    await upsert(displayName="Shop", country="CN", personalData=full)
    everything = {"display_name": "Shop", "country": "CN", "legal_name": "Li Si", "email": "li@shop.example",
                  "phone": "+86 138 0000 0000", "address": "Hangzhou", "id_number": "X-1"}
    assert await stored() == everything

    await upsert(displayName="Shop 2", personalData={"email": "new@shop.example"})
    assert await stored() == {**everything, "display_name": "Shop 2", "email": "new@shop.example"}

    await upsert(displayName="Shop 2", personalData={"legalName": None})
    assert await stored() == {**everything, "display_name": "Shop 2", "email": "new@shop.example", "legal_name": None}

    # The same through literals (left out of the document, not only of the variables); country: null clears.
    literal = await client('mutation { upsertParty(input: {kind: MERCHANT, externalRef: "shop", displayName: "Shop 3",'
                           ' country: null, personalData: {phone: null}}) { __typename } }')
    assert literal["upsertParty"]["__typename"] == "UpsertPartySuccess"
    assert await stored() == {**everything, "display_name": "Shop 3", "country": None, "email": "new@shop.example",
                              "legal_name": None, "phone": None}

    await upsert(displayName="Shop 3", personalData=None)
    assert await stored() == {"display_name": "Shop 3", "country": None, **dict.fromkeys(
        ("legal_name", "email", "phone", "address", "id_number"))}


async def test_upsert_listings_reports_per_item_and_keeps_good_items(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    items = [
        {"externalId": "sku-1", "url": "https://shop.example/1", "title": "Shoe", "merchantRef": "m-1",
         "merchantDisplayName": "Shoe Shop", "markets": ["CN", "DE"]},
        {"externalId": "sku-2", "url": "ftp://nope", "title": "Bad", "merchantRef": "m-1"},
        {"externalId": "sku-3", "url": "https://shop.example/3", "title": "Hat", "merchantRef": "unknown-merchant"},
        {"externalId": "sku-1", "url": "https://shop.example/1b", "title": "Dup", "merchantRef": "m-1"},
        {"externalId": "sku-4", "url": "https://shop.example/4", "title": "Bag", "merchantRef": "m-1"},
    ]
    result = (await client(UPSERT_LISTINGS, {"input": {"items": items}}))["upsertListings"]
    assert (result["succeeded"], result["failed"]) == (2, 3)
    by_index = {r["index"]: r for r in result["results"]}
    assert by_index[0]["listing"]["merchant"] == {"externalRef": "m-1", "kind": "MERCHANT"}
    assert by_index[0]["listing"]["markets"] == ["CN", "DE"]
    assert by_index[1]["error"]["field"] == "url"
    assert by_index[2]["error"]["__typename"] == "NotFoundError"
    assert by_index[3]["error"]["field"] == "externalId"
    assert by_index[4]["created"] is True
    again = (await client(UPSERT_LISTINGS, {"input": {"items": [dict(items[0], title="Shoe v2")]}}))["upsertListings"]
    assert again["results"][0]["created"] is False
    assert again["results"][0]["listing"]["id"] == by_index[0]["listing"]["id"]


async def test_batch_limit_is_a_typed_error(make_tenant: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    items = [{"externalId": f"s{i}", "url": "https://x.example/", "title": "t", "merchantRef": "m"} for i in range(1001)]
    result = (await client(UPSERT_LISTINGS, {"input": {"items": items}}))["upsertListings"]
    assert result["__typename"] == "InvalidInputError"
    assert result["field"] == "items"


async def test_ip_rights_and_global_ids(make_tenant: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    holder = (await client(UPSERT_PARTY, {"input": {"kind": "RIGHTS_HOLDER", "externalRef": "rh",
                                                    "displayName": "Brand"}}))["upsertParty"]["party"]
    register = """mutation($input: RegisterIpRightInput!) { registerIpRight(input: $input) {
        __typename ... on IpRightSuccess { ipRight { id type legalStatus verificationStatus holder { id } } }
        ... on Error { code field message } } }"""
    created = (await client(register, {"input": {"holderId": holder["id"], "type": "TRADEMARK",
                                                 "registrationNumber": "12345678", "jurisdiction": "CN",
                                                 "classes": ["25"]}}))["registerIpRight"]
    assert created["ipRight"]["holder"]["id"] == holder["id"]
    assert created["ipRight"]["verificationStatus"] == "UNVERIFIED"
    node = await client("query($id: ID!) { node(id: $id) { __typename ... on IpRight { registrationNumber } } }",
                        {"id": created["ipRight"]["id"]})
    assert node["node"] == {"__typename": "IpRight", "registrationNumber": "12345678"}
    # A Party id where an IpRight id belongs, and garbage ids, are typed input errors.
    wrong = (await client(register, {"input": {"holderId": created["ipRight"]["id"], "type": "PATENT",
                                               "registrationNumber": "1", "jurisdiction": "CN"}}))["registerIpRight"]
    assert (wrong["__typename"], wrong["field"]) == ("InvalidInputError", "holderId")
    garbage = (await client(register, {"input": {"holderId": "!!!", "type": "PATENT", "registrationNumber": "1",
                                                 "jurisdiction": "CN"}}))["registerIpRight"]
    assert (garbage["code"], garbage["field"]) == ("INVALID_INPUT", "holderId")
    status = """mutation($input: SetIpRightLegalStatusInput!) { setIpRightLegalStatus(input: $input) {
        __typename ... on IpRightSuccess { ipRight { legalStatus invalidation { caseNumber } } }
        ... on Error { field } } }"""
    missing = await client(status, {"input": {"id": created["ipRight"]["id"], "legalStatus": "INVALIDATION_PENDING"}})
    assert missing["setIpRightLegalStatus"] == {"__typename": "InvalidInputError", "field": "invalidation"}
    pending = await client(status, {"input": {"id": created["ipRight"]["id"], "legalStatus": "INVALIDATION_PENDING",
                                              "invalidation": {"office": "CNIPA", "caseNumber": "WX-2026-1",
                                                               "acceptedAt": "2026-11-01"}}})
    assert pending["setIpRightLegalStatus"]["ipRight"]["invalidation"] == {"caseNumber": "WX-2026-1"}


async def test_unknown_enum_and_bad_variables_are_top_level_errors_not_500(make_tenant: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    before = await _count(owner_conn, "parties")
    response = await client.raw(UPSERT_PARTY, {"input": {"kind": "PIRATE", "externalRef": "x", "displayName": "X"}})
    assert response.status_code == 200
    assert "PIRATE" in response.json()["errors"][0]["message"]
    response = await client.raw("{ parties(first: 100000) { edges { node { id } } } }")
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    response = await client.raw('{ parties(after: "%%%") { edges { node { id } } } }')
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert await _count(owner_conn, "parties") == before


async def test_limits_depth_aliases_tokens_body(make_tenant: Any, http: Any, settings: Any, owner_conn: Any) -> None:
    tenant = await make_tenant()
    client = await tenant.client("integration")
    # The served schema is shallower than the configured depth today; check the same rules at depth 3.
    from graphql import parse, validate

    from api.executor import limit_rules
    from api.schema import schema

    document = parse("{ listings { edges { node { merchant { id } } } } }")
    errors = validate(schema._schema, document, limit_rules(3, settings.max_aliases))
    assert errors and "exceeds maximum operation depth" in errors[0].message
    assert not validate(schema._schema, document, limit_rules(settings.max_query_depth, settings.max_aliases))

    aliases = "{ " + " ".join(f"a{i}: viewer {{ isOperator }}" for i in range(settings.max_aliases + 5)) + " }"
    response = await client.raw(aliases)
    assert "aliases" in response.json()["errors"][0]["message"].lower()

    tokens = "{ " + " ".join("viewer { isOperator }" for _ in range(settings.max_tokens // 3)) + " }"
    response = await client.raw(tokens)
    assert "token" in response.json()["errors"][0]["message"].lower()

    before = await _count(owner_conn, "listings")
    huge = '{"query": "' + "x" * (settings.max_body_bytes + 10) + '"}'
    response = await http.post("/graphql", content=huge, headers={"authorization": f"Bearer {client.key}",
                                                                  "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"

    async def streamed() -> Any:  # no content-length: the limit is counted while the body arrives
        yield b'{"query": "'
        for _ in range(settings.max_body_bytes // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    response = await http.post("/graphql", content=streamed(), headers={"authorization": f"Bearer {client.key}",
                                                                        "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert await _count(owner_conn, "listings") == before


async def test_health_and_readiness(http: Any) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_unexpected_errors_are_masked_and_typed_ones_are_not(settings: Any) -> None:
    from api.context import Context
    from api.schema import executor
    from domain.tenancy import Principal, Role

    broken = Context(request=None, response=None, settings=settings, db=None,  # type: ignore[arg-type]
                     principal=Principal(uuid.uuid4(), None, frozenset({Role.ADMIN})))
    result = await executor.run("{ viewer { tenant { slug } } }", broken)
    assert result["errors"][0]["message"] == "Unexpected error."  # not the AttributeError's text
    no_tenant = Context(request=None, response=None, settings=settings, db=None,  # type: ignore[arg-type]
                        principal=Principal(None, None, frozenset()))
    result = await executor.run("{ parties { edges { node { id } } } }", no_tenant)
    assert result["errors"][0]["message"] == "This operation needs a tenant API key."


def test_the_document_cache_keeps_small_documents_only() -> None:
    from api.executor import Executor, Limits
    from api.schema import schema

    executor = Executor(schema, Limits(max_depth=10, max_aliases=30, max_tokens=100_000, introspection=False))
    small = "{ viewer { isOperator } }"
    large = "{ viewer { isOperator } }" + " " * 20_000
    assert executor.prepare(small) is executor.prepare(small)
    assert executor.prepare(large) is not executor.prepare(large)
    assert list(executor._cache) == [small]
