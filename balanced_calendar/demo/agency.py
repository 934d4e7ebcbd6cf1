"""A deterministic synthetic agency for the ``demo`` command.

:func:`generate_agency` writes one iCalendar file per synthetic civil servant
(``<directory>/ics/<local-part>.ics``) and ``<directory>/roster.json`` (people and
teams), and returns the same roster as a :class:`DemoAgency`. Every person, address and
title is invented (addresses use the reserved ``.example`` domain); titles exist only
inside the ICS files, the product never stores them.

The same arguments always give byte-identical files: all randomness comes from one
``random.Random(seed)`` consumed in a fixed order, ``DTSTAMP`` is fixed, and events are
written in a sorted order.

What the data contains (the default period 2026-02-09..2026-04-05, eight ISO weeks, covers
Imlek with its *cuti bersama* (16-17 Feb), Ramadan (19 Feb-20 Mar), Nyepi (18-19 Mar), Idul
Fitri with *cuti bersama* (20-24 Mar) and Good Friday (3 Apr); holidays come from
``holidays.country_holidays("ID", categories=("public", "government"))``):

* seven teams, one zone each, over WIB, WITA and WIT, one leader each. ``keuangan-jakarta``
  exports Outlook-style (``TZID=SE Asia Standard Time``, ``X-MICROSOFT-CDO-BUSYSTATUS`` on
  every event); the others use IANA ``TZID``; every file carries its ``VTIMEZONE``s;
  invitations from other agencies are stored in UTC (``Z``);
* recurring series: a daily stand-up (``EXDATE`` on every weekday holiday, one instance moved
  and one cancelled through ``RECURRENCE-ID``), a weekly team meeting, 1:1s (weekly for busy
  people, fortnightly for others), a weekly leaders' meeting held in WIB (so 16:00 in WIT), and
  personal habits (daily e-office check, transparent lunch break, weekly e-Kinerja entry);
  instances falling on someone's leave are declined (``PARTSTAT=DECLINED`` overrides);
* ad-hoc meetings organised by the person, the leader, a colleague or another agency, with the
  owner's ``PARTSTAT`` accepted / tentative / declined / needs-action, a few cancelled invites
  and two agency-wide briefings at 13:30 WIB;
* per-person workload patterns (``pattern`` in ``roster.json``): ``healthy``, ``steady``,
  ``busy``, ``overloaded`` staff and ``leader-exemplary`` / ``leader-late`` leaders. Heavier
  patterns get evening SKP report writing (19:00-22:00) before the monthly and quarterly
  deadlines (one session until 00:30), 06:30 starts after such nights (short rest), weekend
  work, back-to-back chains, meetings over the Friday-prayer break and outside 09:00-15:00.
  Late leaders hold an early stand-up, late 1:1s, a Saturday meeting, an evening call, a
  call on a holiday and an all-day *konsinyering* (very long day) for their busy staff;
  exemplary leaders organise no busy meeting outside 09:00-15:00;
* holiday work on *cuti bersama* days (a public-service duty roster, overtime), never on Nyepi
  in Bali;
* leave: all-day ``X-MICROSOFT-CDO-BUSYSTATUS:OOF`` *cuti tahunan* (many on the bridge days of
  Imlek and Lebaran), timed half-day and whole-day (sick) OOO, two people meeting while on leave;
* what must not count: ``TRANSP:TRANSPARENT`` events (focus holds, lunch, *buka puasa
  bersama*), all-day markers (holidays, SKP deadlines, start of Ramadan) and business trips
  stored as one timed event longer than 16 hours.

Around 25-45 event instances per person in a full week (fewer in holiday weeks).
"""

from __future__ import annotations

import dataclasses

import datetime as dt
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
from icalendar import Calendar, Event, Timezone, vCalAddress

__all__ = ["DemoAgency", "DemoPerson", "DemoTeam", "generate_agency"]

log = logging.getLogger(__name__)

WIB = "Asia/Jakarta"
WITA = "Asia/Makassar"
WIT = "Asia/Jayapura"
EMAIL_DOMAIN = "demo.kemenpan.example"
EXTERNAL_DOMAIN = "mitra-kl.example"
UID_DOMAIN = "demo.balanced-calendar.example"
WINDOWS_JAKARTA = "SE Asia Standard Time"  # icalendar maps it to Asia/Bangkok, also UTC+7
PRODID = "-//balanced-calendar//demo agency 1.0//ID"
OUTLOOK_PRODID = "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN"

_UTC = dt.timezone.utc
_JAKARTA = ZoneInfo(WIB)
_SLOT = 15  # minutes per occupancy slot
_DAY_SLOTS = 24 * 60 // _SLOT
_MAX_WEEKLY_EVENTS = 44  # per person and week; meetings and work blocks stop filling there

ACCEPTED = "ACCEPTED"
TENTATIVE = "TENTATIVE"
DECLINED = "DECLINED"
NEEDS_ACTION = "NEEDS-ACTION"
CANCELLED = "CANCELLED"
CONFIRMED = "CONFIRMED"


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class DemoPerson:
    """One synthetic person of the demo agency."""

    email: str
    name: str  # synthetic; used only in the demo roster
    team: str
    timezone: str
    role: str  # "leader" or "staff"
    ics_path: Path


@dataclass(frozen=True)
class DemoTeam:
    """A team: all members share one time zone; ``leaders`` holds leader emails."""

    id: str
    name: str
    timezone: str
    leaders: tuple[str, ...]


@dataclass(frozen=True)
class DemoAgency:
    """The generated agency: people and teams sorted by email / id, the period (inclusive)."""

    people: tuple[DemoPerson, ...]
    teams: tuple[DemoTeam, ...]
    start: dt.date
    end: dt.date
    directory: Path


