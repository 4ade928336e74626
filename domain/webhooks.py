"""Webhook rules, pure: which URLs are acceptable targets, which events an endpoint gets, the payload
shape, the retry schedule and what a receiver's acknowledgement means. No I/O here; DNS resolution
and HTTP live in infra/webhook_sender.py and call these checks on what they resolved.

Contract with receivers (Standard Webhooks, https://www.standardwebhooks.com):
- POST, JSON body `{"id", "type", "timestamp", "ordering_key", "data"}`; headers `webhook-id` (the
  event id: the same on every retry and redelivery, so receivers deduplicate on it),
  `webhook-timestamp` (unix seconds of this attempt) and `webhook-signature` (`v1,<base64 HMAC>`,
  two signatures during a secret rotation's grace period).
- Any 2xx within the timeout is success; anything else (3xx included: redirects are not followed)
  is retried on the schedule below, then the delivery is dead until an admin redelivers it.
- Acknowledgement: a 2xx answer to a `declaration.forwarded` event whose JSON body (an object of at most
  16 KB, nested at most 32 levels) contains `"delivered": true` states that the declaration reached the
  complainant; Noticehub then records the delivery (the waiting window of ECL 43 starts at that moment),
  as `confirmDelivery` would.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import random
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from domain.errors import FieldProblem, InvalidInput

# ----- events ------------------------------------------------------------------------------------

# Outbox topics a tenant can subscribe to (domain/services/*: the use cases that emit them). A new
# business topic must be added here to be fanned out (workers/notification_handlers.py registers them).
EVENT_TOPICS: tuple[str, ...] = (
    "notice.received",
    "notice.clarification_requested",
    "notice.forwarded",
    "case.state_changed",
    "measure.requested",
    "measure.lifted",
    "measure.ended",
    "declaration.received",
    "declaration.rejected",
    "declaration.forwarded",
    "ip_right.legal_status_changed",
    "suspension.requested",
    "suspension.review_due",
    "account.restricted",
    "account.reinstated",
    "appeal.filed",
    "appeal.decided",
    "notifier.trust_changed",
)
ACKNOWLEDGEABLE_TOPICS = frozenset({"declaration.forwarded"})

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
MAX_EVENT_PATTERNS = 50


def event_matches(patterns: Iterable[str], topic: str) -> bool:
    """`*` matches everything, `case.*` every topic under `case.`, anything else exactly."""
    return any(p in ("*", topic) or (p.endswith(".*") and topic.startswith(p[:-1])) for p in patterns)


def validate_event_patterns(patterns: Sequence[str], field: str = "events") -> tuple[str, ...]:
    problems: list[FieldProblem] = []
    if not patterns:
        problems.append(FieldProblem(field, "Subscribe to at least one event (or \"*\").", "required"))
    if len(patterns) > MAX_EVENT_PATTERNS:
        problems.append(FieldProblem(field, f"At most {MAX_EVENT_PATTERNS} event patterns."))
    for n, p in enumerate(patterns):
        if not _PATTERN.match(p):
            problems.append(FieldProblem(f"{field}.{n}", f"'{p}' is not an event name, a prefix like case.* or *."))
        elif p != "*" and not any(event_matches([p], t) for t in EVENT_TOPICS):
            problems.append(FieldProblem(f"{field}.{n}", f"'{p}' matches no event; known: {', '.join(EVENT_TOPICS)}.",
                                         "unknown_event"))
    if problems:
        raise InvalidInput.from_problems(problems)
    return tuple(dict.fromkeys(patterns))


# ----- target URLs and addresses -----------------------------------------------------------------

MAX_URL_LENGTH = 2048
# Cloud instance-metadata services: never a target, not even with local targets allowed.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                                ipaddress.ip_address("100.100.100.200")})  # AWS/GCP/Azure, AWS IPv6, Alibaba Cloud

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
FORBIDDEN_TARGET = "forbidden_target"  # FieldProblem code of every SSRF refusal


@dataclass(frozen=True, slots=True)
class TargetUrl:
    url: str
    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int
    is_ip_literal: bool


def parse_target_url(url: str, *, allow_local: bool, field: str = "url") -> TargetUrl:
    """Syntax rules for an endpoint URL: https (http only with local targets allowed), a host, a port that can be
    connected to, no credentials, no raw control, format or space characters."""
    def refuse(message: str, code: str = "invalid") -> InvalidInput:
        return InvalidInput.from_problems([FieldProblem(field, message, code)])

    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"At most {MAX_URL_LENGTH} characters.")
    url = url.strip()  # surrounding whitespace is not part of it (the endpoint stores the stripped URL)
    hidden = _unprintable(url)
    if hidden is not None:
        raise refuse(f"The URL must not contain control, format or space characters (found U+{ord(hidden):04X}); "
                     "percent-encode them.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"Not a valid URL: {exc}.") from exc
    if port == 0:
        raise refuse("Port 0 cannot be connected to; give a port from 1 to 65535, or none.")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_local):
        raise refuse("Webhook URLs must use https.", FORBIDDEN_TARGET if scheme == "http" else "invalid")
    if parts.username or parts.password:
        raise refuse("Credentials in the URL are not allowed; the signature authenticates us.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise refuse("The URL needs a host name.")
    if parts.fragment:
        raise refuse("The URL must not have a #fragment.")
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if not literal:
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*", host):
            raise refuse("The host is not a valid DNS name.")
        if (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))) and not allow_local:
            raise refuse(f"'{host}' is a local name; webhooks must reach a public address.", FORBIDDEN_TARGET)
    return TargetUrl(url=url, scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80),
                     is_ip_literal=literal)


def _unprintable(url: str) -> str | None:
    """The first character a URL must not hold raw: Unicode categories C* (controls such as CR/LF, which split
    a request's header lines; format characters such as the bidi override U+202E, which make a URL read other
    than it is; surrogates, private use, unassigned) and Z* (spaces, line and paragraph separators)."""
    return next((c for c in url if unicodedata.category(c)[0] in "CZ"), None)


def address_problem(address: str, *, allow_local: bool) -> str | None:
    """Why this resolved address may not be connected to, or None when it may.

    Only globally routable unicast addresses are allowed; with local targets allowed (development,
    tests) loopback is accepted too. IPv4-mapped/compatible IPv6 forms are judged as the IPv4 address.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"'{address}' is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is None and ip in _NAT64:
            mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if mapped is not None:
            ip = mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return None if allow_local else f"{ip} is a loopback address"
    for label, flag in (("multicast", ip.is_multicast), ("link-local", ip.is_link_local),
                        ("unspecified", ip.is_unspecified), ("private", ip.is_private),
                        ("reserved", ip.is_reserved)):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def check_addresses(host: str, addresses: Sequence[str], *, allow_local: bool, field: str = "url") -> None:
    """Every address a host resolves to must be allowed (a name with one bad address is refused)."""
    if not addresses:
        raise InvalidInput.from_problems([FieldProblem(field, f"'{host}' does not resolve.", "unresolvable")])
    for a in addresses:
        problem = address_problem(a, allow_local=allow_local)
        if problem:
            raise InvalidInput.from_problems([FieldProblem(
                field, f"'{host}' resolves to a forbidden address: {problem}.", FORBIDDEN_TARGET)])


