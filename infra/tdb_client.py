"""HTTP client for the DSA Transparency Database batch API (`POST /api/v1/statements`): the
`StatementSink` of domain/services/statements.py.

- Auth: `Authorization: Bearer <token>`. The policy names the secret (`token_ref`), never the token; the
  token is read from the environment as NOTICEHUB_SECRET_<TOKEN_REF> (upper-cased, other characters
  as `_`), e.g. token_ref `DSA_TDB_TOKEN` -> NOTICEHUB_SECRET_DSA_TDB_TOKEN. Nothing is sent without it.
- The endpoint is tenant-configured, so it goes through the webhook SSRF guard (https, public
  addresses; NOTICEHUB_TDB_ALLOW_LOCAL=1 allows http and loopback for development and tests).
- Rate limit: at most NOTICEHUB_TDB_MAX_RPS requests per second per (endpoint, token) in this
  process (the TDB allows 200/s and 12,000/min per user; the default stays well below). Timeout:
  NOTICEHUB_TDB_TIMEOUT seconds.
- Answers (transparency-database StatementMultipleAPIController): 201 `{"statements": [...]}`;
  422 `{"errors": {"statement_<i>": {field: [messages]}}}` for invalid statements (the whole batch is
  rejected); 422 `{"message": ..., "errors": {"puid": [...], "existing_puids": [...]}}` for puids the
  platform already used. Never raises for the endpoint's failures: they come back as a `TdbAnswer`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from domain.errors import FieldProblem, InvalidInput
from domain.services.statements import TdbAnswer
from infra.target_guard import TargetGuard

USER_AGENT = "Noticehub-SoR/1.0"
SECRET_ENV_PREFIX = "NOTICEHUB_SECRET_"
MAX_RESPONSE_BYTES = 1024 * 1024
_STATEMENT_KEY = re.compile(r"statement_(\d+)")
_tracer = trace.get_tracer("noticehub.tdb")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True, slots=True)
class TdbSettings:
    timeout_s: float = 10.0
    max_rps: float = 20.0
    allow_local: bool = False

    @classmethod
    def from_env(cls) -> TdbSettings:
        return cls(timeout_s=float(os.environ.get("NOTICEHUB_TDB_TIMEOUT", "10")),
                   max_rps=float(os.environ.get("NOTICEHUB_TDB_MAX_RPS", "20")),
                   allow_local=_flag("NOTICEHUB_TDB_ALLOW_LOCAL"))


def secret_env_name(token_ref: str) -> str:
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", token_ref.upper())


def resolve_token(token_ref: str) -> str | None:
    value = os.environ.get(secret_env_name(token_ref), "").strip()
    return value or None


class RateLimiter:
    """Spaces requests per key at 1/rate seconds (process-wide; callers share one event loop per process)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def reserve(self, key: str, rate: float) -> float:
        """Book the next slot; returns how long to wait for it."""
        now = time.monotonic()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + 1.0 / rate
        return slot - now

    async def wait(self, key: str, rate: float) -> None:
        if rate > 0:
            delay = self.reserve(key, rate)
            if delay > 0:
                await asyncio.sleep(delay)


LIMITER = RateLimiter()


def _problems(value: Any) -> tuple[FieldProblem, ...]:
    """`{"field": ["message", ...]}` -> FieldProblems (code `tdb`)."""
    if isinstance(value, Mapping):
        out = [FieldProblem(str(k), str(m), "tdb") for k, msgs in value.items()
               for m in (msgs if isinstance(msgs, list) else [msgs])]
        return tuple(out)
    if isinstance(value, list):
        return tuple(FieldProblem("", str(m), "tdb") for m in value)
    return (FieldProblem("", str(value), "tdb"),) if value else ()


