"""A meeting on a workday that overlaps the break by at least N minutes."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline

RULE = "break_overlap"
DEFINITION: dict[str, str] = {
    "en": "a meeting that takes at least {break_overlap_minutes} minutes of the break",
    "id": "rapat yang memakan sedikitnya {break_overlap_minutes} menit waktu istirahat",
}
DESCRIBE: dict[str, str] = {
    "en": "meeting {start}–{end} on {date} takes the break",
    "id": "rapat {start}–{end} pada {date} memakan waktu istirahat",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    m, d = t.meetings, t.days
    if m.empty:
        return []
    day = m["day"].to_numpy()
    ps, pe = m["piece_start"].to_numpy(), m["piece_end"].to_numpy()
    bs, be = d["b_start"].to_numpy()[day], d["b_end"].to_numpy()[day]
    taken = np.clip(np.minimum(pe, be) - np.maximum(ps, bs), 0, None)
    hit = np.flatnonzero(d["is_workday"].to_numpy()[day] & (taken >= p.thresholds.break_overlap_minutes * 60))
    s_txt, e_txt = t.clock(ps[hit], day[hit]), t.clock(pe[hit], day[hit])
    return [Finding(RULE, {"date": t.date_str(day[i]), "start": s, "end": e})
            for i, s, e in zip(hit, s_txt, e_txt)]
