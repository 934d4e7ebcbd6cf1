"""The weekly digest as a recipient's mail client sees it: structure, headers, both languages,
the chart, only the person's own figures. Messages are parsed back with ``email``."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import struct
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from digest_helpers import RINA, SENDER, digest_for, leave_week, make_store

from balanced_calendar.digest.render import build_message, preview_html

NOW = dt.datetime(2026, 12, 21, 0, 0, tzinfo=dt.timezone.utc)


def parsed(tmp_path, lang: str | None = None, **kw) -> EmailMessage:  # type: ignore[no-untyped-def]
    store, person = make_store(tmp_path, **kw)
    msg = build_message(digest_for(store, person, lang, leader=True), SENDER, "p-tok.abc", NOW)
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_structure_is_related_alternative_plus_inline_chart(tmp_path):
    m = parsed(tmp_path)
    assert [p.get_content_type() for p in m.walk()] == [
        "multipart/related", "multipart/alternative", "text/plain", "text/html", "image/png"]
    html = m.get_body(("html",)).get_content()
    image = [p for p in m.walk() if p.get_content_type() == "image/png"][0]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content_disposition() == "inline"
    alt = re.search(r'<img [^>]*alt="([^"]+)"', html)
    assert alt and "Sen" in alt.group(1) and "Min" in alt.group(1)  # every day in words


def test_headers_date_message_id_and_one_click_unsubscribe(tmp_path):
    m = parsed(tmp_path)
    assert parsedate_to_datetime(m["Date"]) == NOW
    assert re.fullmatch(r"<digest\.[0-9a-f]{32}@agency\.go\.id>", m["Message-ID"])
    assert "rina" not in m["Message-ID"]
    assert m["To"] == RINA and m["From"] == SENDER.address
    assert m["List-Unsubscribe"].strip() == ("<mailto:unsubscribe@agency.go.id?subject=unsubscribe%20p-tok.abc>, "
                                     "<https://calendar.agency.go.id/unsubscribe/p-tok.abc>")
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_id_is_stable_per_person_week(tmp_path):
    store, person = make_store(tmp_path)
    ids = {build_message(digest_for(store, person, lang, week=week), SENDER, "t", NOW)["Message-ID"]
           for lang in ("id", "en") for week in ((2026, 51),)}
    assert len(ids) == 1  # a resend of the same week is recognisable as the same message
    other = build_message(digest_for(store, person, "id", week=(2026, 50)), SENDER, "t", NOW)["Message-ID"]
    assert other not in ids


def test_html_is_email_safe(tmp_path):
    html = parsed(tmp_path).get_body(("html",)).get_content()
    assert "<style" not in html and "<link" not in html and "<script" not in html
    assert "max-width:600px" in html
    widths = [int(w) for w in re.findall(r'width="(\d+)"', html)]
    assert widths and max(widths) <= 600
    external = re.findall(r'(?:src|href)="(https?:[^"]*)"', html)
    assert external == ["https://calendar.agency.go.id/unsubscribe/p-tok.abc"]  # a link, never a resource


def test_bahasa_indonesia_and_english(tmp_path):
    id_msg = parsed(tmp_path / "id", "id")
    en_msg = parsed(tmp_path / "en", "en")
    assert id_msg["Subject"] == "Keseimbangan minggu 2026-W51 Anda (Sen, 14 Des – Min, 20 Des)"
    assert en_msg["Subject"] == "Your week 2026-W51 in balance (Mon, Dec 14 – Sun, Dec 20)"
    id_text = id_msg.get_body(("plain",)).get_content()
    en_text = en_msg.get_body(("plain",)).get_content()
    assert "14 Desember 2026 – 20 Desember 2026" in id_text and "kerja: 63,5 jam" in id_text
    assert "December 14, 2026 – December 20, 2026" in en_text and "work: 63.5 h" in en_text
    # findings in plain words with their rule's definition, in the reader's language
    assert "6 hari lembur berturut-turut, 2026-12-14 s.d. 2026-12-19" in id_text
    assert "6 overtime days in a row, 2026-12-14 to 2026-12-19" in en_text
    assert "30 minutes of work outside working hours" in en_text
    # suggestions chosen from the findings: an overtime streak asks for recovery first
    assert re.search(r"Saran\n  - Setelah lembur", id_text)
    assert re.search(r"Suggestions\n  - After an overtime streak", en_text)
    assert "Teladan Anda sebagai pimpinan" in id_text and "1 meeting(s)" in en_text and "6 participant(s)" in en_text
    assert id_msg["Content-Language"] == "id" and en_msg["Content-Language"] == "en"


def test_four_week_trend_and_totals(tmp_path):
    text = parsed(tmp_path, "en").get_body(("plain",)).get_content()
    trend = text.split("Last 4 weeks (hours)\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(":")[0].strip() for line in trend] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    assert "2026-W50: work 37.5" in text


def test_chart_is_a_png_of_560_by_220(tmp_path):
    image = [p for p in parsed(tmp_path).walk() if p.get_content_type() == "image/png"][0]
    data = image.get_content()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (560, 220)


def test_only_the_persons_own_figures(tmp_path):
    store, person = make_store(tmp_path)
    # a colleague with other figures in the same store
    from digest_helpers import ev

    make_store(tmp_path, [ev("2026-12-15", "05:00", "23:00")], email="budi@agency.go.id")
    msg = build_message(digest_for(store, person, "en"), SENDER, "t", NOW)
    raw = msg.as_bytes()
    assert b"budi" not in raw and b"18.0" not in raw  # Budi's 18-hour day is nowhere
    assert b"Your example as a leader" not in raw  # not asked for: no leader section


def test_first_digest_of_a_month_asks_for_reflection(tmp_path):
    store, person = make_store(tmp_path)
    # W49 (Nov 30 – Dec 6) is sent on Monday Dec 7: the first digest of December
    assert digest_for(store, person, "en", week=(2026, 49)).reflection
    assert not digest_for(store, person, "en", week=(2026, 51)).reflection
    text = build_message(digest_for(store, person, "en", week=(2026, 49)), SENDER, "t", NOW).as_string()
    assert "A question for the new month" in text


def test_a_week_entirely_on_leave_is_recognised(tmp_path):
    store, person = make_store(tmp_path, leave_week())
    assert digest_for(store, person, "en").all_leave
    store2, person2 = make_store(tmp_path / "b")
    assert not digest_for(store2, person2, "en").all_leave


def test_preview_is_standalone_html(tmp_path):
    store, person = make_store(tmp_path)
    html = preview_html(digest_for(store, person, "id"), unsubscribe="https://x.example/u")
    assert 'src="data:image/png;base64,' in html and "cid:" not in html
    assert '<html lang="id">' in html


def test_reused_chart_figure_leaks_nothing_between_digests(tmp_path):
    """One figure per process and language is reused: a digest's PNG does not depend on which
    digests were drawn before, and equals a full draw of a fresh figure."""
    import io

    import numpy as np
    from PIL import Image

    from balanced_calendar.digest import chart

    store, person = make_store(tmp_path / "a")
    leave_store, leave_person = make_store(tmp_path / "b", leave_week())
    heavy = digest_for(store, person, "en")
    chart._reset()
    first = chart.render_chart(heavy)
    for other in (digest_for(leave_store, leave_person, "en"), digest_for(store, person, "en", week=(2026, 50)),
                  digest_for(store, person, "id")):
        chart.render_chart(other)
    assert chart.render_chart(heavy) == first
    fresh = chart._Chart("en")
    fresh.png(heavy)  # the first digest of a figure is a full draw
    fresh.canvas.draw()
    full = np.asarray(fresh.canvas.buffer_rgba()).astype(int)
    blitted = np.asarray(Image.open(io.BytesIO(first)).convert("RGBA")).astype(int)
    assert full.shape == blitted.shape == (220, 560, 4)
    assert np.abs(full - blitted).max() <= 1 and (full != blitted).any(axis=2).sum() <= 5