# ----- secrets -----------------------------------------------------------------------------------

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_GRACE = timedelta(hours=24)


def generate_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_hint(secret: str) -> str:
    return secret[: len(SECRET_PREFIX) + 4] + "…"


# ----- payload -----------------------------------------------------------------------------------


def envelope(event_id: UUID | str, topic: str, occurred_at: datetime, ordering_key: str | None,
             data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body every receiver gets. `id` equals the webhook-id header: the idempotency key."""
    return {"id": str(event_id), "type": topic, "timestamp": occurred_at.isoformat(),
            "ordering_key": ordering_key, "data": dict(data)}


# An acknowledgement is a small JSON object; a receiver's answer is untrusted input, parsed only within these.
MAX_ACK_BYTES = 16 * 1024
MAX_ACK_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def acknowledges_delivery(topic: str, status_code: int, body: bytes) -> bool:
    """A 2xx answer to an acknowledgeable event whose JSON body says `"delivered": true`.

    Never raises, whatever the receiver sent: the sender judges a batch's answers together, and one odd answer
    must not cost the others their outcome. Too large or too deeply nested is not an acknowledgement (json.loads
    recurses: ~1,000 levels raise RecursionError)."""
    if topic not in ACKNOWLEDGEABLE_TOPICS or not 200 <= status_code < 300 or not body or len(body) > MAX_ACK_BYTES:
        return False
    try:
        text = body.decode("utf-8-sig")  # JSON is UTF-8 (RFC 8259); a BOM is tolerated as json.loads does
        if _nests_deeper(text, MAX_ACK_DEPTH):
            return False
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return isinstance(parsed, dict) and parsed.get("delivered") is True


def _nests_deeper(text: str, limit: int) -> bool:
    """Whether arrays and objects in JSON text nest more than `limit` deep (brackets in strings do not count)."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


# ----- retries -----------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt (or for an earlier event of its ordering key)
    SENDING = "sending"  # claimed by a sender; lease_until says when a crashed attempt may be retried
    DELIVERED = "delivered"
    FAILED = "failed"  # the last attempt failed; another is scheduled at next_attempt_at
    DEAD = "dead"  # the retry budget is spent (or the endpoint was disabled); redeliver by hand


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff with jitter: attempt n+1 waits base * factor**(n-1), capped, times 1 ± jitter.

    Defaults: 8 attempts over roughly 3.5 hours (10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h).
    """

    max_attempts: int = 8
    base_s: float = 10.0
    factor: float = 3.0
    cap_s: float = 6 * 3600.0
    jitter: float = 0.2

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after failed attempt number `attempt` (1-based) before the next one."""
        raw = min(self.cap_s, self.base_s * math.pow(self.factor, max(0, attempt - 1)))
        r = (rng or _rng).uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(seconds=raw * r)

    def is_last(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


_rng = random.Random()
DEFAULT_SCHEDULE = RetrySchedule()
# A claimed attempt that has not reported back by then is presumed lost (worker killed) and retried.
SEND_LEASE = timedelta(seconds=60)


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300


# ----- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: UUID
    url: str
    description: str
    events: tuple[str, ...]
    active: bool
    secret_hint: str
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    secret_rotated_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: UUID
    endpoint_id: UUID
    event_id: UUID
    topic: str
    ordering_key: str | None
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    acknowledged: bool
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    delivery_id: UUID
    attempt: int
    started_at: datetime
    status_code: int | None
    error: str | None
    latency_ms: int
    outcome: DeliveryStatus


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery claimed for one attempt, with what the sender needs (secrets never leave infra logs)."""

    id: UUID
    endpoint_id: UUID
    event_id: UUID
    topic: str
    url: str
    secrets: tuple[str, ...]  # current first; the previous one during a rotation's grace period
    payload: Mapping[str, Any]
    attempt: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one HTTP attempt came back with (the sender fills it; the domain decides what it means)."""

    delivery_id: UUID
    started_at: datetime
    status_code: int | None
    error: str | None
    latency_ms: int
    acknowledged: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and is_success(self.status_code)


def after_attempt(result: SendResult, attempt: int, max_attempts: int) -> DeliveryStatus:
    if result.ok:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.DEAD if attempt >= max_attempts else DeliveryStatus.FAILED
