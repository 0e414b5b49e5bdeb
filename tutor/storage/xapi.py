"""Learning records, optionally: xAPI statements sent to a learning record store (LRS).

Off unless `BRAIN_TUTOR_XAPI_URL` is set (the LRS's xAPI endpoint, e.g.
`https://lrs.example.org/xAPI/`). Credentials: `BRAIN_TUTOR_XAPI_USER` and
`BRAIN_TUTOR_XAPI_PASSWORD` (HTTP Basic) or `BRAIN_TUTOR_XAPI_TOKEN` (a Bearer token).

What is sent, after each turn, by comparing the learner's session with what was seen before:
joined a class, answered a check (right or wrong), completed a step (moved on past it), and
mastered a concept (its estimate reached 0.95, the usual Knowledge Tracing threshold). The
actor is the learner's pseudonym as an account on the tutor's homepage
(`BRAIN_TUTOR_XAPI_HOMEPAGE`, default the Space's address or `https://brain-tutor.invalid`),
or an opaque per-learner hash when they chose none; never a name, an e-mail or the learner id.

Never in the way of a turn: `observe` only compares and queues (a bounded queue; when it is
full the statement is dropped with a log line); a daemon thread posts batches, retries a few
times with a growing pause, then drops the batch with one log line and goes on.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from tutor.session import Session

log = logging.getLogger(__name__)

URL_VARIABLE = "BRAIN_TUTOR_XAPI_URL"
USER_VARIABLE = "BRAIN_TUTOR_XAPI_USER"
PASSWORD_VARIABLE = "BRAIN_TUTOR_XAPI_PASSWORD"
TOKEN_VARIABLE = "BRAIN_TUTOR_XAPI_TOKEN"
HOMEPAGE_VARIABLE = "BRAIN_TUTOR_XAPI_HOMEPAGE"
VERSION = "1.0.3"
MASTERED = 0.95  # as tutor.engine.mastery.MASTERED (storage does not import the engine)
VERBS = {
    "joined": "http://activitystrea.ms/schema/1.0/join",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "mastered": "http://adlnet.gov/expapi/verbs/mastered",
}
ACTIVITY_TYPES = {
    "class": "http://adlnet.gov/expapi/activities/course",
    "check": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "step": "http://adlnet.gov/expapi/activities/module",
    "concept": "http://adlnet.gov/expapi/activities/objective",
}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default_homepage(env: Mapping[str, str]) -> str:
    host = env.get("SPACE_HOST", "").strip()
    return f"https://{host}" if host else "https://brain-tutor.invalid"


class LearningRecords:
    """Turns changes in a learner's session into xAPI statements and sends them in the background."""

    def __init__(self, url: str, user: str = "", password: str = "", token: str = "",
                 homepage: str = "https://brain-tutor.invalid", max_queue: int = 1000,
                 batch: int = 50, retries: int = 3, timeout: float = 5.0, pause: float = 0.5) -> None:
        base = url.strip().rstrip("/")
        self.endpoint = base if base.endswith("/statements") else f"{base}/statements"
        self.homepage = homepage.rstrip("/")
        self.headers = {"X-Experience-API-Version": VERSION, "Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {pair}"
        self.batch, self.retries, self.timeout, self.pause = batch, retries, timeout, pause
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self.sent = 0  # statements the LRS accepted
        self.dropped = 0  # statements given up on (queue full, or the LRS kept failing)
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()  # learner -> last snapshot
        self._seen_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="tutor-xapi", daemon=True)
        self._thread.start()

    # ----- what changed ---------------------------------------------------------------------
    @staticmethod
    def _snapshot(session: Session) -> dict[str, Any]:
        mastered = {concept for concept, entry in session.mastery.items()
                    if isinstance(entry, Mapping) and float(entry.get("p", 0) or 0) >= MASTERED}
        return {"class": session.class_code, "state": session.state_id,
                "visited": list(session.visited), "attempts": dict(session.check_attempts),
                "passed": {key for key, value in session.checks_passed.items() if value},
                "mastered": mastered}

    def watch(self, session: Session) -> None:
        """Start from the session as it is now (a resumed learner's past is not sent again)."""
        with self._seen_lock:
            self._seen[session.id] = self._snapshot(session)
            self._seen.move_to_end(session.id)
            while len(self._seen) > 10_000:  # learners long gone
                self._seen.popitem(last=False)

    def observe(self, session: Session) -> None:
        """Queue a statement for everything that happened since the last look. Never raises."""
        try:
            now = self._snapshot(session)
            with self._seen_lock:
                before = self._seen.get(session.id)
                self._seen[session.id] = now
                self._seen.move_to_end(session.id)
            if before is not None:
                for statement in self._statements(session, before, now):
                    self._put(statement)
        except Exception:  # learning records never break a turn
            log.exception("could not make xAPI statements")

    def _statements(self, session: Session, before: dict, now: dict) -> list[dict[str, Any]]:
        found = []
        if now["class"] and now["class"] != before["class"]:
            found.append(self.statement(session, "joined", "class", now["class"], f"class {now['class']}"))
        for step, attempts in now["attempts"].items():
            if attempts > before["attempts"].get(step, 0):
                success = step in now["passed"] and step not in before["passed"]
                found.append(self.statement(session, "answered", "check", step,
                                            f"the check of step {step}", {"success": success}))
        if now["state"] != before["state"] and before["state"] and before["state"] in now["visited"] \
                and now["visited"].index(now["state"]) > now["visited"].index(before["state"]):
            found.append(self.statement(session, "completed", "step", before["state"],
                                        f"step {before['state']}", {"completion": True}))
        for concept in sorted(now["mastered"] - before["mastered"]):
            found.append(self.statement(session, "mastered", "concept", concept, f"concept {concept}",
                                        {"success": True}))
        return found

    # ----- statements -----------------------------------------------------------------------
    def actor(self, session: Session) -> dict[str, Any]:
        """The pseudonym as an account on the tutor's homepage; else an opaque hash."""
        name = session.pseudonym or "learner-" + hashlib.sha256(
            f"brain-tutor-xapi:{session.id}".encode()).hexdigest()[:20]
        return {"objectType": "Agent", "name": name,
                "account": {"homePage": self.homepage, "name": name}}

    def statement(self, session: Session, verb: str, kind: str, key: str, name: str,
                  result: dict[str, Any] | None = None) -> dict[str, Any]:
        path = {"class": "classes", "check": "checks", "step": "steps", "concept": "concepts"}[kind]
        statement: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "actor": self.actor(session),
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": {"objectType": "Activity", "id": f"{self.homepage}/{path}/{key}",
                       "definition": {"type": ACTIVITY_TYPES[kind], "name": {"en-US": name}}},
            "timestamp": _now(),
        }
        if result:
            statement["result"] = result
        if session.class_code and kind != "class":
            statement["context"] = {"contextActivities": {"grouping": [
                {"objectType": "Activity", "id": f"{self.homepage}/classes/{session.class_code}"}]}}
        return statement

    # ----- sending --------------------------------------------------------------------------
    def _put(self, statement: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(statement)
        except queue.Full:
            self.dropped += 1
            log.warning("xAPI queue full (%d): dropped a '%s' statement", self.queue.maxsize,
                        statement["verb"]["display"]["en-US"])

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued statement was sent or dropped (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.unfinished_tasks == 0:
                return True
            time.sleep(0.05)
        return False

    def _work(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < self.batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._send(batch)
            except Exception:
                log.exception("xAPI sender failed")
            finally:
                for _ in batch:
                    self.queue.task_done()

    def _send(self, batch: list[dict[str, Any]]) -> None:
        import httpx

        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.pause * 2 ** (attempt - 1))
            try:
                response = httpx.post(self.endpoint, json=batch, headers=self.headers,
                                      timeout=self.timeout)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            if response.status_code < 300:
                self.sent += len(batch)
                return
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code in (400, 401, 403, 409):
                break  # the same statements would be refused again
        self.dropped += len(batch)
        log.warning("xAPI: dropped %d statement(s) for %s after %d tries (%s)", len(batch),
                    self.endpoint, attempt + 1, problem)


def from_env(environ: Mapping[str, str] | None = None) -> LearningRecords | None:
    """LearningRecords when `BRAIN_TUTOR_XAPI_URL` is set, else None (nothing is sent)."""
    env = os.environ if environ is None else environ
    url = env.get(URL_VARIABLE, "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        log.warning("%s must be an http(s) URL; not sending learning records", URL_VARIABLE)
        return None
    return LearningRecords(
        url, user=env.get(USER_VARIABLE, ""), password=env.get(PASSWORD_VARIABLE, ""),
        token=env.get(TOKEN_VARIABLE, ""),
        homepage=env.get(HOMEPAGE_VARIABLE, "").strip() or _default_homepage(env),
    )
