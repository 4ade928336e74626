"""The public record: a GraphQL endpoint, server-rendered pages and exports, with no API key.

Scoped by tenant slug; only tenants whose policy turns the public feed on are visible. Reads still
run under row-level security with the tenant set, and only `published` records are ever selected.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import strawberry
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.scalars import JSON
from strawberry.types import Info

from api.executor import Executor, Limits
from api.pagination import cursor_instant, cursor_uuid, decode_parts_cursor, encode_parts_cursor
from api.text_input import check_parameters
from domain.dates import EARLIEST, LATEST, day_end, day_start
from domain.errors import InvalidInput, NotFound
from domain.redaction import MARKER_PATTERN
from infra.db import Database, PgUnitOfWork
from infra.disclosure_repositories import EXPORT_COLUMNS
from infra.repositories import tenant_id_by_slug
from infra.settings import get_settings

PAGE = 25
MAX_PAGE = 100


# ----- reading ----------------------------------------------------------------------------------


# Slug -> tenant id, per Database. A slug never changes and a tenant is never deleted (no role may UPDATE
# tenants.slug or DELETE from tenants: 0001_foundation), so a resolved slug stays right for the life of the
# pool. Only hits are kept, so the map is bounded by the tenants that exist; unknown slugs are looked up
# every time. The policy check is NOT cached: it is read in the same transaction as the records.
_TENANT_IDS: weakref.WeakKeyDictionary[Database, dict[str, UUID]] = weakref.WeakKeyDictionary()


async def _tenant_id(db: Database, slug: str) -> UUID:
    known = _TENANT_IDS.setdefault(db, {})
    tenant_id = known.get(slug)
    if tenant_id is None:
        async with db.system_tx() as conn:
            tenant_id = await tenant_id_by_slug(conn, slug)
        if tenant_id is None:
            raise NotFound(f"Public record '{slug}'", "tenant")
        known[slug] = tenant_id
    return tenant_id


@contextlib.asynccontextmanager
async def _public_uow(db: Database, slug: str) -> AsyncIterator[PgUnitOfWork]:
    """A tenant transaction for a public read, after checking (in it) that the policy in force publishes a feed.

    One transaction per request: the policy check and the reads share a snapshot and a connection."""
    async with db.uow(await _tenant_id(db, slug)) as uow:
        in_force = await uow.policies.in_force()  # parsed once per policy version (PolicyRepo)
        if not in_force.policy.disclosure.public_feed:
            raise NotFound(f"Public record '{slug}'", "tenant")
        yield uow


async def _tenant(db: Database, slug: str) -> UUID:
    async with _public_uow(db, slug) as uow:
        return uow.tenant_id


def _cursor(row: Any) -> str:
    return encode_parts_cursor([row["published_at"].isoformat(), str(row["id"])])


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:  # an empty `after` is the first page, as it always was here
        return None
    at, rid = decode_parts_cursor(cursor, 2)
    return cursor_instant(at), cursor_uuid(rid)


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("Use a date like 2026-10-01.", field) from exc


async def list_records(db: Database, slug: str, *, first: int, after: str | None, kind: str | None,
                       right_type: str | None, published: tuple[date | None, date | None],
                       fields: tuple[str, str], name: str | None) -> tuple[list[Any], bool]:
    """`published`: an inclusive range of UTC days, either end open; `fields` name its ends for errors."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"'first' must be between 1 and {MAX_PAGE}.", "first")
    (first_day, last_day), (from_field, to_field) = published, fields
    since = day_start(first_day, UTC, from_field) if first_day else None
    until = day_end(last_day, UTC, to_field) if last_day else None
    async with _public_uow(db, slug) as uow:
        rows = await uow.disclosures.public_page(_after(after), first + 1, kind, right_type, since, until,
                                                 (name or "").strip()[:100] or None)
    return rows[:first], len(rows) > first


