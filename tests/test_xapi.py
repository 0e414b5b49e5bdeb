"""Learning records: xAPI statements reach a real learning record store, Ralph's LRS
(`ralph-malph`, started here on 127.0.0.1 with its file-system backend and a user made by its
own `ralph auth`), and a store that is down or hangs never slows or breaks a turn.

Ralph pins its own FastAPI, older than Gradio's, so it lives in a virtual environment of its own:
`.ci/run` makes one from requirements-lrs.txt and exports BRAIN_TUTOR_TEST_RALPH (its bin
folder). Without it these tests are skipped, or fail where BRAIN_TUTOR_REQUIRE_LRS=1 (CI).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.local import free_port
from tutor.storage import xapi

RALPH_BIN = Path(os.environ.get("BRAIN_TUTOR_TEST_RALPH", str(Path.home() / ".cache/brain-tutor/ralph/bin")))
REQUIRE_LRS = os.environ.get("BRAIN_TUTOR_REQUIRE_LRS", "") not in ("", "0")
USER, PASSWORD = "brain-tutor", "lrs-test-password"
HOMEPAGE = "https://tutor.example.org"
# Ralph's LRS as `ralph runserver --backend fs` serves it, less the auto-reloader, with one
# change: its file-system backend (meant for development) writes each POST with operation
# "create", so the second POST fails ("fs_lrs.jsonl already exists"); appending makes it an LRS
# that keeps every statement. Everything else (the xAPI API, validation, auth) is Ralph's own.
SERVE = """
import sys, uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
"""


@pytest.fixture(scope="module")
def lrs(tmp_path_factory) -> Iterator[str]:
    """Ralph's LRS on a free port: its xAPI endpoint's URL."""
    if not (RALPH_BIN / "ralph").is_file():
        message = f"no Ralph LRS in {RALPH_BIN} (see requirements-lrs.txt, or set BRAIN_TUTOR_TEST_RALPH)"
        if REQUIRE_LRS:
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("ralph")
    env = {**os.environ, "RALPH_APP_DIR": str(folder / "app"), "RALPH_AUTH_FILE": str(folder / "auth.json"),
           "RALPH_RUNSERVER_BACKEND": "fs",
           "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "statements")}
    (folder / "statements").mkdir()
    subprocess.run([str(RALPH_BIN / "ralph"), "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-w",
                    "-A", USER, HOMEPAGE], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    log_file = (folder / "server.log").open("w")
    server = subprocess.Popen([str(RALPH_BIN / "python"), "-c", SERVE, str(port)],
                              env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/xAPI/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/__lbheartbeat__", timeout=2).status_code < 300:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Ralph's LRS did not start:\n" + (folder / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()


def _statements(url: str) -> list[dict]:
    response = httpx.get(f"{url}statements", auth=(USER, PASSWORD), params={"limit": 500},
                         headers={"X-Experience-API-Version": xapi.VERSION}, timeout=30)
    response.raise_for_status()
    return response.json()["statements"]


def test_statements_of_a_lesson_reach_the_lrs(lrs, tutor_instance, monkeypatch):
    records = xapi.LearningRecords(lrs, user=USER, password=PASSWORD, homepage=HOMEPAGE)
    monkeypatch.setattr(tutor_instance, "learning_records", records)
    session = tutor_instance.new_session(class_code="demo", pseudonym="Quiet Otter")
    for message in ["hi", "check", "They can store more images than a CPU", "check",
                    "They were built for fast matrix maths", "next"]:
        tutor_instance.respond(session, message)
    session.mastery["matrix-maths"] = {"p": 0.97, "n": 3}  # what the mastery engine writes
    records.observe(session)
    assert records.flush(60) and records.dropped == 0, records.dropped

    mine = sorted((statement for statement in _statements(lrs)
                   if statement["actor"].get("account", {}).get("name") == "Quiet Otter"),
                  key=lambda statement: statement["timestamp"])  # oldest first
    verbs = [statement["verb"]["id"].rsplit("/", 1)[1] for statement in mine]
    assert verbs == ["join", "answered", "answered", "completed", "mastered"], verbs
    by_verb = {statement["verb"]["id"].rsplit("/", 1)[1]: statement for statement in mine}
    assert by_verb["join"]["object"]["id"] == f"{HOMEPAGE}/classes/demo"
    answers = [statement["result"]["success"] for statement in mine
               if statement["verb"]["id"].endswith("answered")]
    assert answers == [False, True]
    assert by_verb["completed"]["object"]["id"] == f"{HOMEPAGE}/steps/intro"
    assert by_verb["mastered"]["object"]["id"] == f"{HOMEPAGE}/concepts/matrix-maths"
    actor = by_verb["mastered"]["actor"]
    assert actor["account"] == {"homePage": HOMEPAGE, "name": "Quiet Otter"}
    assert "mbox" not in actor and session.id not in str(mine)  # no e-mail, no learner id


def test_a_learner_without_a_pseudonym_is_an_opaque_account(lrs, tutor_instance, monkeypatch):
    records = xapi.LearningRecords(lrs, user=USER, password=PASSWORD, homepage=HOMEPAGE)
    monkeypatch.setattr(tutor_instance, "learning_records", records)
    session = tutor_instance.new_session()
    tutor_instance.respond(session, "hi")
    tutor_instance.respond(session, "next")
    assert records.flush(60) and records.sent == 1
    name = records.actor(session)["account"]["name"]
    assert name.startswith("learner-") and session.id not in name
    assert any(statement["actor"]["account"]["name"] == name for statement in _statements(lrs))


def test_wrong_credentials_drop_with_a_log_line(lrs, caplog):
    records = xapi.LearningRecords(lrs, user=USER, password="wrong", homepage=HOMEPAGE, pause=0.01)
    records._put(records.statement(_learner(), "joined", "class", "demo", "class demo"))
    with caplog.at_level(logging.WARNING, logger="tutor.storage.xapi"):
        assert records.flush(30)
    assert records.dropped == 1 and "HTTP 401" in caplog.text


def _learner():
    from tutor.session import Session

    return Session(pseudonym="Calm Otter", class_code="demo")


# ----- a store that is down or hangs -------------------------------------------------------------
def _timed_turns(tutor, session, messages) -> float:
    start = time.monotonic()
    for message in messages:
        tutor.respond(session, message)
    return time.monotonic() - start


def test_with_the_lrs_down_the_lesson_goes_on(tutor_instance, monkeypatch, caplog):
    down = f"http://127.0.0.1:{free_port()}/xAPI/"  # nothing listens there
    records = xapi.LearningRecords(down, user=USER, password=PASSWORD, retries=2, pause=0.05)
    monkeypatch.setattr(tutor_instance, "learning_records", records)
    session = tutor_instance.new_session(class_code="demo")
    with caplog.at_level(logging.WARNING, logger="tutor.storage.xapi"):
        _timed_turns(tutor_instance, session, ["hi", "next", "next", "back"])
        assert session.state_id == "data"  # the lesson went on
        assert records.flush(30)
    assert records.sent == 0 and records.dropped >= 3
    assert "dropped" in caplog.text and "after 3 tries" in caplog.text


def test_a_hanging_lrs_never_slows_a_turn(tutor_instance, monkeypatch):
    """An LRS that accepts connections and never answers: turns take no longer, the queue is
    bounded, and what does not fit is dropped with a log line."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/xAPI/"
        records = xapi.LearningRecords(url, token="t", max_queue=2, retries=0, timeout=30)
        session = tutor_instance.new_session()
        tutor_instance.respond(session, "hi")
        turns = ["next", "back"] * 5  # five steps completed: more statements than the queue holds
        baseline = _timed_turns(tutor_instance, session, turns)
        monkeypatch.setattr(tutor_instance, "learning_records", records)
        records.watch(session)
        slowed = _timed_turns(tutor_instance, session, turns)
        assert slowed < baseline * 2 + 2, (baseline, slowed)  # the same turns, and noise
        assert records.sent == 0 and records.dropped >= 1  # the queue stayed bounded
    finally:
        stop.set()
        for connection in held:
            connection.close()
        listener.close()


def test_off_unless_configured():
    assert xapi.from_env({}) is None
    assert xapi.from_env({"BRAIN_TUTOR_XAPI_URL": "ftp://lrs"}) is None
    records = xapi.from_env({"BRAIN_TUTOR_XAPI_URL": "https://lrs.example.org/xAPI",
                             "BRAIN_TUTOR_XAPI_TOKEN": "abc", "SPACE_HOST": "me-tutor.hf.space"})
    assert records.endpoint == "https://lrs.example.org/xAPI/statements"
    assert records.headers["Authorization"] == "Bearer abc"
    assert records.homepage == "https://me-tutor.hf.space"
