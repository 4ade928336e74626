"""Structured logs carry trace ids; email templates render in both locales; SMTP URLs parse."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace

from infra.logs import JsonFormatter
from infra.mailer import SmtpConfig, render


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("noticehub.test", logging.WARNING, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_json_log_lines_carry_the_current_trace_and_span_ids() -> None:
    formatter = JsonFormatter("noticehub-test")
    with trace.get_tracer("test").start_as_current_span("work") as span:
        line = json.loads(formatter.format(_record("delivery %s is dead", delivery_id="d-1")))
        ctx = span.get_span_context()
    assert line["message"] == "delivery %s is dead" and line["level"] == "warning"
    assert line["service"] == "noticehub-test" and line["logger"] == "noticehub.test"
    assert line["trace_id"] == format(ctx.trace_id, "032x") and line["span_id"] == format(ctx.span_id, "016x")
    assert line["delivery_id"] == "d-1"  # extra= fields are kept
    outside = json.loads(formatter.format(_record("no span")))
    assert "trace_id" not in outside


def _context(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "platform": "Shop Platform", "case_id": "c-1", "notice_id": "n-1", "listing_title": "Red Shoes",
        "listing_url": "https://m.example/1", "listing_external_id": "sku-1", "right_type": "trademark",
        "right_number": "TM-9", "right_jurisdiction": "CN", "reason_code": "counterfeit",
        "complainant_name": "Brand", "merchant_name": "Shop", "explanation": "Fake.", "declarations_allowed": True,
        "declaration_deadline_days": 15, "grounds": "not_infringing", "window_days": 15, "window_day_kind": "calendar",
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(("locale", "notice_words", "declaration_words"), [
    ("en", "Notice of alleged infringement", "within 15 days"),
    ("zh-CN", "侵权通知", "15 日内"),
])
def test_templates_render_in_each_locale(locale: str, notice_words: str, declaration_words: str) -> None:
    subject, body = render("notice_forwarded", locale, _context())
    assert notice_words in subject and "Red Shoes" in subject and "\n" not in subject
    assert "TM-9" in body and "Fake." in body and "c-1" in body
    subject, body = render("declaration_forwarded", locale, _context())
    assert declaration_words in body and "Shop" in body
    _, no_window = render("declaration_forwarded", locale, _context(window_days=None))
    assert declaration_words not in no_window


def test_unknown_locale_falls_back_to_english_and_missing_fields_fail_loudly() -> None:
    assert "Notice of alleged infringement" in render("notice_forwarded", "fr", _context())[0]
    context = _context()
    del context["listing_title"]
    with pytest.raises(Exception, match="listing_title"):
        render("notice_forwarded", "en", context)


def test_smtp_urls() -> None:
    c = SmtpConfig.parse("smtp://user%40x:p%3Ass@mail.example:587")
    assert (c.hostname, c.port, c.username, c.password, c.use_tls, c.start_tls) == (
        "mail.example", 587, "user@x", "p:ss", False, True)
    assert SmtpConfig.parse("smtps://mail.example").port == 465 and SmtpConfig.parse("smtps://m.example").use_tls
    assert SmtpConfig.parse("smtp://127.0.0.1:2525").start_tls is None
    with pytest.raises(ValueError, match="smtp"):
        SmtpConfig.parse("http://mail.example")
