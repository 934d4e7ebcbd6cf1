"""≥ N consecutive overtime days; non-workdays without overtime neither extend nor break a run."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline

RULE = "overtime_streak"
DEFINITION: dict[str, str] = {
    "en": ("{overtime_streak_days} or more overtime days in a row (a day with at least "
           "{overtime_day_minutes} minutes outside working hours); a workday without overtime ends "
           "the run, a weekend or holiday without overtime is skipped"),
    "id": ("{overtime_streak_days} hari lembur atau lebih berturut-turut (hari dengan sedikitnya "
           "{overtime_day_minutes} menit kerja di luar jam kerja); hari kerja tanpa lembur memutus "
           "rangkaian, akhir pekan atau hari libur tanpa lembur dilewati"),
}
DESCRIBE: dict[str, str] = {
    "en": "{days} overtime days in a row, {start} to {end}",
    "id": "{days} hari lembur berturut-turut, {start} s.d. {end}",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    th = p.thresholds
    days = t.days
    overtime = days["after_s"].to_numpy() >= th.overtime_day_minutes * 60
    relevant = np.flatnonzero(overtime | days["is_workday"].to_numpy())
    if relevant.size == 0:
        return []
    flags = overtime[relevant]
    # Runs of True in `flags`: boundaries where the value changes.
    edges = np.flatnonzero(np.diff(np.r_[False, flags, False].astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]  # stops exclusive
    findings = []
    for a, b in zip(starts, stops):
        if b - a >= th.overtime_streak_days:
            findings.append(Finding(RULE, {
                "start": t.date_str(relevant[a]), "end": t.date_str(relevant[b - 1]), "days": int(b - a)}))
    return findings