async def one_record(db: Database, slug: str, record_id: UUID) -> tuple[Any, list[Any], list[tuple[str, datetime]]]:
    async with _public_uow(db, slug) as uow:
        row = await uow.disclosures.get(record_id)
        if row is None or row["status"] != "published":
            raise NotFound("Public record", "id")
        related = await uow.disclosures.public_for_case(row["case_id"]) if row["case_id"] else [row]
        timeline = await uow.disclosures.public_timeline(row["case_id"]) if row["case_id"] else []
    return row, related, timeline


# ----- GraphQL ----------------------------------------------------------------------------------


@strawberry.type(description="A step of a case's public timeline.")
class PublicStep:
    step: str
    at: datetime


@strawberry.type(description="A published, redacted record of a notice, declaration, result or restriction.")
class PublicRecord:
    id: strawberry.ID
    kind: str
    published_at: datetime
    right_type: str | None
    listing_title: str | None
    merchant_name: str | None
    record: JSON
    redacted_categories: list[str]
    case_id: strawberry.Private[UUID | None]

    @classmethod
    def from_row(cls, r: Any) -> PublicRecord:
        return cls(id=strawberry.ID(str(r["id"])), kind=r["kind"], published_at=r["published_at"],
                   right_type=r["right_type"], listing_title=r["listing_title"], merchant_name=r["merchant_name"],
                   record=r["record"], redacted_categories=sorted({x["category"] for x in r["redactions"]}),
                   case_id=r["case_id"])


@strawberry.type
class PublicRecordEdge:
    cursor: str
    node: PublicRecord


@strawberry.type
class PublicRecordConnection:
    edges: list[PublicRecordEdge]
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class PublicRecordDetail:
    record: PublicRecord
    related: list[PublicRecord]
    timeline: list[PublicStep]


@strawberry.input
class PublicFilter:
    kind: str | None = None
    right_type: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    name: str | None = strawberry.field(default=None, description="Part of a listing title or merchant name.")


@strawberry.type
class PublicQuery:
    @strawberry.field(description="A tenant's published records, newest first.")
    async def records(self, info: Info, tenant: str, first: int = PAGE, after: str | None = None,
                      filter: PublicFilter | None = None) -> PublicRecordConnection:
        f = filter or PublicFilter()
        rows, more = await _public_call(list_records(
            info.context["db"], tenant, first=first, after=after, kind=f.kind, right_type=f.right_type,
            published=(f.published_from, f.published_to), fields=("publishedFrom", "publishedTo"), name=f.name))
        edges = [PublicRecordEdge(cursor=_cursor(r), node=PublicRecord.from_row(r)) for r in rows]
        return PublicRecordConnection(edges=edges, has_next_page=more, end_cursor=edges[-1].cursor if edges else None)

    @strawberry.field(description="One published record with the case's public timeline.")
    async def record(self, info: Info, tenant: str, id: strawberry.ID) -> PublicRecordDetail | None:
        try:
            record_id = UUID(str(id))
        except ValueError:
            return None
        try:
            row, related, timeline = await one_record(info.context["db"], tenant, record_id)
        except NotFound:
            return None
        return PublicRecordDetail(record=PublicRecord.from_row(row),
                                  related=[PublicRecord.from_row(r) for r in related],
                                  timeline=[PublicStep(step=s, at=a) for s, a in timeline])


async def _public_call(coro: Any) -> Any:
    from api.errors import top_level
    from domain.errors import DomainError

    try:
        return await coro
    except DomainError as exc:
        raise top_level(exc) from exc


_settings = get_settings()
public_schema = strawberry.Schema(query=PublicQuery)
public_executor = Executor(public_schema, Limits(_settings.max_query_depth, _settings.max_aliases, _settings.max_tokens,
                                                 introspection=_settings.is_development))


async def public_graphql(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
        query, variables = body["query"], body.get("variables") or None
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return JSONResponse({"data": None, "errors": [{"message": "Send a JSON object with a query.",
                                                       "extensions": {"code": "INVALID_INPUT"}}]}, 400)
    operation_name = body.get("operationName")
    payload = await public_executor.run(query, {"db": request.app.state.db}, variables,
                                        operation_name if isinstance(operation_name, str) else None)
    return Response(orjson.dumps(payload), media_type="application/json")


# ----- pages -----------------------------------------------------------------------------------

_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]), enable_async=False)

