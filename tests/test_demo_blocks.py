"""The embedded default plans everyone's focus and recovery blocks into ICS files, and its
summary states the focus time they protect, which a reader can recompute from those files."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import icalendar
import numpy as np
import pytest

from balanced_calendar.config import load_config
from balanced_calendar.engine.calendar import range_calendar
from balanced_calendar.engine.timeline import counted_mask
from balanced_calendar.runtime import open_runtime
from balanced_calendar.timezones import load_zone
from test_demo_cli import demo

BLOCK_ID = re.compile(r"^bc-(p-[0-9a-f]{12})-(\d{8})-(focus|recovery|break)-(\d+)$")
FIGURES = re.compile(r"focus time protected per person and week: (\d+\.\d) h\s+\(IQR (\d+\.\d)–(\d+\.\d) h; "
                     r"(\d+) people x (\d+) weeks\)")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "d"
    proc = demo(out)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def blocks_of(path: Path) -> list[tuple[str, dt.datetime, dt.datetime, icalendar.Event]]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    assert calendar["VERSION"] == "2.0" and "PRODID" in calendar
    return [(str(e["X-BALANCED-CALENDAR-ID"]), e.decoded("dtstart"), e.decoded("dtend"), e)
            for e in calendar.walk("VEVENT")]


def test_every_person_gets_an_ics_file_of_only_their_own_blocks(run):
    out, stdout = run
    files = sorted((out / "blocks").glob("*.ics"))
    assert len(files) == 42
    kinds: set[str] = set()
    for path in files:
        blocks = blocks_of(path)
        assert blocks, path.name
        for block_id, start, end, event in blocks:
            m = BLOCK_ID.match(block_id)
            assert m and m.group(1) == path.stem  # the file's owner, nobody else
            assert str(event["UID"]).endswith(block_id) and str(event["TRANSP"]) == "OPAQUE"
            assert "ATTENDEE" not in event and "ORGANIZER" not in event  # nobody invited
            assert start.tzinfo is not None and end > start
            kinds.add(m.group(3))
    assert kinds == {"focus", "recovery", "break"}
    assert f"{out.name}/blocks/" in stdout or str(out / "blocks") in stdout


def test_blocks_lie_in_the_window_outside_the_break_and_clear_of_counted_events(run):
    out, _ = run
    roster = json.loads((out / "roster.json").read_text())
    start, end = dt.date.fromisoformat(roster["start"]), dt.date.fromisoformat(roster["end"])
    config = load_config(out / "config.toml")
    with open_runtime(config, environ={}) as rt:
        people = rt.store.list_people()
        assert len(people) == 42
        for person in people:
            tz = load_zone(person.timezone)
            cal = range_calendar(rt.policy, person.timezone, start, end)
            day = {d: i for i, d in enumerate(cal.dates)}
            cols = rt.store.load_event_columns(person.email, dt.datetime.combine(start, dt.time(), tz),
                                               dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))
            counted = counted_mask(cols, rt.policy)
            busy = list(zip(cols.start[counted].tolist(), cols.end[counted].tolist()))
            spans = []
            for block_id, s, e, _ in blocks_of(out / "blocks" / f"{person.pseudonym}.ics"):
                a, b = int(s.timestamp()), int(e.timestamp())
                date = s.astimezone(tz).date()
                assert block_id.split("-")[3] == f"{date:%Y%m%d}"
                i = day[date]
                assert cal.w_start[i] <= a < b <= cal.w_end[i], block_id  # inside W(D): a workday
                assert b <= cal.b_start[i] or a >= cal.b_end[i], block_id  # outside the break
                assert not any(x < b and y > a for x, y in busy), block_id  # no counted event under it
                spans.append((a, b))
            spans.sort()
            assert all(p[1] <= q[0] for p, q in zip(spans, spans[1:])), person.pseudonym  # no overlap


def test_the_printed_focus_figures_equal_a_count_from_the_files(run):
    out, stdout = run
    roster = json.loads((out / "roster.json").read_text())
    zones = {p["email"]: p["timezone"] for p in roster["people"]}
    start, end = dt.date.fromisoformat(roster["start"]), dt.date.fromisoformat(roster["end"])
    weeks = sorted({(start + dt.timedelta(days=i)).isocalendar()[:2] for i in range((end - start).days + 1)})
    config = load_config(out / "config.toml")
    with open_runtime(config, environ={}) as rt:
        zone_of = {p.pseudonym: zones[p.email] for p in rt.store.list_people()}
    hours = []
    for path in sorted((out / "blocks").glob("*.ics")):
        tz = load_zone(zone_of[path.stem])
        per_week = dict.fromkeys(weeks, 0.0)
        for block_id, s, e, _ in blocks_of(path):
            if "-focus-" in block_id:
                per_week[s.astimezone(tz).isocalendar()[:2]] += (e - s).total_seconds() / 3600
        hours += per_week.values()
    q1, median, q3 = np.percentile(hours, [25, 50, 75])
    m = FIGURES.search(stdout)
    assert m, stdout
    assert m.groups() == (f"{median:.1f}", f"{q1:.1f}", f"{q3:.1f}", "42", str(len(weeks)))
    assert 0 < q1 <= median <= q3 <= 10  # at most 120 min a workday
    summary = json.loads((out / "summary.json").read_text())
    assert summary["focus_hours_per_person_week"] == {"q1": round(q1, 1), "median": round(median, 1),
                                                      "q3": round(q3, 1)}
    assert summary["seconds"]["blocks"] < 2.0