def parse_answer(status: int, body: bytes, retry_after: str | None = None) -> TdbAnswer:
    try:
        data: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    data = data if isinstance(data, Mapping) else {}
    if status in (200, 201):
        items = data.get("statements")
        created = {str(s["puid"]): (str(s["uuid"]) if s.get("uuid") is not None else None)
                   for s in (items if isinstance(items, list) else []) if isinstance(s, Mapping) and "puid" in s}
        return TdbAnswer(status, created=created)
    message = str(data.get("message") or "")[:300]
    if status == 422:
        errors = data.get("errors")
        errors = errors if isinstance(errors, Mapping) else {}
        invalid: dict[int, tuple[FieldProblem, ...]] = {}
        for key, value in errors.items():
            match = _STATEMENT_KEY.fullmatch(str(key))
            if match:
                invalid[int(match[1])] = _problems(value)
        existing = errors.get("existing_puids")
        duplicates = tuple(str(p) for p in existing) if isinstance(existing, list) else ()
        summary = message or "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:3])
        return TdbAnswer(status, invalid=invalid, duplicates=duplicates, error=f"HTTP 422: {summary}"[:2000])
    wait: float | None = None
    if retry_after:
        try:
            wait = max(float(retry_after), 0.0)
        except ValueError:
            wait = None
    hint = {401: " (check the token secret)", 403: " (the token lacks the right to create statements)",
            429: " (rate limited)"}.get(status, "")
    return TdbAnswer(status, error=f"HTTP {status}{hint}{': ' + message if message else ''}", retry_after_s=wait)


class TdbClient:
    """One per submission pass: a pooled HTTP client used for that pass's batches."""

    def __init__(self, settings: TdbSettings | None = None, *, guard: TargetGuard | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.settings = settings or TdbSettings.from_env()
        self.guard = guard or TargetGuard(allow_local=self.settings.allow_local)
        self.limiter = limiter or LIMITER
        self._client: httpx.AsyncClient | None = None
        self._checked: dict[str, str | None] = {}

    async def __aenter__(self) -> TdbClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.timeout_s), follow_redirects=False, trust_env=False,
                headers={"user-agent": USER_AGENT, "accept": "application/json"})
        return self._client

    async def _refused(self, endpoint: str) -> str | None:
        if endpoint not in self._checked:
            try:
                await self.guard.check(endpoint, "disclosure.dsa_statements_of_reasons.endpoint")
                self._checked[endpoint] = None
            except InvalidInput as exc:
                self._checked[endpoint] = "; ".join(p.message for p in exc.problems) or exc.message
        return self._checked[endpoint]

    async def submit(self, endpoint: str, token_ref: str | None,
                     statements: Sequence[Mapping[str, Any]]) -> TdbAnswer:
        if not token_ref:
            return TdbAnswer(None, error="Not sent: the policy names no token_ref for the Transparency Database.")
        token = resolve_token(token_ref)
        if token is None:
            return TdbAnswer(None, error=f"Not sent: the secret {secret_env_name(token_ref)} is not set.")
        refused = await self._refused(endpoint)
        if refused is not None:
            return TdbAnswer(None, error=f"Not sent: endpoint refused: {refused}")
        await self.limiter.wait(f"{endpoint}|{token_ref}", self.settings.max_rps)
        body = orjson.dumps({"statements": list(statements)})
        with _tracer.start_as_current_span(
            "tdb.submit", kind=SpanKind.CLIENT,
            attributes={"http.request.method": "POST", "noticehub.tdb.statements": len(statements)},
        ) as span:
            try:
                response = await self._http().post(
                    endpoint, content=body,
                    headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
            except httpx.TimeoutException:
                span.set_status(Status(StatusCode.ERROR, "timeout"))
                return TdbAnswer(None, error=f"Timeout after {self.settings.timeout_s:g}s")
            except httpx.HTTPError as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                return TdbAnswer(None, error=f"{type(exc).__name__}: {exc}"[:300])
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
            return parse_answer(response.status_code, response.content[:MAX_RESPONSE_BYTES],
                                response.headers.get("retry-after"))
