"""Put a person's digest into the outbox exactly once per person-week, and who gets one.

A person gets digests while their ``[[people]] digest`` is on **and** their latest consent
record still names the ``weekly_digest`` purpose: unsubscribing (one click, mailto handled by
the operator, or ``people --digest off``) appends a consent record without it, so the
withdrawal is dated and kept, and a config reload cannot switch it back on.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hmac
from dataclasses import replace

from balanced_calendar.digest.compose import Digest, compose, digest_key, is_leader
from balanced_calendar.digest.render import Sender, build_message
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import ConsentRecord, OutboxMessage, PersonRecord, Store

PURPOSE = "weekly_digest"


def sender_of(rt: Runtime) -> Sender:
    mail = rt.config.mail
    from email.utils import parseaddr

    address = mail.sender or "balanced-calendar@localhost"
    https = mail.unsubscribe_url
    portal = getattr(rt.config, "portal", None)
    if https is None and portal is not None and portal.base_url:
        https = portal.base_url.rstrip("/") + "/unsubscribe"  # balanced-calendar serve answers it
    return Sender(address=address, unsubscribe_mailto=mail.unsubscribe_address or parseaddr(address)[1],
                  unsubscribe_url=https)


def unsubscribe_token(store: Store, pseudonym: str) -> str:
    """``<pseudonym>.<check>``: the check is keyed with the installation's secret (not guessable)."""
    check = store.pseudonym(f"unsubscribe:{pseudonym}@digest")[2:]
    return f"{pseudonym}.{check}"


def person_of_token(store: Store, token: str) -> PersonRecord | None:
    """The enrolled person a token belongs to, or ``None`` for a forged or stale token."""
    pseudonym, _, _check = token.partition(".")
    if not hmac.compare_digest(unsubscribe_token(store, pseudonym), token):
        return None
    return next((p for p in store.list_people() if p.pseudonym == pseudonym), None)


def wants_digest(store: Store, person: PersonRecord) -> bool:
    if not person.digest:
        return False
    consents = store.consents(person.email)
    return not consents or PURPOSE in consents[-1].purposes


def set_digest(store: Store, person: PersonRecord, on: bool, at: dt.datetime) -> bool:
    """Record that ``person`` wants digests (``on``) or withdrew from them; ``True`` if it changed."""
    consents = store.consents(person.email)
    if not consents:
        return False
    last = consents[-1]
    if (PURPOSE in last.purposes) == on:
        return False
    purposes = last.purposes + (PURPOSE,) if on else tuple(p for p in last.purposes if p != PURPOSE)
    store.add_consent(replace(last, at=max(at, last.at), purposes=purposes))  # stays the latest
    return True


def compose_for(rt: Runtime, person: PersonRecord, year: int, week: int, lang: str | None = None) -> Digest:
    return compose(rt.store, person, rt.policy, year, week, lang=lang,
                   leader=is_leader(rt.config, person.email))


def queue_digest(rt: Runtime, person: PersonRecord, year: int, week: int, lang: str | None = None) -> tuple[str, bool]:
    """Compose, render and enqueue the digest of a person-week; ``(key, newly queued)``.

    A key queued before (sent or not) is never queued again.
    """
    key = digest_key(person.pseudonym, year, week)
    if rt.store.outbox_message(key) is not None:
        return key, False
    digest = compose_for(rt, person, year, week, lang)
    now = rt.clock()
    msg = build_message(digest, sender_of(rt), unsubscribe_token(rt.store, person.pseudonym), now)
    return key, rt.store.enqueue(OutboxMessage(key=key, recipient=person.email, message=msg.as_bytes(policy=email.policy.SMTP),
                                                created=now))


__all__ = ["ConsentRecord", "PURPOSE", "compose_for", "person_of_token", "queue_digest", "sender_of",
           "set_digest", "unsubscribe_token", "wants_digest"]
