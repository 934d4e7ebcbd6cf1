"""Enrollment with recorded consent (UU 27/2022), and withdrawal that erases everything."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from balanced_calendar.model import UserError
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import ConsentRecord, OwnBlock, PersonRecord
from connectors import available, connector_class, provider
from connectors.plugin import Enrolled, EnrollInput, Provider

log = logging.getLogger(__name__)

#: The version of the consent text below; bump it whenever the text or the enabled purposes change.
CONSENT_VERSION = "2026-12-v4"

READ_SCOPES = ("calendar.events.read",)
WRITE_SCOPES = ("calendar.events.write.own_blocks",)


@dataclass(frozen=True)
class Purpose:
    """One purpose of processing: the name recorded with the consent, the clause of the
    consent text that names it (per language), and whether this version serves it.

    A purpose is promised (consent text, recorded purposes, ``status`` columns) only while
    ``enabled``: the feature that serves it switches it on here, in one place, together with
    a new :data:`CONSENT_VERSION`.
    """

    name: str
    clause: Mapping[str, str]
    enabled: bool
    protect_only: bool = False  # only for people who allowed writes (``--protect``)


PURPOSE_LIST: tuple[Purpose, ...] = (
    Purpose("workload_audit", {
        "id": "menghitung beban kerja dan tanda kelelahan (lembur, kerja akhir pekan/hari libur, istirahat pendek)",
        "en": "measure workload and overload signals (overtime, weekend/holiday work, short rest)",
    }, enabled=True),
    Purpose("weekly_digest", {  # served by balanced_calendar.digest
        "id": "mengirim ringkasan keseimbangan mingguan kepada Anda",
        "en": "email you a weekly balance digest",
    }, enabled=True),
    Purpose("anonymised_team_report", {
        "id": "menyusun laporan tim yang dianonimkan (hanya agregat, tim kurang dari {k} orang tidak dilaporkan)",
        "en": "build anonymised team reports (aggregates only; teams under {k} people are never reported)",
    }, enabled=True),
    Purpose("focus_and_recovery_blocks", {}, enabled=True, protect_only=True),  # WRITE_TEXT names it
)

#: Recorded with every consent: the purposes this version serves.
PURPOSES = tuple(p.name for p in PURPOSE_LIST if p.enabled and not p.protect_only)
PROTECT_PURPOSES = tuple(p.name for p in PURPOSE_LIST if p.enabled and p.protect_only)


def purpose_enabled(name: str) -> bool:
    """Whether this version serves the purpose ``name`` (e.g. ``"weekly_digest"``).

    Raises ``KeyError`` for a purpose that does not exist.
    """
    return {p.name: p.enabled for p in PURPOSE_LIST}[name]


CONSENT_TEXT = {
    "id": (
        "Persetujuan pemrosesan data kalender (UU 27/2022 tentang Pelindungan Data Pribadi)\n"
        "balanced-calendar membaca waktu mulai, waktu selesai dan status acara di kalender kerja Anda "
        "untuk {purposes}.\n"
        "Judul, deskripsi, lokasi dan alamat peserta tidak disimpan. {write}"
        "Anda dapat menarik persetujuan kapan saja; semua data Anda dihapus sekaligus."
    ),
    "en": (
        "Consent to process calendar data (Indonesia's Personal Data Protection Law, UU 27/2022)\n"
        "balanced-calendar reads the start, end and status of events in your work calendar to "
        "{purposes}.\n"
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
_AND = {"id": "dan", "en": "and"}


def _purposes_clause(language: str, k: int) -> str:
    """The enabled purposes as one clause: ``a``, or ``(1) a, (2) b, and (3) c``."""
    clauses = [p.clause[language].format(k=k) for p in PURPOSE_LIST if p.enabled and not p.protect_only]
    if len(clauses) == 1:
        return clauses[0]
    numbered = [f"({i}) {c}" for i, c in enumerate(clauses, 1)]
    return ", ".join(numbered[:-1]) + f", {_AND[language]} " + numbered[-1]


def consent_text(language: str, protect: bool, *, k: int) -> str:
    """The consent text in both languages, the person's language first.

    It names only the purposes this version serves (:data:`PURPOSE_LIST`). ``k`` is the
    configured anonymity threshold (``rt.config.reports.k``): the text quotes it once team
    reports are enabled.
    """
    order = ("id", "en") if language == "id" else ("en", "id")
    write = purpose_enabled("focus_and_recovery_blocks") and protect
    return "\n\n".join(CONSENT_TEXT[lang].format(purposes=_purposes_clause(lang, k),
                                                  write=WRITE_TEXT[lang] if write else "")
                       for lang in order)


@dataclass(frozen=True)
class EnrollRequest:
    email: str
    provider: str
    calendar: str | None = None  # the provider's calendar id; ics: a path or URL (kept in the vault)
    timezone: str | None = None
    language: str | None = None
    team: str | None = None
    protect: bool = False
    digest: bool = True
    open_browser: bool = True  # an interactive sign-in may open a browser


@dataclass(frozen=True)
class Prepared:
    """An enrollment checked before the consent text is shown: nothing is stored yet."""

    request: EnrollRequest
    email: str
    plugin: Provider
    person: PersonRecord
    flow: EnrollInput


def prepare(rt: Runtime, req: EnrollRequest, *, echo: Callable[[str], None] = print) -> Prepared:
    """Check everything that can be checked before asking for consent.

    Settings come from the request, then the person's ``[[people]]`` entry, then
    ``[service]``. Raises :class:`UserError` for a bad address, an unknown team, an unknown
    or unavailable provider, ``protect`` on a provider that cannot write, or a calendar
    that the config contradicts.
    """
    email = req.email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise UserError(f"{req.email!r} is not an email address")
    cfg = rt.config.person(email)
    service = rt.config.service
    name = req.provider or (cfg.connector if cfg else "")
    if cfg is not None and cfg.connector != name:
        raise UserError(f"the config says this person uses the {cfg.connector!r} connector, not {name!r}")
    plugin = provider(name)
    if not plugin.available or plugin.enrollment is None:
        raise UserError(f"connector {name!r} is not available in this version",
                        hint="use --provider " + " or ".join(n for n in available() if provider(n).enrollment))
    team = req.team or (cfg.team if cfg else None)
    if team is not None and rt.config.team(team) is None:
        raise UserError(f"unknown team {team!r}", hint="declare it in [[teams]] of the config")
    protect = req.protect or (cfg.protect if cfg else False)
    if protect and not connector_class(name).supports_write:
        raise UserError(f"the {name} connector is read-only: it cannot hold focus or recovery blocks",
                        hint="enroll without --protect, or use a provider that supports writing")
    language = req.language or (cfg.language if cfg else service.language)
    calendar = req.calendar or (cfg.calendar if cfg else None)
    person = PersonRecord(
        email=email, connector=name, calendar=calendar or "primary",
        timezone=req.timezone or (cfg.timezone if cfg else service.timezone),
        language=language, team=team, protect=protect,
        digest=req.digest and (cfg.digest if cfg else True), enrolled_at=rt.clock())
    flow = EnrollInput(email=email, settings=rt.settings_for(name), calendar=calendar, protect=protect,
                       echo=echo, http=rt.http, clock=rt.clock, open_browser=req.open_browser)
    return Prepared(req, email, plugin, person, flow)


def enroll(rt: Runtime, req: EnrollRequest | Prepared, *, interactive: bool = False) -> PersonRecord:
    """Run the provider's opt-in flow, then record consent, settings and credentials.

    ``interactive`` runs the flow that may involve the person (a browser sign-in, a device
    code); otherwise the unattended one (domain-wide or application modes, files).
    Raises :class:`UserError` as :func:`prepare` does, or from the provider's flow.
    """
    prepared = req if isinstance(req, Prepared) else prepare(rt, req)
    assert prepared.plugin.enrollment is not None
    flow = prepared.plugin.enrollment
    result = flow.interactive(prepared.flow) if interactive else flow.unattended(prepared.flow)
    return record(rt, prepared, result)


def record(rt: Runtime, prepared: Prepared, result: Enrolled) -> PersonRecord:
    """Store the outcome of a provider flow with the person's consent (web opt-in uses this)."""
    plugin, person = prepared.plugin, prepared.person
    secret = dict(result.secret)
    person = replace(person, calendar=plugin.calendar_key(result.calendar), enrolled_at=rt.clock())
    scopes = result.scopes or (READ_SCOPES + (WRITE_SCOPES if person.protect else ()))
    consent = ConsentRecord(
        email=person.email, at=person.enrolled_at or rt.clock(), scopes=tuple(scopes),
        purposes=PURPOSES + (PROTECT_PURPOSES if person.protect else ()),
        text_version=CONSENT_VERSION, language=person.language)
    blob = rt.vault.encrypt(json.dumps(secret, sort_keys=True).encode())
    stored = rt.store.enroll(person, consent, credentials=(plugin.name, blob))  # one transaction
    log.info("enrolled %s (%s, protect=%s)", stored.pseudonym, plugin.name, person.protect)
    return stored


