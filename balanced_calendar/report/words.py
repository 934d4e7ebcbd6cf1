"""Every sentence a team report shows, in Bahasa Indonesia and English (as :mod:`balanced_calendar.texts`).

Numbers, dates and hours are formatted with the digest's Babel helpers
(:mod:`balanced_calendar.digest.i18n`), so both products write ``37,5`` / ``37.5`` alike.
"""

from __future__ import annotations

from typing import Any

from balanced_calendar.texts import check_language

WORDS: dict[str, dict[str, str]] = {
    "title": {"en": "Team workload report: {name}", "id": "Laporan beban kerja tim: {name}"},
    "org_title": {"en": "Organisation workload report", "id": "Laporan beban kerja organisasi"},
    "period": {"en": "Week {week} ({start} – {end}), {zone}", "id": "Minggu {week} ({start} – {end}), {zone}"},
    "members": {"en": "{n} contributing members (anonymity threshold k = {k})",
                "id": "{n} anggota berkontribusi (ambang anonimitas k = {k})"},
    "waiting": {"en": "{n} new member(s) will be included once at least {k} new members can join together.",
                "id": "{n} anggota baru akan diikutkan setelah sedikitnya {k} anggota baru dapat bergabung bersama."},
    "privacy": {"en": "Aggregates only: no names, addresses, titles or individual figures. Cells, "
                      "quartiles and teams with fewer than {k} people are hidden.",
                "id": "Hanya agregat: tanpa nama, alamat, judul acara, atau angka perorangan. Sel, kuartil, "
                      "dan tim dengan kurang dari {k} orang disembunyikan."},
    "suppressed": {"en": "This report is withheld.", "id": "Laporan ini tidak ditampilkan."},
    "reason.too_few": {"en": "Fewer than {k} members contributed this week, so any figure could point at a "
                             "person.",
                       "id": "Kurang dari {k} anggota berkontribusi minggu ini, sehingga angka apa pun dapat "
                             "menunjuk ke seseorang."},
    "reason.differencing": {"en": "Its members differ from another published group ({other}) by fewer than {k} "
                                  "people: comparing the two would reveal those people.",
                            "id": "Anggotanya berbeda dari kelompok lain yang sudah dilaporkan ({other}) kurang "
                                  "dari {k} orang: membandingkan keduanya akan mengungkap orang tersebut."},
    "reason.not_planned": {"en": "This group was not part of the configuration when the week was reported.",
                           "id": "Kelompok ini belum ada dalam konfigurasi saat minggu ini dilaporkan."},
    "shares": {"en": "Share of members with …", "id": "Persentase anggota dengan …"},
    "share.overtime_streak": {"en": "an overtime streak (3+ days in a row)",
                              "id": "lembur beruntun (3 hari atau lebih)"},
    "share.weekend_or_holiday_work": {"en": "work on a weekend or holiday", "id": "kerja di akhir pekan atau hari libur"},
    "share.short_rest": {"en": "short rest between two days (under 11 h)",
                         "id": "istirahat antarhari yang singkat (kurang dari 11 jam)"},
    "hours": {"en": "Hours per person in the week", "id": "Jam per orang dalam seminggu"},
    "hour.after_hours": {"en": "outside working hours", "id": "di luar jam kerja"},
    "hour.meetings": {"en": "in meetings", "id": "dalam rapat"},
    "hour.focus": {"en": "focus time (free stretches of 2 h or more)",
                   "id": "waktu fokus (waktu luang 2 jam atau lebih)"},
    "col.figure": {"en": "figure", "id": "angka"},
    "col.q1": {"en": "lower quartile", "id": "kuartil bawah"},
    "col.median": {"en": "median", "id": "median"},
    "col.q3": {"en": "upper quartile", "id": "kuartil atas"},
    "col.n": {"en": "people", "id": "orang"},
    "hidden": {"en": "hidden (< k)", "id": "disembunyikan (< k)"},
    "oow": {"en": "Meetings outside the core meeting window: {value} per person",
            "id": "Rapat di luar jendela rapat inti: {value} per orang"},
    "heatmap": {"en": "When people worked outside working hours (number of people per weekday and hour, "
                      "each in their own time zone)",
                "id": "Kapan orang bekerja di luar jam kerja (jumlah orang per hari dan jam, "
                      "masing-masing di zona waktunya)"},
    "heatmap.note": {"en": "Empty cells: fewer than {k} people (including none).",
                     "id": "Sel kosong: kurang dari {k} orang (termasuk tidak ada)."},
    "trend": {"en": "Trend over {n} weeks", "id": "Tren {n} minggu"},
    "trend.week": {"en": "week", "id": "minggu"},
    "trend.members": {"en": "members", "id": "anggota"},
    "trend.streak": {"en": "overtime streak", "id": "lembur beruntun"},
    "trend.after": {"en": "median h outside hours", "id": "median jam di luar jam kerja"},
    "trend.meetings": {"en": "median h in meetings", "id": "median jam rapat"},
    "trend.withheld": {"en": "withheld", "id": "tidak ditampilkan"},
    "trend.chart": {"en": "Median hours outside working hours per person, week by week",
                    "id": "Median jam di luar jam kerja per orang, per minggu"},
    "teams": {"en": "Teams", "id": "Tim"},
    "team": {"en": "team", "id": "tim"},
    "org.withheld_total": {"en": "The organisation-wide figures are withheld.",
                           "id": "Angka seluruh organisasi tidak ditampilkan."},
    "definitions": {"en": "How the figures are defined", "id": "Definisi angka"},
    "def.members": {"en": "Contributing members: enrolled members (of the team and its sub-teams) who agreed to "
                          "team reports and whose whole week was audited. New members join in groups of at "
                          "least {k}, and a week's figures never change once reported.",
                    "id": "Anggota berkontribusi: anggota terdaftar (tim dan subtimnya) yang menyetujui laporan "
                          "tim dan seluruh minggunya telah diaudit. Anggota baru bergabung dalam kelompok "
                          "sedikitnya {k} orang, dan angka suatu minggu tidak berubah setelah dilaporkan."},
    "def.quartiles": {"en": "Median and quartiles: half of the members are below the median; a quarter below "
                            "the lower and a quarter above the upper quartile. Shown only for at least {k} people.",
                      "id": "Median dan kuartil: separuh anggota di bawah median; seperempat di bawah kuartil "
                            "bawah dan seperempat di atas kuartil atas. Hanya ditampilkan untuk sedikitnya {k} orang."},
    "subject": {"en": "Team report {name}, week {week}", "id": "Laporan tim {name}, minggu {week}"},
    "org_subject": {"en": "Organisation report, week {week}", "id": "Laporan organisasi, minggu {week}"},
    "mail.body": {"en": "The anonymised workload report of {name} for week {week} is attached as one HTML file "
                        "(open it in any browser; it loads nothing from the internet).\n\n{summary}\n",
                  "id": "Laporan beban kerja {name} yang dianonimkan untuk minggu {week} terlampir sebagai satu "
                        "berkas HTML (buka di peramban mana pun; berkas ini tidak memuat apa pun dari internet)."
                        "\n\n{summary}\n"},
    "mail.summary": {"en": "{n} contributing members; {streak} with an overtime streak; median {after} h outside "
                           "working hours per person.",
                     "id": "{n} anggota berkontribusi; {streak} dengan lembur beruntun; median {after} jam di luar "
                           "jam kerja per orang."},
}


def say(key: str, lang: str, **values: Any) -> str:
    """The report text ``key`` in ``lang`` with ``values`` filled in.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for an unknown language.
    """
    return WORDS[key][check_language(lang)].format(**values)
