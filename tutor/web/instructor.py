"""The instructor's page: a class at a glance, behind a secret (`BRAIN_TUTOR_INSTRUCTOR_TOKEN`).

Routes of the same app as the tutor (FastAPI, served by Gradio's server; `routes(tutor)` gives
them to `tutor.web.page.launch`, `mount(app, tutor)` to another FastAPI app):

* `/instructor`: the classes that have learners, and a form for a class code;
* `/instructor/CODE`: each learner's pseudonym, step and time on it, a learners-by-concepts
  mastery heatmap (each cell shows its number: colour is never the only cue), who looks stuck
  and why, and the questions the class asks most (without names);
* `/instructor/CODE.csv`: the same rows as CSV.

No token configured: every route answers 404 (the page is off). A wrong or missing token: 403
and a form to type it. The token is accepted from that form (which sets an HttpOnly cookie
holding an HMAC of it, never the token), an `Authorization: Bearer` header, an
`X-Instructor-Token` header or `?token=`; every comparison is `hmac.compare_digest`. Plain
server-rendered HTML, no script; nothing is cached (`Cache-Control: no-store`).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from html import escape
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutor.api import Tutor
from tutor.tools.classes import CLASS_CODE

TOKEN_VARIABLE = "BRAIN_TUTOR_INSTRUCTOR_TOKEN"
COOKIE = "brain_tutor_instructor"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a;max-width:80rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #999;padding:.35rem .6rem;text-align:left}
td.p{text-align:center;font-variant-numeric:tabular-nums;min-width:3.2rem}
.stuck{font-weight:bold;color:#8a1c00}caption{text-align:left;font-weight:bold;margin-bottom:.4rem}
.key span{display:inline-block;padding:.2rem .5rem;border:1px solid #999;margin-right:.3rem}
a{color:#0645ad}
"""


def _token() -> str:
    return os.environ.get(TOKEN_VARIABLE, "").strip()


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"brain-tutor-instructor-cookie", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _authorised(request: Request, token: str) -> bool:
    bearer = request.headers.get("authorization", "")
    offered = [request.query_params.get("token", ""), request.headers.get("x-instructor-token", ""),
               bearer[7:] if bearer.lower().startswith("bearer ") else ""]
    cookie = request.cookies.get(COOKIE, "")
    found = any(value and _same(value, token) for value in offered)
    return found or (bool(cookie) and _same(cookie, _cookie_value(token)))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style>'
            f"</head><body><main>{body}</main></body></html>")
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _off() -> HTMLResponse:
    return _page("Not found", "<h1>Not found</h1><p>The instructor page is off: set "
                 f"<code>{TOKEN_VARIABLE}</code> to turn it on.</p>", 404)


def _login(action: str, wrong: bool = False) -> HTMLResponse:
    note = "<p role=\"alert\">That token is not right.</p>" if wrong else ""
    return _page("Instructor sign-in", f"<h1>Instructor page</h1>{note}<p>This page needs the "
                 "instructor token.</p>"
                 f'<form method="post" action="{escape(action)}"><label for="token">Instructor token</label> '
                 '<input id="token" name="token" type="password" autocomplete="current-password" required> '
                 '<button type="submit">Sign in</button></form>', 403)


def _shade(p: float) -> tuple[str, str]:
    """A cell's background (light to dark blue with p) and a text colour that reads on it."""
    lightness = round(95 - 60 * max(0.0, min(1.0, p)))
    return f"hsl(210,70%,{lightness}%)", "#fff" if lightness < 50 else "#111"