def withdraw_blocks_consent(rt: Runtime, person: PersonRecord) -> bool:
    """Record that ``person`` no longer allows focus and recovery blocks: a new consent record
    without the block purposes (the latest record says what they allow; its scopes stay those
    the provider granted, which the stored token still carries); ``True`` if it changed."""
    consents = rt.store.consents(person.email)
    if not consents:
        return False
    last = consents[-1]
    purposes = tuple(p for p in last.purposes if p not in PROTECT_PURPOSES)
    if purposes == last.purposes:
        return False
    rt.store.add_consent(replace(last, at=max(rt.clock(), last.at), purposes=purposes))
    log.info("%s no longer allows own blocks (consent recorded)", person.pseudonym)
    return True


#: how far ahead a withdrawal looks for own blocks in the calendar (the planner's horizon is
#: 10 workdays; this leaves room for holidays, leave and a longer configured horizon)
WITHDRAW_DAYS = 90


@dataclass(frozen=True)
class LeftBlock:
    """A future own block a withdrawal could not remove (times in the person's zone)."""

    block_id: str
    start: dt.datetime
    end: dt.datetime
    title: str | None


@dataclass(frozen=True)
class Withdrawal:
    """What :func:`withdraw` did: the erasure always happened when this is returned."""

    pseudonym: str
    #: future own blocks deleted from the calendar
    removed: int = 0
    #: future own blocks the owner changed in their calendar: theirs now, left alone
    kept_edited: int = 0
    #: future own blocks still in the calendar because it could not be reached
    left: tuple[LeftBlock, ...] = ()
    #: why the calendar could not be reached (``None``: it could)
    problem: str | None = None
    #: the person's provider (for the retry command)
    connector: str = ""


