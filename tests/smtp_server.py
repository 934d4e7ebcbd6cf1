"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS (a certificate made here,
signed by a CA made here) and AUTH. Recipients starting with ``bounce`` are refused with 550."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.pki import Pki, make_pki  # noqa: F401 - the tests import them from here too

USER, PASSWORD = "digest-sender", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    tls: bool
    authenticated: bool


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: Any) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content),
                                      session.ssl is not None, session.authenticated))
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """Start/stop an aiosmtpd server on 127.0.0.1:``port`` that requires STARTTLS and AUTH."""

    def __init__(self, pki: Pki, port: int) -> None:
        self.port = port
        self.handler = Handler()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(pki.cert), str(pki.key))
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port, tls_context=ctx,
                                     require_starttls=True, auth_required=True, auth_require_tls=True,
                                     authenticator=_authenticator, ready_timeout=10)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
