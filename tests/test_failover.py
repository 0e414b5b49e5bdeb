"""Two app replicas on one PostgreSQL behind HAProxy: kill -9 the one serving a learner mid-lesson,
and the learner carries on through the other with their step, scores, runs and model.

This is the README's "Several replicas" set-up, for real: two `python app.py` processes with the
same `BRAIN_TUTOR_DATABASE_URL` (a schema of this test's own), and Debian's HAProxy in front with
the README's configuration (round robin, a `SERVERID` cookie for sticky sessions, health checks,
redispatch). The learners are gradio_client programs talking HTTP to HAProxy only. gradio_client
keeps the cookies of its first response (the app's `/config`), so HAProxy's `SERVERID` cookie
pins each learner to one replica, as a browser's cookie jar would; each turn also sends the
learner's id, as the page sends the one its browser keeps. One more learner uses the page in
Chromium, pinned to the same replica by the same cookie, and reloads it after the kill: the other
replica must read the id the browser keeps (so every replica scrambles it with the same key).

Without the `haproxy` binary the test is skipped, or fails where BRAIN_TUTOR_REQUIRE_HAPROXY=1
(.ci/run); without PostgreSQL it is skipped like the store tests (tests/pg.py). Without Chromium
the browser learner is left out, unless BRAIN_TUTOR_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from tests.local import CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER, chat_text, free_port, local_client
from tests.pg import fresh_schema, postgres_url  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_HAPROXY = os.environ.get("BRAIN_TUTOR_REQUIRE_HAPROXY", "") not in ("", "0")
REPLICAS = ("app1", "app2")  # HAProxy's server names, which are also their SERVERID cookies
START_SECONDS = 180  # generous: two apps importing Gradio at once on a loaded 2-core machine
PAGE_MS = 120_000  # the browser's waits: a page load or a turn on a loaded 2-core machine
pytestmark = pytest.mark.app

# The README's configuration ("Several replicas"), with ports filled in and a stats page added
# so the test can see HAProxy take the killed replica out.
HAPROXY_CONFIG = """\
global
    maxconn 256

defaults
    mode http
    timeout connect 2s
    timeout client 10m
    timeout server 10m
    retries 3
    option redispatch

frontend tutor
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    cookie SERVERID insert indirect nocache
    option httpchk GET /
    default-server check inter 1s fall 2 rise 1
{servers}

frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


@dataclass
class Replica:
    """One `python app.py` process (its own process group, so kill -9 takes its workers too)."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def tail(self) -> str:
        """The end of its output, for a failure's message."""
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def serving(self) -> bool:
        """Whether it answers its page; an AssertionError at once if it has exited."""
        assert self.process.poll() is None, f"{self.name} exited:\n{self.tail()}"
        return _serves(f"http://127.0.0.1:{self.port}/")

    def kill(self) -> None:
        """SIGKILL the whole replica: no clean shutdown, no last save."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@dataclass
class Cluster:
    """The replicas, and HAProxy's address and stats page."""

    url: str
    stats_url: str
    replicas: dict[str, Replica]

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each replica: UP, DOWN, ... (its stats page, as CSV)."""
        with urllib.request.urlopen(f"{self.stats_url};csv", timeout=5) as response:
            text = response.read().decode().lstrip("# ")
        return {row["svname"]: row["status"] for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "replicas" and row["svname"] in self.replicas}


@dataclass
class Learner:
    """A learner as a program: a gradio_client through HAProxy, and the id the tutor gave them."""

    client: Client
    learner_id: str = ""
    before: dict[str, str] = field(default_factory=dict)  # answers recorded before the kill

    @property
    def server(self) -> str:
        """The replica HAProxy pinned this learner to (its sticky cookie)."""
        return self.client.cookies.get("SERVERID", "")

    def say(self, message: str) -> tuple:
        """One turn through /respond, sending the learner's id as the page does."""
        return self.client.predict(message, self.learner_id, api_name="/respond")


def _wait_for(check: Callable[[], bool], seconds: float, what: Callable[[], str]) -> None:
    """Poll `check` until it is true; fail with `what()` after a generous deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.3)
    raise AssertionError(what())


def _serves(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.status == 200


def _database_url(base_url: str, conninfo: str) -> str:
    """A postgresql:// URL (what the app accepts) for the schema `fresh_schema` made."""
    from psycopg.conninfo import conninfo_to_dict

    options = str(conninfo_to_dict(conninfo)["options"])
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={urllib.parse.quote(options)}"


