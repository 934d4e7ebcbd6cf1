"""The ``balanced-calendar`` command: the composition root that wires config, connectors,
engine and output together. User errors print one clear message and exit 2."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from balanced_calendar import __version__
from balanced_calendar.model import UserError
from balanced_calendar.texts import LANGUAGES

log = logging.getLogger("balanced_calendar")


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-12-14", param, ctx)


DATE = IsoDate()

LANG_OPTION = click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                           help="Language of the table (id, en; default: the person's, else the policy's). "
                                "JSON and CSV do not depend on it.")


class Cli(click.Group):
    """Turns every :class:`UserError` into ``error: …`` on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: ``value`` if it looks like an email address.

    Raises :class:`click.BadParameter` (exit 2, no traceback) otherwise.
    """
    if value is None:
        return None
    text = value.strip()
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in text):
        raise click.BadParameter(f"{value!r} is not an email address (like you@agency.go.id)")
    return text


def _zone_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: refuses an empty zone (``--tz ""``) instead of silently using the default."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give an IANA zone such as Asia/Jakarta (or WIB/WITA/WIT), "
                                 "or leave the option out for the default")
    return value


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="balanced-calendar")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def cli(verbose: int) -> None:
    """Audit calendars for overload, protect personal time, report kindly."""
    _setup_logging(verbose)


def _audit_range(start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The dates to audit: as given, each missing bound from the previous ISO week.

    Raises :class:`UserError` when the range ends before it starts (naming only the bounds
    the user gave, and the default that clashed with them) or spans more than 10 years.
    """
    monday = today - dt.timedelta(days=today.weekday() + 7)
    given_start, given_end = start, end
    start, end = start or monday, end or monday + dt.timedelta(days=6)
    if end < start:
        if given_end is None:
            raise UserError(f"--start {start} is after the default end of the range, {end} "
                            f"(Sunday of last week)", hint="give --end too")
        if given_start is None:
            raise UserError(f"--end {end} is before the default start of the range, {start} "
                            f"(Monday of last week)", hint="give --start too")
        raise UserError(f"--end {end} is before --start {start}")
    if (end - start).days > 3660:
        raise UserError("the range is longer than 10 years", hint="audit a shorter range")
    return start, end


@cli.command()
@click.option("--ics", "source", metavar="FILE|URL",
              help="An ICS file, or the http(s)/webcal URL of a published calendar.")
@click.option("--person", metavar="ADDRESS", help="An enrolled person: audit their synced events from the store.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=lambda: os.environ.get("BALANCED_CALENDAR_CONFIG", "/etc/balanced-calendar/config.toml"),
              help="The service config (with --person).")
@click.option("--me", metavar="ADDRESS", callback=_address,
              help="The calendar owner's address (for their own response).")
@click.option("--policy", "policy_spec", default="asn-id", show_default=True, metavar="NAME|PATH",
              help="A preset (asn-id, default) or a policy TOML file.")
@click.option("--tz", "zone", metavar="ZONE", callback=_zone_name,
              help="The person's IANA zone (default: the policy's).")
