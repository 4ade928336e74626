"""Webhook rules without I/O: target URLs and addresses, event selection, payload, retries, acks."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook

from domain import webhooks
from domain.errors import InvalidInput
from domain.webhooks import (
    EVENT_TOPICS,
    FORBIDDEN_TARGET,
    MAX_ACK_BYTES,
    DeliveryStatus,
    RetrySchedule,
    SendResult,
    acknowledges_delivery,
    address_problem,
    after_attempt,
    check_addresses,
    envelope,
    event_matches,
    generate_secret,
    parse_target_url,
    secret_hint,
    validate_event_patterns,
)


def _code(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.problems[0].code


# ----- URLs ----------------------------------------------------------------------------------------


def test_https_urls_are_accepted_and_normalised() -> None:
    t = parse_target_url("https://Hooks.Example.COM./noticehub?x=1", allow_local=False)
    assert (t.scheme, t.host, t.port, t.is_ip_literal) == ("https", "hooks.example.com", 443, False)
    assert parse_target_url("https://[2606:4700::1111]:8443/h", allow_local=False).host == "2606:4700::1111"


@pytest.mark.parametrize("url", ["http://hooks.example.com/", "ftp://x.example/", "https://user:pw@x.example/",
                                 "https:///nohost", "https://x.example/#frag", "https://bad_host!.example/",
                                 "https://" + "a" * 2100 + ".example/"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_target_url(url, allow_local=False)
    assert exc.value.field == "url"


@pytest.mark.parametrize("url", [
    "https://8.8.8.8/h\r\nX: y",        # CR LF: a header line of its own on the wire
    "https://8.8.8.8/h\nHost: evil",
    "https://hooks.example/a b",         # space (Zs)
    "https://hooks.example/a\tb",        # tab (Cc)
    "https://hooks.example/\x7f",        # DEL (Cc)
    "https://hooks.example/\u202e",      # right-to-left override (Cf): reads other than it is
    "https://hooks.example/\u200b",      # zero-width space (Cf)
    "https://hooks.example/a\u00a0b",     # no-break space (Zs)
    "https://hooks.example/a\u2028b",     # line separator (Zl)
    "https://hooks.example\u3000/",      # ideographic space (Zs)
    "https://8.8.8.8:0/h",               # port 0: nothing to connect to
    "http://127.0.0.1:0/h",
])
def test_urls_with_raw_control_format_or_space_characters_or_port_0_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_target_url(url, allow_local=True)
    assert exc.value.field == "url" and _code(exc) == "invalid"


def test_surrounding_whitespace_is_dropped_and_encoded_or_printable_characters_are_kept() -> None:
    assert parse_target_url("  https://hooks.example/h\n", allow_local=False).url == "https://hooks.example/h"
    assert parse_target_url("https://hooks.example/%0D%0A%E2%80%AE", allow_local=False).port == 443
    assert parse_target_url("https://hooks.example/通知?q=é", allow_local=False).host == "hooks.example"
    assert parse_target_url("https://hooks.example:65535/", allow_local=False).port == 65535

def test_http_is_refused_as_a_forbidden_target_unless_local_targets_are_allowed() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_target_url("http://127.0.0.1:9/x", allow_local=False)
    assert _code(exc) == FORBIDDEN_TARGET
    assert parse_target_url("http://127.0.0.1:9/x", allow_local=True).port == 9


@pytest.mark.parametrize("host", ["localhost", "svc.internal", "printer.local", "a.localhost"])
def test_local_names_are_refused_before_resolution(host: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_target_url(f"https://{host}/", allow_local=False)
    assert _code(exc) == FORBIDDEN_TARGET


# ----- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "::1",                       # loopback
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "fd12::1",   # private / unique local
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200",  # cloud metadata
    "169.254.1.1", "fe80::1",                              # link-local
    "224.0.0.1", "ff02::1",                                # multicast
    "0.0.0.0", "::",                                       # unspecified
    "240.0.0.1",                                           # reserved
    "100.64.0.1",                                          # shared address space (CGNAT)
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::a9fe:a9fe",  # v4 in v6 forms
])
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert address_problem(address, allow_local=False) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(address, allow_local=False) is None


def test_allowing_local_targets_admits_loopback_but_never_metadata_or_private() -> None:
    assert address_problem("127.0.0.1", allow_local=True) is None
    assert address_problem("::1", allow_local=True) is None
    assert address_problem("169.254.169.254", allow_local=True) is not None
    assert address_problem("10.0.0.1", allow_local=True) is not None


def test_every_resolved_address_must_be_allowed() -> None:
    check_addresses("ok.example", ["93.184.216.34", "2606:4700::1111"], allow_local=False)
    with pytest.raises(InvalidInput) as exc:
        check_addresses("mixed.example", ["93.184.216.34", "10.1.2.3"], allow_local=False)
    assert _code(exc) == FORBIDDEN_TARGET
    with pytest.raises(InvalidInput) as exc:
        check_addresses("nothing.example", [], allow_local=False)
    assert _code(exc) == "unresolvable"


# ----- events --------------------------------------------------------------------------------------


def test_event_selection() -> None:
    assert event_matches(["*"], "measure.requested")
    assert event_matches(["case.*"], "case.state_changed")
    assert not event_matches(["case.*"], "measure.requested")
    assert event_matches(["notice.forwarded"], "notice.forwarded")
    assert not event_matches(["notice.forwarded"], "notice.forwarded_again")
    assert not event_matches(["notice"], "notice.received")


def test_event_patterns_are_validated_against_known_topics() -> None:
    assert validate_event_patterns(["case.*", "case.*", "notice.forwarded"]) == ("case.*", "notice.forwarded")
    assert validate_event_patterns(["*"]) == ("*",)
    for bad in ([], ["Case.*"], ["nope.*"], ["notice.forwarded.extra"]):
        with pytest.raises(InvalidInput):
            validate_event_patterns(bad)
    assert {"declaration.forwarded", "notice.forwarded", "case.state_changed"} <= set(EVENT_TOPICS)


# ----- secrets, payload, signatures ----------------------------------------------------------------


def test_secret_is_standard_webhooks_format_and_signs_verifiably() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret_hint(secret).startswith("whsec_") and secret not in secret_hint(secret)
    event_id = uuid4()
    body = json.dumps(envelope(event_id, "notice.forwarded", datetime.now(UTC), "case-1", {"case_id": "c"}))
    now = datetime.now(UTC)
    headers = {"webhook-id": str(event_id), "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign(str(event_id), now, body)}
    payload = Webhook(secret).verify(body, headers)
    assert payload["id"] == str(event_id) == headers["webhook-id"]  # the idempotency key, twice
    assert payload["type"] == "notice.forwarded" and payload["ordering_key"] == "case-1"


def test_acknowledgement_needs_a_2xx_json_body_with_delivered_true_on_an_acknowledgeable_event() -> None:
    assert acknowledges_delivery("declaration.forwarded", 200, b'{"delivered": true}')
    assert acknowledges_delivery("declaration.forwarded", 204, b'{"delivered": true, "x": 1}')
    assert not acknowledges_delivery("declaration.forwarded", 200, b'{"delivered": "yes"}')
    assert not acknowledges_delivery("declaration.forwarded", 500, b'{"delivered": true}')
    assert not acknowledges_delivery("declaration.forwarded", 200, b"ok")
    assert not acknowledges_delivery("declaration.forwarded", 200, b"")
    assert not acknowledges_delivery("notice.forwarded", 200, b'{"delivered": true}')


@pytest.mark.parametrize("body", [
    b"[" * 20_000 + b"]" * 20_000,                                     # 40 KB: over the size bound
    b"[" * 5_000 + b"]" * 5_000,                                       # 10 KB, 5,000 levels
    b'{"delivered": true, "x": ' + b"[" * 40 + b"]" * 40 + b"}",       # an ack, but 41 levels deep
    b'{"delivered": true, "pad": "' + b"x" * MAX_ACK_BYTES + b'"}',    # an ack, but too large
    b'{"delivered": true, "x": "\xff"}',                               # not UTF-8
    b"{" * 3_000,                                                      # unbalanced
])
def test_an_oversized_deep_or_broken_answer_is_no_acknowledgement_and_never_raises(body: bytes) -> None:
    assert acknowledges_delivery("declaration.forwarded", 200, body) is False


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    note = b'"' + b"[" * 100 + b'\\"]' + b"}" * 100 + b'"'
    assert acknowledges_delivery("declaration.forwarded", 200, b'{"delivered": true, "note": ' + note + b"}")
    assert acknowledges_delivery("declaration.forwarded", 200, b'\xef\xbb\xbf{"delivered": true}')  # UTF-8 BOM


def test_a_parser_recursion_error_is_no_acknowledgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The depth bound keeps json.loads from recursing that deep; should anything get past it, still False."""
    monkeypatch.setattr(webhooks, "_nests_deeper", lambda text, limit: False)
    assert acknowledges_delivery("declaration.forwarded", 200, b"[" * 5_000 + b"]" * 5_000) is False


