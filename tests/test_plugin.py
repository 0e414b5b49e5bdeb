"""The tutor as a plugin: a block inside someone else's page, a FastAPI mount, and a Space."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from gradio_client import Client

from tutor import Tutor
from tutor.ui import TutorBlock

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _text(messages: list[dict]) -> str:
    parts = []
    for message in messages:
        content = message["content"]
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict) and item.get("type") == "text":
                parts.append(item["text"])
    return "\n".join(parts)


def test_block_inside_another_page_answers_a_turn():
    with gr.Blocks(title="A course page") as demo:
        gr.Markdown("# Week 3: neural networks")
        block = TutorBlock(Tutor(train_slice=1000))
        block.load_event(demo)
        gr.Markdown("Course footer")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", download_files=False, verbose=False)
        messages = client.predict("hi", api_name="/respond")[0]
        assert "Why build a brain?" in _text(messages)
        messages = client.predict("next", api_name="/respond")[0]
        assert "Meet the data" in _text(messages)
    finally:
        demo.close()


def test_fastapi_mount_under_a_sub_path():
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    with gr.Blocks() as demo:
        TutorBlock(Tutor(train_slice=1000)).load_event(demo)
    demo.queue()
    app = gr.mount_gradio_app(app, demo, path="/tutor")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        client = Client(f"http://127.0.0.1:{port}/tutor/", download_files=False, verbose=False)
        messages = client.predict("hi", api_name="/respond")[0]
        assert "Why build a brain?" in _text(messages)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md starts with the Space's front matter"
    return yaml.safe_load(match.group(1))


def test_space_files_agree_with_each_other():
    front = _front_matter()
    for key in ("title", "emoji", "sdk", "sdk_version", "app_file", "python_version",
                "short_description", "license"):
        assert key in front, key
    assert front["sdk"] == "gradio"
    assert (ROOT / front["app_file"]).is_file()
    requirements = (ROOT / "requirements.txt").read_text()
    gradio_range = re.search(r"^gradio>=([\d.]+),<(\d+)", requirements, re.M)
    assert gradio_range, "requirements.txt pins a gradio range"
    low, high = gradio_range.group(1), int(gradio_range.group(2))
    version = tuple(int(part) for part in str(front["sdk_version"]).split("."))
    assert tuple(int(part) for part in low.split(".")) <= version < (high,)
    assert gr.__version__ == str(front["sdk_version"]) or version >= tuple(
        int(part) for part in low.split(".")
    )
    packages = (ROOT / "packages.txt").read_text().split()
    assert "dataset-fashion-mnist" in packages
    ci = (ROOT / ".ci" / "run").read_text()
    assert "packages.txt" in ci, ".ci/run installs the Space's Debian packages"
    assert len(str(front["short_description"])) <= 60
