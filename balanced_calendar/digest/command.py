"""``balanced-calendar digest``: preview, print or send one person's digest of one ISO week."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from balanced_calendar.digest.compose import parse_week
from balanced_calendar.digest.queue import compose_for, queue_digest, unsubscribe_token, wants_digest
from balanced_calendar.digest.render import build_message, preview_html, sender_of_links
from balanced_calendar.mail.outbox import deliver_pending, envelope_sender, transport_from
from balanced_calendar.model import UserError
from balanced_calendar.runtime import Runtime

#: exit status when the message stays queued because the server could not take it now (EX_TEMPFAIL)
EXIT_QUEUED = 75
#: exit status when the server refused the message for good
EXIT_REFUSED = 1


def run(rt: Runtime, email: str, week_text: str, lang: str | None, preview: Path | None, send: bool,
        echo: Callable[[str], None]) -> int:
    """Returns the exit status (0, :data:`EXIT_QUEUED` or :data:`EXIT_REFUSED`)."""
    if preview is not None and send:
        raise UserError("give at most one of --preview DIR and --send")
    year, week = parse_week(week_text)
    person = rt.store.get_person(email)
    if preview is not None:
        digest = compose_for(rt, person, year, week, lang)
        preview.mkdir(parents=True, exist_ok=True)
        path = preview / f"{person.pseudonym}-{digest.label}-{digest.lang}.html"
        mailto, https = sender_of_links(rt, unsubscribe_token(rt.store, person.pseudonym))
        path.write_text(preview_html(digest, unsubscribe=https or mailto), encoding="utf-8")
        echo(f"wrote {path}")
        return 0
    if not send:
        digest = compose_for(rt, person, year, week, lang)
        from balanced_calendar.digest.queue import sender_of

        msg = build_message(digest, sender_of(rt), unsubscribe_token(rt.store, person.pseudonym), rt.clock())
        echo(f"Subject: {msg['Subject']}\n")
        echo(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        return 0
    if not wants_digest(rt.store, person):
        raise UserError(f"{person.pseudonym} does not receive digests (unsubscribed or digest = false)",
                        hint="they can subscribe again: balanced-calendar people --person ADDRESS --digest on")
    key, _new = queue_digest(rt, person, year, week, lang)
    queued = rt.store.outbox_message(key)
    report = deliver_pending(rt.store, transport_from(rt.config.mail, rt.config.connectors), envelope_sender(rt.config.mail),
                             rt.clock(), keys=[key], due_by=queued.next_attempt if queued else None)
    stored = rt.store.outbox_message(key)
    assert stored is not None
    if stored.sent_at is not None:
        echo(f"sent the digest {key}" if key in report.sent else
             f"the digest {key} was already sent at {stored.sent_at:%Y-%m-%d %H:%M} UTC; not sent again")
        return 0
    if stored.next_attempt is None:
        echo(f"the server refused the digest {key}: {stored.last_error}")
        return EXIT_REFUSED
    echo(f"queued the digest {key}: {stored.last_error}; it will be delivered once by the next "
         f"`digest --send` or the service after {stored.next_attempt:%Y-%m-%d %H:%M} UTC")
    return EXIT_QUEUED