TEXT = {
    "en": {"title": "Public record of IP notices and actions", "search": "Search", "name": "Listing or merchant",
           "kind": "Kind", "any": "Any", "right": "Right", "from": "From", "to": "To", "next": "Next page",
           "none": "No published records match.", "published": "Published", "timeline": "Timeline",
           "back": "Back to the list", "redacted": "redacted", "notice": "Notice", "declaration": "Declaration",
           "result": "Result", "account_restriction": "Account restriction", "export": "Download (JSON lines)",
           "lang": "中文", "lang_code": "zh-CN"},
    "zh-CN": {"title": "知识产权通知与处理公示", "search": "搜索", "name": "商品或商家", "kind": "类型", "any": "全部",
              "right": "权利类型", "from": "起", "to": "止", "next": "下一页", "none": "没有符合条件的公示记录。",
              "published": "公示时间", "timeline": "处理经过", "back": "返回列表", "redacted": "已隐去",
              "notice": "投诉通知", "declaration": "不侵权声明", "result": "处理结果",
              "account_restriction": "账户处理",
              "export": "下载（JSON Lines）", "lang": "English", "lang_code": "en"},
}


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in TEXT:
        return asked
    return "zh-CN" if "zh" in request.headers.get("accept-language", "")[:5].lower() else "en"


def _display(value: Any, t: dict[str, str]) -> str:
    text = value if isinstance(value, str) else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return MARKER_PATTERN.sub(lambda m: f"[{t['redacted']}: {m.group(1)}]", text)


async def page_list(request: Request) -> Response:
    slug = request.path_params["tenant"]
    lang = _lang(request)
    t = TEXT[lang]
    q = request.query_params
    try:
        check_parameters(request)
        rows, more = await list_records(
            request.app.state.db, slug, first=PAGE, after=q.get("after"), kind=q.get("kind") or None,
            right_type=q.get("right") or None, published=(_day(q.get("from"), "from"), _day(q.get("to"), "to")),
            fields=("from", "to"), name=q.get("q") or None)
    except NotFound:
        return HTMLResponse("Not found", 404)
    except InvalidInput as exc:
        return HTMLResponse(f"Bad request: {exc.message}", 400)
    html = _templates.get_template("public_list.html").render(
        t=t, lang=lang, slug=slug, rows=rows, q=q, more=more, next_cursor=_cursor(rows[-1]) if rows and more else None,
        display=lambda v: _display(v, t))
    return HTMLResponse(html)


async def page_detail(request: Request) -> Response:
    slug = request.path_params["tenant"]
    lang = _lang(request)
    t = TEXT[lang]
    try:
        check_parameters(request)
        row, related, timeline = await one_record(request.app.state.db, slug, UUID(request.path_params["id"]))
    except (NotFound, ValueError):
        return HTMLResponse("Not found", 404)
    except InvalidInput as exc:
        return HTMLResponse(f"Bad request: {exc.message}", 400)
    html = _templates.get_template("public_detail.html").render(
        t=t, lang=lang, slug=slug, row=row, related=related, timeline=timeline, display=lambda v: _display(v, t))
    return HTMLResponse(html)


# ----- exports ---------------------------------------------------------------------------------

_CSV_FIELDS = EXPORT_COLUMNS  # id, kind, published_at, right_type, listing_title, merchant_name, record


async def _export_range(request: Request) -> tuple[UUID, datetime, datetime]:
    check_parameters(request)
    q = request.query_params
    since = day_start(_day(q.get("from"), "from") or EARLIEST, UTC, "from")
    until = day_end(_day(q.get("to"), "to") or LATEST, UTC, "to")
    tenant_id = await _tenant(request.app.state.db, request.path_params["tenant"])
    return tenant_id, since, until


