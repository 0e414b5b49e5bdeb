"""The real page on 127.0.0.1, driven through gradio_client as another program would."""

from __future__ import annotations

import base64

import pytest

from tests.local import INLINE_IMAGE, chat_text, free_port, local_client
from tutor import Tutor
from tutor.web.page import build_app

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def server():
    demo = build_app(Tutor(train_slice=2000))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def _plots(messages: list[dict]) -> list[dict]:
    """Every chat figure: a PNG inline in the message, with the plot's own alt text."""
    found = []
    for message in messages:
        content = message["content"]
        for item in content if isinstance(content, list) else [content]:
            text = item.get("text", "") if isinstance(item, dict) else str(item)
            for alt, url in INLINE_IMAGE.findall(text):
                assert len(alt) > 30, alt  # each figure describes itself in its <img alt>
                assert url.startswith("data:image/png;base64,"), url[:60]
                png = base64.b64decode(url.split(",", 1)[1])
                assert png.startswith(b"\x89PNG"), url[:60]
                found.append({"alt": alt, "bytes": len(png)})
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


def test_the_live_curve_is_data_the_browser_draws():
    from tutor.web.panel import live_curve

    history = [{"loss": 9.1, "accuracy": 0.71, "val_loss": 8.0, "val_accuracy": 0.69},
               {"loss": 5.2, "accuracy": 0.78, "val_loss": float("nan"), "val_accuracy": float("nan")}]
    frame = live_curve(history)
    assert list(frame.columns) == ["epoch", "accuracy", "data"]
    assert frame.to_dict("records") == [
        {"epoch": "1", "accuracy": 0.71, "data": "training"},  # labels, in the plot's order
        {"epoch": "1", "accuracy": 0.69, "data": "validation"},
        {"epoch": "2", "accuracy": 0.78, "data": "training"},  # NaN scores are left out, not drawn
    ]
    assert live_curve([]) is None  # an empty plot, not a frame without rows


def test_step_updates_reach_the_page_once_a_second_but_epochs_and_queue_places_at_once():
    import gradio as gr

    from tutor.reply import Progress, Reply
    from tutor.web import page

    with gr.Blocks():
        block = page.TutorBlock(Tutor(train_slice=500))
    session = block.tutor.new_session()

    def training() -> list[Reply]:
        replies = [Reply(text="Waiting: number 2", progress=Progress(0, 2, 0, 100), final=False),
                   Reply(text="Training for 2 epoch(s)", progress=Progress(1, 2, 0, 100), final=False)]
        replies += [Reply(text=f"Epoch 1/2, step {step}", progress=Progress(1, 2, step, 100),
                          final=False) for step in range(1, 100)]  # all within a second
        replies.append(Reply(text="Epoch 1/2, step 100", final=False,  # the epoch's end
                             progress=Progress(1, 2, 100, 100, [{"loss": 1.0, "accuracy": 0.5}])))
        replies.append(Reply(text="**Training finished**", kind="training"))
        return replies

    # (the chat's last message, the live curve) as each update left; the chat list is reused
    turn = block._turn(block._open([], session), iter(training()))
    outputs = [(output[0][-1].content, output[4]) for output in turn]
    # the queue place, the start, the epoch's end with its curve, then the final reply in the
    # turn's closing update (it came within BLOCK_INTERVAL); the 99 step updates all came
    # within a second of the start
    assert len(outputs) == 4
    texts = [text for text, _ in outputs]
    assert texts[:3] == ["Waiting: number 2", "Training for 2 epoch(s)", "Epoch 1/2, step 100"]
    assert texts[3] == "**Training finished**"
    assert outputs[2][1]["accuracy"].tolist() == [0.5]


def test_updates_send_values_and_store_the_chat_and_session_once():
    """Gradio rebuilds a component for every `gr.skip()` it gets, so only the States skip,
    and only once they hold the learner's chat and session (the chat list is kept in place)."""
    import gradio as gr

    from tutor.web import page

    with gr.Blocks():
        block = page.TutorBlock(Tutor(train_slice=500))
    stored_chat: list = []
    updates = list(block._respond("help", stored_chat, None))
    assert len(updates) >= 2
    first, *rest = updates
    session = first[2]
    assert first[1] == gr.skip()  # the State's own list, changed in place
    assert session is not None and session.id == first[-1]
    for update in updates:
        chatbot, _, _, lesson_map, curve, status, mastery_map, learner = update
        assert chatbot is stored_chat and len(stored_chat) >= 2
        assert isinstance(lesson_map, str) and isinstance(status, str) and status
        assert isinstance(mastery_map, str) and 'id="mastery-map-title"' in mastery_map
        assert curve is None and learner == session.id  # no training yet: an empty plot
    for update in rest:
        assert update[1] == gr.skip() and update[2] == gr.skip()  # already stored
    later = list(block._respond("next", stored_chat, session))
    assert all(update[2] == gr.skip() for update in later)
    # the earlier turn's messages now are the Chatbot's finished form, without their buttons,
    # so the later turn's updates pass them through Gradio untouched; this turn's are as made
    from gradio.components.chatbot import Message

    start = next(index for index, message in enumerate(stored_chat)
                 if isinstance(message, gr.ChatMessage) and message.content == "next")
    assert start >= 2 and stored_chat[0].content[0].text == "help"
    assert all(isinstance(message, Message) and not message.options
               for message in stored_chat[:start])
    assert any(getattr(message, "options", None) for message in stored_chat[start:])
    page = block.chatbot.postprocess(stored_chat).model_dump()
    assert [message["role"] for message in page] == [message.role for message in stored_chat]


def test_quick_blocks_of_a_reply_reach_the_page_in_one_update(monkeypatch):
    """Each update re-sends the whole chat, so blocks made within BLOCK_INTERVAL go together;
    a block that comes later is shown at once."""
    import time

    import gradio as gr

    from tutor.reply import Reply
    from tutor.web import page

    with gr.Blocks():
        block = page.TutorBlock(Tutor(train_slice=500))
    monkeypatch.setattr(page, "BLOCK_INTERVAL", 0.3)
    session = block.tutor.new_session()

    def quick():
        yield from (Reply(text="text"), Reply(text="code"), Reply(text="figure"))

    updates = [[m.content for m in out[0]] for out in block._turn(block._open([], session), quick())]
    assert updates == [["text", "code", "figure"]]  # one update, the turn's closing one

    def slow():
        yield Reply(text="first")
        time.sleep(0.4)
        yield Reply(text="after a slow tool")

    updates = [[m.content for m in out[0]] for out in block._turn(block._open([], session), slow())]
    assert updates == [["first", "after a slow tool"], ["first", "after a slow tool"]]
