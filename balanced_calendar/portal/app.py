"""The self-service opt-in portal (``balanced-calendar serve``): a Starlette application
served by uvicorn.

Pages (``docs/portal.md``): ``/`` landing and consent, ``/signin`` and
``/signin/<provider>/callback`` (authorization code with ``state`` and PKCE, through the
provider plug-ins' :meth:`~connectors.plugin.Enrollment.start`/``finish``), ``/settings``,
``/blocks/stop``, ``/withdraw``, ``/unsubscribe/<token>`` (RFC 8058 one-click), ``/leader``.

One :class:`Portal` holds the runtime (store, vault, config), the sessions, the rate limit
and the templates; the route modules take it as their only argument. Store work runs in
worker threads under one lock; calls to the providers run outside it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from balanced_calendar.portal import security
from balanced_calendar.portal.texts import say
from balanced_calendar.runtime import Runtime
from balanced_calendar.texts import LANGUAGES

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
T = TypeVar("T")

#: the providers that offer a browser sign-in on the landing page, in button order
SIGN_IN_PROVIDERS = ("google", "microsoft")


@dataclass
class Portal:
    """Everything the routes share."""

    rt: Runtime
    base_url: str
    sessions: security.Sessions
    limiter: security.RateLimit
    lock: threading.Lock = field(default_factory=threading.Lock)
    form_targets: set[str] = field(default_factory=set)
    env: jinja2.Environment = field(default_factory=lambda: jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
        undefined=jinja2.StrictUndefined))

    # -- helpers for the routes ----------------------------------------------------------
    @property
    def lifetime(self) -> dt.timedelta:
        return self.sessions.lifetime

    def redirect_uri(self, provider: str) -> str:
        return f"{self.base_url}/signin/{provider}/callback"

    def session(self, request: Request) -> security.Session | None:
        return self.sessions.get(request.cookies.get(security.COOKIE))

    def language(self, request: Request, session: security.Session | None) -> str:
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            if session is not None:
                session.language = asked
            return asked
        return session.language if session is not None else self.rt.config.service.language

    async def store(self, work: Callable[[], T]) -> T:
        """Run ``work`` (store and vault access) in a worker thread, one at a time."""
        def locked() -> T:
            with self.lock:
                return work()

        return await run_in_threadpool(locked)

    def page(self, request: Request, template: str, session: security.Session | None, *,
             status: int = 200, start_session: bool = True, **values: Any) -> HTMLResponse:
        """Render ``template`` in the session's language; a visitor without a session gets one
        (its CSRF token goes into the page's forms) unless ``start_session`` is false."""
        fresh = session is None and start_session
        lang = self.language(request, session)
        if fresh:
            session = self.sessions.new(lang)
        flash = None
        if session is not None:
            flash, session.flash = session.flash, None
        html = self.env.get_template(template).render(
            t=lambda key, **kw: say(key, lang, **kw), lang=lang, other="en" if lang == "id" else "id",
            csrf=session.csrf if session else "", signed_in=session is not None and session.email is not None,
            flash=flash, path=request.url.path, **values)
        response = HTMLResponse(html, status_code=status)
        if fresh and session is not None:
            response.headers.append("set-cookie", security.cookie_header(session, self.lifetime))
        return response

    async def posted(self, request: Request, *,
                     signed_in: bool = True) -> tuple[security.Session, FormData] | HTMLResponse:
        """The session and form of a POST whose CSRF token is the session's, or the error page
        to answer with: 403 for a missing or wrong token, 401 when ``signed_in`` and nobody is."""
        session = self.session(request)
        form = await request.form()
        if session is None or not security.csrf_ok(session, form.get("csrf")):
            return self.error(request, "err.csrf", 403)
        if signed_in and session.email is None:
            return self.error(request, "err.session", 401)
        return session, form

    def error(self, request: Request, key: str, status: int, **values: Any) -> HTMLResponse:
        """An error page. It never starts a session: a request that arrived without the
        cookie (another site's form) must not replace the browser's own session."""
        session = self.session(request)
        lang = self.language(request, session)
        return self.page(request, "error.html.j2", session, status=status, start_session=False,
                         message=say(key, lang, **values))

    def redirect(self, url: str, session: security.Session | None = None) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        if session is not None:
            response.headers.append("set-cookie", security.cookie_header(session, self.lifetime))
        return response

    def csp(self) -> str:
        return security.content_security_policy(self.form_targets)

    def learn_form_target(self, url: str) -> None:
        """Allow forms to lead to the origin of a provider's sign-in page (CSP form-action
        also covers the redirect a form's answer makes)."""
        parts = urllib.parse.urlsplit(url)
        self.form_targets.add(f"{parts.scheme}://{parts.netloc}")


def provider_origins(rt: Runtime) -> set[str]:
    """The origins of the configured providers' sign-in pages (for the CSP's form-action)."""
    origins: set[str] = set()
    for name, settings in rt.config.connectors.items():
        try:
            if name == "google" and getattr(settings, "client_secrets_file", None):
                from connectors.google.auth import client_config

                url = client_config(settings.client_secrets_file).get("auth_uri", "https://accounts.google.com")
            elif name == "microsoft":
                url = settings.authority_url
            else:
                continue
        except Exception:  # an unreadable client file: the sign-in reports it when started
            continue
        parts = urllib.parse.urlsplit(str(url))
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


async def not_found(request: Request, exc: Exception) -> Response:
    portal: Portal = request.app.state.portal
    return portal.error(request, "err.notfound", 404)


def build_app(rt: Runtime, *, base_url: str | None = None, clock: Callable[[], dt.datetime] | None = None) -> Any:
    """The ASGI application for ``rt`` (its config's ``[portal]`` section).

    Raises :class:`~balanced_calendar.model.UserError` when no ``base_url`` is known.
    """
    from balanced_calendar.model import UserError
    from balanced_calendar.portal import account, leader, optin, unsubscribe

    cfg = rt.config.portal
    base = (base_url or cfg.base_url or "").rstrip("/")
    if not base:
        raise UserError("the portal needs its public address", hint="set [portal] base_url in the config")
    now = clock or rt.clock
    portal = Portal(rt=rt, base_url=base,
                    sessions=security.Sessions(dt.timedelta(minutes=cfg.session_minutes), now),
                    limiter=security.RateLimit(cfg.signin_per_minute, now))
    portal.form_targets |= provider_origins(rt)
    routes: list[Any] = [*optin.routes(portal), *account.routes(portal), *unsubscribe.routes(portal),
                         *leader.routes(portal),
                         Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.portal = portal
    return security.TrustedProxies(security.SecurityHeaders(app, portal.csp), cfg.trusted_proxies)


def server_config(app: Any, *, host: str, port: int, certfile: Path | None = None,
                  keyfile: Path | None = None) -> Any:
    """uvicorn's settings for the portal: no access log (paths carry one-click tokens and
    callbacks carry codes), no server header, no proxy headers of its own (:class:`~balanced_calendar.
    portal.security.TrustedProxies` decides), https when a certificate is given."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False,
                            access_log=False, log_config=None, lifespan="off",
                            ssl_certfile=str(certfile) if certfile else None,
                            ssl_keyfile=str(keyfile) if keyfile else None)
    logging.getLogger("uvicorn.access").disabled = True
    return config


def serve(rt: Runtime, *, host: str | None = None, port: int | None = None, certfile: Path | None = None,
          keyfile: Path | None = None, base_url: str | None = None) -> None:
    """Run the portal with uvicorn until interrupted (one process, one worker: sessions live
    in its memory)."""
    import uvicorn

    cfg = rt.config.portal
    app = build_app(rt, base_url=base_url)
    log.info("portal listening on %s:%s", host or cfg.listen, port or cfg.port)
    uvicorn.Server(server_config(app, host=host or cfg.listen, port=port or cfg.port, certfile=certfile,
                                 keyfile=keyfile)).run()


__all__ = ["Portal", "Route", "build_app", "serve", "server_config"]
