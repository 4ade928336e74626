"""Email to parties: jinja2 templates per locale, sent over SMTP (aiosmtplib) or written to a maildir.

NOTICEHUB_SMTP_URL: `smtp://[user:password@]host[:port][?starttls=1]` (STARTTLS when asked or on
port 587) or `smtps://…` (implicit TLS, port 465). Unset: messages go to the maildir
`NOTICEHUB_MAILDIR` (default `<NOTICEHUB_DATA_DIR>/maildir`; stdlib `mailbox.Maildir`), one file per
message, so development and tests can read exactly what would have been sent. NOTICEHUB_MAIL_FROM
sets the sender address.

Recipient addresses are personal data: they are read at send time, passed to the transport and
dropped; they are never logged, stored with the message or put on spans.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import jinja2
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from domain.services.notifications import ClaimedEmail, EmailResult

TEMPLATES = Path(__file__).parent / "templates" / "email"
LOCALES = ("en", "zh-CN")
_tracer = trace.get_tracer("noticehub.email")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(  # plain-text mail: there is no HTML to escape
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, autoescape=False,  # noqa: S701
    )


def render(template: str, locale: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template in a locale; unknown locales fall back to English."""
    loc = locale if locale in LOCALES else "en"
    env = _environment()
    subject = env.get_template(f"{loc}/{template}.subject.j2").render(**context).strip()
    body = env.get_template(f"{loc}/{template}.txt.j2").render(**context)
    return " ".join(subject.split()), body


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("NOTICEHUB_SMTP_URL must start with smtp:// or smtps://")
        implicit = parts.scheme == "smtps"
        port = parts.port or (465 if implicit else 25)
        query = parse_qs(parts.query)
        starttls_flag = query.get("starttls", [""])[0].lower()
        start_tls: bool | None = None if not starttls_flag else starttls_flag in {"1", "true", "yes"}
        if start_tls is None and port == 587:
            start_tls = True
        return cls(hostname=parts.hostname or "localhost", port=port,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   use_tls=implicit, start_tls=False if implicit else start_tls)


class Mailer:
    """SMTP when configured, else a maildir. Build once per worker process."""

    def __init__(self, *, smtp_url: str | None = None, maildir: Path | None = None,
                 sender: str = "noticehub@localhost", timeout_s: float = 30.0) -> None:
        self.smtp = SmtpConfig.parse(smtp_url) if smtp_url else None
        self.maildir = maildir
        self.sender = sender
        self.timeout_s = timeout_s

    @classmethod
    def from_environment(cls, data_dir: Path) -> Mailer:
        maildir = Path(os.environ["NOTICEHUB_MAILDIR"]) if os.environ.get("NOTICEHUB_MAILDIR") else data_dir / "maildir"
        return cls(smtp_url=os.environ.get("NOTICEHUB_SMTP_URL") or None, maildir=maildir,
                   sender=os.environ.get("NOTICEHUB_MAIL_FROM") or "noticehub@localhost")

    @property
    def transport(self) -> str:
        return "smtp" if self.smtp else "maildir"

    def build(self, email: ClaimedEmail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.recipient or ""
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{email.id}@noticehub>"  # stable across retries: MTAs and clients dedupe
        message.set_content(email.body, charset="utf-8")
        message["Content-Language"] = email.locale  # after set_content, which resets Content-* headers
        return message

    async def send_many(self, emails: list[ClaimedEmail]) -> list[EmailResult]:
        return [await self.send(e) for e in emails]

    async def send(self, email: ClaimedEmail) -> EmailResult:
        if not email.recipient:
            return EmailResult(email.id, self.transport, "no email address on record")
        with _tracer.start_as_current_span(
            "email.send", attributes={"noticehub.email.template": email.template,
                                      "noticehub.email.locale": email.locale,
                                      "noticehub.email.transport": self.transport,
                                      "noticehub.email.id": str(email.id)},
        ) as span:
            try:
                message = self.build(email)
                if self.smtp is not None:
                    c = self.smtp
                    await aiosmtplib.send(message, hostname=c.hostname, port=c.port, username=c.username,
                                          password=c.password, use_tls=c.use_tls, start_tls=c.start_tls,
                                          timeout=self.timeout_s)
                else:
                    await asyncio.to_thread(self._to_maildir, message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                return EmailResult(email.id, self.transport, _safe_error(exc, email.recipient))
            return EmailResult(email.id, self.transport, None)

    def _to_maildir(self, message: EmailMessage) -> None:
        assert self.maildir is not None
        self.maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(str(self.maildir), create=True).add(message)


def _safe_error(exc: BaseException, recipient: str) -> str:
    """The error text without the recipient's address (SMTP servers like to echo it)."""
    return f"{type(exc).__name__}: {exc}".replace(recipient, "<recipient>")[:500]
