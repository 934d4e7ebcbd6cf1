"""Render a :class:`~balanced_calendar.digest.compose.Digest` into an email (presentation only).

Structure: ``multipart/related`` holding ``multipart/alternative`` (``text/plain`` and
``text/html``, both from Jinja2 templates) and the inline chart PNG (``Content-ID``) that the
HTML shows with alt text. The HTML is email-safe: tables, inline CSS, at most 600 px wide, no
external resources. Headers: ``Date``, ``Message-ID`` (a hash of the person-week key: no
address in it), ``List-Unsubscribe`` (mailto and https) and ``List-Unsubscribe-Post``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import jinja2

from balanced_calendar import texts
from balanced_calendar.digest import i18n
from balanced_calendar.digest.chart import alt_text, render_chart
from balanced_calendar.digest.compose import Digest


def N_(message: str) -> str:  # noqa: N802 - the gettext marker name
    """Marks a msgid for extraction; translated when rendered."""
    return message


#: the suggestions' texts (keys from :data:`balanced_calendar.digest.compose.SUGGESTIONS`)
SUGGESTION_TEXT: dict[str, str] = {
    "recovery_leave": N_("After an overtime streak, take recovery time: a half day or a day of leave "
                         "this week, agreed with your leader."),
    "core_window": N_("Move meetings into the core meeting window, and keep the break free."),
    "time_blocking": N_("Block time for focused work in your calendar before the week fills up."),
    "breathing_pause": N_("Between back-to-back meetings, take a 5–10 minute breathing pause."),
    "walk": N_("Take a 15-minute walk during the day, away from the screen."),
    "smart_priorities": N_("Pick three SMART priorities for the week (specific, measurable, achievable, "
                           "relevant, time-bound) and let the rest wait."),
}

#: the planner's proposals (:class:`~balanced_calendar.planner.desired.Proposal` kinds)
PROPOSAL_TEXT: dict[str, str] = {
    "recovery_leave": N_("a day of recovery leave after your overtime streak (agree it with your leader)"),
    "meeting_free_day": N_("a day without meetings after your weekend work"),
}

BLOCK_KIND_TEXT: dict[str, str] = {"focus": N_("focus"), "recovery": N_("recovery"), "break": N_("break")}


@dataclass(frozen=True)
class Sender:
    """Who sends digests and where unsubscribing goes (from ``[mail]``)."""

    address: str  # the From: value
    unsubscribe_mailto: str  # an address
    unsubscribe_url: str | None  # https base; the token is appended


@lru_cache(maxsize=None)
def _env(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("balanced_calendar.digest", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True,
                             lstrip_blocks=True, extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def view(digest: Digest) -> dict[str, Any]:
    """The template values: every text formatted for the digest's language."""
    lang = digest.lang
    h = lambda minutes: i18n.hours(minutes, lang)  # noqa: E731
    t = digest.totals
    return {
        "lang": lang,
        "week": digest.label,
        "start": i18n.date_long(digest.start, lang),
        "end": i18n.date_long(digest.end, lang),
        "totals": {"work": h(t.work), "meetings": h(t.meetings), "after": h(t.after)},
        "focus": {"days": i18n.number(digest.focus_days, lang), "workdays": i18n.number(digest.workdays, lang),
                  "minutes": i18n.number(digest.policy.thresholds.focus_min_minutes, lang)},
        "trend": [{"week": w.week, "work": h(w.work), "meetings": h(w.meetings), "after": h(w.after),
                   "current": w.week == digest.label} for w in digest.trend],
        "days": [{"day": i18n.date_short(d.date, lang), "work": h(d.work), "meetings": h(d.meetings),
                  "after": h(d.after)} for d in digest.days],
        "findings": [texts.describe(f, lang) for f in digest.findings],
        "definitions": [texts.definition(rule, digest.policy, lang) for rule in digest.rules],
        "suggestions": [i18n.gettext(lang, SUGGESTION_TEXT[key]) for key in digest.suggestions],
        "blocks": [{"day": i18n.date_short(b.date, lang), "start": b.start, "end": b.end,
                    "kind": i18n.gettext(lang, BLOCK_KIND_TEXT.get(b.kind, b.kind))} for b in digest.next_blocks],
        "proposals": [{"day": i18n.date_short(p.date, lang), "text": i18n.gettext(lang, PROPOSAL_TEXT[p.kind])}
                      for p in digest.proposals],
        "reflection": digest.reflection,
        "leader": None if digest.leader is None else {
            "meetings": i18n.number(digest.leader.meetings, lang),
            "people": i18n.number(digest.leader.people_touched, lang),
            "count": digest.leader.meetings},
        "all_leave": digest.all_leave,
        "alt": alt_text(digest),
    }


