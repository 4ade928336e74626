"""Migrations apply on an empty database and re-apply as a no-op; the published SDL matches the code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import _with_database

ROOT = Path(__file__).resolve().parents[2]


async def test_migrations_apply_on_empty_database_then_noop() -> None:
    from infra.migrate import migrate

    admin_url = os.environ["NOTICEHUB_TEST_ADMIN_URL"]
    name = f"nh_mig_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(admin_url, name)
        first = migrate(url)
        assert first[:2] == ["0001_foundation", "0002_notice_and_action"]
        assert migrate(url) == []
        check = await asyncpg.connect(url)
        try:
            tables = {r["tablename"] for r in await check.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        finally:
            await check.close()
        assert {"tenants", "api_keys", "outbox", "deadlines", "listings"} <= tables
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


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
