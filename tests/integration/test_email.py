"""Email to parties: a real local SMTP server (aiosmtpd) in the tenant's locale, and the maildir fallback.

The merchant receives the forwarded notice, the complainant the forwarded declaration; addresses
come from the parties' personal data and appear in no span and no log line.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.test_preset_flows import ACCEPT, CONFIRM, DECLARE, REVIEW_DECLARATION, SUBMIT, _seed
from tests.integration.test_webhooks import pump

MERCHANT = "li@shop.example"
HOLDER = "legal@brand.example"


class Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collect]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NOTICEHUB_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("NOTICEHUB_MAIL_FROM", "notices@platform.example")
    yield handler
    controller.stop()


async def _notice_to_forwarded(tenant: Any, right_type: str, jurisdiction: str, evidence: list[dict[str, Any]],
                               statements: dict[str, bool], **extra: Any) -> dict[str, Any]:
    s = await _seed(tenant, right_type=right_type, jurisdiction=jurisdiction, listings=1)
    submitted = (await s["integration"](SUBMIT, {"input": {
        "complainantId": s["holder"], "ipRightId": s["right"], "reasonCode": "counterfeit",
        "listingExternalIds": s["listings"], "explanation": "Counterfeit of our registered mark.",
        "evidence": evidence, "statements": statements, **extra}}))["submitNotice"]
    assert submitted["__typename"] == "SubmitNoticeSuccess", submitted
    [case] = submitted["cases"]
    accepted = (await s["reviewer"](ACCEPT, {"input": {"caseId": case["id"]}}))["acceptCase"]["case"]
    applied = await s["integration"](CONFIRM, {"input": {"measureId": accepted["measures"][0]["id"], "applied": True}})
    assert applied["confirmMeasure"]["case"]["state"] == "MEASURES_APPLIED"  # the notice is forwarded now
    return {**s, "case": case}


async def test_forwarded_notice_and_declaration_are_mailed_in_the_tenants_locale(
        make_tenant: Any, db: Any, broker: Any, worker: Any, smtp: Collect, spans: Any,
        caplog: pytest.LogCaptureFixture, owner_conn: Any) -> None:
    tenant = await make_tenant(timezone="Asia/Shanghai", country="CN")  # cn-ecl: default locale zh-CN
    s = await _notice_to_forwarded(
        tenant, "TRADEMARK", "CN",
        [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"}, {"kind": "test_purchase",
                                                                                   "sha256": "a" * 64}],
        {"accuracy": True, "goodFaith": True})

    platform = tenant.slug.upper()  # the tenant's name: other tests' late mail may reach this server too

    def ours() -> list[tuple[list[str], EmailMessage]]:
        return [(r, m) for r, m in smtp.messages if platform in m["Subject"]]

    async def one_mail() -> bool:
        return len(ours()) >= 1
    await pump(db, broker, one_mail, "the merchant's email")
    [(rcpt, message)] = ours()
    assert rcpt == [MERCHANT]
    assert message["To"] == MERCHANT and message["From"] == "notices@platform.example"
    assert message["Content-Language"] == "zh-CN"
    assert "侵权通知" in message["Subject"] and "Item 0" in message["Subject"]
    body = message.get_content()
    for expected in ("转送给您", "TM-1", "Counterfeit of our registered mark."):
        assert expected in body, body
    from strawberry.relay import GlobalID

    assert GlobalID.from_id(s["case"]["id"]).node_id in body  # the case reference

    declared = (await s["integration"](DECLARE, {"input": {
        "caseIds": [s["case"]["id"]], "grounds": "NOT_INFRINGING", "explanation": "Genuine goods, invoices attached.",
        "evidence": [{"kind": "purchase_invoice", "uri": "https://e.example/i.pdf"}],
        "statements": {"accuracy": True}}}))["submitDeclaration"]["declaration"]
    await s["reviewer"](REVIEW_DECLARATION, {"input": {"declarationId": declared["id"], "accept": True}})

    async def two_mails() -> bool:
        sent = await owner_conn.fetchval("SELECT count(*) FROM email_messages WHERE tenant_id = $1 AND status = 'sent'",
                                         await tenant.tenant_id(db))
        return len(ours()) >= 2 and sent == 2
    await pump(db, broker, two_mails, "the complainant's email")
    rcpt, message = ours()[1]
    assert rcpt == [HOLDER]
    assert "不侵权声明" in message["Subject"]
    body = message.get_content()
    assert "Genuine goods, invoices attached." in body and "15 日内" in body and "第四十三条" in body

    rows = await owner_conn.fetch("SELECT template, locale, status, transport FROM email_messages WHERE tenant_id = $1"
                                  " ORDER BY created_at", await tenant.tenant_id(db))
    assert [(r["template"], r["locale"], r["status"], r["transport"]) for r in rows] == [
        ("notice_forwarded", "zh-CN", "sent", "smtp"), ("declaration_forwarded", "zh-CN", "sent", "smtp")]
    columns = await owner_conn.fetch("SELECT column_name FROM information_schema.columns"
                                     " WHERE table_name = 'email_messages'")
    assert not {"recipient", "email", "address"} & {c["column_name"] for c in columns}  # addresses are not copied
    for address in (MERCHANT, HOLDER):  # personal data never reaches spans or logs
        assert all(address not in str(v) for sp in spans.get_finished_spans() for v in (sp.attributes or {}).values())
        assert all(address not in r.getMessage() for r in caplog.records
                   if r.name != "mail.log")  # mail.log: the test's own SMTP server


async def test_without_smtp_mail_goes_to_the_maildir_in_english(
        make_tenant: Any, db: Any, broker: Any, worker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTICEHUB_SMTP_URL", raising=False)
    monkeypatch.setenv("NOTICEHUB_MAILDIR", str(tmp_path / "maildir"))
    tenant = await make_tenant(timezone="America/New_York", country="US")  # us-dmca: locale en
    await _notice_to_forwarded(
        tenant, "COPYRIGHT", "US",
        [{"kind": "ownership_statement", "description": "We own it"}, {"kind": "screenshot",
                                                                       "uri": "https://e.example/s.png"}],
        {"accuracy": True, "goodFaith": True, "authority": True}, signature="/Jane Doe/")

    def messages() -> list[Any]:  # this tenant's: other tests' late mail may land here too
        path = tmp_path / "maildir"
        found = list(mailbox.Maildir(str(path), create=False)) if (path / "new").exists() else []
        return [m for m in found if tenant.slug.upper() in m["Subject"]]

    async def delivered() -> bool:
        return bool(messages())
    await pump(db, broker, delivered, "the maildir message")
    [message] = messages()
    assert message["To"] == MERCHANT
    assert message["Subject"].startswith("[") and "Notice of alleged infringement" in message["Subject"]
    assert "forwards the notice to you" in message.get_payload(decode=True).decode()


async def test_a_late_result_of_an_expired_attempt_does_not_overwrite_the_attempt_that_took_over(
    make_tenant: Any, db: Any, owner_conn: Any
) -> None:
    from datetime import timedelta
    from uuid import UUID, uuid4

    from strawberry import relay

    tenant = await make_tenant(mode="SANDBOX")
    s = await _seed(tenant, right_type="TRADEMARK", jurisdiction="CN", listings=1)
    tenant_id = await tenant.tenant_id(db)
    email_id = uuid4()
    await owner_conn.execute(
        "INSERT INTO email_messages (tenant_id, id, event_id, template, recipient_party_id, locale, subject, body,"
        " max_attempts, created_at, next_attempt_at) VALUES ($1, $2, $3, 'notice_forwarded', $4, 'en', 's', 'b', 5,"
        " now(), now() - interval '1 minute')",
        tenant_id, email_id, uuid4(), UUID(relay.GlobalID.from_id(s["holder"]).node_id))
    async with db.uow(tenant_id) as uow:
        now = uow.clock.now()
        [first] = await uow.emails.claim(now, 10, now + timedelta(minutes=1))
    later = now + timedelta(minutes=2)  # the first sender's lease ran out: another attempt takes over
    async with db.uow(tenant_id) as uow:
        [second] = await uow.emails.claim(later, 10, later + timedelta(minutes=1))
    assert (first.id, first.attempt, second.id, second.attempt) == (email_id, 1, email_id, 2)

    async with db.uow(tenant_id) as uow:  # the first sender finally reports
        await uow.emails.record([(first.id, first.attempt, "sent", "smtp", None, None)], later)
    row = await owner_conn.fetchrow("SELECT status, sent_at FROM email_messages WHERE id = $1", email_id)
    assert (row["status"], row["sent_at"]) == ("sending", None)  # the attempt in progress is not overwritten
    async with db.uow(tenant_id) as uow:
        await uow.emails.record([(second.id, second.attempt, "failed", "smtp", "refused", later)], later)
    assert await owner_conn.fetchval("SELECT status FROM email_messages WHERE id = $1", email_id) == "failed"
