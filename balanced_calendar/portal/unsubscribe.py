"""The digest's one-click unsubscribe (RFC 8058).

The digest's ``List-Unsubscribe`` names ``<base_url>/unsubscribe/<token>`` (the token is the
person's pseudonym and a check keyed with the installation's secret:
:func:`balanced_calendar.digest.queue.unsubscribe_token`; never the address) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. A ``POST`` with that body switches
the digest off without a session (a dated consent record without ``weekly_digest``). A
``GET`` (a person clicking the link, or a mail scanner following it) changes nothing: it
shows a page whose button makes the same POST.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from balanced_calendar.digest.queue import person_of_token, set_digest
from balanced_calendar.portal.app import Portal

log = logging.getLogger(__name__)
ONE_CLICK = "One-Click"


def routes(portal: Portal) -> list[Route]:
    rt = portal.rt

    async def ask(request: Request) -> Response:
        token = request.path_params["token"]
        person = await portal.store(lambda: person_of_token(rt.store, token))
        if person is None:
            return portal.error(request, "unsub.bad", 404)
        return portal.page(request, "unsubscribe.html.j2", portal.session(request), token=token, done=False)

    async def one_click(request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form()
        if form.get("List-Unsubscribe") != ONE_CLICK:
            return portal.error(request, "unsub.bad", 400)

        def switch_off() -> str | None:
            person = person_of_token(rt.store, token)
            if person is None:
                return None
            set_digest(rt.store, person, False, rt.clock())
            return person.pseudonym

        pseudonym = await portal.store(switch_off)
        if pseudonym is None:
            return portal.error(request, "unsub.bad", 404)
        log.info("digest of %s switched off (one-click unsubscribe)", pseudonym)
        return portal.page(request, "unsubscribe.html.j2", portal.session(request), token=token, done=True)

    return [Route("/unsubscribe/{token}", ask, methods=["GET"]),
            Route("/unsubscribe/{token}", one_click, methods=["POST"])]