def _start_replica(name: str, database_url: str, folder: Path) -> Replica:
    port = free_port()
    environment = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
                   "BRAIN_TUTOR_DATABASE_URL": database_url, "BRAIN_TUTOR_TRAIN_SLICE": "500"}
    for variable in ("BRAIN_TUTOR_STATE_DIR", "BRAIN_TUTOR_XAPI_URL", "BRAIN_TUTOR_LLM_BASE_URL"):
        environment.pop(variable, None)
    log = folder / f"{name}.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment,
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    return Replica(name, port, process, log)


def _haproxy() -> str:
    """The haproxy binary (Debian puts it in /usr/sbin), or a skip or failure saying why."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        message = "no haproxy binary (apt-get install haproxy)"
        if REQUIRE_HAPROXY:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:  # noqa: F811
    """Two replicas on a fresh PostgreSQL schema, HAProxy in front; all stopped afterwards."""
    haproxy = _haproxy()
    with fresh_schema(postgres_url) as conninfo:
        database_url = _database_url(postgres_url, conninfo)
        replicas: dict[str, Replica] = {}
        balancer: subprocess.Popen | None = None
        try:
            for name in REPLICAS:
                replicas[name] = _start_replica(name, database_url, tmp_path)
            for replica in replicas.values():
                _wait_for(replica.serving, START_SECONDS,
                          lambda replica=replica: f"{replica.name} did not serve:\n{replica.tail()}")
            port, stats_port = free_port(), free_port()
            servers = "\n".join(f"    server {replica.name} 127.0.0.1:{replica.port} cookie {replica.name}"
                                for replica in replicas.values())
            config = tmp_path / "haproxy.cfg"
            config.write_text(HAPROXY_CONFIG.format(port=port, stats_port=stats_port, servers=servers))
            log = tmp_path / "haproxy.log"
            with log.open("w") as output:
                proxy = balancer = subprocess.Popen([haproxy, "-f", str(config), "-db"],
                                                    stdout=output, stderr=subprocess.STDOUT)
            found = Cluster(f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{stats_port}/stats",
                            replicas)

            def both_up() -> bool:
                assert proxy.poll() is None, f"haproxy exited:\n{log.read_text(errors='replace')}"
                return set(found.server_states().values()) == {"UP"}

            _wait_for(both_up, 60, lambda: "HAProxy did not see both replicas UP:\n"
                                           + log.read_text(errors="replace")[-1500:])
            yield found
        finally:
            if balancer is not None:
                balancer.kill()
                balancer.wait(timeout=30)
            for replica in replicas.values():
                replica.kill()


def _this_turn(messages: list[dict[str, Any]]) -> str:
    """The text of the last turn: the messages after the learner's last one."""
    last_user = max((index for index, message in enumerate(messages) if message["role"] == "user"),
                    default=-1)
    return chat_text(messages[last_user + 1:])


def _prediction(text: str) -> str:
    """The sentence that says what the model predicts for the image."""
    found = re.search(r"the biggest output is neuron \d+, \*\*[^*]+\*\*", text)
    assert found, text[:600]
    return found.group(0)


def _run_row(text: str) -> str:
    """Run 1's row in `compare runs`: model, settings, seed, epochs, time, accuracy."""
    found = re.search(r"^\| 1 \|.*$", text, re.MULTILINE)
    assert found, text[:600]
    return found.group(0)


def _first_steps(learner: Learner, train: bool) -> None:
    """A check and a flashcard; with `train`, a training and then what the learner's model
    says, to compare with after the kill."""
    learner.say("check")                  # step 1's quick question
    learner.say("a")                      # the right answer: a ★ on step 1
    learner.say("next")                   # data
    learner.say("next")                   # flashcards
    result = learner.say("9")             # training image 42 is an ankle boot: 1 of 1 right
    assert "▶ 3." in result[1] and "Flashcards: 1 of 1 right" in result[1], result[1]
    if not train:
        return
    trained = learner.say("go to training")   # 5 epochs on 500 images
    assert "Training finished" in _this_turn(trained[0]), _this_turn(trained[0])[-600:]
    result = learner.say("go to prediction")
    assert "▶ 9." in result[1]
    learner.before["accuracy"] = _this_turn(learner.say("how accurate is my model?")[0])
    learner.before["prediction"] = _prediction(_this_turn(learner.say("predict image 8675")[0]))
    learner.before["runs"] = _run_row(_this_turn(learner.say("compare runs")[0]))


@contextlib.contextmanager
def _browser_page(url: str, server: str) -> Iterator[Any]:
    """A Chromium page on the tutor, its SERVERID cookie set to `server`; None without Chromium
    (or a failure where BRAIN_TUTOR_REQUIRE_BROWSER=1)."""
    try:
        from playwright import sync_api
    except ImportError:
        if REQUIRE_BROWSER:
            raise
        yield None
        return
    if not Path(CHROMIUM).exists():
        assert not REQUIRE_BROWSER, f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        yield None
        return
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(PAGE_MS)
            context.add_cookies([{"name": "SERVERID", "value": server, "url": url}])
            yield context.new_page()
        finally:
            browser.close()


