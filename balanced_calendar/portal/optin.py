"""Landing page, consent and the provider sign-in (authorization code + ``state`` + PKCE).

Who may opt in: only people in the config's ``[[people]]``, with the connector the config
names for them (``docs/decisions.md``). The address typed on the landing page is only a
hint: the provider's answer must prove that this account signed in (Microsoft: the ID
token's ``preferred_username``; Google: the primary calendar's id), else nothing is stored.

Three intents share the flow: ``optin`` (consent recorded, tokens to the vault, exactly as
``enroll`` does through :func:`balanced_calendar.enrollment.record`), ``upgrade`` (the same
with write access for focus/recovery blocks, a new consent record) and ``signin`` (only
proves who the visitor is: leaders, returning people; the tokens are discarded).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from balanced_calendar import enrollment
from balanced_calendar.model import UserError
from balanced_calendar.portal.app import SIGN_IN_PROVIDERS, Portal
from balanced_calendar.portal.security import Pending
from balanced_calendar.preferences import load, save
from connectors import provider as plugin_of

log = logging.getLogger(__name__)
INTENTS = ("optin", "signin", "upgrade")
NAMES = {"google": "Google", "microsoft": "Microsoft"}


def routes(portal: Portal) -> list[Route]:
    rt = portal.rt

    async def landing(request: Request) -> Response:
        session = portal.session(request)
        lang = portal.language(request, session)
        service = rt.config.service
        providers = [p for p in SIGN_IN_PROVIDERS if p in rt.config.connectors]
        return portal.page(request, "landing.html.j2", session, providers=providers, names=NAMES,
                           consent=enrollment.consent_text(lang, False, k=rt.config.reports.k).split("\n\n")[0],
                           version=enrollment.CONSENT_VERSION, past=service.sync_past_weeks,
                           future=service.sync_future_weeks, k=rt.config.reports.k)

    async def signin(request: Request) -> Response:
        checked = await portal.posted(request, signed_in=False)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        intent = str(form.get("intent", "optin"))
        name = str(form.get("provider", ""))
        email = str(form.get("email", "")).strip().lower()
        if intent not in INTENTS or name not in SIGN_IN_PROVIDERS:
            return portal.error(request, "err.unavailable", 400)
        if intent == "optin" and form.get("agree") != "yes":
            return portal.error(request, "err.consent", 400)
        if intent == "upgrade":
            if session.email is None:
                return portal.error(request, "err.session", 401)
            if form.get("agree") != "yes":
                return portal.error(request, "err.consent", 400)
            email = session.email
        cfg = rt.config.person(email) if email else None
        if cfg is None:
            return portal.error(request, "err.unknown", 403)
        if cfg.connector != name:
            return portal.error(request, "err.provider", 400, provider=NAMES.get(cfg.connector, cfg.connector))
        plugin = plugin_of(name)
        if plugin.enrollment is None or name not in rt.config.connectors:
            return portal.error(request, "err.unavailable", 400)

        def begin() -> Any:
            protect = intent == "upgrade" or _protected(portal, email)
            req = _input(portal, email, name, protect, session.language)
            return plugin.enrollment.start(req.flow, portal.redirect_uri(name))  # type: ignore[union-attr]

        try:
            started = await portal.store(begin)
        except UserError as exc:
            return portal.error(request, "err.signin", 400, detail=exc.message)
        session.pending = Pending(provider=name, email=email, intent=intent, state=started.state,
                                  verifier=started.verifier, language=session.language, started=rt.clock())
        portal.learn_form_target(started.url)
        log.info("sign-in started (%s, %s)", name, intent)
        return portal.redirect(started.url)

    async def callback(request: Request) -> Response:
        name = request.path_params["provider"]
        client = request.client.host if request.client else "?"
        if not portal.limiter.allow(client):
            return portal.error(request, "err.rate", 429)
        session = portal.session(request)
        params = dict(request.query_params)
        pending = portal.sessions.take_pending(session, params.get("state", "")) if session else None
        if session is None or pending is None or pending.provider != name:
            log.warning("sign-in answer refused: no matching state (%s)", name)
            return portal.error(request, "err.state", 400)
        plugin = plugin_of(name)

        def complete() -> str:
            protect = pending.intent == "upgrade" or _protected(portal, pending.email)
            prepared = _input(portal, pending.email, name, protect, pending.language)
            flow = plugin.enrollment
            assert flow is not None
            result = flow.finish(prepared.flow, portal.redirect_uri(name), params, pending.state, pending.verifier)
            if pending.intent == "signin":
                return "signed in"
            stored = enrollment.record(rt, prepared, result)
            prefs = load(rt.store, rt.vault, stored.email)
            changes: dict[str, Any] = {}
            if not _cfg_sets(portal, stored.email, "language"):
                changes["language"] = pending.language
            if pending.intent == "upgrade":
                changes["protect"] = True
            save(rt.store, rt.vault, stored.email, replace(prefs, **changes))
            return "enrolled"

        try:
            outcome = await portal.store(complete)
        except UserError as exc:
            log.info("sign-in refused (%s): %s", name, type(exc).__name__)
            return portal.error(request, "err.signin", 400, detail=exc.message)
        fresh = portal.sessions.rotate(session)
        fresh.email = pending.email
        fresh.language = pending.language
        log.info("sign-in completed (%s, %s): %s", name, pending.intent, outcome)
        target = "/settings"
        if pending.intent == "signin" and _leads(portal, pending.email) and not await portal.store(
                lambda: _enrolled(portal, pending.email)):
            target = "/leader"
        return portal.redirect(target, fresh)

    return [Route("/", landing, methods=["GET"]), Route("/signin", signin, methods=["POST"]),
            Route("/signin/{provider}/callback", callback, methods=["GET"])]


def _cfg_sets(portal: Portal, email: str, key: str) -> bool:
    cfg = portal.rt.config.person(email)
    return cfg is not None and cfg.sets(key)


def _protected(portal: Portal, email: str) -> bool:
    """The person already allowed writes (their next sign-in keeps asking for them)."""
    from balanced_calendar.store import NotEnrolled

    try:
        return portal.rt.store.get_person(email).protect
    except NotEnrolled:
        return False


def _enrolled(portal: Portal, email: str) -> bool:
    from balanced_calendar.store import NotEnrolled

    try:
        portal.rt.store.get_person(email)
    except NotEnrolled:
        return False
    return True


def _leads(portal: Portal, email: str) -> bool:
    return any(email in team.leaders for team in portal.rt.config.teams)


def _input(portal: Portal, email: str, name: str, protect: bool, language: str) -> enrollment.Prepared:
    """The enrollment of ``email`` as ``enroll`` would prepare it, without a browser."""
    cfg = portal.rt.config.person(email)
    lang = None if cfg is not None and cfg.sets("language") else language
    request = enrollment.EnrollRequest(email=email, provider=name, language=lang, protect=protect,
                                       open_browser=False)
    return enrollment.prepare(portal.rt, request, echo=lambda line: None)
