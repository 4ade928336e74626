"""Sending webhooks: the HTTP sender (Standard Webhooks signatures, timeout, no redirects, bounded response
read), connecting only to addresses the SSRF guard (infra/target_guard.py) checked.

At delivery time the URL is checked again, and the HTTP client's connector resolves through the guard too
(`_CheckedResolver`): the socket is opened to an address that was just checked, the URL's host
stays the Host header and TLS server name, and a DNS answer that changes between a check and the
connection (DNS rebinding) cannot point the request somewhere else. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from standardwebhooks.webhooks import Webhook

from domain.errors import InvalidInput
from domain.webhooks import ClaimedDelivery, SendResult, acknowledges_delivery
from infra.target_guard import TargetGuard

_tracer = trace.get_tracer("noticehub.webhooks")
log = logging.getLogger("noticehub.webhooks")

USER_AGENT = "Noticehub-Webhooks/1.0"
MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_TIMEOUT_S = 10.0


def sign_headers(message_id: str, body: str, secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; one `v1,` signature per secret (two during a rotation)."""
    signatures = " ".join(_webhook(s).sign(message_id, at, body) for s in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures}


_signers: dict[str, Webhook] = {}


def _webhook(secret: str) -> Webhook:
    signer = _signers.get(secret)
    if signer is None:
        if len(_signers) > 10_000:
            _signers.clear()
        signer = _signers[secret] = Webhook(secret)
    return signer


class _CheckedResolver(AbstractResolver):
    """aiohttp's resolver: hands the connector only addresses the guard resolved and checked, so the
    connection goes to exactly what was checked (no second, unchecked lookup; no DNS rebinding)."""

    def __init__(self, guard: TargetGuard) -> None:
        self.guard = guard

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            addresses = await self.guard.checked_addresses(host, port)
        except InvalidInput as exc:
            raise ForbiddenTarget(exc.message) from exc
        return [ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for a in addresses]

    async def close(self) -> None:
        return None


class ForbiddenTarget(OSError):
    """Raised inside the connector when a host resolves to a forbidden address."""


class WebhookSender:
    """One per worker process (its event loop): a pooled aiohttp session, at most `concurrency` requests at once.

    aiohttp rather than httpx for this one hot path: on this project's machine httpx made 50-150
    concurrent POSTs/s to a local receiver where aiohttp made 600-1200 (docs/performance.md).
    """

    def __init__(self, guard: TargetGuard | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 concurrency: int = 64) -> None:
        self.guard = guard or TargetGuard()
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self._semaphore = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.concurrency, resolver=_CheckedResolver(self.guard),
                                             use_dns_cache=False)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout_s), trust_env=False,
                headers={"user-agent": USER_AGENT, "content-type": "application/json"}, auto_decompress=True)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send_many(self, deliveries: Sequence[ClaimedDelivery]) -> list[SendResult]:
        """Attempt each delivery once, concurrently. Never raises for a delivery's own failure, expected or not:
        the batch's results are recorded together, so one delivery's exception would lose every other's outcome
        (and leave the batch "sending" until its lease expired)."""
        refused = {url: await self._refusal(url) for url in {d.url for d in deliveries}}  # once per URL per batch
        # One span per batch, not per request (a span per POST cost ~15 % of the sender's CPU); each
        # attempt's status, error and latency are in the delivery log and the metrics.
        with _tracer.start_as_current_span("webhook.send_batch", kind=SpanKind.CLIENT, attributes={
                "noticehub.webhook.count": len(deliveries),
                "noticehub.webhook.event_ids": [str(d.event_id) for d in deliveries[:50]]}) as span:
            results = list(await asyncio.gather(*(self._attempt(d, refused[d.url]) for d in deliveries)))
            failed = sum(1 for r in results if not r.ok)
            span.set_attribute("noticehub.webhook.failed", failed)
            if failed:
                span.set_status(Status(StatusCode.ERROR, f"{failed} of {len(results)} attempts failed"))
        return results

    async def _refusal(self, url: str) -> str | None:
        """Why the guard will not let anything be sent to `url` (syntax, scheme, addresses), or None."""
        try:
            await self.guard.resolve(url)
        except InvalidInput as exc:
            return exc.message
        except Exception as exc:  # a bug, not the URL's fault: its deliveries fail, the batch goes on
            log.exception("checking webhook URL failed unexpectedly")
            return _unexpected(exc)
        return None

    async def _attempt(self, d: ClaimedDelivery, refusal: str | None) -> SendResult:
        """One delivery's attempt; whatever goes wrong unexpectedly is this delivery's failed attempt."""
        started, t0 = datetime.now(UTC), time.perf_counter()
        try:
            return await self._send(d, refusal)
        except Exception as exc:
            log.exception("webhook delivery %s failed unexpectedly", d.id)
            return _failed(d, started, t0, _unexpected(exc))

    async def _send(self, d: ClaimedDelivery, refusal: str | None) -> SendResult:
        started = datetime.now(UTC)  # real time: receivers check webhook-timestamp against their clock
        if refusal is not None:  # refused by the guard: nothing is sent
            return SendResult(d.id, started, None, f"refused: {refusal}", 0)
        body = orjson.dumps(d.payload)
        headers = sign_headers(str(d.event_id), body.decode(), d.secrets, started)
        async with self._semaphore:
            t0 = time.perf_counter()
            try:
                async with self.session.post(d.url, data=body, headers=headers, allow_redirects=False) as response:
                    status = response.status
                    content = await _read_limited(response)
            except TimeoutError:
                return _failed(d, started, t0, f"timeout after {self.timeout_s:g}s")
            except aiohttp.ClientConnectorError as exc:
                cause = exc.os_error
                prefix = "refused: " if isinstance(cause, ForbiddenTarget) else ""
                return _failed(d, started, t0, f"{prefix}{type(cause).__name__}: {cause}"[:300])
            except (aiohttp.ClientError, OSError) as exc:
                return _failed(d, started, t0, f"{type(exc).__name__}: {exc}"[:300])
        ok = 200 <= status < 300
        return SendResult(d.id, started, status, None if ok else f"HTTP {status}",
                          int((time.perf_counter() - t0) * 1000),
                          acknowledged=acknowledges_delivery(d.topic, status, content))


def _unexpected(exc: Exception) -> str:
    return f"unexpected: {type(exc).__name__}: {exc}"[:300]


def _failed(d: ClaimedDelivery, started: datetime, t0: float, error: str) -> SendResult:
    return SendResult(d.id, started, None, error, int((time.perf_counter() - t0) * 1000))


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    """At most MAX_RESPONSE_BYTES of the body (enough for an acknowledgement; a huge body is not our problem)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        chunk = await response.content.read(MAX_RESPONSE_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
