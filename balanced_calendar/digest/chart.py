"""The digest's chart: daily stacked bars (meetings / other work / after-hours) against the
working window, drawn with matplotlib's Agg backend (no display, no pyplot state).

Drawing a new figure per digest costs most of a digest's render time, so each process keeps one
figure per language (:class:`_Chart`) and only updates the bar heights, the window marks and the
y axis for the next digest; a lock makes that safe when daemon threads render at the same time.
What never changes (legend, x axis with the weekday names, frame) is drawn once into a background
that each digest starts from (Agg ``copy_from_bbox``/``restore_region``), then only the bars, the
window marks, the frame lines and the y axis are drawn, in the order a full draw uses.
"""

from __future__ import annotations

import io
import threading
from typing import Any

from balanced_calendar.digest import i18n
from balanced_calendar.digest.compose import Digest

COLOURS = {"meetings": "#3b6ea5", "other": "#8fb8de", "after": "#d9822b", "window": "#333333"}
#: the PNG's size in pixels (figure inches × DPI); the HTML shows it at this size, with alt text
WIDTH_PX, HEIGHT_PX, DPI = 560, 220, 100


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


class _Chart:
    """One reusable figure in one language: 7 days × 3 stacked bars and a window mark per day."""

    def __init__(self, lang: str) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.ax = self.fig.add_axes((0.08, 0.14, 0.9, 0.72))
        xs = list(range(7))
        zero = [0.0] * 7
        self.bars = [ax.bar(xs, zero, color=COLOURS[key], label=i18n.gettext(lang, label), width=0.6)
                     for key, label in (("meetings", "meetings"), ("other", "other work"), ("after", "after hours"))]
        # one dashed mark per day (a Line2D each, so relim() sees them; hidden on days without a window)
        self.windows = [ax.plot([x - 0.4, x + 0.4], [0, 0], color=COLOURS["window"], linestyle="dashed",
                                linewidth=1)[0] for x in xs]
        ax.plot([], [], color=COLOURS["window"], linestyle="dashed", linewidth=1,
                label=i18n.gettext(lang, "working window"))
        self.labels: tuple[str, ...] = ()
        self.background: Any = None
        self.background_labels: tuple[str, ...] = ()
        ax.set_xticks(xs)
        ax.set_xlim(-0.74, 6.74)  # the 7 days' bars and window marks (±0.4) with a 5 % margin
        ax.tick_params(axis="x", labelsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_ylabel(i18n.gettext(lang, "hours"), fontsize=8)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.2), ncols=4, fontsize=7, frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        self.frame = [ax.spines["left"], ax.spines["bottom"]]

    def png(self, digest: Digest) -> bytes:
        data = stacks(digest)
        bottom = [0.0] * 7
        for i, container in enumerate(self.bars):
            for day, rect in enumerate(container.patches):
                height = data[day][i] / 60
                rect.set_y(bottom[day])
                rect.set_height(height)
                bottom[day] += height
        for line, d in zip(self.windows, digest.days):
            line.set_visible(bool(d.window))
            line.set_ydata([d.window / 60, d.window / 60] if d.window else [0, 0])
        labels = tuple(i18n.weekday_short(d.date, digest.lang) for d in digest.days)
        if labels != self.labels:
            self.ax.set_xticks(range(7), labels, fontsize=8)
            self.labels = labels
        self.ax.relim(visible_only=True)
        self.ax.autoscale_view(scalex=False)  # x is fixed: the x axis is part of the background
        ax = self.ax
        if self.background is None or self.background_labels != labels:
            # the static parts, once: a full draw without the artists that change per digest
            dynamic = self._dynamic()
            for artist in dynamic:
                artist.set_visible(False)
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.background_labels = labels
            for artist in dynamic:
                artist.set_visible(True)
            for line, d in zip(self.windows, digest.days):
                line.set_visible(bool(d.window))
        else:
            ax.get_ylim()  # applies the autoscale requested above
        self.canvas.restore_region(self.background)
        for artist in [*(r for c in self.bars for r in c.patches), *self.windows]:
            if artist.get_visible():
                ax.draw_artist(artist)
        for spine in self.frame:  # zorder 2.5: over the bars, which start at y = 0
            ax.draw_artist(spine)
        ax.draw_artist(ax.yaxis)
        buf = io.BytesIO()
        from PIL import Image

        Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1) \
            .save(buf, format="png")
        return buf.getvalue()

    def _dynamic(self) -> list[Any]:
        return [*(r for c in self.bars for r in c.patches), *self.windows, *self.frame, self.ax.yaxis]


_charts: dict[str, _Chart] = {}
_lock = threading.Lock()


def render_chart(digest: Digest) -> bytes:
    """The chart as PNG bytes, :data:`WIDTH_PX` × :data:`HEIGHT_PX` (560×220) px."""
    with _lock:
        chart = _charts.get(digest.lang)
        if chart is None:
            chart = _charts[digest.lang] = _Chart(digest.lang)
        return chart.png(digest)


def _reset() -> Any:
    """Forget the cached figures (tests)."""
    with _lock:
        _charts.clear()