@click.option("--start", type=DATE, help="First local date (default: Monday of last week).")
@click.option("--end", type=DATE, help="Last local date, inclusive (default: Sunday of last week).")
@click.option("--format", "fmt", type=click.Choice(["json", "table", "csv"]),
              help="Output format (default: table on a terminal, json otherwise).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="With --ics URL: seconds for the whole download and parse.")
@LANG_OPTION
def audit(source: str | None, person: str | None, config_path: Path, me: str | None, policy_spec: str,
          zone: str | None, start: dt.date | None, end: dt.date | None, fmt: str | None,
          timeout: float, lang: str | None) -> None:
    """Audit one calendar (--ics) or an enrolled person (--person): per-day figures and findings."""
    from balanced_calendar.engine import audit_events, read_window
    from balanced_calendar.policyfile import load_policy
    from balanced_calendar.timezones import load_zone
    from connectors import connector_class

    if (source is None) == (person is None):
        raise UserError("give exactly one of --ics FILE|URL or --person ADDRESS")
    if person is not None:
        _audit_person(Path(config_path), person, zone, start, end, fmt, lang)
        return
    policy = load_policy(policy_spec)
    zone = zone or policy.timezone
    tz = load_zone(zone)
    zone = str(tz.key)
    start, end = _audit_range(start, end, dt.datetime.now(tz).date())
    with Progress("reading the calendar") as shown, connector_class("ics")(source, owner=me, timeout=timeout) as connector:
        events = connector.read(read_window(start, end, zone), tz)
        skipped = list(connector.skipped)
        shown.step("auditing")
        result = audit_events(events, policy, zone=zone, start=start, end=end, person=me or "")
    _print_audit(result, policy, fmt, lang or policy.language)
    if skipped:
        # The rest of the calendar is audited above; what was left out is an error (exit 2).
        for error in skipped:
            click.echo(f"error: {error}", err=True)
        click.echo("error: the audit above leaves out the series listed; fix them in the calendar", err=True)
        sys.exit(2)


class Progress:
    """Progress on stderr for work that takes more than :attr:`after` seconds, only when stderr
    is a terminal: ``label … 12 s`` (or ``label: 3/40``) on one line, rewritten in place and
    cleared at the end. Use as a context manager; :meth:`step` names a new phase and
    :meth:`count` reports ``done`` of ``total``. Never raises."""

    after = 2.0

    def __init__(self, label: str, *, stream: Any = None) -> None:
        import threading
        import time

        self._time = time.monotonic
        self._stream = stream or sys.stderr
        self._label = label
        self._counts: tuple[int, int] | None = None
        self._started = time.monotonic()
        self._shown = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._live = bool(getattr(self._stream, "isatty", lambda: False)())
        self._thread = threading.Thread(target=self._run, daemon=True) if self._live else None

    def __enter__(self) -> Progress:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            if self._shown:
                self._write("\r\033[K")

    def step(self, label: str) -> None:
        with self._lock:
            self._label, self._counts = label, None

    def count(self, done: int, total: int) -> None:
        with self._lock:
            self._counts = (done, total)

    def _run(self) -> None:
        while not self._done.wait(0.5):
            elapsed = self._time() - self._started
            if elapsed < self.after:
                continue
            with self._lock:
                counts = f": {self._counts[0]}/{self._counts[1]}" if self._counts else ""
                self._write(f"\r\033[K{self._label}{counts} … {elapsed:.0f} s")
                self._shown = True

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass


def _audit_person(config_path: Path, email: str, zone: str | None, start: dt.date | None,
                  end: dt.date | None, fmt: str | None, lang: str | None) -> None:
    from balanced_calendar.coverage import require_synced
    from balanced_calendar.engine import audit_events
    from balanced_calendar.timezones import load_zone

    with _runtime(config_path) as rt:
        person = rt.store.get_person(email)
        tz = load_zone(zone or person.timezone)
        zone = str(tz.key)
        start, end = _audit_range(start, end, rt.clock().astimezone(tz).date())
        require_synced(rt.store, person, start, end, tz)  # unknown days are never shown as zeros
        events = rt.store.load_events(person.email, dt.datetime.combine(start, dt.time(), tzinfo=tz),
                                      dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz))
        result = audit_events(events, rt.policy, zone=zone, start=start, end=end, person=person.email)
        _print_audit(result, rt.policy, fmt, lang or person.language)


def _print_audit(result, policy, fmt: str | None, lang: str) -> None:  # type: ignore[no-untyped-def]
    from balanced_calendar import formats

    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        click.echo(formats.to_json(result))
    elif fmt == "csv":
        click.echo(formats.to_csv(result), nl=False)
    else:
        click.echo(formats.to_table(result, policy, lang), nl=False)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("balanced-calendar-demo"), show_default=True, help="Where the demo writes its files.")
@click.option("--start", type=DATE, default="2026-02-09", show_default=True,
              help="Monday the synthetic period starts.")
@click.option("--weeks", type=click.IntRange(1, 104), default=8, show_default=True)
@click.option("--people", type=click.IntRange(6, 5000), default=42, show_default=True)
def demo(out_dir: Path, start: dt.date, weeks: int, people: int) -> None:
    """Run the whole pipeline on a synthetic agency (no accounts needed)."""
    from balanced_calendar.demo.pipeline import run_demo

    if start.weekday() != 0:
        raise UserError(f"--start {start} is not a Monday")
    report = run_demo(out_dir, start=start, weeks=weeks, people=people)
    click.echo(report)


