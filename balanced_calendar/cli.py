"""The ``balanced-calendar`` command: the composition root that wires config, connectors,
engine and output together. User errors print one clear message and exit 2."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

import click

from balanced_calendar import __version__
from balanced_calendar.model import UserError

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


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="balanced-calendar")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def cli(verbose: int) -> None:
    """Audit calendars for overload, protect personal time, report kindly."""
    _setup_logging(verbose)


def _previous_week(today: dt.date) -> tuple[dt.date, dt.date]:
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return monday, monday + dt.timedelta(days=6)


@cli.command()
@click.option("--ics", "source", required=True, metavar="FILE|URL",
              help="An ICS file, or the http(s)/webcal URL of a published calendar.")
@click.option("--me", metavar="ADDRESS", help="The calendar owner's address (for their own response).")
@click.option("--policy", "policy_spec", default="asn-id", show_default=True, metavar="NAME|PATH",
              help="A preset (asn-id, default) or a policy TOML file.")
@click.option("--tz", "zone", metavar="ZONE", help="The person's IANA zone (default: the policy's).")
@click.option("--start", type=DATE, help="First local date (default: Monday of last week).")
@click.option("--end", type=DATE, help="Last local date, inclusive (default: Sunday of last week).")
@click.option("--format", "fmt", type=click.Choice(["json", "table", "csv"]),
              help="Output format (default: table on a terminal, json otherwise).")
def audit(source: str, me: str | None, policy_spec: str, zone: str | None, start: dt.date | None,
          end: dt.date | None, fmt: str | None) -> None:
    """Audit one calendar: per-day figures and findings (DESIGN.md §4–5)."""
    from balanced_calendar import formats
    from balanced_calendar.engine import audit_events, read_window
    from balanced_calendar.policyfile import load_policy
    from balanced_calendar.timezones import load_zone
    from connectors import connector_class

    policy = load_policy(policy_spec)
    zone = zone or policy.timezone
    tz = load_zone(zone)
    zone = str(tz.key)
    if start is None or end is None:
        default_start, default_end = _previous_week(dt.datetime.now(tz).date())
        start, end = start or default_start, end or default_end
    if end < start:
        raise UserError(f"--end {end} is before --start {start}")
    if (end - start).days > 3660:
        raise UserError("the range is longer than 10 years", hint="audit a shorter range")
    with connector_class("ics")(source, owner=me) as connector:
        events = connector.read(read_window(start, end, zone), tz)
    result = audit_events(events, policy, zone=zone, start=start, end=end, person=me or "")
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        click.echo(formats.to_json(result))
    elif fmt == "csv":
        click.echo(formats.to_csv(result), nl=False)
    else:
        click.echo(formats.to_table(result, policy), nl=False)


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
def policy_cmd(spec: str) -> None:
    """Show a policy (preset name or TOML path) with every rule's definition."""
    from balanced_calendar import formats
    from balanced_calendar.model.policy import WEEKDAYS
    from balanced_calendar.policyfile import load_policy

    p = load_policy(spec)
    click.echo(f"{p.name}: {p.description}")
    click.echo(f"language {p.language}, zone {p.timezone}")
    for weekday in range(1, 8):
        hours = p.hours.get(weekday) if weekday in p.workweek else None
        click.echo(f"  {WEEKDAYS[weekday - 1]}: {hours.describe() if hours else 'off'}")
    for season in p.seasons:
        click.echo(f"  season {season.name}: " + ", ".join(
            f"{WEEKDAYS[d - 1]} {h.describe()}" for d, h in sorted(season.hours.items())))
    click.echo("rules:")
    for rule, text in formats.definitions(p).items():
        click.echo(f"  {rule}: {text}")


def main() -> None:
    cli(prog_name="balanced-calendar")


if __name__ == "__main__":  # pragma: no cover
    main()
