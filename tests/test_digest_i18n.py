"""The digest's message catalogue: every text translated, the committed .mo matches the .po."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import balanced_calendar.digest as digest_pkg

PKG = Path(digest_pkg.__file__).parent
PO = PKG / "locale" / "id" / "LC_MESSAGES" / "digest.po"
MO = PKG / "locale" / "id" / "LC_MESSAGES" / "digest.mo"


def _msgids() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.j2", "jinja2")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True",
                                      "lstrip_blocks": "True"}}
    keywords = {"_": None, "N_": None, "gettext": (2,)}
    return {msg[2] if isinstance(msg[2], str) else msg[2][0]
            for msg in extract_from_dir(str(PKG), method_map, options, keywords=keywords)}


def test_every_digest_text_has_a_bahasa_indonesia_translation():
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id}
    ids = _msgids()
    assert len(ids) > 30
    missing = sorted(i for i in ids if not translated.get(i))
    assert missing == []


def test_compiled_catalogue_matches_the_po_file():
    with PO.open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    mo = {m.id: m.string for m in read_mo(io.BytesIO(MO.read_bytes())) if m.id}
    assert mo == po
