"""kill -9 the real server mid-lesson, start it again, and the learner resumes where they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.local import free_port, local_client

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.app


def _serve(port: int, state_dir: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "BRAIN_TUTOR_STATE_DIR": str(state_dir),
        "BRAIN_TUTOR_TRAIN_SLICE": "1000",
    }
    environment.pop("BRAIN_TUTOR_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the app did not serve within 180 s")


def test_kill_dash_nine_then_resume(tmp_path):
    port = free_port()
    server = _serve(port, tmp_path)
    try:
        client = local_client(f"http://127.0.0.1:{port}/")
        first = client.predict(None, api_name="/start")
        learner_id = first[-1]
        assert learner_id and len(learner_id) >= 16
        client.predict("next", api_name="/respond")       # data
        client.predict("next", api_name="/respond")       # flashcards
        client.predict("9", api_name="/respond")          # a right guess: Ankle boot
        client.predict("go to training", api_name="/respond")  # trains 5 epochs on 1,000
        acknowledged = client.predict("go to prediction", api_name="/respond")
        assert "▶ 9." in acknowledged[1]
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # no clean shutdown, no last save
        server.wait(timeout=30)

    server = _serve(port, tmp_path)
    try:
        client = local_client(f"http://127.0.0.1:{port}/")
        resumed = client.predict(learner_id, api_name="/start")
        chat, lesson_map = resumed[0], resumed[1]
        text = str(chat)
        assert "Welcome back" in text
        assert "▶ 9." in lesson_map, "same step"
        assert "Flashcards: 1 of 1 right" in lesson_map, "same score"
        assert "1 training run" in text, "same runs"
        assert resumed[-1] == learner_id
        # and the restored model still answers from its own training
        answer = client.predict("how accurate is my model?", api_name="/respond")
        assert "%" in str(answer[0])
        # a stranger with a made-up id starts fresh
        other = local_client(f"http://127.0.0.1:{port}/")
        stranger = other.predict("not-a-real-learner-id-000", api_name="/start")
        assert "Welcome back" not in str(stranger[0])
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
