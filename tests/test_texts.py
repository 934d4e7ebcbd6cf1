"""Texts in Bahasa Indonesia and English (docs/contributing.md): every rule carries its definition and
its finding sentence in both languages; the table follows ``--lang``, else the policy's (or the
person's) language; JSON and CSV never change with the language."""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from balanced_calendar import texts
from balanced_calendar.model import AuditResult, Finding, ShowAs
from balanced_calendar.policyfile import load_policy
from policies import RULES
from tests.helpers import all_day, audit, ev, meeting

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = FIXTURES / "cli" / "design_example_overtime_week.ics"
RANGE = ["--me", "rina@agency.go.id", "--tz", "Asia/Jakarta", "--start", "2026-12-14", "--end", "2026-12-27"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    return proc


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.fixture(scope="module")
def every_rule_fires() -> list[AuditResult]:
    """A busy fortnight (and one meeting-heavy Monday) in which each of the 12 rules fires."""
    fortnight = audit([
        meeting("2026-12-14", "08:00", "09:30"),   # before the meeting window
        meeting("2026-12-14", "09:35", "11:00"),   # back to back with it
        meeting("2026-12-14", "12:00", "13:00"),   # over the break
        meeting("2026-12-14", "13:00", "16:00"),   # no two free hours left: focus deficit
        ev("2026-12-14", "19:00", "23:00"),        # long day, after hours
        ev("2026-12-15", "06:00", "07:00"),        # short rest after 23:00
        ev("2026-12-15", "18:00", "20:00"),
        ev("2026-12-16", "18:00", "20:00"),        # third evening: overtime streak
        all_day("2026-12-17", "2026-12-18", show_as=ShowAs.OOF),
        ev("2026-12-17", "09:00", "10:00"),        # work on leave
        ev("2026-12-19", "09:00", "10:00"),        # Saturday
        ev("2026-12-25", "09:00", "10:00"),        # Christmas
    ], "2026-12-14", "2026-12-27")
    meetings_all_day = audit([meeting("2026-12-21", "09:00", "15:00")], "2026-12-21")  # meeting overload
    return [fortnight, meetings_all_day]


def test_every_rule_has_both_languages_with_the_same_placeholders():
    for rule in RULES:
        for table in (rule.DEFINITION, rule.DESCRIBE):
            assert set(table) == set(texts.LANGUAGES), rule.RULE
            assert all(table[lang].strip() for lang in texts.LANGUAGES), rule.RULE
        assert fields_of(rule.DEFINITION["id"]) == fields_of(rule.DEFINITION["en"]), rule.RULE
        assert fields_of(rule.DESCRIBE["id"]) == fields_of(rule.DESCRIBE["en"]), rule.RULE
    for key, table in texts.UI.items():
        assert set(table) == set(texts.LANGUAGES), key


def test_every_definition_formats_with_the_policy_numbers_in_both_languages():
    for preset in ("asn-id", "default"):
        policy = load_policy(preset)
        for lang in texts.LANGUAGES:
            defs = texts.definitions(policy, lang)
            assert list(defs) == [rule.RULE for rule in RULES]
            assert not any("{" in text for text in defs.values())
    asn = load_policy("asn-id")
    assert texts.definition("after_hours", asn, "id") == "hari kerja dengan sedikitnya 30 menit kerja di luar jam kerja"
    assert "sebelum pukul 09:00 atau berakhir setelah pukul 15:00" in texts.definition("out_of_window_meeting", asn, "id")
    assert "more than 50% of working hours" in texts.definition("meeting_overload", asn, "en")


def test_every_finding_reads_well_in_both_languages(every_rule_fires):
    found = [f for result in every_rule_fires for f in result.findings]
    assert set(Counter(f.rule for f in found)) == {rule.RULE for rule in RULES}
    for f in found:
        for lang in texts.LANGUAGES:
            sentence = texts.describe(f, lang)
            assert sentence and "{" not in sentence and f.rule not in sentence, (f, lang)
            for value in f.fields.values():
                if isinstance(value, str):
                    assert value in sentence, (f, lang, sentence)  # dates, times, holiday, week as in JSON
    by_rule = {f.rule: f for f in found}
    assert texts.describe(by_rule["weekend_work"], "id") == "1:00 jam kerja pada 2026-12-19 (akhir pekan)"
    assert texts.describe(by_rule["weekend_work"], "en") == "1:00 h of work on 2026-12-19 (weekend)"
    assert texts.describe(by_rule["short_rest"], "id") == "hanya 7:00 jam istirahat sebelum 2026-12-15"
    assert texts.describe(by_rule["meeting_overload"], "id").startswith("6:00 jam rapat pada pekan 2026-W52")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        texts.describe(Finding("weekend_work", {"date": "2026-12-19", "minutes": 60}), "fr")


def test_config_and_policy_files_accept_exactly_the_languages_of_the_texts():
    from balanced_calendar import config, policyfile

    assert config.LANGUAGES is texts.LANGUAGES and policyfile.LANGUAGES is texts.LANGUAGES


def test_table_in_indonesian_shows_headings_legend_and_the_policys_own_threshold(tmp_path):
    policy = tmp_path / "strict.toml"
    policy.write_text('extends = "asn-id"\n[thresholds]\nafter_hours_minutes = 45\n')
    out = run("audit", "--ics", str(EXAMPLE), *RANGE, "--policy", str(policy), "--format", "table",
              "--lang", "id").stdout
    assert re.search(r"^tanggal +hari +jenis +kerja +rapat +lembur +rentang +luang$", out, re.M), out
    assert "2026-12-14 Sen  hari kerja" in out and "2026-12-19 Sab  libur" in out
    assert "lembur = kerja di luar jam kerja" in out and "luang = waktu luang terpanjang" in out
    assert "after_hours — hari kerja dengan sedikitnya 45 menit kerja di luar jam kerja" in out
    assert "2:00 jam di luar jam kerja pada 2026-12-14" in out
    assert "Temuan (" in out and "Total: kerja 13:15 jam" in out
    assert "workday" not in out and "Findings" not in out


def test_table_in_english_explains_every_heading():
    out = run("audit", "--ics", str(EXAMPLE), *RANGE, "--policy", "asn-id", "--format", "table",
              "--lang", "en").stdout
    assert re.search(r"^date +day +type +work +meet +after +span +free$", out, re.M), out
    assert "2026-12-14 Mon workday" in out
    assert "after = work outside working hours" in out and "span = first start – last end" in out
    assert "free = longest free stretch inside working hours" in out
    assert "after_hours — a workday with at least 30 minutes of work outside working hours" in out
    assert "Total: work 13:15 h, meetings 5:15 h, outside hours 8:00 h" in out


def test_holiday_names_are_shown_whole(tmp_path):
    out = run("audit", "--ics", str(EXAMPLE), *RANGE, "--format", "table").stdout
    assert "2026-12-24 Kam  Cuti Bersama Hari Raya Natal " in out
    policy = tmp_path / "anniversary.toml"
    name = "Hari Ulang Tahun Kementerian Keuangan Republik Indonesia ke-80"
    policy.write_text(f'extends = "asn-id"\n[holidays]\nextra = {{ "2026-12-21" = "{name}" }}\n')
    out = run("audit", "--ics", str(EXAMPLE), *RANGE, "--policy", str(policy), "--format", "table").stdout
    rows = out.split("2026-12-21 Sen  ")[1].split("2026-12-22")[0].splitlines()
    assert len(rows) > 1  # wrapped at spaces onto the following lines, every word kept
    assert " ".join(re.split(r" {2,}", row.strip())[0] for row in rows) == name


def test_table_language_follows_the_policy_unless_asked():
    asn = run("audit", "--ics", str(EXAMPLE), *RANGE, "--policy", "asn-id", "--format", "table").stdout
    assert "Temuan (" in asn and "kebijakan asn-id" in asn
    generic = run("audit", "--ics", str(EXAMPLE), *RANGE, "--policy", "default", "--format", "table").stdout
    assert "Findings (" in generic and "policy default" in generic


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_do_not_depend_on_the_language(fmt):
    outputs = {run("audit", "--ics", str(EXAMPLE), *RANGE, "--format", fmt, *lang).stdout
               for lang in ([], ["--lang", "id"], ["--lang", "en"])}
    assert len(outputs) == 1
    (out,) = outputs
    assert not any(word in out for word in ("lembur", "overtime days", "Temuan", "Findings"))


def test_policy_command_prints_definitions_in_either_language():
    indonesian = run("policy", "asn-id").stdout
    assert "after_hours: hari kerja dengan sedikitnya 30 menit kerja di luar jam kerja" in indonesian
    assert "aturan:" in indonesian and "mon: 07:30–16:00 (istirahat 12:00–13:00)" in indonesian
    english = run("policy", "asn-id", "--lang", "en").stdout
    assert "after_hours: a workday with at least 30 minutes of work outside working hours" in english
    assert "rules:" in english and "sat: off" in english
