"""One calendar week every connector must read the same way (the contract scenario).

Each provider's fixture turns :data:`SCENARIO` into its own format (an ICS file, Google
JSON, a CalDAV collection …); :mod:`.test_connector_contract` checks the normalised result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

OWNER = "rina@agency.go.id"
JAKARTA = ZoneInfo("Asia/Jakarta")
#: the window every contract read uses: Mon 2026-12-14 00:00 .. Mon 2026-12-21 00:00 WIB
WINDOW_START = dt.datetime(2026, 12, 14, tzinfo=JAKARTA)
WINDOW_END = dt.datetime(2026, 12, 21, tzinfo=JAKARTA)
SECRET_TITLE = "Rahasia: evaluasi kinerja Budi"


@dataclass(frozen=True)
class SpecEvent:
    uid: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    others: tuple[str, ...] = ()           # participants besides the owner
    organizer: str | None = None           # None: the owner's own event
    owner_partstat: str | None = None      # ACCEPTED / DECLINED / TENTATIVE / NEEDS-ACTION
    transparent: bool = False
    busystatus: str | None = None          # Outlook-style FREE/BUSY/TENTATIVE/OOF
    status: str = "CONFIRMED"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=JAKARTA)


SCENARIO: tuple[SpecEvent, ...] = (
    SpecEvent("meeting-accepted", at(14, 9), at(14, 10, 30), others=("budi@agency.go.id", "sari@agency.go.id"),
              organizer="budi@agency.go.id", owner_partstat="ACCEPTED"),
    SpecEvent("evening-report", at(14, 19), at(14, 21)),
    SpecEvent("invite-declined", at(15, 13), at(15, 14), others=("budi@agency.go.id",),
              organizer="budi@agency.go.id", owner_partstat="DECLINED"),
    SpecEvent("leave-two-days", dt.date(2026, 12, 16), dt.date(2026, 12, 18), busystatus="OOF"),
    SpecEvent("lunch-free", at(18, 12), at(18, 13), transparent=True),
    SpecEvent("cancelled-briefing", at(18, 14), at(18, 15), others=("budi@agency.go.id",),
              organizer="budi@agency.go.id", owner_partstat="ACCEPTED", status="CANCELLED"),
    SpecEvent("straddles-window-start", at(13, 22), at(14, 1)),
    SpecEvent("next-week", at(22, 9), at(22, 10)),
)


def to_ics(events: tuple[SpecEvent, ...] = SCENARIO) -> str:
    """The scenario as an Outlook-flavoured ICS export (with a secret title on every event)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//balanced-calendar//contract//EN"]
    for e in events:
        lines += ["BEGIN:VEVENT", f"UID:{e.uid}", "DTSTAMP:20261201T000000Z", f"SUMMARY:{SECRET_TITLE}",
                  "LOCATION:Ruang 301"]
        if isinstance(e.start, dt.datetime):
            lines += [f"DTSTART;TZID=Asia/Jakarta:{e.start:%Y%m%dT%H%M%S}",
                      f"DTEND;TZID=Asia/Jakarta:{e.end:%Y%m%dT%H%M%S}"]
        else:
            lines += [f"DTSTART;VALUE=DATE:{e.start:%Y%m%d}", f"DTEND;VALUE=DATE:{e.end:%Y%m%d}"]
        if e.organizer:
            lines.append(f"ORGANIZER:mailto:{e.organizer}")
            lines.append(f"ATTENDEE;PARTSTAT={e.owner_partstat or 'NEEDS-ACTION'}:mailto:{OWNER}")
            lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{o}" for o in e.others if o != e.organizer]
        if e.transparent:
            lines.append("TRANSP:TRANSPARENT")
        if e.busystatus:
            lines.append(f"X-MICROSOFT-CDO-BUSYSTATUS:{e.busystatus}")
        lines += [f"STATUS:{e.status}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