def subject(digest: Digest) -> str:
    return i18n.gettext(digest.lang, "Your week %(week)s in balance (%(start)s – %(end)s)", week=digest.label,
                        start=i18n.date_short(digest.start, digest.lang), end=i18n.date_short(digest.end, digest.lang))


def render_text(digest: Digest, values: dict[str, Any] | None = None, unsubscribe: str = "") -> str:
    return _env(digest.lang).get_template("digest.txt.j2").render(**(values or view(digest)),
                                                                    unsubscribe=unsubscribe)


def render_html(digest: Digest, chart_src: str, values: dict[str, Any] | None = None, unsubscribe: str = "") -> str:
    """The HTML part; ``chart_src`` is ``cid:…`` in the email, a ``data:`` URI in a preview."""
    return _env(digest.lang).get_template("digest.html.j2").render(**(values or view(digest)), chart_src=chart_src,
                                                                     unsubscribe=unsubscribe)


def message_id(digest: Digest, sender: str) -> str:
    """Stable per person-week, without the address: ``<digest.<hash>@<sender domain>>``."""
    domain = sender.rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    return f"<digest.{hashlib.sha256(digest.key.encode()).hexdigest()[:32]}@{domain}>"


def unsubscribe_links(sender: Sender, token: str) -> tuple[str, str | None]:
    """``(mailto URI, https URL or None)`` for ``token``."""
    mailto = f"mailto:{sender.unsubscribe_mailto}?subject={urllib.parse.quote('unsubscribe ' + token)}"
    https = None
    if sender.unsubscribe_url:
        https = sender.unsubscribe_url.rstrip("/") + "/" + urllib.parse.quote(token)
    return mailto, https


def build_message(digest: Digest, sender: Sender, token: str, now: dt.datetime,
                  chart: bytes | None = None) -> EmailMessage:
    """The complete email of ``digest`` (see the module doc)."""
    values = view(digest)
    chart = chart if chart is not None else render_chart(digest)
    mailto, https = unsubscribe_links(sender, token)
    shown = https or mailto
    cid = message_id(digest, sender.address).strip("<>").replace("digest.", "chart.", 1)
    msg = EmailMessage()
    msg["From"] = sender.address
    msg["To"] = digest.email
    msg["Subject"] = subject(digest)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(digest, sender.address)
    msg["Content-Language"] = digest.lang
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = f"<{mailto}>" + (f", <{https}>" if https else "")
    if https:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    alternative = EmailMessage()
    alternative.set_content(render_text(digest, values, shown))
    alternative.add_alternative(render_html(digest, f"cid:{cid}", values, shown), subtype="html")
    del alternative["MIME-Version"]
    image = EmailMessage()
    image.set_content(chart, "image", "png", cid=f"<{cid}>", disposition="inline", filename="chart.png")
    del image["MIME-Version"]
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = "multipart/related"
    msg.set_payload([alternative, image])
    return msg


def preview_html(digest: Digest, chart: bytes | None = None, unsubscribe: str = "") -> str:
    """A standalone HTML page of the digest: the chart inlined as a ``data:`` URI."""
    chart = chart if chart is not None else render_chart(digest)
    return render_html(digest, "data:image/png;base64," + base64.b64encode(chart).decode(), unsubscribe=unsubscribe)


def sender_of_links(rt: Any, token: str) -> tuple[str, str | None]:
    """The unsubscribe links of ``token`` for the runtime's ``[mail]``."""
    from balanced_calendar.digest.queue import sender_of

    return unsubscribe_links(sender_of(rt), token)
