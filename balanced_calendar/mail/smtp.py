"""SMTP transport via :mod:`smtplib`: STARTTLS, implicit TLS or plain (local relay), AUTH, timeouts.

Certificates are always verified (hostname included); ``[mail] ca_file`` adds a private CA.
Failures are classified: a 5xx answer to the message or its recipient is permanent; connection
problems, timeouts, 4xx answers, TLS and AUTH problems are temporary (an operator can fix them
and the message still goes out once).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

from balanced_calendar.mail.errors import PermanentFailure, TemporaryFailure


class SMTPTransport:
    name = "smtp"

    def __init__(self, host: str, port: int, *, security: str = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 30.0, ca_file: Path | None = None) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ca_file = ca_file

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.ca_file is not None:
            ctx.load_verify_locations(cafile=str(self.ca_file))
        return ctx

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.ehlo()
            client.starttls(context=self._context())
            client.ehlo()
        return client

    def send(self, key: str, sender: str, recipient: str, message: bytes) -> None:
        """Hand one message to the server. Raises :class:`TemporaryFailure` or :class:`PermanentFailure`."""
        try:
            client = self._connect()
        except ssl.SSLCertVerificationError as exc:
            raise TemporaryFailure(f"the SMTP server's certificate is not trusted ({exc.verify_message}); "
                                   f"set [mail] ca_file") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot reach the SMTP server ({type(exc).__name__})") from None
        try:
            if self.username:
                client.login(self.username, self.password or "")
            refused = client.sendmail(sender, [recipient], message)
            if refused:  # only one recipient: sendmail raises when all are refused; kept for safety
                code = next(iter(refused.values()))[0]
                raise (PermanentFailure if code >= 500 else TemporaryFailure)(f"recipient refused ({code})")
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"SMTP login refused ({exc.smtp_code}); check [mail] username "
                                   f"and password_file") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            raise (PermanentFailure if code >= 500 else TemporaryFailure)(f"recipient refused ({code})") from None
        except smtplib.SMTPResponseException as exc:
            cls = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            raise cls(f"server answered {exc.smtp_code} {exc.smtp_error[:80]!r}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"SMTP conversation failed ({type(exc).__name__})") from None
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException, socket.timeout):
                client.close()
