"""Bad input gets a clear, typed error and changes nothing: extreme dates, garbage cursors, foreign ids,
unsupported holiday calendars, a runaway test clock and retried declarations."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from api.types import global_id
from tests.conftest import CREATE_TENANT, GraphQLClient
from tests.e2e.test_preset_flows import (
    _seed,
    apply_measures,
    cn_declaration,
    cn_notice,
    submitted_cases,
)
from tests.integration.test_transparency_report import REPORT

PUBLIC_RECORDS = """query($t: String!, $after: String, $f: PublicFilter) { records(tenant: $t, after: $after, filter: $f) {
  edges { cursor } hasNextPage } }"""
DECISIONS = """query($id: ID!, $after: String) { decisions(subjectId: $id, after: $after) { edges { cursor } } }"""
REVIEW_QUEUE = """query($after: String) { reviewQueue(after: $after) { edges { cursor } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
ADVANCE = """mutation($s: Float!) { advanceTestClock(input: {seconds: $s}) {
  __typename ... on TenantSuccess { tenant { now } } ... on Error { code message field } } }"""
NOW = "{ viewer { tenant { now } } }"
DECLARE = """mutation($input: SubmitDeclarationInput!) { submitDeclaration(input: $input) {
  __typename ... on DeclarationSuccess { declaration { id status } } ... on Error { code message field } } }"""
TEN_YEARS = 10 * 366 * 86400


def _json_cursor(parts: object) -> str:
    """As api.pagination.encode_parts_cursor makes them (the standard library's json: integers of any size)."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


# ----- 1. dates at the ends of the calendar ----------------------------------------------------------


async def test_report_dates_outside_the_supported_range_are_invalid_input(make_tenant: Any, http: Any) -> None:
    tenant = await make_tenant(timezone="Pacific/Kiritimati", country="KI")  # +14:00: 0001-01-01 is year 0 in UTC
    admin = {"authorization": f"Bearer {tenant.admin.key}"}
    url = "/reports/transparency.csv"
    for day in ("9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"):
        response = await http.get(url, params={"from": day, "to": day}, headers=admin)
        assert response.status_code == 400, (day, response.text)
        assert response.json()["error"]["code"] == "INVALID_INPUT"
        assert response.json()["error"]["field"] == "from"
        error = _error(await tenant.admin.raw(REPORT, {"from": day, "to": day}))
        assert error["extensions"]["code"] == "INVALID_INPUT", (day, error)
        assert "2000-01-01" in error["message"]
    late = await http.get(url, params={"from": "2100-12-01", "to": "9999-12-31"}, headers=admin)
    assert late.status_code == 400 and late.json()["error"]["field"] == "to"
    edges = await http.get(url, params={"from": "2100-12-31", "to": "2100-12-31"}, headers=admin)
    assert edges.status_code == 200, edges.text
    assert (await http.get(url, params={"from": "2000-01-01", "to": "2000-01-01"}, headers=admin)).status_code == 200


async def test_public_routes_refuse_extreme_dates(make_tenant: Any, http: Any) -> None:
    tenant = await make_tenant(country="CN")  # cn-ecl: a public feed
    base = f"/p/{tenant.slug}"
    for path, params in [(base, {"to": "9999-12-31"}), (base, {"from": "0001-01-01"}),
                         (f"{base}/export.jsonl", {"to": "9999-12-31"}),
                         (f"{base}/export.csv", {"from": "0001-01-01"}),
                         (f"{base}/export.csv.sha256", {"to": "9999-12-31"})]:
        response = await http.get(path, params=params)
        assert response.status_code == 400, (path, params, response.status_code)
        assert response.text.startswith("Bad request:") and "2000-01-01" in response.text
    assert (await http.get(base, params={"to": "2100-12-31"})).status_code == 200
    for f in ({"publishedTo": "9999-12-31"}, {"publishedFrom": "0001-01-01"}):
        error = _error(await http.post("/public/graphql", json={
            "query": PUBLIC_RECORDS, "variables": {"t": tenant.slug, "f": f}}))
        assert error["extensions"]["code"] == "INVALID_INPUT", error
        assert error["message"].startswith(f"'{next(iter(f))}' must be a date between 2000-01-01")


# ----- 2. cursors ----------------------------------------------------------------------------------


async def test_public_cursors_out_of_range_or_naive_are_malformed(make_tenant: Any, http: Any) -> None:
    tenant = await make_tenant(country="CN")
    base = f"/p/{tenant.slug}"
    rid = str(uuid.uuid4())
    for parts in (["0001-01-01T00:00:00+14:00", rid], ["9999-12-31T23:59:59-12:00", rid],
                  ["2026-01-01T00:00:00", rid], ["2026-01-01T00:00:00+00:00", 5], [5, rid], "x", [1, 2, 3]):
        response = await http.get(base, params={"after": _json_cursor(parts)})
        assert response.status_code == 400, (parts, response.status_code)
        assert response.text == "Bad request: Malformed cursor."
        error = _error(await http.post("/public/graphql", json={
            "query": PUBLIC_RECORDS, "variables": {"t": tenant.slug, "after": _json_cursor(parts)}}))
        assert (error["extensions"]["code"], error["message"]) == ("INVALID_INPUT", "Malformed cursor."), parts
    good = _json_cursor(["2026-01-01T00:00:00+08:00", rid])
    assert (await http.get(base, params={"after": good})).status_code == 200


async def test_garbage_cursors_are_malformed_cursor_errors(make_tenant: Any) -> None:
    tenant = await make_tenant()
    reviewer = await tenant.client("reviewer")
    subject = global_id("Case", uuid.uuid4())
    for after in ("²", "99999999999999999999", "1234567890123456789", "-1", "1.5", " 1", "", "٣"):
        error = _error(await reviewer.raw(DECISIONS, {"id": subject, "after": after}))
        assert (error["extensions"]["code"], error["message"]) == ("INVALID_INPUT", "Malformed cursor."), after
    assert (await reviewer(DECISIONS, {"id": subject, "after": "999999999999999999"}))["decisions"]["edges"] == []

    cid = str(uuid.uuid4())
    for parts in ([10**30, None, cid], [2**40, None, cid], [-(2**15), None, cid], [1.5, None, cid],
                  [True, None, cid], ["1", None, cid], [0, "9999-12-31T23:00:00-05:00", cid],
                  [0, "0001-01-01T01:00:00+14:00", cid], [0, "2026-01-01T00:00:00", cid], [0, None, 7],
                  [0, None], [0, None, "not-a-uuid"]):
        error = _error(await reviewer.raw(REVIEW_QUEUE, {"after": _json_cursor(parts)}))
        assert (error["extensions"]["code"], error["message"]) == ("INVALID_INPUT", "Malformed cursor."), parts
    for parts in ([1, None, cid], [0, "2026-01-01T00:00:00+08:00", cid]):
        assert (await reviewer(REVIEW_QUEUE, {"after": _json_cursor(parts)}))["reviewQueue"]["edges"] == []

    for after in ("²", "!!!!", _json_cursor([1])):
        error = _error(await tenant.admin.raw("query($a: String) { cases(after: $a) { edges { cursor } } }",
                                              {"a": after}))
        assert (error["extensions"]["code"], error["message"]) == ("INVALID_INPUT", "Malformed cursor."), after


# ----- 3. node ids -------------------------------------------------------------------------------------


async def test_node_with_an_id_of_no_node_type_or_no_global_id_is_invalid_input(make_tenant: Any) -> None:
    tenant = await make_tenant()
    ids = [base64.b64encode(f"{type_name}:{uuid.uuid4()}".encode()).decode() for type_name in ("Nope", "Tenant", "Query")]
    for bad in [*ids, "!!!", base64.b64encode(b"no colon").decode()]:
        response = await tenant.admin.raw(NODE, {"id": bad})
        error = _error(response)
        assert error["extensions"]["code"] == "INVALID_INPUT", error
        assert error["message"] == f"'{bad}' is not a valid id."
        assert response.json()["data"] == {"node": None}
    missing = await tenant.admin(NODE, {"id": global_id("Case", uuid.uuid4())})
    assert missing == {"node": None}  # a well-formed id of a Node type that does not exist is still just null


# ----- 4. holiday calendars --------------------------------------------------------------------------


async def test_create_tenant_refuses_a_holiday_country_without_a_calendar(operator: GraphQLClient, db: Any) -> None:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    data = await operator(CREATE_TENANT, {"input": {"slug": slug, "name": "Z", "timezone": "UTC",
                                                    "holidayCountry": "ZZ"}})
    result = data["createTenant"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "InvalidInputError", "INVALID_INPUT", "holidayCountry")
    assert "ZZ" in result["message"]
    async with db.system_tx() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tenants WHERE slug = $1", slug) == 0


# ----- 5. the sandbox test clock -----------------------------------------------------------------------


async def test_test_clock_stops_ten_years_ahead(make_tenant: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX")
    ahead = (await tenant.admin(ADVANCE, {"s": TEN_YEARS}))["advanceTestClock"]
    assert ahead["__typename"] == "TenantSuccess", ahead
    refused = (await tenant.admin(ADVANCE, {"s": 1}))["advanceTestClock"]
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "InvalidInputError", "INVALID_INPUT", "seconds")
    assert "ten years" in refused["message"]
    assert (await tenant.admin(NOW))["viewer"]["tenant"]["now"][:10] == ahead["tenant"]["now"][:10]


# ----- 6. declarations: idempotent retries ---------------------------------------------------------------


async def test_submit_declaration_replays_a_retry_and_refuses_a_reused_key(make_tenant: Any, db: Any) -> None:
    tenant = await make_tenant(mode="SANDBOX", country="CN")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    integration = s["integration"]
    [case] = await submitted_cases(s, cn_notice(s))
    await apply_measures(s, case["id"])

    declaration = cn_declaration([case["id"]], idempotencyKey="declaration-1")
    too_long = (await integration(DECLARE, {"input": dict(declaration, idempotencyKey="k" * 201)}))
    assert (too_long["submitDeclaration"]["code"], too_long["submitDeclaration"]["field"]) == (
        "INVALID_INPUT", "idempotencyKey")
    first = (await integration(DECLARE, {"input": declaration}))["submitDeclaration"]
    assert first["__typename"] == "DeclarationSuccess", first
    again = (await integration(DECLARE, {"input": declaration}))["submitDeclaration"]
    assert again == first
    reused = (await integration(DECLARE, {"input": dict(declaration, explanation="Other.")}))["submitDeclaration"]
    assert (reused["__typename"], reused["code"], reused["field"]) == (
        "IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        assert await conn.fetchval("SELECT count(*) FROM declarations") == 1
        assert await conn.fetchval("SELECT count(*) FROM decisions WHERE kind = 'declaration.receive'") == 1
