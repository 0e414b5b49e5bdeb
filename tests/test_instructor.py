"""Classes and the instructor's page: joining, the store's class listing (SQLite and PostgreSQL,
across a restart), `Tutor.class_report`, and the `/instructor` routes of a real server on
127.0.0.1: off without a token, 403 with a wrong one, the report and its CSV with the right one,
and Gradio's usage analytics off in `/config`."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.local import local_client, served
from tests.pg import postgres_url, schema_url  # noqa: F401 (fixtures)
from tutor import Tutor
from tutor.session import Session
from tutor.storage.postgres import PostgresStore
from tutor.storage.sqlite import SQLiteStore
from tutor.storage.store import Store
from tutor.tools import classes
from tutor.tools.registry import ToolInputError

TOKEN = "instructor-secret-for-tests-0123456789"


# ----- joining and the report's rules (no server) ------------------------------------------------
def test_joining_keeps_a_pseudonym_and_a_class_only():
    session = Session()
    session.rng.seed(7)
    reply = classes.join_class(session, "  Demo ")
    assert session.class_code == "demo"
    adjective, animal = session.pseudonym.split(" ")
    assert adjective in classes.ADJECTIVES and animal in classes.ANIMALS
    assert session.pseudonym in reply.text and "nothing else about you" in reply.text
    classes.join_class(session, "demo", "quiet   otter")
    assert session.pseudonym == "Quiet Otter"
    classes.join_class(session, "bio-101")  # moving keeps the chosen name
    assert (session.class_code, session.pseudonym) == ("bio-101", "Quiet Otter")


def test_joining_without_a_code_asks_which_class():
    with pytest.raises(ToolInputError, match="Which class"):
        classes.join_class(Session(), "")


@pytest.mark.parametrize("code", ["a b", "x" * 41, "<script>", "../etc", "dé"])
def test_a_bad_class_code_is_refused_kindly(code):
    with pytest.raises(ToolInputError, match="class code"):
        classes.join_class(Session(), code)


@pytest.mark.parametrize("name", ["=cmd()", "a" * 31, "<b>x</b>", "me@example.org"])
def test_a_pseudonym_is_a_short_plain_name(name):
    with pytest.raises(ToolInputError):
        classes.join_class(Session(), "demo", name)


def test_stuck_is_three_wrong_answers_in_a_row_or_a_long_time_on_a_step():
    session = Session(state_id="loss", entered_at=time.time() - 60)
    wrong = {"kind": "check", "correct": False}
    session.evidence = [{"kind": "check", "correct": True}, wrong, {"kind": "flashcard", "correct": True},
                        wrong]
    assert classes.stuck_reason(session) == ""
    session.evidence.append({"kind": "review", "correct": False})
    assert classes.stuck_reason(session) == "3 wrong answers in a row"
    session.evidence.append({"kind": "check", "correct": True})
    assert classes.stuck_reason(session) == ""
    session.entered_at = time.time() - 20 * 60
    assert classes.stuck_reason(session) == "20 minutes on this step"


def test_most_asked_questions_count_learners_not_messages():
    def learner(*texts: str) -> Session:
        return Session(transcript=[{"role": "user", "text": text} for text in texts]
                       + [{"role": "tutor", "text": "What is a tutor question?"}])

    sessions = [learner("What is a bias?", "what is a bias", "next"),
                learner("What is a bias?", "why is the loss going up?"), learner("ok")]
    assert classes.common_questions(sessions) == [("What is a bias?", 2), ("why is the loss going up?", 1)]


# ----- the store lists a class, across a restart ------------------------------------------------
def _class_of_two(tutor: Tutor) -> list[Session]:
    first = tutor.new_session(class_code="demo", pseudonym="quiet otter")
    second = tutor.new_session()
    tutor.respond(first, "hi")
    tutor.respond(first, "What is a pixel?")
    tutor.respond(second, "hi")
    tutor.respond(second, "join class demo")
    tutor.respond(second, "next")
    outsider = tutor.new_session(class_code="other")
    tutor.respond(outsider, "hi")
    return [first, second]


def _check_report(tutor: Tutor, second: Session) -> None:
    rows = tutor.class_report("DEMO")
    assert [row["pseudonym"] for row in rows] == ["Quiet Otter", second.pseudonym]
    assert [row["step"] for row in rows] == ["intro", "data"]
    concepts = set(tutor.mastery(second))
    for row in rows:
        assert set(row["mastery"]) == concepts and all(0 <= p <= 1 for p in row["mastery"].values())
        assert row["stuck"] is False and row["minutes_on_step"] is not None
    assert tutor.class_questions("demo") == [("What is a pixel?", 1)]
    assert tutor.store.class_codes() == ["demo", "other"]


def test_class_report_from_sqlite_across_a_restart(tmp_path):
    tutor = Tutor(store=SQLiteStore(tmp_path), max_messages_per_minute=None)
    _, second = _class_of_two(tutor)
    _check_report(tutor, second)
    tutor.store.close()
    restarted = Tutor(store=SQLiteStore(tmp_path))
    _check_report(restarted, second)
    assert restarted.forget(restarted.resume(second.id))
    assert [row["pseudonym"] for row in restarted.class_report("demo")] == ["Quiet Otter"]


def test_class_report_from_postgres_across_a_restart(schema_url):  # noqa: F811
    tutor = Tutor(store=PostgresStore(schema_url), max_messages_per_minute=None)
    _, second = _class_of_two(tutor)
    tutor.store.close()
    _check_report(Tutor(store=PostgresStore(schema_url)), second)


def test_a_store_that_saves_nothing_knows_the_live_learners_only():
    tutor = Tutor(store=Store())
    session = tutor.new_session(class_code="live", pseudonym="Sly Fox")
    assert [row["pseudonym"] for row in tutor.class_report("live")] == ["Sly Fox"]
    tutor.forget(session)
    assert tutor.class_report("live") == []


# ----- the routes of a real server ---------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Tutor]]:
    tutor = Tutor(train_slice=2000, store=SQLiteStore(tmp_path_factory.mktemp("learners")),
                  max_messages_per_minute=None)
    with served(tutor) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAIN_TUTOR_INSTRUCTOR_TOKEN", TOKEN)  # the token for this module's tests only
        yield url, tutor


def test_gradio_usage_analytics_are_off(server):
    url, _ = server
    assert httpx.get(f"{url}/config", timeout=30).json()["analytics_enabled"] is False
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_the_page_is_off_without_a_configured_token(server, monkeypatch):
    url, _ = server
    monkeypatch.delenv("BRAIN_TUTOR_INSTRUCTOR_TOKEN")
    for path in ("/instructor", "/instructor/demo", "/instructor/demo.csv"):
        response = httpx.get(f"{url}{path}", params={"token": ""}, timeout=30)
        assert response.status_code == 404, path
        assert "off" in response.text


@pytest.mark.parametrize("credentials", [
    {}, {"params": {"token": "wrong"}}, {"headers": {"Authorization": "Bearer wrong"}},
    {"headers": {"X-Instructor-Token": TOKEN[:-1]}}, {"cookies": {"brain_tutor_instructor": TOKEN}},
])
def test_a_wrong_or_missing_token_is_refused(server, credentials):
    url, _ = server
    for path in ("/instructor", "/instructor/demo", "/instructor/demo.csv"):
        response = httpx.get(f"{url}{path}", timeout=30, **credentials)
        assert response.status_code == 403, (path, credentials)
        assert "Quiet" not in response.text and "pseudonym" not in response.text
    assert httpx.post(f"{url}/instructor", data={"token": "nope"}, timeout=30).status_code == 403


def test_learners_who_joined_appear_with_their_mastery_and_csv(server):
    url, tutor = server
    first, second = local_client(url + "/"), local_client(url + "/")
    first.predict("hi", api_name="/respond")
    joined = first.predict("join class demo as quiet otter", api_name="/respond")[0]
    assert "Quiet Otter" in str(joined[-1]["content"])
    second.predict("hi", api_name="/respond")
    second.predict("join class demo", api_name="/respond")
    second.predict("What is a pixel?", api_name="/respond")
    second_name = next(row["pseudonym"] for row in tutor.class_report("demo")
                       if row["pseudonym"] != "Quiet Otter")

    page = httpx.get(f"{url}/instructor/demo", params={"token": TOKEN}, timeout=30)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Quiet Otter" in page.text and second_name in page.text
    assert 'id="heatmap"' in page.text
    assert "What is a pixel?" in page.text  # the questions, with no name beside them

    signed = httpx.Client(base_url=url, timeout=30)  # the form: a cookie, never the token itself
    response = signed.post("/instructor", data={"token": TOKEN})
    assert response.status_code == 303 and TOKEN not in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "demo" in signed.get("/instructor").text
    download = signed.get("/instructor/demo.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [row["pseudonym"] for row in rows] == ["Quiet Otter", second_name]
    concepts = list(tutor.mastery(tutor.new_session()))
    assert all(0 <= float(row[concepts[0]]) <= 1 for row in rows) and rows[0]["stuck"] == "no"
    bearer = httpx.get(f"{url}/instructor/demo.csv", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert bearer.text == download.text
