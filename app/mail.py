"""Outgoing mail: one SMTP connection per run. Callers compose references, dates and links only:
never case text, a reporter's identity or a receipt.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from app.config import Settings


def new_message(settings: Settings, *, to: str, subject: str, lines: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    msg["Subject"] = subject
    msg.set_content("\n".join(lines) + "\n")
    return msg


class Mailer:
    """One SMTP connection, opened on first use and re-opened after an error."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
        if s.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password.get_secret_value() if s.smtp_password else "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:  # noqa: BLE001 - the connection is going away anyway
                pass
            self._smtp = None




def describe_failure(exc: BaseException, settings: Settings) -> str:
    """Why a message could not be handed over, naming server and settings (never message or password)."""
    server = f"the mail server {settings.smtp_host}:{settings.smtp_port} (SAFESHARE_SMTP_HOST, SAFESHARE_SMTP_PORT)"
    if isinstance(exc, socket.gaierror):
        return f"{server}: the host name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return f"{server} refused the connection: nothing listens there"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"{server} did not answer in time"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{server} refused the user name or password (SAFESHARE_SMTP_USERNAME, SAFESHARE_SMTP_PASSWORD)"
    if isinstance(exc, (ssl.SSLError, smtplib.SMTPNotSupportedError)) or (
            isinstance(exc, smtplib.SMTPException) and "STARTTLS" in str(exc)):
        return f"{server}: STARTTLS failed (SAFESHARE_SMTP_STARTTLS)"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{server} refused the sender address (SAFESHARE_SMTP_FROM)"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{server} refused a recipient's address"
    if isinstance(exc, OSError):
        return f"{server}: {exc.strerror or type(exc).__name__}"
    return f"{server}: {type(exc).__name__}"