@cli.command("policy")
@click.argument("spec", default="asn-id")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Language of the definitions (id, en; default: the policy's).")
def policy_cmd(spec: str, lang: str | None) -> None:
    """Show a policy (preset name or TOML path) with every rule's definition."""
    from balanced_calendar import texts
    from balanced_calendar.model.policy import WEEKDAYS, DayHours, hhmm
    from balanced_calendar.policyfile import load_policy

    p = load_policy(spec)
    lang = lang or p.language

    def shown(h: DayHours) -> str:
        if h.break_start is None or h.break_end is None:
            return texts.text("policy.hours", lang, start=hhmm(h.start), end=hhmm(h.end))
        return texts.text("policy.hours_break", lang, start=hhmm(h.start), end=hhmm(h.end),
                          break_start=hhmm(h.break_start), break_end=hhmm(h.break_end))

    click.echo(f"{p.name}: {p.description}")
    click.echo(texts.text("policy.about", lang, language=p.language, zone=p.timezone))
    for weekday in range(1, 8):
        hours = p.hours.get(weekday) if weekday in p.workweek else None
        click.echo(f"  {WEEKDAYS[weekday - 1]}: {shown(hours) if hours else texts.text('day.off', lang)}")
    for season in p.seasons:
        click.echo(f"  {texts.text('policy.season', lang, name=season.name)}: " + ", ".join(
            f"{WEEKDAYS[d - 1]} {shown(h)}" for d, h in sorted(season.hours.items())))
    click.echo(texts.text("policy.rules", lang))
    for rule, text in texts.definitions(p, lang).items():
        click.echo(f"  {rule}: {text}")


# -- service commands ------------------------------------------------------------------
CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=Path(os.environ.get("BALANCED_CALENDAR_CONFIG", "/etc/balanced-calendar/config.toml")),
    show_default=True, help="The service config (env BALANCED_CALENDAR_CONFIG).")


def _runtime(config_path: Path):  # type: ignore[no-untyped-def]
    from balanced_calendar.config import load_config
    from balanced_calendar.runtime import open_runtime

    return open_runtime(load_config(config_path))


@cli.group("config")
def config_group() -> None:
    """Inspect the service config."""


@config_group.command("check")
@CONFIG_OPTION
def config_check(config_path: Path) -> None:
    """Validate the config and report every problem at once."""
    from balanced_calendar.config import check_config

    for line in check_config(config_path):
        click.echo(line)


@cli.command()
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the new key (mode 0600; never overwrites).")
def keygen(out_path: Path) -> None:
    """Write a new vault key for encrypting stored credentials."""
    from balanced_calendar.vault import write_key

    write_key(out_path)
    click.echo(f"wrote a new vault key to {out_path} (mode 0600). Keep a copy: without it stored "
               f"credentials cannot be read.")


@cli.command()
@CONFIG_OPTION
@click.option("--provider", required=True, help="The provider plug-in, e.g. ics.")
@click.option("--email", required=True, help="The person's address.")
@click.option("--calendar", help="ICS: the file path or published URL (stored encrypted).")
@click.option("--timezone", "zone", callback=_zone_name,
              help="IANA zone (default: their [[people]] entry, then [service]).")
@click.option("--language", type=click.Choice(LANGUAGES))
@click.option("--team")
@click.option("--protect", is_flag=True, help="Allow writing focus/recovery blocks (write scope).")
@click.option("--no-digest", is_flag=True, help="Do not send the weekly digest.")
@click.option("--yes", is_flag=True, help="The person has agreed to the consent text (non-interactive).")
@click.option("--no-browser", is_flag=True, help="Print the sign-in address instead of opening a browser.")
def enroll(config_path: Path, provider: str, email: str, calendar: str | None, zone: str | None,
           language: str | None, team: str | None, protect: bool, no_digest: bool, yes: bool,
           no_browser: bool) -> None:
    """Enroll a person: show the consent text, record consent, store credentials."""
    from balanced_calendar.enrollment import EnrollRequest, consent_text, prepare
    from balanced_calendar.enrollment import enroll as do_enroll
    from balanced_calendar.timezones import load_zone

    if zone:
        zone = str(load_zone(zone).key)
    with _runtime(config_path) as rt:
        # Everything that can be refused is refused before the consent text is shown.
        prepared = prepare(rt, EnrollRequest(email=email, provider=provider, calendar=calendar, timezone=zone,
                                             language=language, team=team, protect=protect,
                                             digest=not no_digest, open_browser=not no_browser),
                          echo=click.echo)
        click.echo(consent_text(prepared.person.language, prepared.person.protect, k=rt.config.reports.k))
        if not yes and not click.confirm("\nHas the person read and agreed to this text?", default=False):
            raise UserError("not enrolled: consent was not given")
        person = do_enroll(rt, prepared, interactive=not yes)
    click.echo(f"enrolled {person.email} as {person.pseudonym} ({person.connector}, "
               f"{'read and write own blocks' if person.protect else 'read-only'})")


