"""Graph transport: digests leave through Microsoft 365 (``POST /users/{sender}/sendMail``).

For agencies without an SMTP relay. It uses the ``[connectors.microsoft]`` app registration
in ``app`` mode (client credentials; the application permission ``Mail.Send``, best limited
to the sender's mailbox by an application access policy). The outbox's MIME message is sent
as is (base64, ``Content-Type: text/plain``), so digests look exactly as over SMTP.
Throttling and server trouble are temporary failures; a refused sender or message is permanent.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from balanced_calendar.mail.errors import PermanentFailure, TemporaryFailure
from balanced_calendar.model import AuthExpired, ProviderError, RateLimited, UserError


class GraphMailTransport:
    name = "graph"

    def __init__(self, settings: Any, sender: str, *, http: Any = None) -> None:
        if settings is None or getattr(settings, "mode", None) != "app":
            raise UserError('[mail] transport = "graph" needs a [connectors.microsoft] section with mode = "app"',
                            hint="register the app with the Mail.Send application permission")
        self.settings = settings
        self.sender = sender
        self._http = http
        self._graph: Any = None

    def _client(self) -> Any:
        if self._graph is None:
            from connectors.microsoft.auth import AppTokens
            from connectors.microsoft.http import GraphClient, build_session

            session = build_session(self.settings, self._http)
            self._graph = GraphClient(self.settings, session, AppTokens(self.settings, session, self.sender),
                                      reenroll="check [connectors.microsoft] client_secret_file")
        return self._graph

    def send(self, key: str, sender: str, recipient: str, message: bytes) -> None:
        """Hand one message to Graph. Raises :class:`TemporaryFailure` or :class:`PermanentFailure`."""
        from connectors.microsoft.http import Call

        path = f"/users/{urllib.parse.quote(self.sender)}/sendMail"
        try:
            answer = self._client().call(Call("POST", path, self.sender, base64.b64encode(message),
                                              {"Content-Type": "text/plain"}), ok=(202, 200))
        except RateLimited as exc:
            raise TemporaryFailure(f"Graph is throttling sendMail (retry after {exc.retry_after:g} s)") from None
        except AuthExpired:
            raise TemporaryFailure("Graph refused the app's token; check [connectors.microsoft]") from None
        except ProviderError as exc:
            permanent = "denied" in exc.detail
            raise (PermanentFailure if permanent else TemporaryFailure)(exc.public) from None
        if answer.status not in (200, 202):
            cls = PermanentFailure if 400 <= answer.status < 500 else TemporaryFailure
            raise cls(f"Graph answered sendMail with HTTP {answer.status} {answer.error_code}".rstrip())
