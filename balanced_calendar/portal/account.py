"""A signed-in person's own pages: settings, switching blocks off, withdrawal, signing out.

Settings are stored as portal choices (:mod:`balanced_calendar.preferences`) and applied to
the person's record at once through :func:`balanced_calendar.reconcile.reconcile`, so the
next due job (sync, plan, digest) uses them; values the config entry writes stay locked.
Withdrawal is :func:`balanced_calendar.enrollment.unenroll`, exactly as the CLI runs it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from balanced_calendar import enrollment
from balanced_calendar.digest.queue import set_digest, wants_digest
from balanced_calendar.model import InputError, UserError
from balanced_calendar.planner.settings import settings_for
from balanced_calendar.portal.app import Portal
from balanced_calendar.portal.security import clear_cookie_header, cookie_header
from balanced_calendar.preferences import load, locked, own_planner, save
from balanced_calendar.reconcile import reconcile
from balanced_calendar.store import NotEnrolled
from balanced_calendar.texts import LANGUAGES
from balanced_calendar.timezones import load_zone
from connectors import connector_class

log = logging.getLogger(__name__)
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int:
    hour, sep, minute = text.strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2 and int(hour) <= 24
            and int(minute) < 60):
        raise ValueError(text)
    return int(hour) * 60 + int(minute)


def routes(portal: Portal) -> list[Route]:
    rt = portal.rt

    def reconcile_now() -> None:
        reconcile(rt.config, rt.store, lambda email: load(rt.store, rt.vault, email))

    async def settings_page(request: Request) -> Response:
        session = portal.session(request)
        if session is None or session.email is None:
            return portal.error(request, "err.session", 401)
        email = session.email

        def gather() -> dict[str, Any] | None:
            try:
                person = rt.store.get_person(email)
            except NotEnrolled:
                return None
            cfg = rt.config.person(email)
            plan = settings_for(rt.policy, rt.config, email, own=own_planner(rt, email))
            fixed = set(locked(cfg))
            if cfg is not None and cfg.sets("digest") and not cfg.digest:
                fixed.add("digest")
            else:
                fixed.discard("digest")
            return {"person": person, "digest_on": wants_digest(rt.store, person), "plan": plan,
                    "window": [_hhmm(m) for m in plan.numbers.focus_window], "locked": fixed,
                    "can_write": connector_class(person.connector).supports_write,
                    "leader": any(email in t.leaders for t in rt.config.teams)}

        values = await portal.store(gather)
        if values is None:
            leader = any(email in t.leaders for t in rt.config.teams)
            return portal.page(request, "not_enrolled.html.j2", session, leader=leader)
        zones = list(dict.fromkeys([*ZONES, values["person"].timezone]))
        return portal.page(request, "settings.html.j2", session, languages=LANGUAGES, zones=zones, **values)

    async def save_settings(request: Request) -> Response:
        checked = await portal.posted(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        email = session.email
        assert email is not None
        fixed = locked(rt.config.person(email))
        try:
            choice: dict[str, Any] = {}
            if "language" not in fixed:
                lang = str(form.get("language", ""))
                if lang not in LANGUAGES:
                    raise ValueError(lang)
                choice["language"] = lang
            if "timezone" not in fixed:
                choice["timezone"] = load_zone(str(form.get("timezone", ""))).key
            for key in ("focus", "recovery"):
                if key not in fixed:
                    choice[key] = form.get(key) == "on"
            if "focus_window" not in fixed:
                start, end = _minutes(str(form.get("focus_start", ""))), _minutes(str(form.get("focus_end", "")))
                if not 0 <= start < end <= 24 * 60:
                    raise ValueError("focus window")
                choice["focus_window"] = (start, end)
            if "focus_target_minutes" not in fixed:
                target = int(str(form.get("focus_target", "")))
                if not 0 <= target <= 480:
                    raise ValueError("focus target")
                choice["focus_target_minutes"] = target
        except (ValueError, InputError, UserError) as exc:
            detail = exc.message if isinstance(exc, UserError) else str(exc)
            return portal.error(request, "err.value", 400, detail=detail)
        digest_on = form.get("digest") == "on"

        def apply() -> bool:
            try:
                person = rt.store.get_person(email)
            except NotEnrolled:
                return False
            save(rt.store, rt.vault, email, replace(load(rt.store, rt.vault, email), **choice))
            cfg = rt.config.person(email)
            if not (cfg is not None and cfg.sets("digest") and not cfg.digest):
                set_digest(rt.store, person, digest_on, rt.clock())
            reconcile_now()
            log.info("settings of %s changed in the portal", person.pseudonym)
            return True

        if not await portal.store(apply):
            return portal.error(request, "err.notenrolled", 404)
        if "language" in choice:
            session.language = choice["language"]
        session.flash = "saved"
        return portal.redirect("/settings")

    async def stop_blocks(request: Request) -> Response:
        checked = await portal.posted(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        email = session.email
        assert email is not None
        if "protect" in locked(rt.config.person(email)):
            return portal.error(request, "err.value", 400, detail="protect")

        def stop() -> None:
            person = rt.store.get_person(email)
            save(rt.store, rt.vault, email, replace(load(rt.store, rt.vault, email), protect=False))
            enrollment.remove_future_blocks(rt, person)
            enrollment.withdraw_blocks_consent(rt, person)
            reconcile_now()

        try:
            await portal.store(stop)
        except NotEnrolled:
            return portal.error(request, "err.notenrolled", 404)
        session.flash = "saved"
        return portal.redirect("/settings")

    async def withdraw(request: Request) -> Response:
        checked = await portal.posted(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        email = session.email
        assert email is not None
        try:
            await portal.store(lambda: enrollment.unenroll(rt, email, reason="withdrawn in the portal"))
        except NotEnrolled:
            return portal.error(request, "err.notenrolled", 404)
        fresh = portal.sessions.rotate(session)  # signed out, in the same language
        response = portal.page(request, "withdrawn.html.j2", fresh)
        response.headers.append("set-cookie", cookie_header(fresh, portal.lifetime))
        return response

    async def signout(request: Request) -> Response:
        checked = await portal.posted(request, signed_in=False)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        portal.sessions.drop(session)
        response = portal.redirect("/")
        response.headers.append("set-cookie", clear_cookie_header())
        return response

    return [Route("/settings", settings_page, methods=["GET"]), Route("/settings", save_settings, methods=["POST"]),
            Route("/blocks/stop", stop_blocks, methods=["POST"]), Route("/withdraw", withdraw, methods=["POST"]),
            Route("/signout", signout, methods=["POST"])]