@cli.command()
@CONFIG_OPTION
@click.option("--email", required=True)
@click.option("--reason", default="consent withdrawn", show_default=True)
def unenroll(config_path: Path, email: str, reason: str) -> None:
    """Withdraw a person: remove their future blocks and erase all their data."""
    from balanced_calendar.enrollment import withdraw, withdrawal_report

    with _runtime(config_path) as rt:
        done = withdraw(rt, email, reason=reason)
    for line in withdrawal_report(done, email=email, config=str(config_path)):
        click.echo(line)


def _digest_on(rt, person) -> bool:  # type: ignore[no-untyped-def]
    from balanced_calendar.digest.queue import wants_digest

    return wants_digest(rt.store, person)


def _digest_problem(rt, person) -> str:  # type: ignore[no-untyped-def]
    """The last digest's delivery problem: given up (5xx) or waiting for a retry; '' when fine.

    The last digest is the person's most recently queued digest outbox message, whether the
    daemon's job or ``digest --send`` queued it (both use the key ``digest:<pseudonym>:<week>``).
    """
    msg = rt.store.last_outbox_message(f"digest:{person.pseudonym}:")
    if msg is not None and msg.sent_at is None and msg.last_error:
        state = "refused" if msg.next_attempt is None else "queued"
        return f"digest {msg.key.rsplit(':', 1)[-1]} {state}: {msg.last_error}"
    return ""


