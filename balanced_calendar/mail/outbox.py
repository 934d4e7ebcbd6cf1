"""Deliver the store's outbox: each message once, retried with backoff, 5xx given up for good.

The outbox (:class:`~balanced_calendar.store.queue.OutboxStore`) is the persistence: a message
is queued once per key (``digest:<pseudonym>:<week>``) and marked sent only after the transport
accepted it. A temporary failure (server down, 4xx) sets the next attempt by :data:`BACKOFF`;
after the last step, or on a 5xx answer, the message is given up and ``status`` shows why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Protocol

from balanced_calendar.config import MailConfig
from balanced_calendar.mail.errors import DeliveryError
from balanced_calendar.mail.maildir import MaildirTransport
from balanced_calendar.mail.smtp import SMTPTransport
from balanced_calendar.store import Store

log = logging.getLogger(__name__)

#: waits after the 1st, 2nd, … failed attempt; a message still failing after the last is given up
BACKOFF: tuple[dt.timedelta, ...] = tuple(dt.timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440))


class Transport(Protocol):
    name: str

    def send(self, key: str, sender: str, recipient: str, message: bytes) -> None: ...


def transport_from(mail: MailConfig, connectors: Mapping[str, Any] | None = None) -> Transport:
    """The transport ``[mail]`` configures (``connectors``: the config's connector sections,
    which the ``graph`` transport takes its app registration from)."""
    if mail.transport == "graph":
        from balanced_calendar.mail.graph import GraphMailTransport

        return GraphMailTransport((connectors or {}).get("microsoft"), envelope_sender(mail))
    if mail.transport == "smtp":
        assert mail.host is not None  # the config requires it
        password = mail.password_file.read_text(encoding="utf-8").strip() if mail.password_file else None
        return SMTPTransport(mail.host, mail.port, security=mail.security, username=mail.username,
                             password=password, timeout=mail.timeout, ca_file=mail.ca_file)
    return MaildirTransport(mail.maildir)


def envelope_sender(mail: MailConfig) -> str:
    return parseaddr(mail.sender or "")[1] or "balanced-calendar@localhost"


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after ``attempts`` failed attempts (``None``: give up)."""
    if attempts >= len(BACKOFF):
        return None
    return now + BACKOFF[attempts]


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retry: dict[str, str] = field(default_factory=dict)  # key -> public reason
    given_up: dict[str, str] = field(default_factory=dict)


def _subject_of(key: str) -> str:
    """The pseudonym part of a key, for logs (keys never hold addresses)."""
    parts = key.split(":")
    return parts[1] if len(parts) > 2 else key


#: how long a message taken for sending stays hidden from other senders (a sender that died
#: leaves it due again after this; a send never takes this long: transports time out sooner)
SEND_LEASE = dt.timedelta(minutes=10)


def deliver_pending(store: Store, transport: Transport, sender: str, now: dt.datetime,
                    keys: Iterable[str] | None = None, *, due_by: dt.datetime | None = None) -> DeliveryReport:
    """Try every message due at ``due_by`` (default ``now``; only ``keys`` when given) and record
    each outcome at ``now``. An operator's ``digest --send`` passes a later ``due_by`` to retry
    its message before its backoff ends."""
    wanted = set(keys) if keys is not None else None
    report = DeliveryReport()
    for msg in store.pending(max(now, due_by or now)):
        if wanted is not None and msg.key not in wanted:
            continue
        # Instances sharing a store (and a `digest --send` beside the daemon) see the same
        # pending messages: only the one that takes the message sends it.
        if not store.claim_message(msg.key, max(now, due_by or now), now + SEND_LEASE):
            continue
        try:
            transport.send(msg.key, sender, msg.recipient, msg.message)
        except DeliveryError as exc:
            later = None if exc.permanent else next_attempt(msg.attempts, now)
            store.mark_failed(msg.key, exc.public, later)
            if later is None:
                report.given_up[msg.key] = exc.public
                log.warning("mail %s for %s given up: %s", msg.key.split(":")[0], _subject_of(msg.key), exc.public)
            else:
                report.retry[msg.key] = exc.public
                log.info("mail %s for %s not delivered, retry at %s: %s", msg.key.split(":")[0],
                         _subject_of(msg.key), f"{later:%Y-%m-%d %H:%M}Z", exc.public)
            continue
        store.mark_sent(msg.key, now)
        report.sent.append(msg.key)
        log.info("mail %s for %s delivered via %s", msg.key.split(":")[0], _subject_of(msg.key), transport.name)
    return report