def _remove_future_blocks(rt: Runtime, person: PersonRecord, now: dt.datetime) -> tuple[int, int, str | None,
                                                                                       list[OwnBlock]]:
    """Delete ``person``'s future own blocks from their calendar, found by tag (and the ones
    the store remembers beyond the read). Returns ``(removed, kept edited, problem, left)``;
    ``problem`` is set, and ``left`` lists the blocks known to remain, when the calendar
    could not be reached or written."""
    from balanced_calendar.model import BlockRef, Conflict, NotOurs, Window
    from balanced_calendar.planner.reconcile import own_blocks_of
    from balanced_calendar.timezones import load_zone

    records = {b.block_id: b for b in rt.store.own_blocks(person.email) if b.end > now}
    pending = [b for b in records.values() if b.start > now and b.state == "active"]
    if not person.protect and not pending:
        return 0, 0, None, []  # never allowed writes: the planner wrote nothing
    removed = kept = 0
    done: set[str] = set()
    tz = load_zone(person.timezone)
    try:
        with rt.connector_for(person) as connector:
            if connector.read_only:
                raise UserError("the connector may not write to this calendar (protect = false)")
            horizon = max([now + dt.timedelta(days=WITHDRAW_DAYS)] + [b.end for b in records.values()])
            found = [f for f in own_blocks_of(connector.read(Window(now, horizon), tz), person.pseudonym)
                     if f.start > int(now.timestamp())]
            refs: list[tuple[str, BlockRef]] = []
            for f in found:
                record = records.get(f.block_id)
                edited = record is not None and (record.state == "edited_by_user" or (
                    int(record.start.timestamp()), int(record.end.timestamp()), record.title) != f.content)
                if edited:
                    kept += 1
                    done.add(f.block_id)
                else:
                    refs.append((f.block_id, f.ref))
            seen = {f.block_id for f in found}
            refs += [(b.block_id, BlockRef(b.block_id, b.provider_id, b.etag)) for b in pending
                     if b.block_id not in seen and b.provider_id]
            for block_id, ref in refs:
                try:
                    connector.delete_block(ref)
                    removed += 1
                except (Conflict, NotOurs):
                    kept += 1  # changed by its owner meanwhile: from then on it is theirs to keep
                done.add(block_id)
    except Exception as exc:  # noqa: BLE001 - an outage (or a broken connector) must never block erasure
        problem = exc.public if isinstance(exc, UserError) else f"{type(exc).__name__}"
        log.warning("withdrawal of %s: could not remove their blocks: %s", person.pseudonym, problem)
        return removed, kept, problem, [b for b in pending if b.block_id not in done]
    return removed, kept, None, []


