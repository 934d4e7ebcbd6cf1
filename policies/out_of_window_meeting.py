"""A meeting starting on a workday that starts before or ends after the meeting window."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "out_of_window_meeting"
DEFINITION: dict[str, str] = {
    "en": "a meeting on a workday that starts before {meeting_start} or ends after {meeting_end}",
    "id": "rapat pada hari kerja yang dimulai sebelum pukul {meeting_start} atau berakhir setelah pukul {meeting_end}",
}
DESCRIBE: dict[str, str] = {
    "en": "meeting {start}–{end} on {date} outside the meeting window",
    "id": "rapat {start}–{end} pada {date} di luar jam rapat",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    m, d = t.meetings, t.days
    day, start, end = m.day, m.start, m.end
    starts_here = m.piece_start == start
    outside = (start < d.mw_start[day]) | (end > d.mw_end[day])
    hit = np.flatnonzero(starts_here & d.is_workday[day] & outside)
    days = day[hit]
    # End shown on the start date's clock: "24:00" or later-day ends read as 24:00.
    s, e = start[hit], np.minimum(end[hit], d.day_end[days])
    return FindingBlock(RULE, ("date", "start", "end"), hit.size,
                        lambda: zip(t.date_texts(days), t.clock(s, days), t.clock(e, days)))
