"""Message catalogues and locale formatting of the digest (Babel/gettext).

Strings in the templates and here are English msgids; ``locale/id/LC_MESSAGES/digest.po`` holds
Bahasa Indonesia, compiled to ``digest.mo`` (committed, so a fresh ``pip install -e .`` works;
``tests/test_digest_i18n.py`` checks the ``.mo`` matches the ``.po`` and that every msgid is
translated; recompile with ``pybabel compile -D digest -d balanced_calendar/digest/locale``).
Dates and numbers go through :mod:`babel.dates` / :mod:`babel.numbers` with ``id_ID`` or ``en``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "digest"

#: our language codes → Babel locales
LOCALES: dict[str, str] = {"id": "id_ID", "en": "en"}


def locale_of(lang: str) -> str:
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LOCALES)})") from None


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The gettext catalogue of ``lang`` (English is the source language: no catalogue)."""
    locale_of(lang)
    if lang == "en":
        return NullTranslations()
    found = Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    if not isinstance(found, Translations):  # a missing .mo must not silently send English
        raise RuntimeError(f"the {lang} digest catalogue is missing under {LOCALE_DIR}")
    return found


def gettext(lang: str, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


def date_long(day: dt.date, lang: str) -> str:
    """``14 Desember 2026`` / ``December 14, 2026``."""
    return format_date(day, format="long", locale=locale_of(lang))


def date_short(day: dt.date, lang: str) -> str:
    """``Sen, 14 Des`` / ``Mon, Dec 14``."""
    return format_date(day, format="EEE, d MMM" if lang == "id" else "EEE, MMM d", locale=locale_of(lang))


def weekday_short(day: dt.date, lang: str) -> str:
    return format_date(day, format="EEE", locale=locale_of(lang))


def hours(minutes: int | float, lang: str) -> str:
    """Minutes as decimal hours per locale: ``37,5`` (id) / ``37.5`` (en)."""
    return format_decimal(round(minutes / 60, 1), format="#,##0.0", locale=locale_of(lang))


def number(value: int, lang: str) -> str:
    return format_decimal(value, locale=locale_of(lang))