async def _batches(db: Database, tenant_id: UUID, since: datetime, until: datetime) -> AsyncIterator[list[Any]]:
    """The records in export order, one batch read ahead: the next batch is requested before the caller gets
    this one, so the database produces it while this process encodes and sends (two cores, not one after
    the other). At most two batches are held."""
    async with db.uow(tenant_id) as uow:
        batches = uow.disclosures.export_batches(since, until)
        pending = asyncio.ensure_future(anext(batches, None))
        try:
            while (rows := await pending) is not None:
                pending = asyncio.ensure_future(anext(batches, None))
                await asyncio.sleep(0)  # let it send the fetch before the caller's CPU-bound encoding
                yield rows
        finally:
            if not pending.done():  # the client went away mid-export: the connection must be idle first
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
            await batches.aclose()


def _jsonl(rows: list[Any]) -> bytes:
    """One JSON object per record, keys in _CSV_FIELDS order (the records carry exactly those columns, `record`
    as JSON text: parsed and re-serialised compactly, as the connection's codec and orjson would)."""
    dumps, loads, fields, option = orjson.dumps, orjson.loads, _CSV_FIELDS, orjson.OPT_APPEND_NEWLINE
    lines = []
    for row in rows:
        item = dict(zip(fields, row, strict=True))
        item["record"] = loads(item["record"])
        lines.append(dumps(item, default=str, option=option))
    return b"".join(lines)


def _csv(rows: list[Any]) -> bytes:
    out = io.StringIO()
    dumps, loads = orjson.dumps, orjson.loads
    csv.writer(out).writerows([
        [row["id"], row["kind"], row["published_at"].isoformat(), row["right_type"] or "",
         row["listing_title"] or "", row["merchant_name"] or "", dumps(loads(row["record"])).decode()]
        for row in rows])
    return out.getvalue().encode()


async def export(request: Request) -> Response:
    """Streams every published record in the range (constant memory: one batch of records at a time, sent as
    one chunk); JSON lines end with a checksum line over the preceding bytes; CSV's checksum is served at
    `.csv.sha256` for the same range."""
    fmt = request.path_params["fmt"]
    try:
        tenant_id, since, until = await _export_range(request)
    except NotFound:
        return Response("Not found", 404)
    except InvalidInput as exc:
        return Response(f"Bad request: {exc.message}", 400)
    db = request.app.state.db

    async def body() -> AsyncIterator[bytes]:
        digest, count = hashlib.sha256(), 0
        if fmt == "csv":
            header = ",".join(_CSV_FIELDS).encode() + b"\r\n"
            digest.update(header)
            yield header
        async for rows in _batches(db, tenant_id, since, until):
            chunk = _csv(rows) if fmt == "csv" else _jsonl(rows)
            digest.update(chunk)
            count += len(rows)
            yield chunk
        if fmt == "jsonl":
            yield orjson.dumps({"_checksum": {"sha256": digest.hexdigest(), "rows": count}}) + b"\n"

    if fmt == "csv.sha256":
        async def checksum() -> AsyncIterator[bytes]:
            digest = hashlib.sha256(",".join(_CSV_FIELDS).encode() + b"\r\n")
            async for rows in _batches(db, tenant_id, since, until):
                digest.update(_csv(rows))
            yield f"{digest.hexdigest()}  export.csv\n".encode()

        return StreamingResponse(checksum(), media_type="text/plain")
    media = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}.get(fmt)
    if media is None:
        return Response("Not found", 404)
    return StreamingResponse(body(), media_type=media,
                             headers={"content-disposition": f'attachment; filename="disclosures.{fmt}"'})


# ----- rate limit ------------------------------------------------------------------------------


class PublicRateLimit:
    """Per-IP moving-window limit on the public surface (pages, exports, public GraphQL)."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.item = RateLimitItemPerMinute(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path.startswith("/p/") or path.startswith("/public/")):
            client = (scope.get("client") or ("unknown", 0))[0]
            if not await self.limiter.hit(self.item, "public", client):
                await JSONResponse({"errors": [{"message": "Too many requests; slow down.",
                                                "extensions": {"code": "LIMIT_EXCEEDED"}}]}, 429,
                                   headers={"retry-after": "60"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


routes = [
    Route("/public/graphql", public_graphql, methods=["POST"]),
    Route("/p/{tenant}", page_list),
    Route("/p/{tenant}/d/{id}", page_detail),
    Route("/p/{tenant}/export.{fmt}", export),
]
