"""The real page on 127.0.0.1, driven through gradio_client as another program would."""

from __future__ import annotations

import pytest

from tests.local import chat_text, free_port, local_client
from tutor import Tutor
from tutor.ui import build_app

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def server():
    demo = build_app(Tutor(train_slice=2000))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def _plots(messages: list[dict]) -> list[dict]:
    found = []
    for message in messages:
        content = message["content"]
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict) and item.get("component") == "image":
                alt = item["props"].get("alt_text") or ""
                assert len(alt) > 30, item  # each figure describes itself in its <img alt>
                found.append(item)
    return found


def _options(messages: list[dict]) -> list[dict]:
    for message in reversed(messages):
        if message.get("options"):
            return message["options"]
    return []


def _pick(options: list[dict], starts: str) -> str:
    for option in options:
        if option["label"].lower().startswith(starts.lower()):
            return option["value"]
    raise AssertionError(f"no option starting {starts!r} in {options}")


def test_endpoints_are_named(server):
    endpoints = local_client(server).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/respond" in endpoints
    assert "/stop" in endpoints


def test_walkthrough_by_options_alone_with_plots(server):
    client = local_client(server)
    messages = client.predict("hi", api_name="/respond")[0]
    assert "Step 1 of" in chat_text(messages)
    seen_plots = 0
    seen = {"colour bar": False, "7,850": False, "epoch": False, "table": False, "8675": False}
    for _ in range(40):
        options = _options(messages)
        labels = [option["label"] for option in options]
        if any(label.startswith("0:") for label in labels):  # a flashcard waits for a guess
            message = _pick(options, "9:")
        elif any(label.startswith("Next") for label in labels):
            message = _pick(options, "Next")
        else:
            break
        result = client.predict(message, api_name="/respond")
        messages = result[0]
        text = chat_text(messages)
        seen_plots += len(_plots(messages))
        seen["colour bar"] |= "colour bar" in text
        seen["7,850"] |= "7,850" in text
        seen["epoch"] |= "Training finished" in text
        seen["table"] |= "| predicted | true |" in text
        seen["8675"] |= "image 8675" in text and "Bar chart" in text
        lesson_map = result[1]
        if "▶ 10." in lesson_map:
            break
    assert all(seen.values()), seen
    assert seen_plots >= 8
    assert "What we built" in chat_text(messages)


def test_bad_input_gets_a_friendly_reply(server):
    client = local_client(server)
    client.predict("hi", api_name="/respond")
    for message in ["", "<script>alert(1)</script>", "predict image 99999", "x" * 5000]:
        messages = client.predict(message, api_name="/respond")[0]
        text = chat_text(messages)
        assert "Traceback" not in text
        assert text.strip()
    messages = client.predict("<b>bold</b>", api_name="/respond")[0]
    user_text = chat_text([message for message in messages if message["role"] == "user"])
    assert "<b>" not in user_text


def test_two_clients_have_separate_sessions(server):
    first, second = local_client(server), local_client(server)
    first.predict("hi", api_name="/respond")
    first.predict("next", api_name="/respond")
    second_map = second.predict("hi", api_name="/respond")
    first_map = first.predict("help", api_name="/respond")
    assert "▶ 1." in second_map[1]
    assert "▶ 2." in first_map[1]
