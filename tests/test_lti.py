"""The LTI 1.3 tool, launched from a real platform implementation (lti1p3platform, on loopback) by a
browser made of httpx: the login and launch, the student's upload page, the grade back through AGS
(also when the platform is down, and across a restart), the instructor's class page with the NRPS
roster, deep linking, key rotation, and id_tokens that are replayed, forged or mixed up."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import httpx
import jwt
import pytest
from fixtures.lms.builders import JIRO_PY, SOLUTION_PY, tiny_assignment
from fixtures.lti_platform import INSTRUCTOR, Platform, new_private_key
from fixtures.service import SOLUTION_SCORE, Server, auth, free_port, make_data, wait_done, wait_for

from grader.apps.server.lti.launch import student_id_of
from grader.apps.server.lti.passback import score_body
from grader.apps.server.lti.platforms import Platform as Registered
from grader.cli import main
from grader.result import Result


class Form:
    def __init__(self, page: str) -> None:
        found = re.search(r'<form[^>]*action="([^"]+)"', page)
        assert found, page[:2000]
        self.action = html.unescape(found.group(1))
        self.fields = {html.unescape(name): html.unescape(value)
                       for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


class Browser:
    def __init__(self) -> None:
        self.client = httpx.Client(follow_redirects=True, timeout=30)

    def to_launch_form(self, platform: Platform, **params: str) -> Form:
        """The course page's link followed to the platform's auto-submitting launch form."""
        page = self.client.get(f"{platform.url}/start", params=params)
        assert page.status_code == 200, page.text
        return Form(page.text)

    def launch(self, platform: Platform, **params: str) -> httpx.Response:
        form = self.to_launch_form(platform, **params)
        return self.client.post(form.action, data=form.fields)


@pytest.fixture(scope="module")
def lti(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lti")
    assignments = folder / "assignments"
    tiny_assignment(assignments)
    data, token = make_data(folder)
    server = Server(data, assignments, workers=1, env={"GRADER_LTI_RETRY_S": "0.5", "GRADER_LTI_ANNOUNCE_S": "0"})
    server.port = free_port()
    platform = Platform(free_port(), f"http://127.0.0.1:{server.port}").start()
    assert main(["serve", "--data", str(data), *platform.register_command()]) == 0
    server.start()
    server.token = token
    yield server, platform
    server.stop()
    platform.stop()


def page_token(page: httpx.Response) -> str:
    found = re.search(r'data-token="([^"]+)"', page.text)
    assert found, page.text[:2000]
    return html.unescape(found.group(1))


def hand_in(server: Server, page: httpx.Response, path: Path) -> str:
    """What the upload page's script does: POST /submissions with the page's token."""
    student = html.unescape(re.search(r'data-student="([^"]+)"', page.text).group(1))
    answer = httpx.post(f"{server.url}/submissions", files={"file": (path.name, path.read_bytes())},
                        data={"student_id": student, "assignment": "tiny"}, headers=auth(page_token(page)), timeout=30)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]




def test_a_student_launch_opens_the_upload_page_and_the_grade_goes_back(lti):
    server, platform = lti
    page = Browser().launch(platform, user="alice-sub")
    assert page.status_code == 200 and page.url.path == "/lti/student", page.text
    assert "Alice Liddell" in page.text and "Your score goes to the course&#39;s gradebook." in page.text
    submission = hand_in(server, page, SOLUTION_PY)
    done = wait_done(server, [submission])[submission]
    assert done["student_id"] == "alice-sub@testlms" and done["score"] == SOLUTION_SCORE
    wait_for(lambda: any(s["userId"] == "alice-sub" for s in platform.book.scores), what="the score at the platform")
    score = next(s for s in platform.book.scores if s["userId"] == "alice-sub")
    # 25 points of checks and 5 of written answers, which a person has not reviewed yet.
    assert (score["lineitem"], score["scoreGiven"], score["scoreMaximum"]) == ("1", SOLUTION_SCORE, 30.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "PendingManual")
    # The page, opened again with its link, lists the submission and opens its report.
    again = httpx.get(f"{server.url}/lti/student", params={"token": page_token(page)}, timeout=30)
    report = re.search(r'href="(/submissions/[0-9a-f]{20}/report\?token=[^"]+)"', again.text)
    assert report and f"{SOLUTION_SCORE:g} / 25" in again.text
    assert httpx.get(server.url + html.unescape(report.group(1)), timeout=30).status_code == 200


def test_the_instructor_sees_the_class_with_the_roster_and_the_passback(lti):
    server, platform = lti
    if not any(s["userId"] == "alice-sub" for s in platform.book.scores):
        test_a_student_launch_opens_the_upload_page_and_the_grade_goes_back(lti)
    page = Browser().launch(platform, user="sato-sub")
    assert page.status_code == 200 and page.url.path == "/lti/class", page.text
    rows = dict(re.findall(r'<tr class="student" data-student="([^"]+)">(.*?)</tr>', page.text, re.S))
    assert set(rows) == {"alice-sub@testlms", "bob-sub@testlms"}  # the instructor is not a student
    assert "Alice Liddell" in rows["alice-sub@testlms"] and "sent" in rows["alice-sub@testlms"]
    assert "Bob Marley" in rows["bob-sub@testlms"] and "not handed in" in rows["bob-sub@testlms"]
    # The instructor's link sees this assignment's gradebook; the student's link does not.
    token = re.search(r'gradebook\.csv\?token=([^"]+)"', page.text).group(1)
    assert httpx.get(f"{server.url}/assignments/tiny/gradebook.csv", params={"token": html.unescape(token)},
                     timeout=30).status_code == 200


def test_a_review_sends_the_grade_again_with_the_written_points(lti):
    server, platform = lti
    if not any(s["userId"] == "alice-sub" for s in platform.book.scores):
        test_a_student_launch_opens_the_upload_page_and_the_grade_goes_back(lti)
    first = [s for s in platform.book.scores if s["userId"] == "alice-sub"][-1]
    (row,) = httpx.get(f"{server.url}/assignments/tiny/submissions", params={"student_id": "alice-sub@testlms"},
                       headers=auth(server.token), timeout=30).json()
    too_many = httpx.put(f"{server.url}/submissions/{row['id']}/review", headers=auth(server.token), timeout=30,
                         json={"answers": {"compare_models": {"points": 6}}})
    assert (too_many.status_code, too_many.json()["detail"]) == (422, "compare_models: 6 points, over its 5")
    time.sleep(1.1)  # the review's time is to the second: the LMS must see it later than the grading
    reviewed = httpx.put(f"{server.url}/submissions/{row['id']}/review", headers=auth(server.token), timeout=30,
                         json={"answers": {"compare_models": {"points": 4, "comment": "Good comparison."}}})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["result"]["written"][0]["status"] == "reviewed"
    wait_for(lambda: len([s for s in platform.book.scores if s["userId"] == "alice-sub"]) >= 2,
             what="the reviewed grade at the platform")
    again = [s for s in platform.book.scores if s["userId"] == "alice-sub"][-1]
    assert (again["scoreGiven"], again["scoreMaximum"], again["gradingProgress"]) == (round(SOLUTION_SCORE + 4, 2), 30.0,
                                                                                       "FullyGraded")
    assert again["timestamp"] > first["timestamp"]
    report = httpx.get(f"{server.url}/submissions/{row['id']}/report", headers=auth(server.token), timeout=30).text
    assert "Good comparison." in report


def test_a_replayed_forged_or_mixed_up_id_token_is_refused(lti):
    server, platform = lti
    browser = Browser()
    first = browser.to_launch_form(platform, user="bob-sub")
    assert browser.client.post(first.action, data=first.fields).url.path == "/lti/student"
    replayed = browser.client.post(first.action, data=first.fields)
    assert replayed.status_code == 401 and "already used" in replayed.text

    second = browser.to_launch_form(platform, user="bob-sub")
    claims = jwt.decode(second.fields["id_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "https://purl.imsglobal.org/spec/lti/claim/roles": [INSTRUCTOR]},
                        new_private_key(), algorithm="RS256")
    refused = browser.client.post(second.action, data={**second.fields, "id_token": forged})
    assert refused.status_code == 401 and "Signature verification failed" in refused.text
    # The first id_token with the second login's state: its nonce is the first login's.
    mixed = browser.client.post(second.action, data={**second.fields, "id_token": first.fields["id_token"]})
    assert mixed.status_code == 401 and "nonce" in mixed.text
    # Another browser's state cookie: the login is not that browser's.
    elsewhere = httpx.post(second.action, data=second.fields, cookies={"grader_lti_state": "someone-else"}, timeout=30)
    assert elsewhere.status_code == 401 and "not this browser" in elsewhere.text
    # The refused tries did not use the second login up: its own id_token still launches, once.
    assert browser.client.post(second.action, data=second.fields).url.path == "/lti/student"

    unknown = httpx.get(f"{server.url}/lti/login", params={"iss": "https://lms.elsewhere", "login_hint": "x"})
    assert unknown.status_code == 400 and "not registered" in unknown.text


def test_a_score_owed_while_the_platform_is_down_arrives_after_it_and_a_restart(lti):
    server, platform = lti
    page = Browser().launch(platform, user="bob-sub")
    platform.down = True
    try:
        submission = hand_in(server, page, JIRO_PY)
        done = wait_done(server, [submission])[submission]
        instructor = Browser().launch(platform, user="sato-sub")
        class_token = re.search(r'gradebook\.csv\?token=([^"]+)"', instructor.text).group(1)

        def waiting_with_failures() -> bool:
            text = httpx.get(f"{server.url}/lti/class", params={"token": html.unescape(class_token)}, timeout=30).text
            row = re.search(r'data-student="bob-sub@testlms">(.*?)</tr>', text, re.S).group(1)
            return re.search(r"waiting \([1-9]\d* failed: POST http://127\.0\.0\.1:\d+/\S+: 503", row) is not None

        wait_for(waiting_with_failures, what="the class page showing the failed passback")
        assert not any(s["userId"] == "bob-sub" for s in platform.book.scores)
        server.stop()  # the score is owed on disk, not in this process
    finally:
        platform.down = False
    server.start()
    wait_for(lambda: any(s["userId"] == "bob-sub" for s in platform.book.scores), what="the score after the restart")
    sent = [s for s in platform.book.scores if s["userId"] == "bob-sub"]
    assert len(sent) == 1 and sent[0]["scoreGiven"] == done["score"]


def test_a_link_without_a_line_item_gets_one_made_for_its_scores(lti):
    server, platform = lti
    page = Browser().launch(platform, user="carol-sub", resource="link-2", lineitem="none")
    submission = hand_in(server, page, SOLUTION_PY)
    wait_done(server, [submission])
    wait_for(lambda: any(s["userId"] == "carol-sub" for s in platform.book.scores), what="carol's score")
    (made,) = [i for i in platform.book.lineitems if i["resourceLinkId"] == "link-2"]
    assert (made["resourceId"], made["scoreMaximum"]) == ("tiny", 30.0)
    (score,) = [s for s in platform.book.scores if s["userId"] == "carol-sub"]
    assert score["lineitem"] == made["id"].rsplit("/", 1)[1] and score["scoreGiven"] == SOLUTION_SCORE


def test_deep_linking_adds_an_assignment_with_its_line_item_signed_by_a_rotated_key(lti):
    server, platform = lti
    before = httpx.get(f"{server.url}/lti/jwks", timeout=30).json()["keys"]
    assert main(["serve", "--data", str(server.data), "--rotate-lti-key"]) == 0
    published = httpx.get(f"{server.url}/lti/jwks", timeout=30).json()["keys"]
    assert len(published) == len(before) + 1 and {k["kid"] for k in before} < {k["kid"] for k in published}
    new_kid = (set(k["kid"] for k in published) - set(k["kid"] for k in before)).pop()

    browser = Browser()
    choice = browser.launch(platform, user="sato-sub", message="deep")
    assert choice.status_code == 200 and 'value="tiny"' in choice.text, choice.text
    ticket = re.search(r'name="ticket" value="([^"]+)"', choice.text).group(1)
    reply = browser.client.post(f"{server.url}/lti/deep-link", data={"ticket": ticket, "assignment": "tiny"})
    form = Form(reply.text)
    assert form.action == f"{platform.url}/deep_link_return"
    assert jwt.get_unverified_header(form.fields["JWT"])["kid"] == new_kid  # announce 0 s here: it signs at once
    assert browser.client.post(form.action, data=form.fields).text == "added"  # the platform checked it
    (item,) = platform.book.deep_links[-1]
    assert item["type"] == "ltiResourceLink" and item["url"] == f"{server.url}/lti/launch"
    assert item["custom"] == {"assignment": "tiny"} and item["lineItem"]["scoreMaximum"] == 30.0
    again = browser.client.post(f"{server.url}/lti/deep-link", data={"ticket": ticket, "assignment": "tiny"})
    assert again.status_code == 401  # a choice is sent once
    student = Browser().launch(platform, user="alice-sub", message="deep")
    assert student.status_code == 403 and "staff" in student.text


# ---- the parts, without a platform ----------------------------------------------------------------
REGISTERED = Registered(name="moodle", issuer="https://moodle.example.edu", client_id="c", deployment_ids=["1"],
                        auth_login_url="https://moodle.example.edu/auth", auth_token_url="https://moodle.example.edu/token",
                        key_set_url="https://moodle.example.edu/jwks")


def test_student_ids_of_platform_users():
    assert student_id_of(REGISTERED, "2") == "2@moodle"
    assert student_id_of(REGISTERED, "a6d5c443-1f51-4783-ba1a-7686ffe3b54a") == "a6d5c443-1f51-4783-ba1a-7686ffe3b54a@moodle"
    odd = student_id_of(REGISTERED, "user:42/x")
    assert re.fullmatch(r"u[0-9a-f]{20}@moodle", odd) and odd == student_id_of(REGISTERED, "user:42/x")


def result_of(status: str, written: list[dict] | None = None) -> Result:
    return Result.model_validate({
        "assignment": "tiny", "grader_version": "test", "spec_sha256": "0" * 64, "status": status, "lang": "en", "mode": "definitions",
        "score": 12.5 if status == "graded" else 0.0, "max_score": 25.0, "graded_at": "2026-12-03T09:00:00+00:00",
        "message": "the notebook is not JSON" if status == "invalid" else None,
        "submission": {"student_id": "2@moodle", "file": "a.py"},
        "written": written or []})


def test_score_bodies_say_what_the_lms_should_record():
    graded = score_body(result_of("graded"), "2")
    assert graded == {"userId": "2", "activityProgress": "Completed", "timestamp": "2026-12-03T09:00:00+00:00",
                      "scoreGiven": 12.5, "scoreMaximum": 25.0, "gradingProgress": "FullyGraded",
                      "comment": "Autograder: 12.5 / 25. Open the assignment again to see the report."}
    invalid = score_body(result_of("invalid"), "2")
    assert invalid["gradingProgress"] == "Failed" and "scoreGiven" not in invalid
    assert invalid["comment"] == "Not graded: the notebook is not JSON"
    assert score_body(result_of("error"), "2") is None  # the grader's fault: the LMS keeps what it had
    pending = score_body(result_of("graded", [{"id": "q1", "max_points": 5, "status": "pending_review",
                                               "answer": "because", "found_in": "tag"}]), "2")
    assert pending["gradingProgress"] == "PendingManual" and pending["scoreMaximum"] == 30.0


def test_a_rotated_key_is_published_at_once_and_signs_after_its_announcement(tmp_path):
    from grader.apps.server.lti.keys import ToolKeys

    keys = ToolKeys(tmp_path, announce_s=3600)
    first = keys.signing()
    added = keys.rotate(now=time.time())
    assert keys.signing() == first  # platforms have not fetched the new key yet
    assert [k["kid"] for k in keys.jwks()["keys"]] == [first.kid, added.kid]
    later = time.time() + 3601
    assert keys.signing(now=later) == added
    assert [k.kid for k in keys.published(now=later)] == [first.kid, added.kid]  # the replaced one, for a while
    third = keys.rotate(now=later)
    assert [k.kid for k in keys.published(now=later + 3601)] == [added.kid, third.kid]  # the first is gone
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in (tmp_path / "keys").glob("*.pem"))


def test_registering_a_platform_says_what_is_missing_or_wrong(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["serve", "--data", str(data), "--register-lti", "moodle", "--issuer", "https://m.example"]) == 2
    assert "--register-lti needs --client-id, --deployment-id, --auth-url, --token-url, --jwks-url" in capsys.readouterr().err
    assert main(["serve", "--data", str(data), "--register-lti", "Moodle!", "--issuer", "https://m.example",
                 "--client-id", "c", "--deployment-id", "1", "--auth-url", "not a url", "--token-url",
                 "https://m.example/token", "--jwks-url", "https://m.example/jwks"]) == 2
    err = capsys.readouterr().err
    assert "name: String should match pattern" in err and "auth_login_url: Input should be a valid URL" in err
    (data / "lti").mkdir(parents=True)
    (data / "lti" / "platforms.json").write_text('{"platforms": [{"name": "x"}]}', encoding="utf-8")
    from grader.apps.server.lti.platforms import PlatformError, Platforms

    with pytest.raises(PlatformError, match=r"platforms\.json: not a platform registry \(Field required\)"):
        Platforms(data / "lti")
