"""Two or more meetings chained with gaps under N minutes, spanning at least M minutes."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "back_to_back"
DEFINITION: dict[str, str] = {
    "en": ("two or more meetings with less than {back_to_back_gap_minutes} minutes between them, "
           "together lasting at least {back_to_back_span_minutes} minutes"),
    "id": ("dua rapat atau lebih dengan jeda kurang dari {back_to_back_gap_minutes} menit, "
           "yang bersama-sama berlangsung sedikitnya {back_to_back_span_minutes} menit"),
}
DESCRIBE: dict[str, str] = {
    "en": "back-to-back meetings {start}–{end} on {date} ({minutes:h} h)",
    "id": "rapat beruntun {start}–{end} pada {date} ({minutes:h} jam)",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    m = t.meetings  # sorted by (day, piece_start)
    if len(m) < 2:
        return []
    th = p.thresholds
    day = m["day"].to_numpy()
    ps, pe = m["piece_start"].to_numpy(), m["piece_end"].to_numpy()
    reach = np.maximum.accumulate(pe)
    new = np.ones(ps.size, dtype=bool)
    new[1:] = (day[1:] != day[:-1]) | (ps[1:] - reach[:-1] >= th.back_to_back_gap_minutes * 60)
    first = np.flatnonzero(new)
    count = np.diff(np.r_[first, ps.size])
    chain_start = ps[first]
    chain_end = np.maximum.reduceat(pe, first)
    span = chain_end - chain_start
    hit = np.flatnonzero((count >= 2) & (span >= th.back_to_back_span_minutes * 60))
    days = day[first[hit]]
    s_txt, e_txt = t.clock(chain_start[hit], days), t.clock(chain_end[hit], days)
    return [Finding(RULE, {"date": t.date_str(dd), "start": s, "end": e, "minutes": int(mm)})
            for dd, s, e, mm in zip(days, s_txt, e_txt, minutes(span[hit]))]