def generate_agency(
    directory: Path,
    *,
    start: dt.date = dt.date(2026, 2, 9),
    weeks: int = 8,
    people: int = 42,
    seed: int = 2026,
) -> DemoAgency:
    """Write a synthetic agency's calendars to ``directory`` and return its roster.

    Creates ``directory/ics/<local-part>.ics`` for every person and
    ``directory/roster.json``; existing files of the same names are overwritten, other
    files are left alone. The period is ``start`` .. ``start + 7 * weeks - 1`` days.
    The output is byte-for-byte identical for identical arguments.

    Raises ``ValueError`` when ``weeks < 1`` or ``people < 3`` (every time zone needs a team).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    if people < 3:
        raise ValueError("people must be at least 3 (one team per Indonesian time zone)")
    directory = Path(directory)
    end = start + dt.timedelta(days=7 * weeks - 1)
    rng = random.Random(seed)
    period = _build_period(start, end)
    members, teams = _build_roster(directory, people, rng)
    builder = _Builder(period, members, teams, rng)
    builder.build()

    ics_dir = directory / "ics"
    ics_dir.mkdir(parents=True, exist_ok=True)
    for member in members:
        member.person.ics_path.write_bytes(builder.calendar_for(member).to_ical())

    agency = DemoAgency(
        people=tuple(sorted((m.person for m in members), key=lambda p: p.email)),
        teams=tuple(
            sorted(
                (DemoTeam(t.template.id, t.template.name, t.template.timezone, (t.leader.person.email,))
                 for t in teams),
                key=lambda t: t.id,
            )
        ),
        start=start,
        end=end,
        directory=directory,
    )
    patterns = {m.person.email: m.profile.name for m in members}
    exports = {t.template.id: ("outlook" if t.template.outlook else "icalendar") for t in teams}
    (directory / "roster.json").write_text(
        _roster_json(agency, seed, patterns, exports), encoding="utf-8"
    )
    log.info("demo agency: %d people in %d teams written to %s", len(members), len(teams), directory)
    return agency


def _roster_json(
    agency: DemoAgency, seed: int, patterns: Mapping[str, str], exports: Mapping[str, str]
) -> str:
    data = {
        "generator": "balanced-calendar demo agency",
        "seed": seed,
        "start": agency.start.isoformat(),
        "end": agency.end.isoformat(),
        "people": [
            {
                "email": p.email,
                "name": p.name,
                "team": p.team,
                "timezone": p.timezone,
                "role": p.role,
                "ics": p.ics_path.relative_to(agency.directory).as_posix(),
                "pattern": patterns[p.email],
            }
            for p in agency.people
        ],
        "teams": [
            {
                "id": t.id,
                "name": t.name,
                "timezone": t.timezone,
                "leaders": list(t.leaders),
                "export": exports[t.id],
            }
            for t in agency.teams
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- fixed material


@dataclass(frozen=True)
class _TeamTemplate:
    id: str
    name: str
    timezone: str
    names: str  # name pool
    outlook: bool  # exports Outlook-style with Windows TZIDs
    leader_style: str  # "late" | "exemplary"
    standup: int  # minutes since local midnight
    weekly: tuple[int, int, int]  # ISO weekday, start minute, duration


# Ordered so that any three consecutive teams cover all three zones.
_TEAMS: tuple[_TeamTemplate, ...] = (
    _TeamTemplate("keuangan-jakarta", "Biro Keuangan (Jakarta)", WIB, "barat", True, "exemplary",
                  9 * 60, (1, 10 * 60, 90)),
    _TeamTemplate("keuangan-makassar", "Bagian Keuangan Kantor Regional (Makassar)", WITA, "tengah",
                  False, "late", 8 * 60, (1, 14 * 60, 90)),
    _TeamTemplate("umum-jayapura", "Bagian Umum Kantor Regional (Jayapura)", WIT, "timur", False,
                  "exemplary", 9 * 60, (2, 9 * 60 + 15, 60)),
    _TeamTemplate("sdm-jakarta", "Biro SDM dan Organisasi (Jakarta)", WIB, "barat", False, "late",
                  8 * 60 + 30, (2, 14 * 60, 120)),
    _TeamTemplate("pelayanan-denpasar", "Unit Layanan Publik (Denpasar)", WITA, "tengah", False,
                  "exemplary", 9 * 60, (4, 10 * 60, 60)),
    _TeamTemplate("statistik-ambon", "Bagian Data dan Statistik (Ambon)", WIT, "timur", False, "late",
                  8 * 60 + 15, (5, 10 * 60 + 30, 90)),
    _TeamTemplate("perencanaan-medan", "Bagian Perencanaan (Medan)", WIB, "barat", False, "exemplary",
                  9 * 60 + 15, (3, 9 * 60 + 30, 60)),
)

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "barat": (
        ("Rina", "Budi", "Siti", "Agus", "Dewi", "Eko", "Fitri", "Hendra", "Indah", "Joko", "Ayu",
         "Rizky", "Putri", "Fajar", "Dimas", "Sari", "Bambang", "Wahyu", "Ratna", "Yudi"),
        ("Wulandari", "Santoso", "Rahmawati", "Pratama", "Kusuma", "Nugroho", "Hidayat", "Saputra",
         "Siregar", "Nasution", "Lubis", "Harahap", "Setiawan", "Purnamasari", "Wibowo", "Handayani"),
    ),
    "tengah": (
        ("Andi", "Muhammad", "Nurhayati", "Ketut", "Made", "Wayan", "Nyoman", "Kadek", "Komang",
         "Rahmat", "Syamsul", "Fatimah", "Irwan", "Asriani", "Haerul", "Nurul"),
        ("Rasyid", "Syamsuddin", "Amir", "Suardana", "Wirawan", "Astuti", "Pertiwi", "Sudarsana",
         "Latief", "Arsyad", "Yasin", "Suryawan", "Dharma", "Parwati", "Baso", "Mappiare"),
    ),
    "timur": (
        ("Yohanes", "Maria", "Yosua", "Elisabeth", "Frans", "Agustina", "Markus", "Natalia",
         "Petrus", "Yuliana", "Samuel", "Debora", "Hendrik", "Ruth", "Ismail", "Sitti"),
        ("Latuconsina", "Tuhumury", "Wenda", "Rumbiak", "Kareth", "Mandacan", "Waromi",
         "Leiwakabessy", "Sahetapy", "Kaisiepo", "Rumkorem", "Pattiasina", "Huwae", "Ohoiwutun"),
    ),
}


@dataclass(frozen=True)
class _Profile:
    """How one person's calendar is shaped."""

    name: str
    meetings: tuple[int, int]  # ad-hoc meetings per full week
    blocks: tuple[int, int]  # personal work blocks per workday
    focus_free: float  # share of personal blocks held as free (transparent) focus time
    out_of_window: float  # share of meetings it organises outside 09:00-15:00
    break_overlap: float  # share of meetings it organises over the lunch / Friday prayer break
    evenings: int  # evening report sessions before each SKP deadline
    weekends: int  # weekend work sessions over the period
    chains: int  # back-to-back meeting chains per week
    external: float  # share of its meetings that are external invitations (stored in UTC)
    weight: int  # how readily colleagues invite this person


_PROFILES: dict[str, _Profile] = {
    p.name: p
    for p in (
        _Profile("healthy", (5, 7), (2, 3), 0.85, 0.0, 0.0, 0, 0, 0, 0.10, 1),
        _Profile("steady", (7, 9), (2, 2), 0.5, 0.05, 0.05, 1, 0, 0, 0.15, 2),
        _Profile("busy", (11, 14), (1, 2), 0.1, 0.15, 0.10, 2, 1, 1, 0.20, 3),
        _Profile("overloaded", (14, 17), (1, 2), 0.0, 0.30, 0.20, 3, 3, 2, 0.20, 4),
        _Profile("leader-exemplary", (10, 12), (1, 1), 0.5, 0.0, 0.0, 0, 0, 1, 0.15, 3),
        _Profile("leader-late", (11, 14), (1, 2), 0.1, 0.40, 0.20, 2, 1, 1, 0.15, 3),
    )
}

_STAFF_PATTERNS: dict[str, tuple[str, ...]] = {
    "late": ("overloaded", "busy", "steady", "healthy", "busy", "overloaded"),
    "exemplary": ("healthy", "steady", "busy", "healthy", "steady", "overloaded"),
}

_MEETING_TITLES = (
    "Rapat koordinasi anggaran", "Pembahasan revisi DIPA", "Review laporan realisasi",
    "Koordinasi pengadaan barang/jasa", "Persiapan audit BPK", "Pembahasan SOP layanan",
    "Sinkronisasi data kepegawaian", "Evaluasi capaian kinerja", "Diskusi rancangan peraturan",
    "Koordinasi e-Kinerja", "Pembahasan rencana strategis", "Rapat teknis aplikasi SIMPEG",
    "Tindak lanjut temuan inspektorat", "Penyusunan TOR kegiatan", "Persiapan monitoring dan evaluasi",
    "Pembahasan indikator kinerja", "Koordinasi pelaporan SAKIP", "Rapat tim kerja reformasi birokrasi",
)
_EXTERNAL_TITLES = (
    "Rapat koordinasi lintas K/L (daring)", "Undangan: sosialisasi regulasi baru",
    "Rapat teknis bersama pemerintah daerah", "Asistensi penyusunan anggaran (daring)",
    "Undangan: forum konsultasi publik", "Rapat sinkronisasi data nasional",
)
_BLOCK_TITLES = (
    "Penyusunan laporan", "Verifikasi SPJ", "Analisis data", "Penyusunan draf nota dinas",
    "Review dokumen kontrak", "Pengolahan data survei", "Penyusunan bahan paparan",
    "Telaah peraturan", "Rekonsiliasi data keuangan", "Penyusunan kajian",
)
_EXTERNAL_PEOPLE = (
    ("sekretariat", "Sekretariat Deputi Koordinasi"),
    ("biro.perencanaan", "Biro Perencanaan K/L Mitra"),
    ("bappeda", "Bappeda Provinsi"),
    ("narasumber", "Narasumber Eksternal"),
    ("tim.asistensi", "Tim Asistensi Anggaran"),
)
_DURATIONS = (30, 45, 60, 60, 60, 90, 90, 120)
_MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
              "September", "Oktober", "November", "Desember")
