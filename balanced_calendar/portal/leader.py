"""The leader view: a signed-in leader sees the anonymised reports of the teams they lead
(``[[teams]] leaders`` and members flagged ``leader = true``), as the report package renders
them; everyone else gets 403. The reports hold aggregates only (k-anonymous,
``docs/reports.md``); the page adds nothing about any person.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from balanced_calendar.digest.compose import parse_week
from balanced_calendar.model import UserError
from balanced_calendar.portal.app import Portal
from balanced_calendar.report.command import last_week
from balanced_calendar.report.compose import compose_report
from balanced_calendar.report.plan import team_zone
from balanced_calendar.report.render import render_html

#: the report page is self-contained HTML with its own inline styles and no script
REPORT_CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def routes(portal: Portal) -> list[Route]:
    rt = portal.rt

    def teams_of(email: str) -> list:
        return [t for t in rt.config.teams if email in t.leaders]

    async def overview(request: Request) -> Response:
        session = portal.session(request)
        if session is None or session.email is None:
            return portal.error(request, "err.session", 401)
        teams = teams_of(session.email)
        if not teams:
            return portal.error(request, "err.forbidden", 403)
        return portal.page(request, "leader.html.j2", session, teams=teams)

    async def report(request: Request) -> Response:
        session = portal.session(request)
        if session is None or session.email is None:
            return portal.error(request, "err.session", 401)
        team_id = request.path_params["team"]
        if team_id not in {t.id for t in teams_of(session.email)}:
            return portal.error(request, "err.forbidden", 403)
        lang = portal.language(request, session)
        week_text = request.query_params.get("week")

        def build() -> str:
            year, week = (parse_week(week_text) if week_text
                          else last_week(rt.clock(), team_zone(rt.config, team_id)))
            return render_html(compose_report(rt.store, rt.config, rt.policy, team_id, year, week, rt.clock()), lang)

        try:
            html = await portal.store(build)
        except UserError as exc:
            return portal.error(request, "err.value", 400, detail=exc.message)
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    return [Route("/leader", overview, methods=["GET"]), Route("/leader/{team}", report, methods=["GET"])]