def concept_names(tutor: Tutor, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Concept id -> name, in the concept map's order, then any other id the rows hold."""
    names: dict[str, str] = {}
    for concept in getattr(getattr(tutor.agent, "concepts", None), "concepts", ()) or ():
        names[str(concept.id)] = str(getattr(concept, "name", concept.id))
    for row in rows:
        for concept in row["mastery"]:
            names.setdefault(concept, concept)
    return names


def _minutes(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} min"


def class_html(tutor: Tutor, code: str) -> str:
    """The body of a class's page: learners, heatmap, stuck learners, questions, CSV link."""
    rows = tutor.class_report(code)
    names = concept_names(tutor, rows)
    title = f"<h1>Class {escape(code)}</h1><p><a href=\"../instructor\">All classes</a> · " \
            f"<a href=\"{escape(code)}\">Refresh</a> · <a href=\"{escape(code)}.csv\" download>" \
            f"Download CSV</a></p>"
    if not rows:
        return title + "<p>No learner has joined this class yet. Learners join with the page's " \
               f"address ending in <code>?class={escape(code)}</code>, or by typing " \
               f"<code>join class {escape(code)}</code>.</p>"
    stuck = [row for row in rows if row["stuck"]]
    parts = [title, f"<p>{len(rows)} learner(s); {len(stuck)} look stuck.</p>"]
    parts.append("<table id='learners'><caption>Learners</caption><thead><tr><th scope='col'>Pseudonym</th>"
                 "<th scope=\"col\">Step</th><th scope=\"col\">Time on step</th>"
                 "<th scope=\"col\">Checks passed</th><th scope=\"col\">Stuck?</th></tr></thead><tbody>")
    for row in rows:
        flag = f"<span class=\"stuck\">Yes: {escape(row['stuck_reason'])}</span>" if row["stuck"] else "No"
        parts.append(f"<tr><th scope=\"row\">{escape(row['pseudonym'])}</th>"
                     f"<td>{escape(row['step_title'])}</td><td>{_minutes(row['minutes_on_step'])}</td>"
                     f"<td>{row['checks_passed']}</td><td>{flag}</td></tr>")
    parts.append("</tbody></table>")
    parts.append("<table id=\"heatmap\"><caption>Mastery: the probability that each learner knows each "
                 "concept (0 to 1; darker is higher; a dash: no evidence yet)</caption><thead><tr>"
                 "<th scope=\"col\">Pseudonym</th>")
    parts.extend(f"<th scope=\"col\">{escape(name)}</th>" for name in names.values())
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append(f"<tr><th scope=\"row\">{escape(row['pseudonym'])}</th>")
        for concept in names:
            value = row["mastery"].get(concept)
            if value is None or concept not in row.get("seen", row["mastery"]):
                prior = "" if value is None else f" (prior {value:.2f})"
                parts.append(f"<td class='p' title='no evidence yet{prior}'>–</td>")
                continue
            background, colour = _shade(value)
            parts.append(f"<td class=\"p\" style=\"background:{background};color:{colour}\">{value:.2f}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    low, high = _shade(0.0), _shade(1.0)
    parts.append(f"<p class=\"key\">Key: <span style=\"background:{low[0]}\">0.00 not known</span>"
                 f"<span style=\"background:{high[0]};color:{high[1]}\">1.00 known</span></p>")
    questions = tutor.class_questions(code)
    parts.append("<h2>Questions most asked</h2>")
    if questions:
        parts.append("<ol id=\"questions\">" + "".join(
            f"<li>{escape(text)} ({count} learner{'s' if count != 1 else ''})</li>"
            for text, count in questions) + "</ol>")
    else:
        parts.append("<p>No questions yet.</p>")
    return "".join(parts)


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def class_csv(tutor: Tutor, code: str) -> str:
    """The class's rows as CSV: one line per learner, a column per concept."""
    rows = tutor.class_report(code)
    names = concept_names(tutor, rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pseudonym", "step", "step_title", "minutes_on_step", "checks_passed",
                     "stuck", "stuck_reason", *names])
    for row in rows:
        writer.writerow([_cell(row["pseudonym"]), row["step"], _cell(row["step_title"]),
                         "" if row["minutes_on_step"] is None else row["minutes_on_step"],
                         row["checks_passed"], "yes" if row["stuck"] else "no", row["stuck_reason"],
                         *("" if row["mastery"].get(concept) is None else row["mastery"][concept]
                           for concept in names)])
    return out.getvalue()


def router(tutor: Tutor) -> APIRouter:
    """The instructor routes over this tutor's store."""
    api = APIRouter()

    @api.get("/instructor", include_in_schema=False)
    def index(request: Request) -> Response:
        token = _token()
        if not token:
            return _off()
        if not _authorised(request, token):
            return _login("instructor")
        codes = tutor.store.class_codes()
        items = "".join(f"<li><a href='instructor/{escape(code)}'>{escape(code)}</a></li>" for code in codes)
        listing = f"<ul id=\"classes\">{items}</ul>" if codes else "<p>No class has learners yet.</p>"
        response = _page("Instructor", "<h1>Your classes</h1>" + listing +
                         "<form method='get' action='instructor/go'><label for='code'>Class code</label> "
                         "<input id='code' name='code' required> <button type='submit'>Open</button></form>"
                         "<p>Learners join with the tutor's address ending in <code>?class=CODE</code>, or "
                         "by typing <code>join class CODE</code>.</p>")
        _remember(request, response, token)
        return response

    @api.post("/instructor", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        token = _token()
        if not token:
            return _off()
        form = await request.form()
        if not _same(str(form.get("token", "")), token):
            return _login("instructor", wrong=True)
        response = RedirectResponse("instructor", status_code=303, headers=HEADERS)
        _remember(request, response, token, force=True)
        return response

    @api.get("/instructor/{name}", include_in_schema=False)
    def one_class(name: str, request: Request) -> Response:
        token = _token()
        if not token:
            return _off()
        if not _authorised(request, token):
            return _login("../instructor")
        if name == "go":  # the form on the index page
            code = request.query_params.get("code", "").strip().lower()
            if CLASS_CODE.fullmatch(code):
                return RedirectResponse(code, status_code=303, headers=HEADERS)
            return _page("No such class", "<p>A class code is letters, digits, '-' or '_'. "
                         "<a href=\"../instructor\">Back</a></p>", 404)
        code, csv_wanted = (name[:-4], True) if name.endswith(".csv") else (name, False)
        if not CLASS_CODE.fullmatch(code):
            return _page("No such class", "<p>A class code is letters, digits, '-' or '_'.</p>", 404)
        if csv_wanted:
            return Response(class_csv(tutor, code), media_type="text/csv; charset=utf-8", headers={
                **HEADERS, "Content-Disposition": f'attachment; filename="class-{code}.csv"'})
        response = _page(f"Class {code}", class_html(tutor, code))
        _remember(request, response, token)
        return response

    return api


def _remember(request: Request, response: Response, token: str, force: bool = False) -> None:
    """Keep the instructor signed in (an HttpOnly cookie with an HMAC of the token)."""
    if force or request.cookies.get(COOKIE) != _cookie_value(token):
        root = str(request.scope.get("root_path", "") or "").rstrip("/")
        response.set_cookie(COOKIE, _cookie_value(token), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path=f"{root}/instructor",
                            max_age=12 * 3600)


def routes(tutor: Tutor) -> list[Any]:
    """The routes, for `FastAPI(routes=...)` (how `tutor.web.page.launch` serves them)."""
    return list(router(tutor).routes)


def mount(app: FastAPI, tutor: Tutor) -> FastAPI:
    """Add the instructor routes to another FastAPI app (one that mounts the page itself)."""
    app.include_router(router(tutor))
    return app