def _carries_on(learner: Learner, trained: bool) -> tuple:
    """After the kill: the same learner, step, check, flashcard score; with `trained`, the same
    runs and the same model (the same answers, to the digit); the turn's result."""
    if not trained:
        result = learner.say("help")
        assert result[-1] == learner.learner_id, "the same learner, not a new one"
        assert "▶ 3." in result[1] and "Flashcards: 1 of 1 right" in result[1], result[1]
        assert re.search(r"1\. Why build a brain\? ★", result[1]), result[1]
        return result
    result = learner.say("how accurate is my model?")
    assert result[-1] == learner.learner_id, "the same learner, not a new one"
    lesson_map = result[1]
    assert "▶ 9." in lesson_map, f"same step:\n{lesson_map}"
    assert re.search(r"1\. Why build a brain\? ★", lesson_map), f"same check:\n{lesson_map}"
    assert "Flashcards: 1 of 1 right" in lesson_map, f"same score:\n{lesson_map}"
    assert _this_turn(result[0]) == learner.before["accuracy"], "same runs and numbers"
    prediction = _prediction(_this_turn(learner.say("predict image 8675")[0]))
    assert prediction == learner.before["prediction"], "the same trained model"
    assert _run_row(_this_turn(learner.say("compare runs")[0])) == learner.before["runs"]
    return result


def test_learners_carry_on_through_the_other_replica_after_kill_dash_nine(cluster: Cluster):
    learners: list[Learner] = []
    try:
        for _ in range(3):  # round robin: two on one replica, one on the other
            learner = Learner(local_client(cluster.url))
            learner.learner_id = learner.client.predict(None, api_name="/start")[-1]
            assert learner.server in cluster.replicas, learner.client.cookies  # a sticky cookie
            learners.append(learner)
        victim = cluster.replicas[learners[0].server]
        survivor = next(name for name in cluster.replicas if name != victim.name)
        moved = [learner for learner in learners if learner.server == victim.name]
        # Only the victim's learners train: a replica's first training starts one TensorFlow
        # worker per core, which a 2-core test machine pays for once, not twice.
        for learner in learners:
            _first_steps(learner, train=learner in moved)
        assert all(re.search(r"\d+(\.\d+)?%", learner.before["accuracy"]) for learner in moved)
        with _browser_page(cluster.url, victim.name) as page:
            if page is not None:  # a learner in the page, on the victim: step 2
                page.goto(cluster.url, wait_until="domcontentloaded")
                page.locator("#lesson-map").get_by_text(re.compile(r"▶ 1\. ")).wait_for()
                page.locator("#tutor-input textarea").fill("next")
                page.locator("#tutor-input textarea").press("Enter")
                page.locator("#lesson-map").get_by_text(re.compile(r"▶ 2\. ")).wait_for()
            victim.kill()
            if page is not None:  # they reload: the other replica reads their id, welcome back
                page.reload(wait_until="domcontentloaded")
                page.locator("#lesson-map").get_by_text(re.compile(r"▶ \d+\. ")).wait_for()
                shown = page.locator("#lesson-map").inner_text()
                assert "▶ 2." in shown, f"the page started over after the kill:\n{shown}"
                assert "Welcome back" in page.locator("#tutor-chat").inner_text()
        for learner in learners:
            # through HAProxy, which retries the dead replica, then redispatches (or knows it is down)
            result = _carries_on(learner, trained=learner in moved)
            if learner in moved:  # the page shows their conversation again, from the database
                assert "Training finished" in chat_text(result[0])

        _wait_for(lambda: cluster.server_states()[victim.name] != "UP", 60,
                  lambda: f"HAProxy still sends to the killed replica: {cluster.server_states()}")
        assert cluster.server_states()[survivor] == "UP"

        # a moved learner reloads the page: a new client, the id their browser keeps
        reloaded = local_client(cluster.url)
        try:
            welcome = reloaded.predict(moved[0].learner_id, api_name="/start")
            assert reloaded.cookies.get("SERVERID") == survivor  # the dead one is out
            text = chat_text(welcome[0])
            assert "Welcome back" in text and "1 training run(s)" in text, text[-600:]
            assert "1 of 1 flashcards right" in text and welcome[-1] == moved[0].learner_id
        finally:
            reloaded.close()
    finally:
        for learner in learners:
            learner.client.close()
