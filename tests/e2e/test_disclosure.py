"""Issue 6 end to end: publish delay on the sandbox clock, redaction, withdrawal, public API and pages,
exports with checksums, and a real headless browser on the public page."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import threading
from typing import Any

import orjson
import pytest

from tests.e2e.test_preset_flows import ACCEPT, ADVANCE, CONFIRM, SUBMIT, _fire_due_deadlines, _seed

PERSONAL = ["Brand Holdings Ltd", "legal@brand.example", "Li Si", "li@shop.example", "13800138000",
            "zhang.san@example.com", "110105199003071234"]
PUBLIC_LIST = """query($t: String!, $f: PublicFilter) { records(tenant: $t, filter: $f) {
  edges { node { id kind record redactedCategories merchantName } } hasNextPage } }"""
PUBLIC_ONE = """query($t: String!, $id: ID!) { record(tenant: $t, id: $id) {
  record { id kind } timeline { step at } related { kind } } }"""


def _resident_id() -> str:
    base = "11010519900307123"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return base + "10X98765432"[sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11]


async def _public(http: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/public/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _disclosing_tenant(make_tenant: Any) -> tuple[Any, dict[str, Any], str]:
    tenant = await make_tenant(mode="SANDBOX", country="CN")  # cn-ecl: publish everything, 24 h delay, public feed
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=2)
    resident_id = _resident_id()
    PERSONAL[-1] = resident_id
    submitted = (await s["integration"](SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"],
        "explanation": f"假货。请联系zhang.san@example.com或 +86 138 0013 8000，身份证 {resident_id}。SKU-2026-000123",
        "evidence": [{"kind": "registration_certificate", "uri": "https://user:secret@files.example/cert.pdf"},
                     {"kind": "test_purchase", "description": "order 2026-10-01 ¥1388.00"}],
        "statements": {"accuracy": True, "goodFaith": True}}}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    case = submitted["cases"][0]
    accepted = (await s["reviewer"](ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    await s["integration"](CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    return tenant, s, resident_id


async def test_publish_delay_redaction_withdrawal_and_exports(make_tenant: Any, http: Any, db: Any) -> None:
    tenant, s, resident_id = await _disclosing_tenant(make_tenant)
    # Within the 24 h delay nothing is public.
    listed = await _public(http, PUBLIC_LIST, {"t": tenant.slug})
    assert listed["records"]["edges"] == []
    await tenant.admin(ADVANCE, {"s": 25 * 3600})
    await _fire_due_deadlines(db)
    records = (await _public(http, PUBLIC_LIST, {"t": tenant.slug}))["records"]["edges"]
    notices = [e["node"] for e in records if e["node"]["kind"] == "notice"]
    assert len(notices) == 2
    text = orjson.dumps(records).decode()
    for secret in [*PERSONAL, "user:secret", resident_id]:
        assert secret not in text, secret
    assert "SKU-2026-000123" in text  # not personal data: left alone
    assert {"email", "phone", "cn_resident_id"} <= set(notices[0]["redactedCategories"])
    # Filter by kind and name.
    only_notices = await _public(http, PUBLIC_LIST, {"t": tenant.slug, "f": {"kind": "notice", "name": "Item 1"}})
    assert len(only_notices["records"]["edges"]) == 1
    # Detail with the case's public timeline.
    timelines = []
    for notice in notices:
        one = (await _public(http, PUBLIC_ONE, {"t": tenant.slug, "id": notice["id"]}))["record"]
        timelines.append([step["step"] for step in one["timeline"]])
    assert all(steps[0] == "received" for steps in timelines)
    assert sum(any(x.startswith("measure_applied:") for x in steps) for steps in timelines) == 1  # one was accepted
    # Exports: JSON lines end with a checksum over the lines before; the CSV checksum matches the CSV.
    jsonl = (await http.get(f"/p/{tenant.slug}/export.jsonl")).content
    *lines, trailer = jsonl.rstrip(b"\n").split(b"\n")
    summary = orjson.loads(trailer)["_checksum"]
    assert summary["rows"] == len(lines) == len(records)
    assert summary["sha256"] == hashlib.sha256(b"".join(line + b"\n" for line in lines)).hexdigest()
    csv_body = (await http.get(f"/p/{tenant.slug}/export.csv")).content
    csv_sum = (await http.get(f"/p/{tenant.slug}/export.csv.sha256")).text.split()[0]
    assert csv_sum == hashlib.sha256(csv_body).hexdigest()
    # A reviewer withdraws one record: gone from the API, the page and the export; it is a decision.
    withdraw = """mutation($id: ID!) { withdrawDisclosure(input: {id: $id, reason: "court order"}) { __typename } }"""
    assert (await s["reviewer"](withdraw, {"id": notices[0]["id"]}))["withdrawDisclosure"]["__typename"] == \
        "DisclosureWithdrawn"
    remaining = (await _public(http, PUBLIC_LIST, {"t": tenant.slug}))["records"]["edges"]
    assert notices[0]["id"] not in {e["node"]["id"] for e in remaining}
    page = (await http.get(f"/p/{tenant.slug}/d/{notices[0]['id']}")).status_code
    assert page == 404
    assert notices[0]["id"].encode() not in (await http.get(f"/p/{tenant.slug}/export.jsonl")).content
    # Manual redaction by a reviewer.
    redact = """mutation($id: ID!) { redactDisclosure(input: {id: $id, field: "listing_title", text: "Item",
        reason: "brand name"}) { __typename ... on DisclosureRedacted { record } } }"""
    redacted = (await s["reviewer"](redact, {"id": notices[1]["id"]}))["redactDisclosure"]
    assert "[redacted:manual]" in redacted["record"]["listing_title"]
    async with db.tenant_tx(await tenant.tenant_id(db)) as conn:
        kinds = {r["kind"] for r in await conn.fetch("SELECT kind FROM decisions WHERE kind LIKE 'disclosure.%'")}
    assert kinds == {"disclosure.withdraw", "disclosure.redact"}


async def test_public_surface_hides_tenants_without_a_feed_and_rate_limits(make_tenant: Any, http: Any) -> None:
    tenant = await make_tenant(country="US")  # us-dmca preset: no public feed
    response = await http.post("/public/graphql", json={"query": PUBLIC_LIST, "variables": {"t": tenant.slug}})
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await http.get(f"/p/{tenant.slug}")).status_code == 404
    assert (await http.get("/p/no-such-tenant")).status_code == 404


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is installed by .ci/run")
async def test_public_page_in_a_real_browser(make_tenant: Any, http: Any, db: Any, settings: Any) -> None:
    import uvicorn
    from playwright.async_api import async_playwright

    from api.app import create_app

    tenant, _, resident_id = await _disclosing_tenant(make_tenant)
    await tenant.admin(ADVANCE, {"s": 25 * 3600})
    await _fire_due_deadlines(db)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = await browser.new_page(locale="zh-CN")
            await page.goto(f"http://127.0.0.1:{port}/p/{tenant.slug}?lang=zh-CN")
            assert await page.title() == f"知识产权通知与处理公示 · {tenant.slug}"
            rows = page.locator("tbody tr")
            assert await rows.count() >= 2
            await page.fill("#q", "Item 1")
            await page.select_option("#kind", "notice")
            await page.click("button[type=submit]")
            await page.wait_for_load_state()
            assert await page.locator("tbody tr").count() == 1
            await page.locator("tbody tr a").first.click()
            await page.wait_for_load_state()
            html = await page.content()
            assert "处理经过" in html  # the timeline heading
            for secret in [*PERSONAL, resident_id, "user:secret"]:
                assert secret not in html, secret
            assert "[已隐去: email]" in html
            await browser.close()
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
