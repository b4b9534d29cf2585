"""The officials' dashboard at ``/admin``: log-in, and behind it the satisfaction indicator, the
unanswered questions, the citizens' comments and the report downloads.

- Accounts come from ``dvcbot admin add-user NAME``; passwords are scrypt hashes (``accounts``).
- A login opens a session: a random token in an HttpOnly, SameSite=Strict cookie on ``/admin``;
  the store keeps only the token's SHA-256 and its expiry (WEB_ADMIN_SESSION_MINUTES).
- Failed logins are logged and slowed, per name and per client address (``LoginThrottle``).
- Every page but the log-in form needs a session; every POST needs this site's Origin and the
  form's CSRF token.
- The figures are those of ``dvcbot report`` (``bot.reports``: the same ``summarise`` over the same
  store and knowledge base), the unanswered questions those of ``dvcbot kb gaps``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from bot.channels.web.accounts import LoginThrottle, verify_password
from bot.channels.web.pages import Pages
from bot.channels.web.security import (
    client_address,
    derive_key,
    harden,
    is_secure,
    mac,
    origin_ok,
    same,
)
from bot.config import Settings
from bot.conversation.dialog import Services
from bot.conversation.i18n import LANGUAGES
from bot.handoff.codes import find_code
from bot.reports.chart_svg import days_chart, field_chart, trend_chart
from bot.reports.command import render as report_bytes
from bot.reports.gaps import (
    LOW_CONFIDENCE,
    NO_ENTRY,
    Gap,
    analyse,
    learn,
    logged_gaps,
    offices_shown,
    since,
    yaml_item,
)
from bot.reports.indicator import (
    BREAKDOWNS,
    LOCAL_TZ,
    MIN_RATINGS,
    Names,
    Period,
    Summary,
    names_from,
    summarise,
)
from bot.reports.labels import DECISION_LABELS, duration, fmt_pct, interval_text, period_text
from bot.store import store as tables
from bot.store import tickets

log = logging.getLogger(__name__)

SESSION_COOKIE = "dvc_admin"
LOGIN_COOKIE = "dvc_login"
LANG_COOKIE = "dvc_admin_lang"
PATH = "/admin"
DEFAULT_DAYS = 30
PRESETS = (7, 30, 90, 365)
GAP_DAYS = (7, 30, 90, 0)
MAX_NAME = 64
FAILED_DELAY = 0.5  # seconds every failed login waits before its answer
ANSWER_MAX = 3000  # characters of a staff answer typed on the dashboard
FLASHES = frozenset({"answer", "window", "closed", "take", "close", "empty"})
DOWNLOADS = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def local_time(ts: str | None, lang: str) -> str:
    if not ts:
        return ""
    moment = dt.datetime.fromisoformat(ts).astimezone(LOCAL_TZ)
    return moment.strftime("%d/%m/%Y %H:%M" if lang == "vi" else "%Y-%m-%d %H:%M")


class Dashboard:
    def __init__(self, settings: Settings, services: Services, pages: Pages) -> None:
        self.settings = settings
        self.services = services
        self.pages = pages
        self.throttle = LoginThrottle()
        self.failed_delay = FAILED_DELAY
        self.lifetime = dt.timedelta(minutes=settings.web_admin_session_minutes)
        self._csrf = derive_key(settings, "admin-csrf")

    def add_routes(self, app: web.Application) -> None:
        route = app.router
        route.add_get(PATH, self._guard(self.indicator))
        route.add_get(f"{PATH}/", self._redirect_home)
        route.add_get(f"{PATH}/gaps", self._guard(self.gaps))
        route.add_get(f"{PATH}/comments", self._guard(self.comments))
        route.add_get(f"{PATH}/tickets", self._guard(self.tickets))
        route.add_get(f"{PATH}/tickets/{{code}}", self._guard(self.ticket))
        route.add_post(f"{PATH}/tickets/{{code}}/{{act}}", self._guard(self.ticket_action))
        route.add_get(f"{PATH}/report.{{fmt}}", self._guard(self.download))
        route.add_get(f"{PATH}/login", self.login_form)
        route.add_post(f"{PATH}/login", self.login)
        route.add_post(f"{PATH}/logout", self._guard(self.logout))

    # -- sessions ---------------------------------------------------------------------------

    async def current(self, request: web.Request) -> dict[str, Any] | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token or len(token) > 200:
            return None
        store = self.services.store
        return await store.call(tables.session, store, token_hash(token))

    def _guard(self, handler: Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]
               ) -> Handler:
        """Only with a session; a POST also needs this site's Origin and the session's token."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = await self.current(request)
            if session is None:
                if request.method == "POST":
                    return self._page_response("", status=403)
                raise web.HTTPSeeOther(f"{PATH}/login")
            if request.method == "POST" and not (
                    origin_ok(request, self.settings)
                    and same(str((await request.post()).get("csrf", "")), self.csrf(session))):
                log.warning("dashboard: a form from another site refused (Origin %r)",
                            request.headers.get("Origin"))
                return self._page_response("", status=403)
            response = await handler(request, session)
            harden(response)
            response.headers["Cache-Control"] = "no-store"
            return response
        return guarded

    def csrf(self, session: dict[str, Any]) -> str:
        return mac(self._csrf, "session", str(session["token"]))[:32]

    async def _redirect_home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(PATH)

    # -- language ---------------------------------------------------------------------------

    def lang(self, request: web.Request) -> str:
        asked = request.query.get("lang", "")
        if asked in LANGUAGES:
            return asked
        kept = request.cookies.get(LANG_COOKIE, "")
        return kept if kept in LANGUAGES else self.settings.default_locale

    def _keep_lang(self, request: web.Request, response: web.StreamResponse) -> None:
        asked = request.query.get("lang", "")
        if asked in LANGUAGES and asked != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, path=PATH,
                                httponly=True, samesite="Strict",
                                secure=is_secure(request, self.settings) or None)

    def _page_response(self, html: str, status: int = 200) -> web.Response:
        response = web.Response(text=html or "Forbidden", status=status,
                                content_type="text/html" if html else "text/plain",
                                charset="utf-8")
        harden(response)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _switch(self, request: web.Request, lang: str) -> list[dict[str, str]]:
        """Links to this page in the other languages."""
        links = []
        for code in LANGUAGES:
            if code != lang:
                query = {**request.query, "lang": code}
                links.append({"lang": code, "href": f"{request.path}?{urlencode(query)}",
                              "label": self.pages.t(code, "web.language_name")})
        return links

    def render(self, request: web.Request, name: str, lang: str,
               session: dict[str, Any] | None, **context: Any) -> web.Response:
        html = self.pages.render(name, lang, switch=self._switch(request, lang), path=request.path,
                                 account=session["account"] if session else None,
                                 csrf=self.csrf(session) if session else "", **context)
        response = self._page_response(html)
        self._keep_lang(request, response)
        return response

    # -- log-in and log-out -----------------------------------------------------------------

    def _login_token(self, request: web.Request) -> tuple[str, bool]:
        token = request.cookies.get(LOGIN_COOKIE, "")
        if 20 <= len(token) <= 100:
            return token, False
        return secrets.token_urlsafe(24), True

    def _login_page(self, request: web.Request, error: str | None = None,
                    status: int = 200, name: str = "") -> web.Response:
        lang = self.lang(request)
        token, fresh = self._login_token(request)
        html = self.pages.render("admin_login.html.j2", lang, switch=self._switch(request, lang),
                                 error=error, name=name, path=request.path, account=None,
                                 csrf=mac(self._csrf, "login", token)[:32])
        response = self._page_response(html, status)
        self._keep_lang(request, response)
        if fresh:
            response.set_cookie(LOGIN_COOKIE, token, path=f"{PATH}/login", httponly=True,
                                samesite="Strict", secure=is_secure(request, self.settings) or None)
        return response

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self.current(request) is not None:
            raise web.HTTPSeeOther(PATH)
        return self._login_page(request)

    async def login(self, request: web.Request) -> web.StreamResponse:
        lang = self.lang(request)
        address = client_address(request, self.settings)
        form = await request.post()
        name = str(form.get("name", "")).strip()[:MAX_NAME]
        password = str(form.get("password", ""))
        login_token = request.cookies.get(LOGIN_COOKIE, "")
        csrf_ok = bool(login_token) and same(str(form.get("csrf", "")),
                                             mac(self._csrf, "login", login_token)[:32])
        if not origin_ok(request, self.settings) or not csrf_ok:
            log.warning("dashboard: a log-in form from another site or an old page refused "
                        "(from %s)", address)
            return self._login_page(request, self.pages.t(lang, "admin.login_expired"), 403, name)
        keys = (f"name:{name.lower()}", f"addr:{address}")
        wait = self.throttle.wait(*keys)
        if wait > 0:
            log.warning("dashboard: log-in for %r from %s refused: too many failures, %.0f s "
                        "to wait", name, address, wait)
            response = self._login_page(
                request, self.pages.t(lang, "admin.login_wait", seconds=int(wait) + 1), 429, name)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        store = self.services.store
        account = await store.call(tables.account, store, name) if name else None
        stored = account["password"] if account else None
        if not await asyncio.to_thread(verify_password, password, stored):
            failures = self.throttle.failed(*keys)
            log.warning("dashboard: failed log-in for %r from %s (%d recent failures)",
                        name, address, failures)
            await asyncio.sleep(self.failed_delay)
            return self._login_page(request, self.pages.t(lang, "admin.login_failed"), 401, name)
        self.throttle.succeeded(*keys)
        token = secrets.token_urlsafe(32)
        expires = (dt.datetime.now(dt.UTC) + self.lifetime).isoformat(timespec="seconds")
        assert account is not None
        await store.call(tables.open_session, store, token_hash(token), account["name"], expires)
        log.info("dashboard: %s logged in from %s", account["name"], address)
        response = web.HTTPSeeOther(PATH)
        response.set_cookie(SESSION_COOKIE, token, path=PATH, httponly=True, samesite="Strict",
                            max_age=int(self.lifetime.total_seconds()),
                            secure=is_secure(request, self.settings) or None)
        response.del_cookie(LOGIN_COOKIE, path=f"{PATH}/login")
        raise response

    async def logout(self, request: web.Request, session: dict[str, Any]) -> web.StreamResponse:
        store = self.services.store
        await store.call(tables.close_session, store, session["token"])
        response = web.HTTPSeeOther(f"{PATH}/login")
        response.del_cookie(SESSION_COOKIE, path=PATH)
        raise response

    # -- figures ----------------------------------------------------------------------------

    def period(self, request: web.Request, days: int = DEFAULT_DAYS) -> tuple[Period, bool]:
        """The period asked (``from``, ``to``), else the last 30 days as `dvcbot report`."""
        default = Period.last_days(days)
        try:
            start = dt.date.fromisoformat(request.query.get("from") or default.start.isoformat())
            end = dt.date.fromisoformat(request.query.get("to") or default.end.isoformat())
        except ValueError:
            return default, False
        if start > end or (end - start).days > 3660:
            return default, False
        return Period(start, end), True

    def names(self, lang: str) -> Names:
        return names_from(self.services.knowledge.kb, lang)

    async def summary(self, period: Period, lang: str) -> Summary:
        store = self.services.store
        names = self.names(lang)
        hours = self.settings.hours
        return await store.call(lambda: summarise(store.db, period, names, hours))

    def _period_context(self, request: web.Request, period: Period, lang: str) -> dict[str, Any]:
        span = {"from": period.start.isoformat(), "to": period.end.isoformat()}
        today = Period.last_days(1).end
        presets = [{"days": d, "href": "?" + urlencode(
            {"from": (today - dt.timedelta(days=d - 1)).isoformat(), "to": today.isoformat()})}
            for d in PRESETS]
        downloads = [{"fmt": fmt, "href": f"{PATH}/report.{fmt}?" + urlencode({**span,
                                                                              "lang": lang})}
                     for fmt in DOWNLOADS]
        return {"span": span, "presets": presets, "downloads": downloads,
                "period_text": period_text(period.start, period.end, lang)}

    async def indicator(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        lang = self.lang(request)
        period, valid = self.period(request)
        summary = await self.summary(period, lang)
        usage = summary.usage
        t = self.pages.t
        charts = {  # built from escaped parts (bot.reports.chart_svg)
            "trend": Markup(trend_chart(period.weeks(), summary.groups.get("week", ()),
                                        t(lang, "report.chart_trend"))),
            "fields": Markup(field_chart(summary.groups.get("field", ()),
                                         t(lang, "report.chart_field"))),
            "days": Markup(days_chart(usage.per_day, t(lang, "report.chart_days"))),
        }
        return self.render(
            request, "admin_indicator.html.j2", lang, session, **charts,
            **self._period_context(request, period, lang), invalid=not valid,
            overall=summary.overall, min_ratings=MIN_RATINGS,
            breakdowns=[(k, summary.groups[k]) for k in BREAKDOWNS if summary.groups.get(k)],
            pct=lambda v: fmt_pct(v, lang), ci=lambda g: interval_text(g, lang),
            decimal=_decimal, usage=usage, reasons=summary.reasons,
            shares=[(DECISION_LABELS[d], fmt_pct(usage.share(d), lang))
                    for d in ("answer", "clarify", "decline", "other")],
            ranked=[("top_entries", usage.top_entries), ("top_unanswered", usage.top_unanswered)],
            handoff=summary.handoff, duration=lambda v: duration(v, lang),
            handoff_period=period_text(period.start, period.end, lang),
        )

    async def gaps(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        """What `dvcbot kb gaps` lists: groups by nearest entry, places, off-topic questions."""
        lang = self.lang(request)
        try:
            days = int(request.query.get("days", str(DEFAULT_DAYS)))
        except ValueError:
            days = DEFAULT_DAYS
        days = days if days in GAP_DAYS else DEFAULT_DAYS
        store = self.services.store
        kb = self.services.knowledge.kb
        questions = await store.call(logged_gaps, store.db, since(days), LOW_CONFIDENCE)
        shown = await store.call(offices_shown, store.db, since(days))
        answered = await store.call(tickets.answered_tickets, store, since(days))
        analysis = analyse(questions, kb, shown)
        names = self.names(lang)
        places = [{"name": place.name, "office": place.office, "how": place.how,
                   "total": len(place.questions),
                   "asked": Counter(q.text for q in place.questions).most_common(5)}
                  for place in analysis.places]
        return self.render(
            request, "admin_gaps.html.j2", lang, session, days=days, choices=GAP_DAYS,
            gaps=[self._gap_row(gap, names, lang) for gap in analysis.gaps], places=places,
            offtopic=Counter(q.text for q in analysis.offtopic).most_common(5),
            offtopic_total=len(analysis.offtopic), total=len(questions),
            groups=analysis.groups, threshold=LOW_CONFIDENCE, yaml=yaml_item,
            learned=learn(answered, kb, lang))

    def _gap_row(self, gap: Gap, names: Names, lang: str) -> dict[str, Any]:
        if gap.entry_id == NO_ENTRY:
            title = self.pages.t(lang, "gaps.chat.nothing")
        elif gap.removed:
            title = self.pages.t(lang, "gaps.chat.removed", title=gap.title).strip()
        else:
            title = names.entries.get(gap.entry_id, gap.title)
        root = self.settings.knowledge_dir.parent
        file = ""
        if gap.file is not None:
            file = (gap.file.relative_to(root).as_posix() if gap.file.is_relative_to(root)
                    else gap.file.name)
        return {"entry_id": gap.entry_id, "title": title, "file": file,
                "none": gap.entry_id == NO_ENTRY, "total": len(gap.questions),
                "counts": sorted(gap.counts.items()),
                "asked": Counter(q.text for q in gap.questions).most_common(5),
                "suggestions": gap.suggestions}

    async def comments(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        lang = self.lang(request)
        period, valid = self.period(request)
        bounds = period.utc_bounds()
        store = self.services.store
        summary = await self.summary(period, lang)
        comments = await store.call(tables.comments_between, store, *bounds)
        low = await store.call(tables.low_ratings_between, store, *bounds)
        names = self.names(lang)
        survey = self.services.knowledge.kb.survey
        scale = {o.value: (o.label_en if lang == "en" and o.label_en else o.label)
                 for o in survey.scale}

        def described(row: dict[str, Any]) -> dict[str, Any]:
            value = row.get("value")
            return {**row, "when": local_time(row["ts"], lang),
                    "entry": names.label("procedure", row["entry_id"]) if row.get("entry_id")
                    else "",
                    "channel_name": names.label("channel", row["channel"] or ""),
                    "rating": scale.get(value, str(value)) if value is not None else "",
                    "reason_name": names.reasons.get(row["reason"], row["reason"])
                    if row.get("reason") else ""}

        return self.render(request, "admin_comments.html.j2", lang, session,
                           **self._period_context(request, period, lang), invalid=not valid,
                           comments=[described(c) for c in comments],
                           low=[described(r) for r in low], reasons=summary.reasons)

    # -- hand-over tickets (bot/handoff) ------------------------------------------------------

    def _handoff_context(self, summary: Summary, lang: str) -> dict[str, Any]:
        return {"handoff": summary.handoff, "pct": lambda v: fmt_pct(v, lang),
                "duration": lambda v: duration(v, lang),
                "handoff_period": period_text(summary.period.start, summary.period.end, lang)}

    async def tickets(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        """The queue: tickets waiting for staff, those answered and not closed, the last closed;
        with the hand-over figures of the last 30 days."""
        lang = self.lang(request)
        store = self.services.store
        names = self.names(lang)
        summary = await self.summary(Period.last_days(DEFAULT_DAYS), lang)
        waiting = await store.call(tickets.queue_list, store, ("open", "answered"), 200)
        closed = await store.call(tickets.queue_list, store, ("closed",), 20)

        def row(t: dict[str, Any]) -> dict[str, Any]:
            return {**t, "when": local_time(t["opened"], lang),
                    "channel_name": names.label("channel", t["channel"])}

        return self.render(request, "admin_tickets.html.j2", lang, session,
                           waiting=[row(t) for t in waiting], closed=[row(t) for t in closed],
                           **self._handoff_context(summary, lang))

    async def _ticket_of(self, request: web.Request) -> dict[str, Any]:
        code = find_code(request.match_info["code"])
        store = self.services.store
        found = await store.call(tickets.ticket_by_code, store, code) if code else None
        if found is None:
            raise web.HTTPNotFound()
        return found

    async def ticket(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        lang = self.lang(request)
        found = await self._ticket_of(request)
        store = self.services.store
        kb = self.services.knowledge.kb
        names = self.names(lang)
        messages = await store.call(tickets.messages, store, found["id"])
        turns = [{**t, "when": local_time(t.get("ts"), lang),
                  "entry": names.label("procedure", t["entry_id"]) if t.get("entry_id") else ""}
                 for t in json.loads(found.get("transcript") or "[]")]
        first_answer = next((m["text"] for m in messages if m["author"] == "staff"), None)
        answered = [{**found, "answer": first_answer}] if first_answer else []
        flash_key = request.query.get("done", "")
        flash = self.pages.t(lang, f"admin.ticket_done_{flash_key}") if flash_key in FLASHES \
            else None
        return self.render(
            request, "admin_ticket.html.j2", lang, session, ticket=found,
            opened=local_time(found["opened"], lang),
            channel_name=names.label("channel", found["channel"]),
            entry=names.label("procedure", found["entry_id"]) if found.get("entry_id") else "",
            turns=turns, flash=flash, flash_error=flash_key in {"window", "closed"},
            messages=[{**m, "when": local_time(m["ts"], lang)} for m in messages],
            learned=learn(answered, kb, lang), yaml=yaml_item,
            max_chars=ANSWER_MAX)

    async def ticket_action(self, request: web.Request,
                            session: dict[str, Any]) -> web.StreamResponse:
        """Answer (relayed to the citizen), take or close a ticket from the dashboard."""
        found = await self._ticket_of(request)
        desk = self.services.desk
        act = request.match_info["act"]
        if desk is None or act not in {"answer", "take", "close"}:
            raise web.HTTPNotFound()
        staff = str(session["account"])
        done = act
        if act == "answer":
            text = str((await request.post()).get("text", "")).strip()[:ANSWER_MAX]
            if not text:
                done = "empty"
            else:
                result = await desk.answer(found, staff, "dashboard", text)
                done = ("closed" if result.get("refused") else
                        "window" if result["delivery"] == "window_closed" else "answer")
                log.info("dashboard: %s answered %s", staff, found["code"])
        elif act == "take":
            await desk.take(found["id"], staff)
        else:
            await desk.close(found["id"], staff)
            log.info("dashboard: %s closed %s", staff, found["code"])
        raise web.HTTPSeeOther(f"{PATH}/tickets/{found['code']}?done={done}")

    async def download(self, request: web.Request, session: dict[str, Any]) -> web.Response:
        fmt = request.match_info["fmt"]
        if fmt not in DOWNLOADS:
            raise web.HTTPNotFound()
        lang = self.lang(request)
        period, _ = self.period(request)
        summary = await self.summary(period, lang)
        body = await asyncio.to_thread(report_bytes, summary, fmt, lang)  # as `dvcbot report`
        name = f"dvcbot-report-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"
        response = web.Response(body=body, headers={
            "Content-Type": DOWNLOADS[fmt],
            "Content-Disposition": f'attachment; filename="{name}"'})
        return response


def _decimal(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"

