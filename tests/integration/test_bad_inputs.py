"""Bad input gets a clear, typed error and changes nothing: extreme dates, garbage cursors, foreign ids,
unsupported holiday calendars, a runaway test clock and retried declarations."""

from __future__ import annotations

from typing import Any

from tests.integration.test_transparency_report import REPORT

PUBLIC_RECORDS = """query($t: String!, $after: String, $f: PublicFilter) { records(tenant: $t, after: $after, filter: $f) {
  edges { cursor } hasNextPage } }"""


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
