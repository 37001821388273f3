"""The LTI 1.3 tool's HTTP side, on the upload service:

    GET  /lti/jwks                 the tool's public keys (the platform checks the tool's JWTs with them)
    GET|POST /lti/login            OIDC login initiation: a state and a nonce, and off to the platform
    POST /lti/launch               the platform's id_token: checked, then the student's upload page,
                                   the instructor's class page, or (deep linking) the choice of assignment
    POST /lti/deep-link            the instructor's choice, back to the platform as a signed content item
    GET  /lti/student?token=       a student's upload page and submissions (a signed link of the launch)
    GET  /lti/class?token=         an instructor's class page: each student's latest score, the grade
                                   passback's state, the roster (NRPS) with who has handed in nothing

The pages are for people in a browser: a refused launch is a page that says why (HTTP 400/401),
not JSON. A launch signs a link of LAUNCH_HOURS for the pages; the upload page hands in through
POST /submissions with it, as any client does.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from grader.apps.server.auth import Principal
from grader.apps.server.lti.launch import CLAIM, Launch, LaunchRefused, student_id_of
from grader.apps.server.lti.records import Link
from grader.apps.server.lti.services import ServiceError
from grader.apps.server.lti.tool import LtiTool
from grader.checks.registry import max_score
from grader.i18n import Lang, Messages
from grader.spec import LoadedAssignment

log = logging.getLogger("grader.server.lti")
LAUNCH_HOURS = 8
STATE_COOKIE = "grader_lti_state"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def add_lti_routes(app: FastAPI, state: dict[str, Any], default_lang: Lang | None) -> None:
    """`state` is the app's: its "lti" (an LtiTool), "tokens", "storage" and "assignments"."""
    pages = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html", "j2"]))

    def page(template: str, lang: Lang, status: int = 200, **context: Any) -> HTMLResponse:
        messages = Messages(lang)
        html = pages.get_template(template).render(lang=lang, t=messages.text, **context)
        return HTMLResponse(html, status_code=status, headers=NO_STORE)

    def refused(reason: str, lang: Lang, status: int = 400) -> HTMLResponse:
        log.warning("LTI: %s", reason)
        return page("problem.html.j2", lang, status, title=Messages(lang).text("lti.refused"), reason=reason)

    def tool() -> LtiTool:
        found: LtiTool = state["lti"]
        return found

    def base_url(request: Request) -> str:
        return (tool().settings.public_url or str(request.base_url)).rstrip("/")

    def lang_of(assignment: LoadedAssignment | None, locale: str = "") -> Lang:
        if locale[:2] in ("ja", "en"):
            return "ja" if locale.startswith("ja") else "en"
        return default_lang or (assignment.spec.lang if assignment else "en")

    def total_max(assignment: LoadedAssignment) -> float:
        """The LMS's maximum: the automatic score's and the written answers' (a person's points)."""
        return round(max_score(assignment.spec) + assignment.spec.written_max, 2)

    # -- keys and login ----------------------------------------------------------------------
    @app.get("/lti/jwks", tags=["lti"])
    def jwks() -> JSONResponse:
        return JSONResponse(tool().keys.jwks(), headers={"Cache-Control": "max-age=300"})

    def login(request: Request, params: dict[str, str]) -> Response:
        issuer, hint = params.get("iss", ""), params.get("login_hint", "")
        if not issuer or not hint:
            return refused("the login has no iss or no login_hint", lang_of(None))
        platform = tool().platforms.find(issuer, params.get("client_id") or None)
        if platform is None:
            return refused(f"the platform {issuer!r} is not registered with this grader "
                           "(`grader serve --register-lti`)", lang_of(None))
        deployment = params.get("lti_deployment_id")
        if deployment and deployment not in platform.deployment_ids:
            return refused(f"the deployment {deployment!r} is not registered for {platform.name}", lang_of(None))
        state_value, nonce = tool().records.new_state(platform.issuer, platform.client_id)
        query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
                 "client_id": platform.client_id, "redirect_uri": f"{base_url(request)}/lti/launch",
                 "state": state_value, "nonce": nonce, "login_hint": hint}
        if params.get("lti_message_hint"):
            query["lti_message_hint"] = params["lti_message_hint"]
        target = str(platform.auth_login_url)
        answer = RedirectResponse(f"{target}{'&' if '?' in target else '?'}{urlencode(query)}", status_code=302)
        secure = base_url(request).startswith("https://")
        # In an LMS's iframe the launch is a cross-site POST: only SameSite=None cookies come with it
        # (and those only over https). Where the browser sends none, the state alone is checked.
        answer.set_cookie(STATE_COOKIE, state_value, max_age=600, httponly=True, secure=secure,
                          samesite="none" if secure else "lax")
        return answer

    @app.get("/lti/login", tags=["lti"], response_class=HTMLResponse)
    def login_get(request: Request) -> Response:
        return login(request, dict(request.query_params))

    @app.post("/lti/login", tags=["lti"], response_class=HTMLResponse)
    def login_post(request: Request, iss: str = Form(""), login_hint: str = Form(""),
                   target_link_uri: str = Form(""), lti_message_hint: str = Form(""), client_id: str = Form(""),
                   lti_deployment_id: str = Form("")) -> Response:
        return login(request, {"iss": iss, "login_hint": login_hint, "target_link_uri": target_link_uri,
                               "lti_message_hint": lti_message_hint, "client_id": client_id,
                               "lti_deployment_id": lti_deployment_id})

    # -- the launch ----------------------------------------------------------------------------
    @app.post("/lti/launch", tags=["lti"], response_class=HTMLResponse)
    def launch(request: Request, id_token: str = Form(""), state_value: str = Form("", alias="state")) -> Response:
        try:
            checked = tool().checker.check(id_token, state_value, request.cookies.get(STATE_COOKIE))
        except LaunchRefused as exc:
            return refused(str(exc), lang_of(None), status=401)
        if checked.message_type == "LtiDeepLinkingRequest":
            return deep_link_choice(checked)
        assignment: LoadedAssignment | None = state["assignments"].get(checked.assignment or "")
        lang = lang_of(assignment, checked.locale)
        if assignment is None:
            return refused(f"this link names no assignment this grader serves ({checked.assignment!r}): set the "
                           "custom parameter assignment=<id>, or add the link again by deep linking", lang)
        tool().records.remember(Link(
            assignment=assignment.spec.id, student_id=checked.student_id, issuer=checked.platform.issuer,
            client_id=checked.platform.client_id, sub=checked.sub, name=checked.name, instructor=checked.instructor,
            context_id=checked.context_id, resource_link_id=checked.resource_link_id, ags=checked.ags,
            nrps_url=checked.nrps_url, updated=time.time()))
        tokens = state["tokens"]
        if checked.instructor:
            token, _ = tokens.sign_instructor(assignment.spec.id, checked.student_id, LAUNCH_HOURS / 24)
            where = "/lti/class"
        else:
            token, _ = tokens.sign_student(assignment.spec.id, checked.student_id, LAUNCH_HOURS / 24)
            where = "/lti/student"
        answer = RedirectResponse(f"{where}?{urlencode({'token': token, 'lang': lang})}", status_code=303)
        answer.delete_cookie(STATE_COOKIE)
        return answer

    def deep_link_choice(checked: Launch) -> Response:
        lang = lang_of(None, checked.locale)
        if not checked.instructor:
            return refused("only the course's staff can add this tool to a course", lang, status=403)
        assert checked.deep_link_return_url is not None  # the checker refuses a request without one
        ticket = tool().records.new_ticket(checked.platform.issuer, checked.platform.client_id, checked.deployment_id,
                                           checked.deep_link_return_url, checked.deep_link_data)
        served = [{"id": a.spec.id, "title": a.spec.title.get(lang) or a.spec.id, "max_score": total_max(a)}
                  for _, a in sorted(state["assignments"].items())]
        return page("deep_link.html.j2", lang, title=Messages(lang).text("lti.choose_assignment"), ticket=ticket,
                    assignments=served)

    @app.post("/lti/deep-link", tags=["lti"], response_class=HTMLResponse)
    def deep_link(request: Request, ticket: str = Form(""), assignment: str = Form("")) -> Response:
        found = tool().records.take_ticket(ticket)
        chosen: LoadedAssignment | None = state["assignments"].get(assignment)
        if found is None:
            return refused("this choice has expired or was already sent: add the tool again", lang_of(chosen), 401)
        platform = tool().platforms.find(found.issuer, found.client_id)
        if platform is None or chosen is None:
            return refused("the platform is no longer registered, or the assignment is not served", lang_of(chosen))
        title = chosen.spec.title.get(lang_of(chosen)) or chosen.spec.id
        item = {"type": "ltiResourceLink", "title": title, "url": f"{base_url(request)}/lti/launch",
                "custom": {"assignment": chosen.spec.id},
                "lineItem": {"scoreMaximum": total_max(chosen), "label": title, "resourceId": chosen.spec.id}}
        key, now = tool().keys.signing(), int(time.time())
        claims: dict[str, Any] = {
            "iss": platform.client_id, "aud": platform.issuer, "iat": now, "exp": now + 600,
            "nonce": secrets.token_urlsafe(16), CLAIM + "message_type": "LtiDeepLinkingResponse",
            CLAIM + "version": "1.3.0", CLAIM + "deployment_id": found.deployment_id,
            DL_CLAIM + "content_items": [item]}
        if found.data is not None:
            claims[DL_CLAIM + "data"] = found.data
        signed = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        return page("autopost.html.j2", lang_of(chosen), title=title, action=found.return_url, fields={"JWT": signed})

    # -- the pages a launch opens --------------------------------------------------------------
    def who(token: str) -> Principal | None:
        found: Principal | None = state["tokens"].authenticate(token) if token else None
        return found

    @app.get("/lti/student", tags=["lti"], response_class=HTMLResponse)
    def student_page(token: str = Query(""), lang: str = Query("")) -> Response:
        principal = who(token)
        language = lang_of(None, lang)
        if principal is None or principal.kind != "student" or principal.assignment is None:
            return refused("this page's link is not valid (expired or altered): open the activity again", language, 401)
        assignment: LoadedAssignment | None = state["assignments"].get(principal.assignment)
        if assignment is None:
            return refused(f"the assignment {principal.assignment!r} is no longer served", language, 404)
        assert principal.student_id is not None
        link = tool().records.link(assignment.spec.id, principal.student_id)
        return page("student.html.j2", language, title=assignment.spec.title.get(language) or assignment.spec.id,
                    student_name=link.name if link else principal.student_id, student_id=principal.student_id,
                    assignment=assignment.spec.id, token=token,
                    rows=list(reversed(state["storage"].list(assignment.spec.id, principal.student_id))),
                    passback=bool(link and link.ags))

    @app.get("/lti/class", tags=["lti"], response_class=HTMLResponse)
    def class_page(token: str = Query(""), lang: str = Query("")) -> Response:
        principal = who(token)
        language = lang_of(None, lang)
        if principal is None or principal.kind != "instructor" or len(principal.assignments) != 1:
            return refused("this page's link is not valid (expired or altered): open the activity again", language, 401)
        (assignment_id,) = principal.assignments
        assignment: LoadedAssignment | None = state["assignments"].get(assignment_id)
        if assignment is None:
            return refused(f"the assignment {assignment_id!r} is no longer served", language, 404)
        records = tool().records
        links = {link.student_id: link for link in records.links(assignment_id) if not link.instructor}
        rows_by_student: dict[str, list[Any]] = {}
        for row in state["storage"].list(assignment_id):
            rows_by_student.setdefault(row.student_id, []).append(row)
        names = {sid: link.name for sid, link in links.items()}
        roster_error = None
        mine = records.link(assignment_id, principal.name)
        if mine is not None and mine.nrps_url:
            platform = tool().platforms.find(mine.issuer, mine.client_id)
            try:
                if platform is None:
                    raise ServiceError("the platform is no longer registered")
                for member in tool().services.members(platform, mine.nrps_url):
                    roles = member.get("roles", [])
                    if any(str(role).endswith(("#Learner", "Learner")) for role in roles) and member.get("user_id"):
                        sid = student_id_of(platform, str(member["user_id"]))
                        names.setdefault(sid, str(member.get("name") or member["user_id"]))
            except ServiceError as exc:
                roster_error = str(exc)
        owed = records.latest_owed(assignment_id)
        lines = [{"student_id": sid, "name": names.get(sid, sid), "count": len(rows_by_student.get(sid, [])),
                  "latest": rows_by_student[sid][-1] if rows_by_student.get(sid) else None, "owed": owed.get(sid)}
                 for sid in sorted(set(names) | set(rows_by_student), key=lambda s: names.get(s, s))]
        return page("class.html.j2", language, title=assignment.spec.title.get(language) or assignment_id,
                    lines=lines, roster_error=roster_error, token=token, assignment=assignment_id)
