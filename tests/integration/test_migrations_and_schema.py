"""Migrations apply on an empty database and re-apply as a no-op; the published SDL matches the code."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import migrate_only, scratch_database

ROOT = Path(__file__).resolve().parents[2]


async def test_migrations_apply_on_empty_database_then_noop() -> None:
    from infra.migrate import migrate

    async with scratch_database("nh_mig") as url:
        first = migrate(url)
        assert first[:2] == ["0001_foundation", "0002_notice_and_action"]
        assert migrate(url) == []
        check = await asyncpg.connect(url)
        try:
            tables = {r["tablename"] for r in await check.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        finally:
            await check.close()
        assert {"tenants", "api_keys", "outbox", "deadlines", "listings"} <= tables


def test_published_schema_matches_code() -> None:
    from api.schema import schema

    published = (ROOT / "schema" / "schema.graphql").read_text()
    assert published.strip() == str(schema).strip(), (
        "schema/schema.graphql is out of date: run `python -m api.export_schema` and commit the result"
    )


def test_schema_is_relay_shaped(settings: Any) -> None:
    from api.schema import schema

    sdl = str(schema)
    for expected in ("interface Node", "type PageInfo", "type ListingConnection", "interface Error",
                     "union UpsertListingsPayload"):
        assert expected in sdl


async def test_0013_unarchives_cases_reopened_on_appeal_after_archiving() -> None:
    """Before 0013 an appeal could reopen an archived case and leave it marked archived: open again, or closed
    again and never archived again. The migration un-archives both (the next pass archives them again) and
    leaves a case reopened only before its archive alone."""

    from infra.migrate import migrate

    async with scratch_database("nh_mig") as url:
        migrate_only(url, lambda migration_id: migration_id < "0013")
        tenant = uuid.uuid4()
        still_open, closed_again, reopened_before = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        check = await asyncpg.connect(url)
        try:
            async with check.transaction():
                await check.execute("SET LOCAL session_replication_role = replica")  # rows without their references
                await check.execute("INSERT INTO tenants (id, slug, name, timezone, holiday_country, mode)"
                                    " VALUES ($1, 'reopened', 'Reopened', 'UTC', 'CN', 'live')", tenant)
                await check.executemany(
                    "INSERT INTO cases (tenant_id, id, notice_id, listing_id, merchant_id, state, created_at,"
                    " updated_at, archived_at) VALUES ($1, $2, $2, $2, $2, $3, now(), now(), now())",
                    [(tenant, still_open, "under_review"), (tenant, closed_again, "closed"),
                     (tenant, reopened_before, "closed")])
                decisions = []  # per case: reopened (seq n), archived (n + 1), reopened again (n + 2) or not
                for n, case_id in enumerate((still_open, closed_again, reopened_before)):
                    kinds = ["case.reopen_on_appeal", "case.archive"]
                    kinds += ["case.reopen_on_appeal"] if case_id != reopened_before else []
                    for k, kind in enumerate(kinds):
                        decisions.append((tenant, 10 * n + k, uuid.uuid4(), case_id, kind))
                await check.executemany(
                    "INSERT INTO decisions (tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome,"
                    " actor, automated, decided_at, prev_hash, hash)"
                    " VALUES ($1, $2, $3, 'case', $4, $4, $5, 'x', 'x', true, now(), '', '')", decisions)
                await check.executemany(
                    "INSERT INTO archive_bundles (tenant_id, id, case_id, sha256, uri, size, format, decision_id,"
                    " last_decision_seq, policy_version, closed_at, retention_until, created_at)"
                    " VALUES ($1, $2, $3, $4, 'file:///x', 1, 'f', $5, $6, 1, now(), now(), now())",
                    [(tenant, uuid.uuid4(), d[3], f"{d[1]:064x}", d[2], d[1] - 1) for d in decisions
                     if d[4] == "case.archive"])
            assert migrate(url)[:1] == ["0013_rearchive_reopened_cases"]  # then any later ones
            rows = {r["id"]: r for r in await check.fetch("SELECT id, archived_at, revision FROM cases")}
        finally:
            await check.close()
        assert rows[still_open]["archived_at"] is None and rows[still_open]["revision"] == 1
        assert rows[closed_again]["archived_at"] is None and rows[closed_again]["revision"] == 1
        assert rows[reopened_before]["archived_at"] is not None and rows[reopened_before]["revision"] == 0
