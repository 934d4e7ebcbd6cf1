"""The synthetic agency behind ``balanced-calendar demo``: what a user of the demo would notice."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import icalendar
import pytest
import recurring_ical_events

from balanced_calendar.demo.agency import DemoAgency, generate_agency

ZONES = {"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}


@dataclass(frozen=True)
class Instance:
    """One expanded event instance as seen from the owner's calendar, in the owner's zone."""

    owner: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    summary: str
    status: str
    transparent: bool
    busystatus: str
    organizer: str | None
    partstat: str | None  # the owner's own, None when the owner is not an attendee
    others: int

    @property
    def timed(self) -> bool:
        return isinstance(self.start, dt.datetime)

    @property
    def counts(self) -> bool:
        """Roughly the counted event of docs/rules.md."""
        return (
            self.timed
            and self.status != "CANCELLED"
            and self.partstat != "DECLINED"
            and not self.transparent
            and self.busystatus not in ("OOF", "FREE", "WORKINGELSEWHERE")
            and self.end - self.start <= dt.timedelta(hours=16)  # type: ignore[operator]
        )

    @property
    def meeting(self) -> bool:
        return self.counts and self.others >= 1


def _mail(value: object) -> str:
    return str(value).lower().removeprefix("mailto:")


def _expand(agency: DemoAgency) -> dict[str, list[Instance]]:
    out: dict[str, list[Instance]] = {}
    for person in agency.people:
        tz = ZoneInfo(person.timezone)
        calendar = icalendar.Calendar.from_ical(person.ics_path.read_bytes())
        first = dt.datetime.combine(agency.start, dt.time(), tz)
        last = dt.datetime.combine(agency.end + dt.timedelta(days=1), dt.time(), tz)
        rows = []
        for event in recurring_ical_events.of(calendar).between(first, last):
            start, end = event.decoded("dtstart"), event.decoded("dtend")
            if isinstance(start, dt.datetime):
                start, end = start.astimezone(tz), end.astimezone(tz)
            attendees = event.get("attendee", [])
            attendees = attendees if isinstance(attendees, list) else [attendees]
            own = [a for a in attendees if _mail(a) == person.email]
            organizer = _mail(event["organizer"]) if "organizer" in event else None
            everyone = {_mail(a) for a in attendees} | ({organizer} if organizer else set())
            rows.append(Instance(
                owner=person.email,
                start=start,
                end=end,
                summary=str(event.get("summary", "")),
                status=str(event.get("status", "CONFIRMED")).upper(),
                transparent=str(event.get("transp", "OPAQUE")).upper() == "TRANSPARENT",
                busystatus=str(event.get("x-microsoft-cdo-busystatus", "")).upper(),
                organizer=organizer,
                partstat=str(own[0].params.get("PARTSTAT")).upper() if own else None,
                others=len(everyone - {person.email}),
            ))
        out[person.email] = rows
    return out


@pytest.fixture(scope="module")
def default_agency(tmp_path_factory: pytest.TempPathFactory) -> DemoAgency:
    return generate_agency(tmp_path_factory.mktemp("agency"))


@pytest.fixture(scope="module")
def instances(default_agency: DemoAgency) -> dict[str, list[Instance]]:
    return _expand(default_agency)


@pytest.fixture(scope="module")
def holiday_names() -> dict[dt.date, str]:
    calendar = holidays.country_holidays("ID", years=2026, categories=("public", "government"))
    return dict(calendar.items())


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ determinism and roster


def test_same_arguments_give_byte_identical_files_in_two_directories(
        default_agency: DemoAgency, tmp_path: Path) -> None:
    before = time.process_time()
    again = generate_agency(tmp_path)
    cpu_seconds = time.process_time() - before

    first, second = _files(default_agency.directory), _files(tmp_path)
    assert sorted(first) == sorted(second)
    assert len(first) == len(default_agency.people) + 1  # one ICS per person + roster.json
    assert all(first[name] == second[name] for name in first)
    assert [p.email for p in again.people] == [p.email for p in default_agency.people]
    assert cpu_seconds < 3.0, f"generating the default agency took {cpu_seconds:.2f} s of CPU"


def test_another_seed_gives_other_calendars(tmp_path: Path) -> None:
    a = generate_agency(tmp_path / "a", people=6, weeks=1, seed=1)
    b = generate_agency(tmp_path / "b", people=6, weeks=1, seed=2)
    assert _files(a.directory) != _files(b.directory)


def test_default_agency_has_42_people_in_7_teams_over_wib_wita_wit(default_agency: DemoAgency) -> None:
    assert len(default_agency.people) == 42 >= 40
    assert len(default_agency.teams) == 7 >= 6
    assert {t.timezone for t in default_agency.teams} == ZONES
    assert (default_agency.start, default_agency.end) == (dt.date(2026, 2, 9), dt.date(2026, 4, 5))
    assert len({p.email for p in default_agency.people}) == 42
    teams = {t.id: t for t in default_agency.teams}
    for person in default_agency.people:
        assert person.email.endswith(".example")
        assert person.timezone == teams[person.team].timezone  # one zone per team
        assert person.ics_path == default_agency.directory / "ics" / f"{person.email.split('@')[0]}.ics"
        assert person.role in ("leader", "staff")
    for team in default_agency.teams:
        members = [p for p in default_agency.people if p.team == team.id]
        assert len(team.leaders) == 1
        assert [p.email for p in members if p.role == "leader"] == list(team.leaders)
        assert len(members) >= 5


def test_roster_json_matches_the_returned_agency(default_agency: DemoAgency) -> None:
    roster = json.loads((default_agency.directory / "roster.json").read_text(encoding="utf-8"))
    assert roster["start"] == "2026-02-09" and roster["end"] == "2026-04-05"
    assert [
        (p["email"], p["name"], p["team"], p["timezone"], p["role"], default_agency.directory / p["ics"])
        for p in roster["people"]
    ] == [(p.email, p.name, p.team, p.timezone, p.role, p.ics_path) for p in default_agency.people]
    assert [(t["id"], t["name"], t["timezone"], tuple(t["leaders"])) for t in roster["teams"]] == [
        (t.id, t.name, t.timezone, t.leaders) for t in default_agency.teams
    ]
    patterns = Counter(p["pattern"] for p in roster["people"])
    assert {"healthy", "steady", "busy", "overloaded", "leader-exemplary", "leader-late"} <= set(patterns)


def test_tiny_agency_still_spans_the_three_zones(tmp_path: Path) -> None:
    agency = generate_agency(tmp_path, people=3, weeks=1)
    assert len(agency.people) == 3
    assert {t.timezone for t in agency.teams} == ZONES
    assert all(p.role == "leader" for p in agency.people)
    assert all(p.ics_path.is_file() for p in agency.people)


@pytest.mark.parametrize("kwargs", [{"people": 2}, {"weeks": 0}])
def test_impossible_sizes_are_refused(tmp_path: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        generate_agency(tmp_path, **kwargs)


# ------------------------------------------------------------------ the ICS files


def test_every_file_parses_and_declares_its_time_zones(default_agency: DemoAgency) -> None:
    for person in default_agency.people:
        calendar = icalendar.Calendar.from_ical(person.ics_path.read_bytes())
        assert calendar.walk("VEVENT"), person.email
        assert calendar.get_missing_tzids() == set(), person.email


def test_agency_uses_the_ics_features_connectors_must_handle(default_agency: DemoAgency) -> None:
    text = b"".join(p.ics_path.read_bytes() for p in default_agency.people).decode("utf-8")
    unfolded = text.replace("\r\n ", "")
    for needle in ("RRULE:FREQ=WEEKLY", "EXDATE;TZID=", "RECURRENCE-ID;TZID=", "STATUS:CANCELLED",
                   "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "TRANSP:TRANSPARENT", "BEGIN:VTIMEZONE",
                   "TZID=SE Asia Standard Time", "PARTSTAT=ACCEPTED", "PARTSTAT=TENTATIVE",
                   "PARTSTAT=DECLINED", "PARTSTAT=NEEDS-ACTION", "DTSTART;VALUE=DATE:"):
        assert needle in unfolded, needle
    assert any(line.startswith("DTSTART:") and line.endswith("Z")
               for line in unfolded.split("\r\n")), "some events are stored in UTC"
    events = [e for p in default_agency.people
              for e in icalendar.Calendar.from_ical(p.ics_path.read_bytes()).walk("VEVENT")]
    cancelled_instances = [e for e in events if "RECURRENCE-ID" in e and e.get("status") == "CANCELLED"]
    moved_instances = [e for e in events if "RECURRENCE-ID" in e
                       and e.decoded("recurrence-id") != e.decoded("dtstart")]
    assert cancelled_instances and moved_instances
    windows = [e for e in events if e["DTSTART"].params.get("TZID") == "SE Asia Standard Time"]
    assert windows and all(e.decoded("dtstart").utcoffset() == dt.timedelta(hours=7) for e in windows)


def test_standup_skips_every_weekday_holiday_and_cuti_bersama(
        default_agency: DemoAgency, holiday_names: dict[dt.date, str]) -> None:
    weekday_holidays = sorted(d for d in holiday_names
                              if default_agency.start <= d <= default_agency.end and d.weekday() < 5)
    assert dt.date(2026, 2, 16) in weekday_holidays and dt.date(2026, 3, 23) in weekday_holidays
    person = default_agency.people[0]
    calendar = icalendar.Calendar.from_ical(person.ics_path.read_bytes())
    standup = next(e for e in calendar.walk("VEVENT") if "standup" in str(e["UID"]) and "RRULE" in e)
    exdates = standup.get("exdate")
    exdates = exdates if isinstance(exdates, list) else [exdates]
    skipped = sorted({d.dt.date() for x in exdates for d in x.dts})
    assert skipped == weekday_holidays


# ------------------------------------------------------------------ what the audit will see


def test_weekly_event_counts_are_realistic(
        default_agency: DemoAgency, instances: dict[str, list[Instance]],
        holiday_names: dict[dt.date, str]) -> None:
    weeks = [default_agency.start + dt.timedelta(weeks=w) for w in range(8)]
    full_weeks = [w for w, monday in enumerate(weeks)
                  if not any(monday + dt.timedelta(days=i) in holiday_names for i in range(5))]
    assert len(full_weeks) == 4
    for email, rows in instances.items():
        per_week = Counter()
        for row in rows:
            if row.status == "CANCELLED":
                continue
            day = row.start.date() if isinstance(row.start, dt.datetime) else row.start
            per_week[(day - default_agency.start).days // 7] += 1
        for week in full_weeks:
            assert 25 <= per_week[week] <= 45, (email, week, per_week[week])
        assert min(per_week[w] for w in range(8)) >= 5, email


def test_workload_varies_from_healthy_to_overloaded(
        default_agency: DemoAgency, instances: dict[str, list[Instance]]) -> None:
    roster = json.loads((default_agency.directory / "roster.json").read_text(encoding="utf-8"))
    pattern = {p["email"]: p["pattern"] for p in roster["people"]}

    def evening_minutes(email: str) -> int:
        return sum(
            int((r.end - r.start).total_seconds() // 60)  # type: ignore[operator]
            for r in instances[email]
            if r.counts and (r.start.hour >= 17 or r.start.hour < 7)  # type: ignore[union-attr]
        )

    healthy = [evening_minutes(e) for e, p in pattern.items() if p == "healthy"]
    overloaded = [evening_minutes(e) for e, p in pattern.items() if p == "overloaded"]
    assert max(overloaded) > 0 and min(overloaded) > max(healthy)


def test_weekend_and_holiday_work_exist(
        instances: dict[str, list[Instance]], holiday_names: dict[dt.date, str]) -> None:
    counted = [r for rows in instances.values() for r in rows if r.counts]
    weekend = [r for r in counted if r.start.weekday() >= 5]  # type: ignore[union-attr]
    on_holiday = [r for r in counted if r.start.weekday() < 5  # type: ignore[union-attr]
                  and r.start.date() in holiday_names]  # type: ignore[union-attr]
    assert len({r.owner for r in weekend}) >= 5
    assert len({r.owner for r in on_holiday}) >= 3
    cuti_bersama = {dt.date(2026, 2, 16), dt.date(2026, 3, 18), dt.date(2026, 3, 20),
                    dt.date(2026, 3, 23), dt.date(2026, 3, 24)}
    assert any(r.start.date() in cuti_bersama for r in on_holiday)  # type: ignore[union-attr]


def test_nobody_in_bali_works_on_nyepi(
        default_agency: DemoAgency, instances: dict[str, list[Instance]]) -> None:
    bali = [p.email for p in default_agency.people if p.team == "pelayanan-denpasar"]
    nyepi = {dt.date(2026, 3, 18), dt.date(2026, 3, 19)}
    assert not [r for e in bali for r in instances[e]
                if r.counts and r.start.date() in nyepi]  # type: ignore[union-attr]


def test_leave_is_all_day_oof_plus_timed_out_of_office(instances: dict[str, list[Instance]]) -> None:
    rows = [r for rs in instances.values() for r in rs]
    all_day_oof = [r for r in rows if not r.timed and r.busystatus == "OOF"]
    timed_oof = [r for r in rows if r.timed and r.busystatus == "OOF"]
    assert len({r.owner for r in all_day_oof}) >= 5
    assert any(r.end - r.start <= dt.timedelta(hours=5) for r in timed_oof)  # type: ignore[operator]
    assert any(r.end - r.start >= dt.timedelta(hours=7) for r in timed_oof)  # type: ignore[operator]
    # markers that must not count: all-day, not OOF
    assert any(not r.timed and r.busystatus != "OOF" and "libur" in r.summary.lower() for r in rows)


def test_someone_meets_while_on_leave(instances: dict[str, list[Instance]]) -> None:
    found = False
    for rows in instances.values():
        leave = {r.start + dt.timedelta(days=i)  # type: ignore[operator]
                 for r in rows if not r.timed and r.busystatus == "OOF"
                 for i in range((r.end - r.start).days)}  # type: ignore[operator]
        found = found or any(r.meeting and r.start.date() in leave for r in rows)  # type: ignore[union-attr]
    assert found


def test_scenarios_behind_the_audit_rules_are_present(
        default_agency: DemoAgency, instances: dict[str, list[Instance]]) -> None:
    counted = [r for rows in instances.values() for r in rows if r.counts]
    # evening report writing before the SKP deadline of February
    assert any(r.start.time() == dt.time(19) and r.end.time() == dt.time(22)  # type: ignore[union-attr]
               and dt.date(2026, 2, 25) <= r.start.date() <= dt.date(2026, 2, 27)  # type: ignore[union-attr]
               for r in counted)
    # an event crossing midnight, and a trip longer than 16 hours that must not count
    assert any(r.start.date() != r.end.date() for r in counted)  # type: ignore[union-attr]
    assert any(r.timed and r.end - r.start > dt.timedelta(hours=16)  # type: ignore[operator]
               for rows in instances.values() for r in rows)
    # meetings over the Friday prayer break
    assert any(r.meeting and r.start.weekday() == 4  # type: ignore[union-attr]
               and r.start.time() < dt.time(13) and r.end.time() > dt.time(11, 45)  # type: ignore[union-attr]
               for r in counted)
    # leaders organising meetings outside 09:00-15:00 ("example set"), and leaders who never do
    leaders = {e for t in default_agency.teams for e in t.leaders}
    outside = Counter(r.owner for r in counted if r.meeting and r.owner in leaders and r.organizer == r.owner
                      and (r.start.time() < dt.time(9) or r.end.time() > dt.time(15)  # type: ignore[union-attr]
                           or r.end.date() != r.start.date()))  # type: ignore[union-attr]
    assert len(outside) >= 3 and len(leaders - set(outside)) >= 3
    # a very long day (> 10 h from first start to last end)
    by_day: dict[tuple[str, dt.date], list[Instance]] = {}
    for r in counted:
        by_day.setdefault((r.owner, r.start.date()), []).append(r)  # type: ignore[union-attr]
    spans = {k: max(r.end for r in v) - min(r.start for r in v) for k, v in by_day.items()}  # type: ignore[type-var]
    assert any(span > dt.timedelta(hours=10) for span in spans.values())
    # short rest: late night followed by an early start the next morning
    assert any(
        (owner, day + dt.timedelta(days=1)) in by_day
        and min(r.start for r in by_day[(owner, day + dt.timedelta(days=1))])  # type: ignore[type-var]
        - max(r.end for r in rows) < dt.timedelta(hours=11)  # type: ignore[type-var]
        for (owner, day), rows in by_day.items()
        if max(r.end for r in rows).time() >= dt.time(21)  # type: ignore[type-var, union-attr]
    )
    # back-to-back chains: 3+ meetings with gaps under 10 minutes spanning 2 hours or more
    assert any(_longest_chain([r for r in rows if r.meeting]) >= dt.timedelta(hours=2)
               for rows in by_day.values())


def _longest_chain(meetings: list[Instance]) -> dt.timedelta:
    best = dt.timedelta()
    ordered = sorted(meetings, key=lambda r: r.start)  # type: ignore[arg-type, return-value]
    i = 0
    while i < len(ordered):
        j, end = i, ordered[i].end
        while j + 1 < len(ordered) and ordered[j + 1].start - end < dt.timedelta(minutes=10):  # type: ignore[operator]
            j += 1
            end = max(end, ordered[j].end)  # type: ignore[type-var]
        if j > i:
            best = max(best, end - ordered[i].start)  # type: ignore[operator]
        i = j + 1
    return best