_QUARTERS = ("I", "II", "III", "IV")


# --------------------------------------------------------------------------- period facts


@dataclass(frozen=True)
class _Period:
    """Dates, holidays and Ramadan of the generated range."""

    start: dt.date
    end: dt.date
    holidays: Mapping[dt.date, str]  # Indonesian names
    cuti_bersama: frozenset[dt.date]
    nyepi: frozenset[dt.date]
    ramadan: tuple[dt.date, dt.date] | None

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def is_workday(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def in_ramadan(self, day: dt.date) -> bool:
        return self.ramadan is not None and self.ramadan[0] <= day <= self.ramadan[1]

    def window(self, day: dt.date) -> tuple[int, int]:
        """The generator's idea of office hours (Perpres 21/2023; Ramadan 08:00-15:00)."""
        friday = day.weekday() == 4
        if self.in_ramadan(day):
            return 8 * 60, 15 * 60 + (30 if friday else 0)
        return 7 * 60 + 30, 16 * 60 + (30 if friday else 0)

    @staticmethod
    def lunch(day: dt.date) -> tuple[int, int]:
        """The break: 12:00-13:00, on Fridays 11:30-13:00 (Friday prayer)."""
        return (11 * 60 + 30 if day.weekday() == 4 else 12 * 60), 13 * 60


def _build_period(start: dt.date, end: dt.date) -> _Period:
    years = list(range(start.year, end.year + 2))
    categories = ("public", "government")
    local = holidays.country_holidays("ID", years=years, categories=categories, language="id")
    english = holidays.country_holidays("ID", years=years, categories=categories, language="en_US")
    government = holidays.country_holidays("ID", years=years, categories=("government",))
    in_range = sorted(d for d in local if start <= d <= end)
    ramadan = None
    for day in sorted(english):
        if "Eid al-Fitr" in english.get_list(day):
            first, last = day - dt.timedelta(days=30), day - dt.timedelta(days=1)
            if first <= end and last >= start:
                ramadan = (first, last)
                break
    return _Period(
        start=start,
        end=end,
        holidays={d: "; ".join(local.get_list(d)) for d in in_range},
        cuti_bersama=frozenset(d for d in in_range if d in government),
        nyepi=frozenset(d for d in in_range if "Silence" in english.get(d, "")),
        ramadan=ramadan,
    )


# --------------------------------------------------------------------------- roster


@dataclass(eq=False)  # identity, not field equality
class _Member:
    person: DemoPerson
    profile: _Profile
    tz: ZoneInfo
    outlook: bool
    leave: dict[dt.date, str] = field(default_factory=dict)  # date -> "cuti" | "sakit"

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def first_name(self) -> str:
        return self.person.name.split()[0]


@dataclass(eq=False)
class _Team:
    template: _TeamTemplate
    leader: _Member
    staff: list[_Member]

    @property
    def members(self) -> list[_Member]:
        return [self.leader, *self.staff]


def _build_roster(directory: Path, people: int, rng: random.Random) -> tuple[list[_Member], list[_Team]]:
    # Teams of about six, as in the default agency; past seven teams the templates repeat as
    # further units ("keuangan-jakarta-2"), so a large agency keeps realistic team sizes.
    n_teams = max(3, people // 6)
    sizes = [people // n_teams + (1 if i < people % n_teams else 0) for i in range(n_teams)]
    pools: dict[str, list[tuple[str, str]]] = {}
    for key, (firsts, lasts) in _NAMES.items():
        combos = [(f, l) for f in firsts for l in lasts]
        rng.shuffle(combos)
        pools[key] = combos
    used: set[str] = set()
    members: list[_Member] = []
    teams: list[_Team] = []
    templates = [
        _TEAMS[i] if i < len(_TEAMS) else dataclasses.replace(
            _TEAMS[i % len(_TEAMS)], id=f"{_TEAMS[i % len(_TEAMS)].id}-{i // len(_TEAMS) + 1}",
            name=f"{_TEAMS[i % len(_TEAMS)].name} {i // len(_TEAMS) + 1}")
        for i in range(n_teams)
    ]
    for template, size in zip(templates, sizes):
        pattern = _STAFF_PATTERNS[template.leader_style]
        staff_profiles = [pattern[i % len(pattern)] for i in range(size - 1)]
        rng.shuffle(staff_profiles)
        profiles = [f"leader-{template.leader_style}", *staff_profiles]
        team_members: list[_Member] = []
        for index, profile in enumerate(profiles):
            pool = pools[template.names]
            first, last = pool.pop() if pool else (rng.choice(_NAMES[template.names][0]), "Demo")
            local = f"{first}.{last}".lower()
            candidate, n = local, 2
            while candidate in used:
                candidate, n = f"{local}{n}", n + 1
            used.add(candidate)
            person = DemoPerson(
                email=f"{candidate}@{EMAIL_DOMAIN}",
                name=f"{first} {last}",
                team=template.id,
                timezone=template.timezone,
                role="leader" if index == 0 else "staff",
                ics_path=directory / "ics" / f"{candidate}.ics",
            )
            team_members.append(
                _Member(person, _PROFILES[profile], ZoneInfo(template.timezone), template.outlook)
            )
        members.extend(team_members)
        teams.append(_Team(template, team_members[0], team_members[1:]))
    return members, teams


# --------------------------------------------------------------------------- event specs


@dataclass
class _Override:
    """A RECURRENCE-ID instance: moved, cancelled, or answered differently by the owner."""

    recurrence_id: dt.datetime
    start: dt.datetime
    end: dt.datetime
    status: str | None = None
    partstat: tuple[str, str] | None = None  # (email, PARTSTAT) for a personal override
    summary: str | None = None


@dataclass
class _Spec:
    """One event (or recurring series) as it appears in the files of ``owners``."""

    uid: str
    summary: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    owners: list[str]
    organizer: str | None = None
    attendees: dict[str, str] = field(default_factory=dict)  # email -> PARTSTAT
    status: str | None = None
    transparent: bool = False
    busystatus: str | None = None
    rrule: dict[str, object] | None = None
    exdates: list[dt.datetime] = field(default_factory=list)
    overrides: list[_Override] = field(default_factory=list)
    personal: dict[str, list[_Override]] = field(default_factory=dict)
    utc: bool = False


def _weekly_dates(first: dt.date, weekdays: Iterable[int], interval: int, last: dt.date) -> list[dt.date]:
    """Dates of ``FREQ=WEEKLY;INTERVAL=interval;BYDAY=weekdays`` from ``first`` to ``last``."""
    wanted = sorted(set(weekdays))
    monday = first - dt.timedelta(days=first.weekday())
    out: list[dt.date] = []
    while monday <= last:
        for wd in wanted:
            day = monday + dt.timedelta(days=wd)
            if first <= day <= last:
                out.append(day)
        monday += dt.timedelta(weeks=interval)
    return out


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Plans every event of the agency, then renders one calendar per person."""

    def __init__(self, period: _Period, members: list[_Member], teams: list[_Team],
                 rng: random.Random) -> None:
        self.period = period
        self.members = members
        self.teams = teams
        self.team_of = {m.email: t for t in teams for m in t.members}
        self.by_email = {m.email: m for m in members}
        self.rng = rng
        self.days = period.days
        self.specs: list[_Spec] = []
        self.busy: dict[str, int] = {m.email: 0 for m in members}
        self.meeting_count: dict[tuple[str, int], int] = {}  # (email, week) -> meetings
        self.load: dict[tuple[str, int], int] = {}  # (email, week) -> event instances
        self.names: dict[str, str] = {m.email: m.person.name for m in members}
        for local, name in _EXTERNAL_PEOPLE:
            self.names[f"{local}@{EXTERNAL_DOMAIN}"] = name
        self.dtstamp = dt.datetime.combine(period.start - dt.timedelta(days=28), dt.time(), _UTC)
        self._base = dt.datetime.combine(period.start, dt.time())
        self._uids = 0
        self._cache: dict[tuple[str, str], list[tuple[str, Event]]] = {}
        self._timezones: dict[str, Timezone] = {}

    # ----------------------------------------------------------------- helpers

    def uid(self, label: str) -> str:
        self._uids += 1
        return f"{self._uids:05d}-{label}@{UID_DOMAIN}"

    @staticmethod
    def at(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(minutes=minute)

    def _slots(self, member: _Member, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        a = (start.astimezone(member.tz).replace(tzinfo=None) - self._base).total_seconds() // 60
        b = (end.astimezone(member.tz).replace(tzinfo=None) - self._base).total_seconds() // 60
        return max(0, int(a) // _SLOT), max(0, -(-int(b) // _SLOT))

    def free(self, member: _Member, start: dt.datetime, end: dt.datetime) -> bool:
        a, b = self._slots(member, start, end)
        return b <= a or (self.busy[member.email] >> a) & ((1 << (b - a)) - 1) == 0

    def free_local(self, member: _Member, day: dt.date, start: int, end: int) -> bool:
        """Like :meth:`free` for minutes of ``day`` in the member's own zone (fast path)."""
        base = (day - self.period.start).days * _DAY_SLOTS
        a, b = base + start // _SLOT, base - (-end // _SLOT)
        return (self.busy[member.email] >> a) & ((1 << (b - a)) - 1) == 0

    def mark(self, member: _Member, start: dt.datetime, end: dt.datetime) -> None:
        a, b = self._slots(member, start, end)
        if b > a:
            self.busy[member.email] |= ((1 << (b - a)) - 1) << a

    def workdays(self, member: _Member, days: Iterable[dt.date] | None = None) -> list[dt.date]:
        return [d for d in (self.days if days is None else days)
                if self.period.is_workday(d) and d not in member.leave]

    def week(self, day: dt.date) -> int:
        return (day - self.period.start).days // 7

    def partstat(self, accepted: float = 0.74) -> str:
        r = self.rng.random()
        if r < accepted:
            return ACCEPTED
        if r < accepted + 0.10:
            return TENTATIVE
        if r < accepted + 0.18:
            return NEEDS_ACTION
        return DECLINED

    def overlaps_lunch(self, day: dt.date, start: int, end: int) -> bool:
        lo, hi = self.period.lunch(day)
        return start < hi and end > lo

    def add(self, spec: _Spec, dates: Sequence[dt.date] | None = None) -> _Spec:
        """Keep ``spec`` and count its instances (``dates`` for a series) per person and week."""
        self.specs.append(spec)
        if spec.status != CANCELLED:
            for email in spec.owners:
                start = spec.start
                if isinstance(start, dt.datetime):
                    start = start.astimezone(self.by_email[email].tz).date()
                for day in [start] if dates is None else dates:
                    key = (email, self.week(day))
                    self.load[key] = self.load.get(key, 0) + 1
        return spec

    def personal(self, member: _Member, day: dt.date, start: int, end: int, summary: str, *,
                 transparent: bool = False, busystatus: str | None = None, label: str = "personal",
                 force: bool = False) -> _Spec | None:
        """A timed event in ``member``'s own calendar without attendees (``None`` if busy)."""
        s, e = self.at(day, start, member.tz), self.at(day, end, member.tz)
        if not force and not self.free(member, s, e):
            return None
        if not transparent and busystatus is None:
            self.mark(member, s, e)
        return self.add(_Spec(self.uid(label), summary, s, e, [member.email],
                              transparent=transparent, busystatus=busystatus))

    def meeting(self, organizer: str, attendees: Mapping[str, str], start: dt.datetime,
                end: dt.datetime, summary: str, *, status: str = CONFIRMED, utc: bool = False,
                transparent: bool = False, label: str = "meeting") -> _Spec:
        """A single meeting; it lands in the file of every roster participant."""
        owners = [e for e in [organizer, *attendees] if e in self.by_email]
        spec = self.add(_Spec(
            self.uid(label), ("Dibatalkan: " + summary) if status == CANCELLED else summary,
            start, end, owners, organizer=organizer, attendees=dict(attendees), status=status,
            transparent=transparent, utc=utc,
        ))
        for email in owners:
            member = self.by_email[email]
            if status != CANCELLED and not transparent and attendees.get(email) != DECLINED:
                self.mark(member, start, end)
            key = (email, self.week(start.astimezone(member.tz).date()))
            self.meeting_count[key] = self.meeting_count.get(key, 0) + 1
        return spec

    # ----------------------------------------------------------------- phases

    def build(self) -> None:
        """Plan everything, in a fixed order (the random stream depends on it)."""
        self.plan_leave()
        self.team_series()
        self.agency_meetings()
        self.personal_series()
        self.leave_events()
        self.markers()
        self.deadline_evenings()
        self.weekend_work()
        self.holiday_work()
        self.late_leaders()
        self.trips()
        self.leave_work()
        self.buka_puasa()
        self.chains()
        self.adhoc_meetings()
        self.work_blocks()

    def plan_leave(self) -> None:
        """Choose leave days: cuti on bridge days around holidays, single days, two sick days."""
        blocks: list[tuple[list[dt.date], int]] = []
        for w in range(len(self.days) // 7 + 1):
            week_days = self.days[w * 7:(w + 1) * 7]
            n_holidays = sum(1 for d in week_days if d.weekday() < 5 and d in self.period.holidays)
            free_days = [d for d in week_days if self.period.is_workday(d)]
            if n_holidays >= 2 and free_days:
                blocks.append((free_days, n_holidays))
        staff = [m for t in self.teams for m in t.staff]
        for member in staff:
            r = self.rng.random()
            if blocks and r < 0.3:
                days = self.rng.choices([b for b, _ in blocks], weights=[n for _, n in blocks])[0]
                member.leave.update(dict.fromkeys(days, "cuti"))
            elif r < 0.45 and self.workdays(member):
                workdays = self.workdays(member)
                first = self.rng.randrange(len(workdays))
                for day in workdays[first:first + self.rng.choice((1, 1, 2))]:
                    member.leave[day] = "cuti"
        healthy_enough = [m for m in staff if not m.leave and self.workdays(m)]
        for member in self.rng.sample(healthy_enough, min(2, len(healthy_enough))):
            member.leave[self.rng.choice(self.workdays(member))] = "sakit"

    def _series(self, *, label: str, summary: str, tz: ZoneInfo, weekdays: Sequence[int],
                minute: int, duration: int, owners: list[str], organizer: str | None = None,
                attendees: Mapping[str, str] | None = None, interval: int = 1,
                transparent: bool = False, skip: Iterable[dt.date] = ()) -> tuple[_Spec, list[dt.date]]:
        """A weekly series with EXDATE on holidays (and ``skip``); returns it and its dates."""
        dates = _weekly_dates(self.period.start, weekdays, interval, self.period.end)
        skipped = set(skip)
        excluded = [d for d in dates if d in self.period.holidays or d in skipped]
        first = dates[0]
        rule: dict[str, object] = {
            "freq": "weekly",
            "until": dt.datetime.combine(self.period.end, dt.time(23, 59, 59), tz).astimezone(_UTC),
            "byday": [_BYDAY[d] for d in sorted(set(weekdays))],
        }
        if interval > 1:
            rule["interval"] = interval
        spec = self.add(_Spec(
            self.uid(label), summary, self.at(first, minute, tz),
            self.at(first, minute + duration, tz), owners, organizer=organizer,
            attendees=dict(attendees or {}), rrule=rule,
            exdates=[self.at(d, minute, tz) for d in excluded], transparent=transparent,
            status=CONFIRMED if organizer else None,
        ), dates=[d for d in dates if d not in excluded])
        return spec, [d for d in dates if d not in excluded]

    def _book_series(self, spec: _Spec, dates: Sequence[dt.date], tz: ZoneInfo, minute: int,
                     duration: int) -> None:
        """Mark a series busy and let attendees on leave decline those instances."""
        moved = {o.recurrence_id.date(): o for o in spec.overrides}
        for email in spec.owners:
            member = self.by_email[email]
            declines = spec.personal.setdefault(email, [])
            for day in dates:
                rid = self.at(day, minute, tz)
                override = moved.get(day)
                if day in member.leave and email != spec.organizer:
                    if override is None:
                        declines.append(_Override(rid, rid, rid + dt.timedelta(minutes=duration),
                                                  partstat=(email, DECLINED)))
                    continue
                if override is not None:
                    if override.status != CANCELLED:
                        self.mark(member, override.start, override.end)
                    continue
                if not spec.transparent and spec.attendees.get(email) != DECLINED:
                    self.mark(member, rid, rid + dt.timedelta(minutes=duration))
            if not declines:
                del spec.personal[email]

    def team_series(self) -> None:
        """Daily stand-up, weekly team meeting and 1:1s of every team."""
        for team in self.teams:
            tpl, tz = team.template, team.leader.tz
            lead = team.leader.email
            everyone = [m.email for m in team.members]
            staff = {m.email: ACCEPTED for m in team.staff}
            if team.staff:
                staff[self.rng.choice(team.staff).email] = TENTATIVE
            spec, dates = self._series(
                label=f"standup-{tpl.id}", summary="Stand-up harian tim", tz=tz,
                weekdays=range(5), minute=tpl.standup, duration=15, owners=everyone,
                organizer=lead, attendees=staff,
            )
            middle = [d for d in dates if d.weekday() < 4][len(dates) // 4:] or dates
            moved, cancelled = self.rng.sample(middle, 2) if len(middle) >= 2 else (dates[0], None)
            rid = self.at(moved, tpl.standup, tz)
            spec.overrides.append(_Override(
                rid, self.at(moved, 13 * 60 + 30, tz), self.at(moved, 13 * 60 + 45, tz),
                summary="Stand-up harian tim (dipindah ke siang)"))
            if cancelled is not None:
                rid = self.at(cancelled, tpl.standup, tz)
                spec.overrides.append(_Override(
                    rid, rid, rid + dt.timedelta(minutes=15), status=CANCELLED,
                    summary="Dibatalkan: Stand-up harian tim"))
            spec.overrides.sort(key=lambda o: o.recurrence_id)
            self._book_series(spec, dates, tz, tpl.standup, 15)

            weekday, minute, duration = tpl.weekly
            spec, dates = self._series(
                label=f"weekly-{tpl.id}", summary="Rapat mingguan tim", tz=tz,
                weekdays=[weekday - 1], minute=minute, duration=duration, owners=everyone,
                organizer=lead, attendees={m.email: ACCEPTED for m in team.staff},
            )
            self._book_series(spec, dates, tz, minute, duration)

            late = tpl.leader_style == "late"
            for index, member in enumerate(team.staff):
                weekday = index % 5
                interval = 1 if member.profile.name in ("busy", "overloaded") else 2
                times = [15 * 60 + 30, 16 * 60] if late and index < 2 else [10 * 60, 10 * 60 + 30,
                                                                            13 * 60 + 30, 14 * 60]
                minute = self.rng.choice(times)
                spec, dates = self._series(
                    label=f"oneonone-{tpl.id}", summary=f"1:1 coaching kinerja: {member.first_name}",
                    tz=tz, weekdays=[weekday], minute=minute, duration=30,
                    owners=[lead, member.email], organizer=lead, attendees={member.email: ACCEPTED},
                    interval=interval,
                )
                self._book_series(spec, dates, tz, minute, 30)

    def agency_meetings(self) -> None:
        """The leaders' weekly meeting and two all-hands briefings, scheduled in WIB."""
        leaders = [t.leader for t in self.teams]
        chair = leaders[0].email
        spec, dates = self._series(
            label="rapim", summary="Rapat pimpinan (rapim) mingguan", tz=_JAKARTA, weekdays=[3],
            minute=14 * 60, duration=60, owners=[m.email for m in leaders], organizer=chair,
            attendees={m.email: ACCEPTED for m in leaders[1:]},
        )
        self._book_series(spec, dates, _JAKARTA, 14 * 60, 60)

        hr = next((t.leader for t in self.teams if t.template.id.startswith("sdm")), leaders[0])
        for offset in (3, 29):
            day = self.period.start + dt.timedelta(days=offset)
            while day <= self.period.end and not self.period.is_workday(day):
                day += dt.timedelta(days=1)
            if day > self.period.end:
                continue
            attendees = {m.email: self.partstat(0.85) for m in self.members if m is not hr}
            for email in list(attendees):
                if day in self.by_email[email].leave:
                    attendees[email] = DECLINED
            self.meeting(hr.email, attendees, self.at(day, 13 * 60 + 30, _JAKARTA),
                         self.at(day, 15 * 60, _JAKARTA),
                         "Sosialisasi kebijakan kerja fleksibel (seluruh pegawai)", label="townhall")

    def personal_series(self) -> None:
        """Personal recurring habits; leave days are excluded with EXDATE."""
        for member in self.members:
            tz, leave = member.tz, sorted(member.leave)
            lunch = self.rng.random() < 0.6
            if lunch:
                self._series(label="ishoma", summary="Ishoma (istirahat, salat, makan)", tz=tz,
                             weekdays=range(5), minute=12 * 60, duration=60, owners=[member.email],
                             transparent=True, skip=leave)
            if not lunch or self.rng.random() < 0.5:
                spec, dates = self._series(
                    label="eoffice", summary="Cek disposisi dan surat masuk (e-office)", tz=tz,
                    weekdays=range(5), minute=13 * 60, duration=30, owners=[member.email], skip=leave)
                self._book_series(spec, dates, tz, 13 * 60, 30)
            if self.rng.random() < 0.7:
                spec, dates = self._series(
                    label="ekinerja", summary="Input e-Kinerja mingguan", tz=tz, weekdays=[4],
                    minute=14 * 60, duration=30, owners=[member.email], skip=leave)
                self._book_series(spec, dates, tz, 14 * 60, 30)

    def leave_events(self) -> None:
        """All-day OOF cuti, timed sick days and half-day OOO; leave days are blocked."""
        for member in self.members:
            runs: list[list[dt.date]] = []
            for day in sorted(member.leave):
                if member.leave[day] == "sakit":
                    lo, hi = self.period.window(day)
                    self.personal(member, day, lo, hi, "Izin sakit", busystatus="OOF", label="sakit",
                                  force=True)
                elif runs and (day - runs[-1][-1]).days == 1:
                    runs[-1].append(day)
                else:
                    runs.append([day])
            for run in runs:
                self.add(_Spec(self.uid("cuti"), "Cuti tahunan", run[0], run[-1] + dt.timedelta(days=1),
                               [member.email], busystatus="OOF"))
            for day in sorted(member.leave):
                self.mark(member, self.at(day, 0, member.tz), self.at(day, 24 * 60, member.tz))
        for member in self.members:
            days = self.workdays(member)
            if self.rng.random() < 0.2 and days:
                day = self.rng.choice(days)
                lo, hi = self.period.window(day)
                start, end = (lo, 11 * 60 + 30) if self.rng.random() < 0.5 else (13 * 60, hi)
                spec = self.personal(member, day, start, end, "Izin setengah hari (urusan keluarga)",
                                     busystatus="OOF", label="ooo", force=True)
                assert spec is not None
                self.mark(member, spec.start, spec.end)  # type: ignore[arg-type]

    def markers(self) -> None:
        """All-day, non-blocking markers: holidays, SKP deadlines, start of Ramadan."""
        everyone = [m.email for m in self.members]
        for day, name in self.period.holidays.items():
            self.add(_Spec(self.uid("holiday"), f"Hari libur: {name}", day, day + dt.timedelta(days=1),
                           everyone, transparent=True, busystatus="FREE"))
        for day, summary in self.deadlines():
            self.add(_Spec(self.uid("deadline"), summary, day, day + dt.timedelta(days=1), everyone,
                           transparent=True, busystatus="FREE"))
        if self.period.ramadan and self.period.start <= self.period.ramadan[0] <= self.period.end:
            day = self.period.ramadan[0]
            self.add(_Spec(self.uid("ramadan"), "Awal Ramadan (perkiraan)", day,
                           day + dt.timedelta(days=1), everyone, transparent=True))

    def deadlines(self) -> list[tuple[dt.date, str]]:
        """Last workday of every month in range; quarter ends add the quarterly report."""
        out: list[tuple[dt.date, str]] = []
        months = sorted({(d.year, d.month) for d in self.days})
        for year, month in months:
            last = [d for d in self.days if (d.year, d.month) == (year, month) and self.period.is_workday(d)]
            if not last:
                continue
            day = last[-1]
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            if following - dt.timedelta(days=1) > self.period.end:
                continue  # the month ends after the period: its deadline is not in view
            out.append((day, f"Batas akhir pengisian SKP/e-Kinerja bulan {_MONTHS_ID[month - 1]}"))
            if month % 3 == 0:
                out.append((day, f"Batas akhir laporan kinerja triwulan {_QUARTERS[month // 3 - 1]}"))
        return out

    def deadline_evenings(self) -> None:
        """Evening report writing before SKP deadlines; early starts afterwards (short rest)."""
        deadline_days = sorted({d for d, _ in self.deadlines()})
        for member in self.members:
            k = member.profile.evenings
            if not k:
                continue
            overloaded = member.profile.name == "overloaded"
            for deadline in deadline_days:
                before = self.workdays(member, [d for d in self.days if d <= deadline])[-k:]
                for day in before:
                    if overloaded and day == deadline:
                        start, end = 21 * 60, 24 * 60 + 30  # crosses midnight
                        summary = "Lembur: finalisasi laporan SKP"
                    else:
                        start, end, summary = 19 * 60, 22 * 60, "Penyusunan laporan capaian SKP"
                    if self.personal(member, day, start, end, summary, label="skp") is None:
                        continue
                    nxt = day + dt.timedelta(days=1)
                    early = overloaded or (member.profile.name == "busy" and self.rng.random() < 0.5)
                    if early and self.period.is_workday(nxt) and nxt not in member.leave:
                        self.personal(member, nxt, 6 * 60 + 30, 7 * 60 + 30,
                                      "Persiapan bahan rapat pagi", label="early")

    def weekend_work(self) -> None:
        """Saturday overtime and Sunday-evening e-mail for the heavier patterns."""
        weekend = [d for d in self.days if d.weekday() >= 5 and d not in self.period.holidays]
        for member in self.members:
            k = min(member.profile.weekends, len(weekend))
            for day in sorted(self.rng.sample(weekend, k)):
                if day.weekday() == 5:
                    self.personal(member, day, 8 * 60, 12 * 60, "Lembur: finalisasi laporan keuangan",
                                  label="weekend")
                else:
                    self.personal(member, day, 19 * 60 + 30, 21 * 60,
                                  "Cek e-mail dan siapkan bahan rapat Senin", label="weekend")

    def holiday_work(self) -> None:
        """A public-service duty roster and overtime on cuti bersama days."""
        weekday_holidays = [d for d in self.days if d.weekday() < 5 and d in self.period.holidays]
        if not weekday_holidays:
            return

        def allowed(team: _Team) -> list[dt.date]:
            days = [d for d in weekday_holidays if d in self.period.cuti_bersama] or weekday_holidays
            if team.template.id.endswith("denpasar"):  # nobody works in Bali on Nyepi
                days = [d for d in days if d not in self.period.nyepi]
            return days

        for team in self.teams:
            if team.template.id.startswith("pelayanan") and team.staff and allowed(team):
                member = next((m for m in team.staff if m.profile.name != "healthy"), team.staff[0])
                day = allowed(team)[0]
                self.personal(member, day, 8 * 60, 12 * 60, "Piket layanan publik (cuti bersama)",
                              label="piket", force=True)
        overloaded = [m for m in self.members if m.profile.name == "overloaded"]
        for member in overloaded[:3]:
            days = allowed(self.team_of[member.email])
            if days:
                self.personal(member, self.rng.choice(days), 9 * 60, 13 * 60,
                              "Lembur: penyelesaian laporan keuangan", label="holiday", force=True)

    def late_leaders(self) -> None:
        """Leaders who set a poor example: Friday-prayer, Saturday, evening and holiday meetings."""
        for team in self.teams:
            if team.template.leader_style != "late" or not team.staff:
                continue
            lead, tz = team.leader, team.leader.tz
            fridays = [d for d in self.workdays(lead) if d.weekday() == 4]
            for day in fridays[::2]:
                start, end = self.at(day, 11 * 60 + 30, tz), self.at(day, 12 * 60 + 30, tz)
                invited = [m for m in team.staff if self.free(m, start, end)][:3]
                if invited and self.free(lead, start, end):
                    self.meeting(lead.email, {m.email: self.partstat() for m in invited}, start, end,
                                 "Rapat evaluasi mingguan", label="friday")
            saturdays = [d for d in self.days[7:] if d.weekday() == 5 and d not in self.period.holidays]
            if saturdays:
                day = self.rng.choice(saturdays)
                self.meeting(lead.email, {m.email: self.partstat(0.6) for m in team.staff},
                             self.at(day, 9 * 60, tz), self.at(day, 11 * 60, tz),
                             "Rapat koordinasi akhir pekan: percepatan realisasi anggaran",
                             label="saturday")
            workdays = self.workdays(lead)
            for _ in range(8 if workdays else 0):
                day = self.rng.choice(workdays)
                start, end = self.at(day, 19 * 60 + 30, tz), self.at(day, 20 * 60 + 30, tz)
                invited = [m for m in team.staff if self.free(m, start, end)][:2]
                if invited and self.free(lead, start, end):
                    self.meeting(lead.email, {m.email: ACCEPTED for m in invited}, start, end,
                                 "Rapat mendadak: tindak lanjut arahan pimpinan (daring)",
                                 label="evening")
                    break
            heavy = [m for m in team.staff if m.profile.name in ("busy", "overloaded")]
            for _ in range(8 if workdays else 0):
                day = self.rng.choice(workdays)
                start, end = self.at(day, 7 * 60 + 30, tz), self.at(day, 18 * 60 + 30, tz)
                invited = [m for m in heavy if day not in m.leave]
                if invited:
                    self.meeting(lead.email, {m.email: ACCEPTED for m in invited}, start, end,
                                 "Konsinyering penyusunan RKA (seharian)", label="konsinyering")
                    break
            weekday_holidays = [d for d in self.days if d.weekday() < 5 and d in self.period.holidays
                                and d not in self.period.nyepi]
            if weekday_holidays:
                day = self.rng.choice(weekday_holidays)
                member = self.rng.choice(team.staff)
                self.meeting(lead.email, {member.email: ACCEPTED}, self.at(day, 10 * 60, tz),
                             self.at(day, 11 * 60, tz), "Koordinasi singkat (daring) di hari libur",
                             label="holiday-call")

    def trips(self) -> None:
        """Business trips stored as one timed event longer than 16 hours (not work time)."""
        exemplary = [t.leader for t in self.teams if t.template.leader_style == "exemplary"]
        for lead in exemplary[:2]:
            days = [d for d in self.workdays(lead)
                    if d.weekday() in (1, 2) and self.period.is_workday(d + dt.timedelta(days=1))]
            if days:
                day = self.rng.choice(days)
                self.personal(lead, day, 5 * 60 + 30, 24 * 60 + 21 * 60,
                              "Perjalanan dinas: rapat koordinasi nasional", label="trip", force=True)

    def leave_work(self) -> None:
        """Two people join an urgent meeting on a day of annual leave."""
        on_leave = [m for m in self.members if "cuti" in m.leave.values()]
        for member in on_leave[:2]:
            day = next(d for d in sorted(member.leave) if member.leave[d] == "cuti")
            lead = self.team_of[member.email].leader
            tz = member.tz
            self.meeting(lead.email, {member.email: ACCEPTED}, self.at(day, 10 * 60, tz),
                         self.at(day, 11 * 60, tz),
                         "Rapat mendesak: klarifikasi anggaran (ikut daring saat cuti)",
                         label="leave-work")

    def buka_puasa(self) -> None:
        """One transparent team iftar per team during Ramadan."""
        if self.period.ramadan is None:
            return
        lo, hi = self.period.ramadan
        thursdays = [d for d in self.days if lo + dt.timedelta(days=7) <= d <= hi and d.weekday() == 3
                     and self.period.is_workday(d)]
        if not thursdays:
            return
        for team in self.teams:
            day = self.rng.choice(thursdays)
            tz = team.leader.tz
            self.meeting(team.leader.email,
                         {m.email: (ACCEPTED if self.rng.random() < 0.7 else TENTATIVE)
                          for m in team.staff},
                         self.at(day, 17 * 60 + 30, tz), self.at(day, 19 * 60 + 30, tz),
                         "Buka puasa bersama tim", transparent=True, label="bukber")

    def chains(self) -> None:
        """Back-to-back meeting chains (gaps under 10 minutes, two hours or more)."""
        for member in self.members:
            if not member.profile.chains:
                continue
            team = self.team_of[member.email]
            for w in range(len(self.days) // 7):
                days = self.workdays(member, self.days[w * 7:(w + 1) * 7])
                if len(days) < 3:
                    continue
                for _ in range(member.profile.chains):
                    self._chain(member, team, days)

    def _chain(self, member: _Member, team: _Team, days: Sequence[dt.date]) -> None:
        tz = member.tz
        for _ in range(6):
            day = self.rng.choice(days)
            first = self.rng.choice((9 * 60, 9 * 60 + 30, 13 * 60, 13 * 60 + 30))
            plan: list[tuple[int, int]] = []
            t = first
            for _ in range(self.rng.choice((3, 3, 4))):
                length = self.rng.choice((30, 45, 60, 60))
                plan.append((t, t + length))
                t += length + self.rng.choice((0, 0, 5))
            careful = member.profile.out_of_window == 0
            if careful and (t > 15 * 60 or self.overlaps_lunch(day, first, t)):
                continue  # an exemplary leader keeps even a chain inside the meeting window
            if not self.free(member, self.at(day, first, tz), self.at(day, t, tz)):
                continue
            for start, end in plan:
                s, e = self.at(day, start, tz), self.at(day, end, tz)
                r = self.rng.random()
                lead = team.leader
                lead_ok = lead.profile.out_of_window > 0 or (
                    9 * 60 <= start and end <= 15 * 60 and not self.overlaps_lunch(day, start, end))
                if member is not lead and r < 0.4 and lead_ok and self.free(lead, s, e):
                    self.meeting(lead.email, {member.email: ACCEPTED}, s, e,
                                 self.rng.choice(_MEETING_TITLES), label="chain")
                elif r < 0.7:
                    guest = f"{self.rng.choice(_EXTERNAL_PEOPLE)[0]}@{EXTERNAL_DOMAIN}"
                    self.meeting(member.email, {guest: ACCEPTED}, s, e,
                                 self.rng.choice(_MEETING_TITLES), label="chain")
                else:
                    host = f"{self.rng.choice(_EXTERNAL_PEOPLE)[0]}@{EXTERNAL_DOMAIN}"
                    self.meeting(host, {member.email: ACCEPTED}, s, e,
                                 self.rng.choice(_EXTERNAL_TITLES), utc=True, label="chain")
            return

    def adhoc_meetings(self) -> None:
        """Fill every person's week up to the meeting count of their pattern."""
        for w in range(-(-len(self.days) // 7)):
            week_days = self.days[w * 7:(w + 1) * 7]
            available = {m.email: self.workdays(m, week_days) for m in self.members}
            need: dict[str, int] = {}
            for m in self.members:
                lo, hi = m.profile.meetings
                target = self.rng.randint(lo, hi) * len(available[m.email]) / 5
                need[m.email] = round(target) - self.meeting_count.get((m.email, w), 0)
            for _ in range(4000):
                waiting = [m for m in self.members if need[m.email] > 0 and available[m.email]
                           and self.load.get((m.email, w), 0) < _MAX_WEEKLY_EVENTS - 2]
                if not waiting:
                    break
                member = max(waiting, key=lambda m: need[m.email])
                if not self._adhoc(member, available, need):
                    need[member.email] -= 1

    def _adhoc(self, member: _Member, available: Mapping[str, list[dt.date]],
               need: dict[str, int]) -> bool:
        rng = self.rng
        team = self.team_of[member.email]
        external = rng.random() < member.profile.external
        duration = rng.choice(_DURATIONS)
        status = CANCELLED if rng.random() < 0.04 else (TENTATIVE if rng.random() < 0.03 else CONFIRMED)
        if external:
            host = f"{rng.choice(_EXTERNAL_PEOPLE)[0]}@{EXTERNAL_DOMAIN}"
            participants = [member]
            style = member.profile
            organizer = host
        else:
            roll = rng.random()
            others = [m for m in team.staff if m is not member]
            if member is team.leader or roll < 0.35 or not team.staff:
                host_member = member
            elif roll < 0.75 or not others:
                host_member = team.leader
            else:
                host_member = rng.choice(others)
            pool = [m for m in team.members if m is not member and m is not host_member
                    and need[m.email] > 0 and available[m.email]]
            extras: list[_Member] = []
            for _ in range(min(len(pool), rng.choice((0, 1, 1, 2, 2, 3)))):
                pick = rng.choices(pool, weights=[m.profile.weight for m in pool])[0]
                pool.remove(pick)
                extras.append(pick)
            participants = [host_member] + [m for m in (member, *extras) if m is not host_member]
            style = host_member.profile
            organizer = host_member.email
        days = [d for d in available[member.email]
                if all(d in available[p.email] for p in participants)]
        if not days:
            return False
        r = rng.random()
        mode = "outside" if r < style.out_of_window else (
            "break" if r < style.out_of_window + style.break_overlap else "window")
        slot = self._place(participants, days, duration, mode)
        if slot is None and mode != "window":
            slot = self._place(participants, days, duration, "window")
        heavy = member.profile.name in ("busy", "overloaded", "leader-late")
        if slot is None and heavy and style.out_of_window > 0:
            # a full week spills over into the late afternoon (never for an exemplary organiser)
            slot = self._place(participants, days, duration, "outside")
        if slot is None and member.profile.name == "overloaded":  # and into double bookings
            slot = self._place(participants, days, duration, "window", ignore=member)
        if slot is None:
            return False
        day, start = slot
        tz = member.tz
        s, e = self.at(day, start, tz), self.at(day, start + duration, tz)
        attendees = {p.email: (ACCEPTED if p is member and external and rng.random() < 0.5
                               else self.partstat())
                     for p in participants if p.email != organizer}
        if external:
            for local, _ in rng.sample(_EXTERNAL_PEOPLE, rng.randint(1, 3)):
                address = f"{local}@{EXTERNAL_DOMAIN}"
                if address != organizer:
                    attendees[address] = ACCEPTED
            title = rng.choice(_EXTERNAL_TITLES)
        else:
            title = rng.choice(_MEETING_TITLES)
        self.meeting(organizer, attendees, s, e, title, status=status, utc=external, label="adhoc")
        for p in participants:
            need[p.email] -= 1
        return True

    def _place(self, participants: Sequence[_Member], days: Sequence[dt.date], duration: int,
               mode: str, ignore: _Member | None = None) -> tuple[dt.date, int] | None:
        """A (day, start minute) where all participants but ``ignore`` are free, or ``None``.

        Participants share one time zone (they are in one team or it is a lone member).
        """
        for _ in range(14):
            day = self.rng.choice(days)
            if mode == "break":
                start = self.period.lunch(day)[0]
            elif mode == "outside":
                if self.rng.random() < 0.3:
                    start = self.rng.choice(range(7 * 60, 8 * 60 + 31, 15))
                else:
                    start = self.rng.choice(range(max(13 * 60, 15 * 60 - duration + 15), 17 * 60 + 1, 15))
            else:
                start = self.rng.choice(range(9 * 60, 15 * 60 - duration + 1, 15))
            if mode != "break" and self.overlaps_lunch(day, start, start + duration):
                continue
            if all(p is ignore or self.free_local(p, day, start, start + duration)
                   for p in participants):
                return day, start
        return None

    def work_blocks(self) -> None:
        """Personal work blocks in free office time; some held as free focus time.

        A block that does not fit shrinks (down to 30 minutes: answering mail) before it is
        dropped.
        """
        for member in self.members:
            for day in self.workdays(member):
                lo, hi = self.period.window(day)
                for _ in range(self.rng.randint(*member.profile.blocks)):
                    if self.load.get((member.email, self.week(day)), 0) >= _MAX_WEEKLY_EVENTS:
                        break
                    wanted = self.rng.choice((60, 90, 90, 120))
                    focus = self.rng.random() < member.profile.focus_free
                    title = self.rng.choice(_BLOCK_TITLES)
                    for duration in (wanted, 60, 45, 30):
                        if duration > wanted:
                            continue
                        starts = [
                            start for start in range(lo, hi - duration + 1, 15)
                            if not self.overlaps_lunch(day, start, start + duration)
                            and self.free_local(member, day, start, start + duration)
                        ]
                        if starts:
                            break
                    if not starts:
                        continue
                    start = self.rng.choice(starts)
                    if duration <= 30:
                        title, focus = "Membalas e-mail dan pesan dinas", False
                    spec = self.personal(member, day, start, start + duration,
                                         f"Fokus: {title}" if focus else title, transparent=focus,
                                         label="focus" if focus else "block")
                    if focus and spec is not None:
                        self.mark(member, spec.start, spec.end)  # type: ignore[arg-type]

    # ----------------------------------------------------------------- rendering

    def calendar_for(self, member: _Member) -> Calendar:
        """The VCALENDAR of one person, events sorted by start, UID and RECURRENCE-ID."""
        cal = Calendar()
        cal.add("prodid", OUTLOOK_PRODID if member.outlook else PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", member.person.name)
        entries: list[tuple[str, Event]] = []
        tzids: set[str] = set()
        for spec in self.specs:
            if member.email not in spec.owners:
                continue
            if isinstance(spec.start, dt.datetime) and not spec.utc:
                tzids.add(WINDOWS_JAKARTA if member.outlook else str(spec.start.tzinfo))
            key = (spec.uid, member.email if member.outlook else "")
            if key not in self._cache:
                rendered = [(_sort_key(spec.start, spec.uid), self._event(spec, member, None))]
                rendered += [(_sort_key(o.start, spec.uid, o.recurrence_id), self._event(spec, member, o))
                             for o in spec.overrides]
                self._cache[key] = rendered
            entries.extend(self._cache[key])
            entries.extend((_sort_key(o.start, spec.uid, o.recurrence_id), self._event(spec, member, o))
                           for o in spec.personal.get(member.email, ()))
        for tzid in sorted(tzids):  # VTIMEZONEs first, as add_missing_timezones() would
            if tzid not in self._timezones:
                self._timezones[tzid] = Timezone.from_tzid(tzid)
            cal.add_component(self._timezones[tzid])
        for _, event in sorted(entries, key=lambda item: item[0]):
            cal.add_component(event)
        return cal

    def _time(self, value: dt.datetime | dt.date, spec: _Spec,
              member: _Member) -> tuple[dt.datetime | dt.date, dict[str, str]]:
        if not isinstance(value, dt.datetime):
            return value, {}
        if spec.utc:
            return value.astimezone(_UTC), {}
        if member.outlook:
            return value.astimezone(_JAKARTA).replace(tzinfo=None), {"TZID": WINDOWS_JAKARTA}
        return value, {}

    def _address(self, email: str, partstat: str | None = None) -> vCalAddress:
        address = vCalAddress(f"mailto:{email}")
        address.params["CN"] = self.names.get(email, email.split("@")[0])
        if partstat is not None:  # ROLE defaults to REQ-PARTICIPANT
            address.params["PARTSTAT"] = partstat
            if partstat == NEEDS_ACTION:
                address.params["RSVP"] = "TRUE"
        return address

    def _event(self, spec: _Spec, member: _Member, override: _Override | None) -> Event:
        event = Event()
        event.add("uid", spec.uid)
        event.add("dtstamp", self.dtstamp)
        if override is not None:
            value, params = self._time(override.recurrence_id, spec, member)
            event.add("recurrence-id", value, parameters=params)
        start = override.start if override is not None else spec.start
        end = override.end if override is not None else spec.end
        for name, moment in (("dtstart", start), ("dtend", end)):
            value, params = self._time(moment, spec, member)
            event.add(name, value, parameters=params)
        if override is None and spec.rrule is not None:
            event.add("rrule", spec.rrule)
            if spec.exdates:
                converted = [self._time(d, spec, member) for d in spec.exdates]
                event.add("exdate", [v for v, _ in converted], parameters=converted[0][1])
        event.add("summary", override.summary if override is not None and override.summary
                  else spec.summary)
        attendees = dict(spec.attendees)
        if override is not None and override.partstat is not None:
            attendees[override.partstat[0]] = override.partstat[1]
        if spec.organizer is not None:
            event.add("organizer", self._address(spec.organizer))
            for email in sorted(attendees):
                event.add("attendee", self._address(email, attendees[email]))
        status = override.status if override is not None and override.status else spec.status
        if status is not None:
            event.add("status", status)
            if status == CANCELLED:
                event.add("sequence", 1)
        event.add("transp", "TRANSPARENT" if spec.transparent else "OPAQUE")
        all_day = not isinstance(spec.start, dt.datetime)
        busystatus = spec.busystatus
        if busystatus is None and member.outlook:
            own = attendees.get(member.email)
            if spec.transparent or own == DECLINED:
                busystatus = "FREE"
            elif own in (TENTATIVE, NEEDS_ACTION) or status == TENTATIVE:
                busystatus = "TENTATIVE"
            else:
                busystatus = "BUSY"
        if busystatus is not None:
            event.add("x-microsoft-cdo-busystatus", busystatus)
        if member.outlook:
            event.add("x-microsoft-cdo-alldayevent", "TRUE" if all_day else "FALSE")
        return event


def _sort_key(start: dt.datetime | dt.date, uid: str, rid: dt.datetime | None = None) -> str:
    def text(value: dt.datetime | dt.date) -> str:
        if isinstance(value, dt.datetime):
            return value.astimezone(_UTC).strftime("%Y%m%dT%H%M%S")
        return value.strftime("%Y%m%d")

    return f"{text(start)}|{uid}|{text(rid) if rid is not None else ''}"