# ----- retries -------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    s = RetrySchedule(max_attempts=8, base_s=10, factor=3, cap_s=3600, jitter=0.2)
    rng = random.Random(7)
    for attempt in range(1, 8):
        nominal = min(3600, 10 * 3 ** (attempt - 1))
        delays = [s.delay_after(attempt, rng).total_seconds() for _ in range(200)]
        assert nominal * 0.8 <= min(delays) and max(delays) <= nominal * 1.2
        assert max(delays) - min(delays) > nominal * 0.1  # it is jittered
    assert s.delay_after(50, rng) <= timedelta(seconds=3600 * 1.2)


def test_attempt_outcomes_follow_the_budget() -> None:
    ok = SendResult(uuid4(), datetime.now(UTC), 204, None, 3)
    bad = SendResult(uuid4(), datetime.now(UTC), 503, "HTTP 503", 3)
    down = SendResult(uuid4(), datetime.now(UTC), None, "ConnectError", 1)
    redirect = SendResult(uuid4(), datetime.now(UTC), 302, "HTTP 302", 1)
    assert after_attempt(ok, 8, 8) is DeliveryStatus.DELIVERED
    assert after_attempt(bad, 1, 8) is DeliveryStatus.FAILED
    assert after_attempt(down, 7, 8) is DeliveryStatus.FAILED
    assert after_attempt(down, 8, 8) is DeliveryStatus.DEAD
    assert after_attempt(redirect, 1, 8) is DeliveryStatus.FAILED  # redirects are not followed
    total = sum(RetrySchedule().delay_after(n, random.Random(1)).total_seconds() for n in range(1, 8))
    assert 2 * 3600 < total < 5 * 3600  # the default budget spans a few hours
