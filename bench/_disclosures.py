"""Seeding for the issue 6 benchmarks (public list and export): tenants with the cn-ecl policy (public feed on)
and published disclosure records generated in SQL with generate_series, as the owner login (bypasses RLS).

Rows look like the ones `domain.services.disclosures` writes: a redacted `record` per kind (notice 40 %,
result 35 %, declaration 15 %, account restriction 10 %), right types skewed towards trademarks, Chinese and
English listing titles, ~6,000 merchant names per tenant (skewed: a few big shops), published over two years,
UUIDv7 ids (time-ordered, as `domain.ids.new_id`). Besides the published rows each tenant gets 0.5 % withdrawn
and a few scheduled records, which the public partial indexes leave out.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

SPAN = timedelta(days=730)
CHUNK = 25_000  # per tenant and statement

BRANDS = ["耐克", "阿迪达斯", "李宁", "安踏", "华为", "小米", "OPPO", "vivo", "联想", "海尔", "美的", "格力",
          "飞利浦", "索尼", "佳能", "Apple", "Nike", "Adidas", "Lego", "Dyson", "Chanel", "Gucci", "Prada",
          "Coach", "MAC", "兰蔻", "雅诗兰黛", "茅台", "五粮液", "故宫文创"]
PRODUCTS = ["运动鞋", "跑步鞋", "篮球鞋", "T恤", "卫衣", "羽绒服", "双肩包", "手提包", "钱包", "手机壳",
            "蓝牙耳机", "充电器", "数据线", "智能手表", "吹风机", "电动牙刷", "口红", "粉底液", "香水", "面霜",
            "白酒 500ml", "积木玩具", "儿童玩具", "保温杯", "太阳镜", "棒球帽", "Air Max 270", "Ultraboost 22",
            "iPhone 15 case", "AirPods Pro", "Supersonic dryer", "Classic flap bag", "Rouge lipstick",
            "Technic set", "Hoodie", "Sneakers", "Backpack", "Smart watch band", "Phone charger",
            "Perfume 100ml"]
MODIFIERS = ["正品", "官方同款", "2025新款", "限时特价", "包邮", "原单", "高仿", "专柜同款"]
CITIES = ["杭州", "广州", "深圳", "义乌", "上海", "北京", "苏州", "东莞", "泉州", "厦门", "成都", "武汉",
          "南京", "宁波", "温州", "Shenzhen", "Guangzhou", "Yiwu", "Hangzhou", "Xiamen"]
WORDS = ["优品", "潮流", "星辰", "鑫源", "恒达", "华美", "佳佳", "小鹿", "阳光", "蓝海", "金牛", "百汇", "乐购",
         "美妆", "运动", "数码", "家居", "母婴", "精品", "时尚", "Trendy", "Sunrise", "BlueSea", "GoldenBull",
         "Happy", "Star", "Lucky", "Prime", "Urban", "Fresh", "Elite", "Smart", "Nova", "Metro", "Pixel",
         "Maple", "Lotus", "Panda", "Dragon", "Phoenix", "Jade", "Pearl", "Silk", "Bamboo", "Cloud", "River",
         "Summit", "Harbor", "Orchid", "Tiger"]
SUFFIXES = ["旗舰店", "专营店", "专卖店", "小店", " Store", " Outlet"]
REASONS = ["counterfeit", "trademark_infringement", "copyright_infringement", "patent_infringement",
           "design_infringement", "unauthorised_use_of_images"]
EXPLANATIONS = ["商品为假冒注册商标的产品，经试购鉴定非权利人生产。",
                "Listing uses our registered mark on counterfeit goods.",
                "未经授权使用权利人享有著作权的商品图片和详情页文案。",
                "Product reproduces our registered design.", "经比对，该商品落入涉案专利权利要求的保护范围。",
                "Counterfeit: serial numbers do not exist in our records.",
                "请联系[redacted:email]或[redacted:phone]核实授权。",
                "Seller states 原单 but we never supplied this factory."]

_TENANT = """
INSERT INTO tenants (id, slug, name, timezone, holiday_country, mode) VALUES ($1, $2, $3, 'Asia/Shanghai', 'CN', 'live')
"""

# Records [lo, hi] of every tenant in $1, in published_at order across tenants (as they would arrive in
# production, so a tenant's rows are spread over the heap); i/n spreads published_at evenly over the span.
_CHUNK = """
WITH g AS (
  SELECT t.tenant_id, i, $2::timestamptz + $3::interval * ((i - 1 + random()) / $4) AS ts, random() AS rk,
         random() AS rr, floor(power(random(), 2) * 6000)::int AS m, (random() * 1e9)::bigint AS salt,
         md5(random()::text) AS h, md5(random()::text) AS hc
  FROM generate_series($5::int, $6::int) i CROSS JOIN unnest($1::uuid[]) AS t(tenant_id)
), k AS (
  SELECT g.*,
    CASE WHEN rk < 0.40 THEN 'notice' WHEN rk < 0.75 THEN 'result' WHEN rk < 0.90 THEN 'declaration'
         ELSE 'account_restriction' END AS kind,
    CASE WHEN rr < 0.55 THEN 'trademark' WHEN rr < 0.75 THEN 'copyright' WHEN rr < 0.85 THEN 'patent'
         WHEN rr < 0.95 THEN 'design' WHEN rr < 0.98 THEN 'geographical_indication' ELSE 'trade_secret' END AS rt,
    ($7::text[])[1 + m % 20] || ($8::text[])[1 + (m / 20) % 50] || ($9::text[])[1 + m / 1000] AS merchant,
    ($10::text[])[1 + salt % 30] || ' ' || ($11::text[])[1 + (salt / 30) % 40] || ' '
      || ($12::text[])[1 + (salt / 1200) % 8] AS title,
    ($10::text[])[1 + salt % 30] || '知识产权部' AS notifier,
    (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8'
      || substr(h, 4, 15))::uuid AS id,
    (lpad(to_hex((extract(epoch FROM ts - interval '3 days') * 1000)::bigint), 12, '0') || '7'
      || substr(hc, 1, 3) || '9' || substr(hc, 4, 15))::uuid AS case_id,
    to_char((ts - interval '3 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS received,
    to_char((ts - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS decided
  FROM g
)
INSERT INTO disclosures (tenant_id, id, kind, case_id, subject_id, right_type, listing_title, merchant_name, record,
                         redactions, status, created_at, publish_at, published_at)
SELECT tenant_id, id, kind, CASE WHEN kind = 'account_restriction' THEN NULL ELSE case_id END, case_id,
  CASE WHEN kind IN ('notice', 'result') THEN rt END,
  CASE WHEN kind <> 'account_restriction' THEN title END, merchant,
  CASE kind
    WHEN 'notice' THEN jsonb_build_object(
      'right_type', rt, 'right_jurisdiction', 'CN', 'registration_number', 'TM' || (10000000 + salt % 89999999),
      'reason_code', ($13::text[])[1 + salt % 6], 'explanation', ($14::text[])[1 + (salt / 7) % 8],
      'listing_title', title, 'listing_url', 'https://item.m.example/' || salt, 'merchant_name', merchant,
      'notifier_name', notifier, 'evidence', jsonb_build_array('registration_certificate', 'test_purchase'),
      'received_at', received, 'channel', CASE WHEN salt % 5 = 0 THEN 'web' ELSE 'api' END)
    WHEN 'result' THEN jsonb_build_object(
      'outcome', (ARRAY['upheld', 'restored', 'settled', 'rejected', 'withdrawn'])[1 + salt % 5],
      'measures', CASE WHEN salt % 5 = 3 THEN '[]'::jsonb ELSE '["remove"]'::jsonb END, 'listing_title', title,
      'merchant_name', merchant, 'notifier_name', notifier, 'decided_at', decided, 'right_type', rt)
    WHEN 'declaration' THEN jsonb_build_object(
      'grounds', jsonb_build_array((ARRAY['no_infringement', 'authorised', 'exhausted'])[1 + salt % 3]),
      'explanation', '我方商品为正规渠道进货，附进货发票及授权书。', 'listing_title', title, 'merchant_name', merchant,
      'evidence', jsonb_build_array('invoice', 'authorisation_letter'), 'received_at', received)
    ELSE jsonb_build_object(
      'merchant_name', merchant, 'restriction', CASE WHEN salt % 3 = 0 THEN 'suspension' ELSE 'warning' END,
      'reason', 'repeat_infringer', 'starts_at', decided, 'ends_at', NULL)
  END,
  CASE WHEN kind = 'notice' AND salt % 8 = 6
       THEN '[{"field": "explanation", "category": "email"}, {"field": "explanation", "category": "phone"}]'::jsonb
       ELSE '[]'::jsonb END,
  'published', ts - interval '24 hours', ts, ts
FROM k ORDER BY ts
"""

_EXTRA = """
INSERT INTO disclosures (tenant_id, id, kind, case_id, subject_id, right_type, listing_title, merchant_name, record,
                         status, created_at, publish_at, published_at, withdrawn_at, withdraw_reason)
SELECT $1, gen_random_uuid(), 'notice', gen_random_uuid(), gen_random_uuid(), 'trademark', 'Withdrawn item ' || i,
  'Shop ' || i, '{}'::jsonb, CASE WHEN i <= $3::int THEN 'withdrawn' ELSE 'scheduled' END, ts - interval '1 day',
  CASE WHEN i <= $3::int THEN ts ELSE now() + interval '12 hours' END, CASE WHEN i <= $3::int THEN ts END,
  CASE WHEN i <= $3::int THEN ts + interval '2 days' END, CASE WHEN i <= $3::int THEN 'court order' END
FROM (SELECT i, $2::timestamptz + random() * interval '730 days' AS ts FROM generate_series(1, $3::int + $4::int) i) x
"""


async def _set_codecs(conn: asyncpg.Connection) -> None:
    from infra.db import _init_connection

    await _init_connection(conn)


async def create_tenant(conn: asyncpg.Connection, tenant_id: UUID, slug: str) -> None:
    """A tenants row and version 1 of the cn-ecl preset, published (the shape install_preset writes)."""
    from domain.ids import new_id
    from domain.policies import PolicyStatus, PolicyVersion
    from domain.policy import PRESETS
    from infra.repositories import PolicyRepo

    assert PRESETS["cn-ecl"].disclosure.public_feed
    await conn.execute(_TENANT, tenant_id, slug, f"Bench {slug}")
    now = datetime.now(UTC)
    await PolicyRepo(conn, tenant_id).insert(PolicyVersion(
        id=new_id(), version=1, status=PolicyStatus.PUBLISHED, document=PRESETS["cn-ecl"].model_dump(mode="json"),
        based_on="preset:cn-ecl", note=None, created_at=now, created_by="bench", published_at=now,
        published_by="bench"))


async def _load(database_url: str, tenant_ids: list[UUID], rows: int, start: datetime, chunks: list[int]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET synchronous_commit = off")
        for lo in chunks:
            await conn.execute(_CHUNK, tenant_ids, start, SPAN, rows, lo, min(lo + CHUNK - 1, rows), CITIES, WORDS,
                               SUFFIXES, BRANDS, PRODUCTS, MODIFIERS, REASONS, EXPLANATIONS, timeout=3600)
    finally:
        await conn.close()


async def _run_sql(database_url: str, statements: list[str]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for sql in statements:
            await conn.execute(sql, timeout=7200)
    finally:
        await conn.close()


async def seed(database_url: str, *, tenants: int, rows: int, jobs: int = 2, build_indexes_after: bool = True,
               log: Any = print) -> list[tuple[UUID, str]]:
    """`tenants` tenants with `rows` published records each, then VACUUM (ANALYZE). Returns (id, slug) pairs.

    With `build_indexes_after` the secondary indexes of `disclosures` (whatever the migrations defined:
    their definitions are read from pg_indexes) are dropped for the load and rebuilt after it, which is
    several times faster than maintaining them row by row, and yields compact indexes."""
    from domain.ids import new_id

    start = datetime.now(UTC) - SPAN
    conn = await asyncpg.connect(database_url)
    made: list[tuple[UUID, str]] = []
    try:
        await _set_codecs(conn)
        for t in range(tenants):
            tenant_id, slug = new_id(), f"disc-bench-{t:02d}"
            await create_tenant(conn, tenant_id, slug)
            made.append((tenant_id, slug))
        indexes: list[asyncpg.Record] = []
        if build_indexes_after:
            indexes = await conn.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'disclosures'"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")
            for ix in indexes:
                await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        t0 = time.perf_counter()
        ids = [tid for tid, _ in made]
        starts = list(range(1, rows + 1, CHUNK))
        await asyncio.gather(*(_load(database_url, ids, rows, start, starts[j::jobs]) for j in range(jobs)))
        for tid in ids:
            await conn.execute(_EXTRA, tid, start, rows // 200, 100, timeout=600)
        log(f"  {tenants} tenants x {rows:,} published rows (+0.5 % withdrawn, 100 scheduled):"
            f" {time.perf_counter() - t0:.0f} s")
        if indexes:
            t0 = time.perf_counter()
            await asyncio.gather(*(_run_sql(database_url, [ix["indexdef"] for ix in indexes[j::jobs]])
                                   for j in range(jobs)))
            log(f"  rebuilt {', '.join(ix['indexname'] for ix in indexes)}: {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) disclosures", timeout=7200)
        await conn.execute("ANALYZE tenants; ANALYZE policy_versions", timeout=600)
        log(f"  VACUUM (ANALYZE) disclosures: {time.perf_counter() - t0:.0f} s")
        size = await conn.fetchrow(
            "SELECT pg_size_pretty(pg_table_size('disclosures')) AS heap,"
            " pg_size_pretty(pg_indexes_size('disclosures')) AS indexes,"
            " (SELECT avg(pg_column_size(d.*))::int FROM (SELECT * FROM disclosures TABLESAMPLE SYSTEM (0.1)) d)"
            " AS avg_row")
        log(f"  disclosures: heap+toast {size['heap']}, indexes {size['indexes']}, ~{size['avg_row']} B/row")
    finally:
        await conn.close()
    return made


def seed_timed(database_url: str, db_name: str, *, tenants: int, rows: int, jobs: int) -> list[tuple[UUID, str]]:
    """`seed`, announced and timed on stdout (the disclosure benchmarks' long first step)."""
    print(f"database {db_name}: seeding {tenants} x {rows:,} disclosures")
    started = time.perf_counter()
    seeded = asyncio.run(seed(database_url, tenants=tenants, rows=rows, jobs=jobs))
    print(f"seeded in {time.perf_counter() - started:.0f} s")
    return seeded