def withdraw(rt: Runtime, email: str, *, reason: str = "consent withdrawn") -> Withdrawal:
    """Withdraw: remove the person's future own blocks from their calendar, then erase everything.

    Only balanced-calendar's own blocks (found by their tag), only future ones, and not those
    the owner changed in their calendar. When the calendar cannot be reached (an outage,
    expired credentials), the erasure **still happens**: personal data is never kept
    because a provider is down; the result lists the blocks left behind (``left``,
    ``problem``) so the operator can have them removed by hand.

    Raises ``NotEnrolled`` for an address neither enrolled nor erased, and ``StoreError``
    when the erasure did not happen or is not complete (the message says which). An address
    whose erasure could not be completed (a full disk) is finished.
    """
    from balanced_calendar.store import NotEnrolled
    from balanced_calendar.timezones import load_zone

    try:
        person = rt.store.get_person(email)
    except NotEnrolled:
        return Withdrawal(rt.store.erase_person(email, reason, at=rt.clock()))  # finishes, or NotEnrolled
    now = rt.clock()
    removed, kept, problem, left = _remove_future_blocks(rt, person, now)
    pseudonym = rt.store.erase_person(person.email, reason, at=now)
    log.info("erased %s (%s); removed %d future blocks%s", pseudonym, reason, removed,
             f", {len(left)} left in the calendar" if problem else "")
    tz = load_zone(person.timezone)
    return Withdrawal(pseudonym, removed, kept, tuple(LeftBlock(b.block_id, b.start.astimezone(tz),
                                                                b.end.astimezone(tz), b.title) for b in left),
                      problem, person.connector)


def unenroll(rt: Runtime, email: str, *, reason: str = "consent withdrawn") -> str:
    """:func:`withdraw`, returning the pseudonym kept in the erasure log."""
    return withdraw(rt, email, reason=reason).pseudonym


def withdrawal_report(done: Withdrawal, *, email: str, config: str) -> list[str]:
    """What ``unenroll`` tells the operator: blocks removed, blocks left behind and how to
    remove them (by hand, or by enrolling again and withdrawing once the calendar answers)."""
    lines = []
    if done.removed:
        lines.append(f"removed {done.removed} future focus and recovery block(s) from their calendar")
    if done.kept_edited:
        lines.append(f"left {done.kept_edited} block(s) the person changed in their calendar: theirs now")
    if done.problem is not None:
        where = (f"these {len(done.left)} future block(s) stay in it:" if done.left
                 else "it may still hold future blocks of balanced-calendar.")
        lines.append(f"warning: could not reach their calendar ({done.problem}); the erasure went ahead "
                     f"(personal data is never kept because a calendar is down), and {where}")
        for block in done.left:
            lines.append(f"  {block.start:%Y-%m-%d %H:%M}–{block.end:%H:%M}  {block.title or ''}  ({block.block_id})")
        lines.append(f"  remove them by hand in the calendar app (their ids start with bc-{done.pseudonym}-, in "
                     f"X-BALANCED-CALENDAR-ID or the provider's extended property), or once the calendar "
                     f"answers: balanced-calendar enroll --config {config} --provider {done.connector} --email {email} "
                     f"--protect, then "
                     f"balanced-calendar unenroll --config {config} --email {email}")
    lines.append(f"erased everything of {done.pseudonym}; only a pseudonymous erasure record remains")
    return lines


def remove_future_blocks(rt: Runtime, person: PersonRecord) -> str | None:
    """Delete ``person``'s future own blocks from their calendar (switching blocks off in the
    portal); blocks the person edited stay theirs. Returns the problem when the calendar could
    not be reached or written (the blocks then stay), else ``None``."""
    removed, kept, problem, _left = _remove_future_blocks(rt, person, rt.clock())
    log.info("removed %d future blocks of %s (%d edited by their owner left)", removed, person.pseudonym, kept)
    return problem
