"""A meeting starting on a workday that starts before or ends after the meeting window."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline

RULE = "out_of_window_meeting"
DEFINITION: dict[str, str] = {
    "en": "a meeting on a workday that starts before {meeting_start} or ends after {meeting_end}",
    "id": "rapat pada hari kerja yang dimulai sebelum pukul {meeting_start} atau berakhir setelah pukul {meeting_end}",
}
DESCRIBE: dict[str, str] = {
    "en": "meeting {start}–{end} on {date} outside the meeting window",
    "id": "rapat {start}–{end} pada {date} di luar jam rapat",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    m, d = t.meetings, t.days
    if m.empty:
        return []
    day = m["day"].to_numpy()
    start, end = m["start"].to_numpy(), m["end"].to_numpy()
    starts_here = m["piece_start"].to_numpy() == start
    workday = d["is_workday"].to_numpy()[day]
    outside = (start < d["mw_start"].to_numpy()[day]) | (end > d["mw_end"].to_numpy()[day])
    hit = np.flatnonzero(starts_here & workday & outside)
    if hit.size == 0:
        return []
    # End shown on the start date's clock: "24:00" or later-day ends read as 24:00.
    shown_end = np.minimum(end[hit], d["day_end"].to_numpy()[day[hit]])
    s_txt = t.clock(start[hit], day[hit])
    e_txt = t.clock(shown_end, day[hit])
    return [Finding(RULE, {"date": t.date_str(day[i]), "start": s, "end": e})
            for i, s, e in zip(hit, s_txt, e_txt)]
