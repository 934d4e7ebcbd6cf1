"""Enrollment with recorded consent (UU 27/2022), and withdrawal that erases everything."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from balanced_calendar.model import UserError
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import ConsentRecord, PersonRecord

log = logging.getLogger(__name__)

CONSENT_VERSION = "2026-11-v1"

READ_SCOPES = ("calendar.events.read",)
WRITE_SCOPES = ("calendar.events.write.own_blocks",)

PURPOSES = ("workload_audit", "weekly_digest", "anonymised_team_report")
PROTECT_PURPOSES = ("focus_and_recovery_blocks",)

CONSENT_TEXT = {
    "id": (
        "Persetujuan pemrosesan data kalender (UU 27/2022 tentang Pelindungan Data Pribadi)\n"
        "balanced-calendar membaca waktu mulai, waktu selesai dan status acara di kalender kerja Anda "
        "untuk: (1) menghitung beban kerja dan tanda kelelahan (lembur, kerja akhir pekan/hari libur, "
        "istirahat pendek), (2) mengirim ringkasan keseimbangan mingguan kepada Anda, dan (3) menyusun "
        "laporan tim yang dianonimkan (hanya agregat, tim kurang dari {k} orang tidak dilaporkan).\n"
        "Judul, deskripsi, lokasi dan alamat peserta tidak disimpan. {write}"
        "Anda dapat menarik persetujuan kapan saja; semua data Anda dihapus sekaligus."
    ),
    "en": (
        "Consent to process calendar data (Indonesia's Personal Data Protection Law, UU 27/2022)\n"
        "balanced-calendar reads the start, end and status of events in your work calendar to: "
        "(1) measure workload and overload signals (overtime, weekend/holiday work, short rest), "
        "(2) email you a weekly balance digest, and (3) build anonymised team reports (aggregates "
        "only; teams under {k} people are never reported).\n"
        "Titles, descriptions, locations and attendee addresses are never stored. {write}"
        "You can withdraw at any time; all your data is then erased at once."
    ),
}
WRITE_TEXT = {
    "id": "Karena Anda mengizinkan penulisan, blok fokus dan pemulihan milik balanced-calendar akan "
          "ditambahkan ke kalender Anda (tanpa undangan atau notifikasi). ",
    "en": "Because you allow writes, balanced-calendar adds its own focus and recovery blocks to your "
          "calendar (no invitations, no notifications). ",
}


def consent_text(language: str, protect: bool, *, k: int) -> str:
    """The consent text in both languages, the person's language first.

    ``k`` is the configured anonymity threshold (``rt.config.reports.k``): the text promises it.
    """
    order = ("id", "en") if language == "id" else ("en", "id")
    return "\n\n".join(CONSENT_TEXT[lang].format(write=WRITE_TEXT[lang] if protect else "", k=k)
                       for lang in order)


@dataclass(frozen=True)
class EnrollRequest:
    email: str
    provider: str
    calendar: str | None = None  # for ics: a path or URL (kept encrypted: URLs carry secrets)
    timezone: str | None = None
    language: str | None = None
    team: str | None = None
    protect: bool = False
    digest: bool = True


def enroll(rt: Runtime, req: EnrollRequest) -> PersonRecord:
    """Record consent and settings (one transaction) and store the credentials encrypted.

    Settings come from the request, then the person's ``[[people]]`` entry, then ``[service]``.
    Raises :class:`UserError` for an unknown team or connector, or missing calendar source.
    """
    email = req.email.strip().lower()
    if "@" not in email:
        raise UserError(f"{req.email!r} is not an email address")
    cfg = rt.config.person(email)
    service = rt.config.service
    provider = req.provider or (cfg.connector if cfg else "")
    if cfg is not None and cfg.connector != provider:
        raise UserError(f"the config says this person uses the {cfg.connector!r} connector, not {provider!r}")
    team = req.team or (cfg.team if cfg else None)
    if team is not None and rt.config.team(team) is None:
        raise UserError(f"unknown team {team!r}", hint="declare it in [[teams]] of the config")
    if provider == "ics":
        source = req.calendar or (cfg.ics_source if cfg else None)
        if not source:
            raise UserError("an ICS person needs --calendar PATH|URL (or calendar = … in their [[people]] entry)")
        secret = {"source": source}
        calendar = "ics"
    else:
        raise UserError(f"connector {provider!r} is not available in this version", hint="use --provider ics")
    protect = req.protect or (cfg.protect if cfg else False)
    language = req.language or (cfg.language if cfg else service.language)
    now = rt.clock()
    person = PersonRecord(
        email=email, connector=provider, calendar=calendar,
        timezone=req.timezone or (cfg.timezone if cfg else service.timezone),
        language=language, team=team, protect=protect,
        digest=req.digest and (cfg.digest if cfg else True), enrolled_at=now)
    consent = ConsentRecord(
        email=email, at=now, scopes=READ_SCOPES + (WRITE_SCOPES if protect else ()),
        purposes=PURPOSES + (PROTECT_PURPOSES if protect else ()),
        text_version=CONSENT_VERSION, language=language)
    stored = rt.store.enroll(person, consent)
    rt.save_credentials(email, provider, secret)
    log.info("enrolled %s (%s, protect=%s)", stored.pseudonym, provider, protect)
    return stored


def unenroll(rt: Runtime, email: str, *, reason: str = "consent withdrawn") -> str:
    """Withdraw: remove future own blocks where the connector can, then erase everything.

    Returns the pseudonym kept in the erasure log. Raises ``NotEnrolled``.
    """
    person = rt.store.get_person(email)
    now = rt.clock()
    future = [b for b in rt.store.own_blocks(person.email) if b.start > now and b.state == "active"]
    if future:
        connector = rt.connector_for(person)
        if not connector.read_only:
            from balanced_calendar.model import Event, Kind

            for block in future:
                connector.delete_block(Event(uid=block.block_id, start=block.start, end=block.end,
                                             kind=Kind.OWN_BLOCK, title=block.title))
    pseudonym = rt.store.erase_person(person.email, reason)
    log.info("erased %s (%s)", pseudonym, reason)
    return pseudonym