def _who(person, show: bool) -> str:  # type: ignore[no-untyped-def]
    return person.email if show else person.pseudonym


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """``header`` and ``rows`` as aligned text lines, each column as wide as its longest cell
    (the last column is not padded)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    return [(" ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + " " + row[-1]).rstrip()
            for row in (header, *rows)]


@cli.command()
@CONFIG_OPTION
@click.option("--show-addresses", is_flag=True, help="Show addresses instead of pseudonyms.")
@click.option("--person", "person_email", metavar="ADDRESS", help="With --digest: whose digest.")
@click.option("--digest", "digest_state", type=click.Choice(["on", "off"]), default=None,
              help="Switch a person's weekly digest on or off (recorded as consent to that purpose).")
def people(config_path: Path, show_addresses: bool, person_email: str | None, digest_state: str | None) -> None:
    """List enrolled people (or switch one person's digest with --person … --digest on|off)."""
    if digest_state is not None:
        from balanced_calendar.digest.queue import set_digest

        if not person_email:
            raise UserError("--digest needs --person ADDRESS")
        with _runtime(config_path) as rt:
            p = rt.store.get_person(person_email)
            changed = set_digest(rt.store, p, digest_state == "on", rt.clock())
        click.echo(f"digest {digest_state} for {p.pseudonym}" + ("" if changed else " (unchanged)"))
        return
    with _runtime(config_path) as rt:
        rows = rt.store.list_people()
        header = ("person", "connector", "team", "zone", "protect", "digest", "enrolled")
        for line in _columns(header, [
                (_who(p, show_addresses), p.connector, p.team or "-", p.timezone, "yes" if p.protect else "no",
                 "yes" if _digest_on(rt, p) else "no", f"{p.enrolled_at:%Y-%m-%d}") for p in rows]):
            click.echo(line)
        click.echo(f"{len(rows)} enrolled")


@cli.command()
@CONFIG_OPTION
@click.option("--show-addresses", is_flag=True, help="Show addresses instead of pseudonyms.")
def status(config_path: Path, show_addresses: bool) -> None:
    """Per person: last successful sync and last error (and the next digest, once digests are sent)."""
    from balanced_calendar.enrollment import purpose_enabled
    from balanced_calendar.report.jobs import next_report
    from balanced_calendar.service import next_digest

    from balanced_calendar.config import load_config
    from balanced_calendar.runtime import open_runtime
    from balanced_calendar.store import StoreError
    from balanced_calendar.store.locking import disk_full

    config = load_config(config_path)
    full = disk_full(config.service.state_dir)
    if full:
        click.echo(f"error: {full}")
    try:
        opened = open_runtime(config)
    except StoreError:
        if not full:
            raise
        click.echo("the people's status cannot be read until space is freed")
        sys.exit(1)
    with opened as rt:
        now = rt.clock()
        digests = purpose_enabled("weekly_digest")  # no digest column for a feature this version lacks
        reports = purpose_enabled("anonymised_team_report")  # leaders: when their next team report goes out
        # On a shared store (several instances) also say which instance ran each person's last sync job.
        shared = bool(getattr(rt.store, "shared", False))
        rows = []
        for p in rt.store.list_people():
            runs = {r.kind: r for r in rt.store.last_runs(p.email)}
            sync = runs.get("sync")
            last_ok = f"{sync.last_ok_at:%Y-%m-%d %H:%M}" if sync and sync.last_ok_at else "never"
            error = sync.error if sync and not sync.ok else ""
            error = " ".join(filter(None, (error, _digest_problem(rt, p))))
            row = (_who(p, show_addresses), last_ok)
            if digests:
                nd = next_digest(p, now) if _digest_on(rt, p) else None
                row += (nd.strftime('%a %Y-%m-%d %H:%M') if nd else 'off',)
            if reports:
                nr = next_report(rt.config, p.email, now)
                row += (nr.strftime('%a %Y-%m-%d %H:%M') if nr else '-',)
            if shared:
                job = rt.store.last_job("sync", p.pseudonym)
                who = (job.lease_owner and f"{job.lease_owner} (running)") or job.done_by if job else None
                row += (who or "-",)
            rows.append(row + (error,))
        header = (("person", "last sync (UTC)") + (("next digest (local)",) if digests else ())
                  + (("next team report (local)",) if reports else ())
                  + (("by instance",) if shared else ()) + ("last error",))
        for line in _columns(header, rows):
            click.echo(line)
        gone = [p for p in rt.store.list_people() if rt.config.person(p.email) is None]
        if gone:
            click.echo(f"{len(gone)} enrolled but not in the config (their settings are as enrolled; "
                       f"nothing is erased until `balanced-calendar unenroll`): "
                       + ", ".join(_who(p, show_addresses) for p in gone))


@cli.command("digest")
@CONFIG_OPTION
@click.option("--person", "email", required=True, metavar="ADDRESS", help="An enrolled person.")
@click.option("--week", required=True, metavar="YYYY-Www", help="The ISO week, e.g. 2026-W51.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="Language (default: the person's).")
@click.option("--preview", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write an HTML preview into this folder instead of sending.")
@click.option("--send", is_flag=True, help="Queue it (once per person-week) and hand it to the mail server now.")
def digest_cmd(config_path: Path, email: str, week: str, lang: str | None, preview: Path | None, send: bool) -> None:
    """The weekly balance digest of one person: print it, --preview DIR, or --send (exit 75: queued)."""
    from balanced_calendar.digest.command import run as run_digest

    with _runtime(config_path) as rt:
        code = run_digest(rt, email, week, lang, preview, send, click.echo)
    sys.exit(code)


@cli.command("report")
@CONFIG_OPTION
@click.option("--team", default=None, metavar="ID", help="The team (its members include its child teams').")
@click.option("--org", is_flag=True, help="The organisation page over every team that passes the guards.")
@click.option("--all", "all_groups", is_flag=True, help="Every team and the organisation page into --out DIR.")
@click.option("--week", default=None, metavar="YYYY-Www", help="The ISO week (default: last week).")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv"]), default="html", show_default=True)
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="Language of the HTML (default: the service's).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The file to write (default: print); with --all, a folder.")
def report_cmd(config_path: Path, team: str | None, org: bool, all_groups: bool, week: str | None, fmt: str,
               lang: str | None, out: Path | None) -> None:
    """The anonymised team overload report of one ISO week (aggregates only, docs/reports.md)."""
    from balanced_calendar.report.command import run as run_report

    with _runtime(config_path) as rt:
        code = run_report(rt, team, org, all_groups, week, fmt, lang, out, click.echo)
    sys.exit(code)


@cli.command()
@CONFIG_OPTION
@click.option("--person", "emails", multiple=True, help="Only this person (repeatable).")
@click.option("--wait", type=float, default=0, help="Seconds to wait if another sync is running.")
def sync(config_path: Path, emails: tuple[str, ...], wait: float) -> None:
    """Pull every enrolled person's calendar window now and audit it."""
    from balanced_calendar.sync import sync_all

    with _runtime(config_path) as rt:
        people = [rt.store.get_person(e) for e in emails] if emails else None
        with Progress("syncing people") as shown:
            report = sync_all(rt, people=people, wait_for_lock=wait, progress=shown.count)
    click.echo(report.describe())
    if report.failed:
        sys.exit(1)


@cli.command()
@CONFIG_OPTION
def run(config_path: Path) -> None:
    """Run the service (systemd Type=notify): sync on a schedule until stopped."""
    from balanced_calendar import logsetup
    from balanced_calendar.config import load_config
    from balanced_calendar.service import run_daemon

    logsetup.setup(load_config(config_path).service.log_level.upper())
    sys.exit(run_daemon(config_path))


@cli.group("store")
def store_group() -> None:
    """The state database (docs/scaling.md)."""


@store_group.command("migrate")
@click.option("--from", "source", required=True, metavar="sqlite:///DIR", help="The SQLite state directory.")
@click.option("--to", "target", required=True, metavar="postgresql://USER@HOST/DB",
              help="An empty PostgreSQL database (no password in the URL).")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The PostgreSQL password (else the systemd credential 'store-password' or PGPASSWORD).")
def store_migrate(source: str, target: str, password_file: Path | None) -> None:
    """Copy a SQLite store into an empty PostgreSQL database in one pass; prints counts and checksums."""
    from balanced_calendar.store.copy import migrate, report
    from balanced_calendar.store.select import check_store_url, read_password

    try:
        check_store_url(target)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    copies = migrate(source, target, password=read_password(password_file))
    click.echo(report(copies))


@cli.command("plan")
@CONFIG_OPTION
@click.option("--person", "email", default=None, metavar="ADDRESS", callback=_address,
              help="One enrolled person (default: everyone with protect = true).")
@click.option("--apply", is_flag=True, help="Write the changes (default: a dry run that only shows them).")
@click.option("--force", is_flag=True, help="Go ahead even when more than 20 blocks of one person would go.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plan_cmd(config_path: Path, email: str | None, apply: bool, force: bool, fmt: str) -> None:
    """Focus and recovery blocks of the next 10 workdays: print the diff; write it with --apply."""
    from balanced_calendar.planner.command import run

    with _runtime(config_path) as rt:
        code = run(rt, email, apply=apply, force=force, fmt=fmt, echo=click.echo)
    sys.exit(code)


@cli.command("serve")
@CONFIG_OPTION
@click.option("--host", default=None, help="Listen address (default: [portal] listen).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="TCP port (default: [portal] port).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Serve https directly with this certificate chain (PEM); without it, plain http for "
                   "a reverse proxy on this host.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The private key of --tls-cert.")
def serve_cmd(config_path: Path, host: str | None, port: int | None, tls_cert: Path | None,
              tls_key: Path | None) -> None:
    """Run the self-service opt-in portal (sign-in, consent, settings, withdrawal, leader view)."""
    from balanced_calendar.portal.app import serve

    if (tls_cert is None) != (tls_key is None):
        raise UserError("give --tls-cert and --tls-key together")
    with _runtime(config_path) as rt:
        serve(rt, host=host, port=port, certfile=tls_cert, keyfile=tls_key)


def main() -> None:
    cli(prog_name="balanced-calendar")


if __name__ == "__main__":  # pragma: no cover
    main()
