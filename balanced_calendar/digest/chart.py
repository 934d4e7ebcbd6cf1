"""The digest's chart: daily stacked bars (meetings / other work / after-hours) against the
working window, drawn with matplotlib's Agg backend (no display, no pyplot state)."""

from __future__ import annotations

import io

from balanced_calendar.digest import i18n
from balanced_calendar.digest.compose import Digest

COLOURS = {"meetings": "#3b6ea5", "other": "#8fb8de", "after": "#d9822b", "window": "#333333"}


def stacks(digest: Digest) -> list[tuple[int, int, int]]:
    """Per day ``(meetings, other work, after-hours)`` minutes; the three add up to the day's work.

    Meetings and other work are the part inside working hours (meetings first), after-hours
    the rest.
    """
    out = []
    for d in digest.days:
        after = min(d.after, d.work)
        inside = d.work - after
        meetings = min(d.meetings, inside)
        out.append((meetings, inside - meetings, after))
    return out


def alt_text(digest: Digest) -> str:
    """What the chart shows, in words, for people who cannot see it."""
    lang = digest.lang
    parts = []
    for d, (m, o, a) in zip(digest.days, stacks(digest)):
        parts.append(i18n.gettext(lang, "%(day)s: meetings %(m)s h, other work %(o)s h, after hours %(a)s h",
                                  day=i18n.weekday_short(d.date, lang), m=i18n.hours(m, lang),
                                  o=i18n.hours(o, lang), a=i18n.hours(a, lang)))
    return i18n.gettext(lang, "Chart of hours per day, %(start)s to %(end)s.",
                        start=i18n.date_long(digest.start, lang), end=i18n.date_long(digest.end, lang)) \
        + " " + "; ".join(parts) + "."


def render_chart(digest: Digest) -> bytes:
    """The chart as PNG bytes, 560×220 px."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lang = digest.lang
    fig = Figure(figsize=(5.6, 2.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.14, 0.9, 0.72))
    xs = list(range(7))
    data = stacks(digest)
    meetings = [m / 60 for m, _o, _a in data]
    other = [o / 60 for _m, o, _a in data]
    after = [a / 60 for _m, _o, a in data]
    ax.bar(xs, meetings, color=COLOURS["meetings"], label=i18n.gettext(lang, "meetings"), width=0.6)
    ax.bar(xs, other, bottom=meetings, color=COLOURS["other"], label=i18n.gettext(lang, "other work"), width=0.6)
    ax.bar(xs, after, bottom=[m + o for m, o in zip(meetings, other)], color=COLOURS["after"],
           label=i18n.gettext(lang, "after hours"), width=0.6)
    for x, d in zip(xs, digest.days):
        if d.window:
            ax.hlines(d.window / 60, x - 0.4, x + 0.4, colors=COLOURS["window"], linestyles="dashed", linewidth=1)
    ax.plot([], [], color=COLOURS["window"], linestyle="dashed", linewidth=1,
            label=i18n.gettext(lang, "working window"))
    ax.set_xticks(xs, [i18n.weekday_short(d.date, lang) for d in digest.days], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylabel(i18n.gettext(lang, "hours"), fontsize=8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.2), ncols=4, fontsize=7, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
