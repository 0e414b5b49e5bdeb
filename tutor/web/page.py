"""The Gradio page: the tutor as a block of any `gr.Blocks`, its events, and the standalone app.

The only package that imports gradio, and it never imports TensorFlow. `TutorBlock` lays out
the chat, the side panel (panel.py) and the voice controls (voice_panel.py), and streams each
turn's Replies into the chat (messages.py); its stylesheet and scripts are in static/.
Each browser tab gets its own Session through `gr.State`; nothing per learner is global.
Every turn also sends the learner id the browser keeps, so a replica that does not hold the
tab's Session (the one that did went down) resumes it from the store.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd
from gradio.components.chatbot import Message as ChatbotMessage

from tutor.api import Tutor
from tutor.figures import render
from tutor.reply import Reply
from tutor.session import Session
from tutor.web.language import LanguagePicker
from tutor.web.messages import (
    as_plain_text,
    finished_box,
    options_payload,
    reply_to_messages,
    training_box,
)
from tutor.web.panel import EPOCH_ORDER, lesson_map_markdown, live_curve, mastery_map_html
from tutor.web.serving import launch as launch  # the standalone page's server
from tutor.web.strings import status_line
from tutor.web.strings import text as say  # a page string, in the learner's language
from tutor.web.voice_panel import VoicePanel

LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
TITLE = "Brain Tutor"
# Gradio's usage analytics send a few facts about the server to Gradio's makers; nothing leaves
# this server unless the operator asks for it with BRAIN_TUTOR_ANALYTICS=1.
ANALYTICS = os.environ.get("BRAIN_TUTOR_ANALYTICS", "").strip().lower() in ("1", "true", "yes", "on")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "True" if ANALYTICS else "False"
# The key the page scrambles the learner's id with in local storage. Gradio sends it to every
# browser in /config, so it hides nothing; but Gradio's default is a new random key per process,
# and then a restarted server or another replica cannot read the id and the learner starts over.
BROWSER_STATE_KEY = "brain-tutor-browser-state"

# Seconds between the training box's step updates in the page. The trainer reports every
# 0.25 s; every update re-sends the learner's whole chat through Gradio's postprocessing,
# which holds the Python lock every learner's turn needs, so the page takes one a second.
# A new epoch and a place in the queue are always shown at once.
PROGRESS_INTERVAL = 1.0
# Seconds within which the blocks of one reply (text, code, figure) go to the page together:
# most turns make all their blocks in a fraction of a second, and each update costs the server
# the whole chat again, so a quick turn is one update after the echo, not four.
BLOCK_INTERVAL = 0.5


@dataclass
class _Chat:
    """One turn's view of a learner: their chat messages and session, and whether the page's
    `gr.State`s already hold these objects (then an update need not send them again)."""

    messages: list
    session: Session
    chat_stored: bool
    session_stored: bool
    resumed: bool = False  # a returning learner's Session, loaded from the store for this turn


class TutorBlock(VoicePanel):
    """The whole tutor, rendered inside whatever `gr.Blocks` is open when it is created.

        with gr.Blocks() as demo:
            TutorBlock(Tutor())
    """

    def __init__(self, tutor: Tutor | None = None, height: int = 640) -> None:
        self.tutor = tutor or Tutor()
        self._start_lock, self._started = threading.Lock(), False
        self._render(height)

    def start(self) -> None:
        """Start, once, what only turns need: the warm-up (the agent, TensorFlow, the data set,
        the voice) and the helper processes. `launch` calls it once the page is served, so that
        nothing competes with the first page; every turn calls it too (a block served otherwise)."""
        with self._start_lock:
            if not self._started:
                self._started = True
                self.tutor.warm_up()
                # Many learners share this server: their figures are drawn in a helper process,
                # so a drawing never holds up another learner's turn (tutor/figures/render.py),
                render.start_helper()
                self.tutor.train_in_processes()  # and their fits in worker processes

    # ----- layout -----------------------------------------------------------------------
    def _render(self, height: int) -> None:
        tutor = self.tutor
        self.session = gr.State(None)
        # The chat as the server drew it. The chatbot is an output only: the browser never sends
        # the history back, so a turn costs the same at step 15 as at step 1 (no figure is
        # decoded and re-encoded per turn) and no client can forge earlier messages.
        self.chat = gr.State([])
        # the learner's id lives in the browser (local storage), so a reload or a server restart
        # resumes where they were; it is never put in a URL
        self.learner = gr.BrowserState(None, storage_key="brain-tutor-learner-id",
                                       secret=BROWSER_STATE_KEY)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                self.chatbot = gr.Chatbot(
                    label="Brain Tutor",
                    elem_id="tutor-chat",
                    height=height,
                    latex_delimiters=LATEX_DELIMITERS,
                    placeholder=say("chat_loading"),
                    buttons=["copy"],
                    group_consecutive_messages=False,
                )
                with gr.Row():
                    self.textbox = gr.Textbox(
                        placeholder=say("input_placeholder"),
                        label=say("input_label"),
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        max_length=4000,
                        autofocus=True,
                        elem_id="tutor-input",
                    )
                    self.pending = gr.Textbox(visible=False, label="message")
                    self.send = gr.Button(say("send"), variant="primary", scale=1, min_width=80)
                    self.stop = gr.Button(say("stop_training"), variant="stop", scale=1, min_width=80)
                self._render_voice()
            with gr.Column(scale=1, min_width=240):
                self.language = LanguagePicker(secret=BROWSER_STATE_KEY)  # kept beside the id
                self.status = gr.Markdown(status_line(tutor.status()), elem_id="status-line")
                self.lesson_map = gr.Markdown(lesson_map_markdown(tutor, None), elem_id="lesson-map")
                self.live_curve = gr.LinePlot(
                    x="epoch", y="accuracy", color="data", label=say("live_curve_label"),
                    show_label=False,  # a shown label pushes the legend out of the box
                    title=say("live_curve_title"), x_title="epoch", y_title="accuracy",
                    color_title="images", y_lim=[0, 1], height=300, elem_id="live-curve",
                    sort=EPOCH_ORDER,
                    color_map={"training": "#1f77b4", "validation": "#d95f02"},
                )
                self.mastery_map = gr.HTML(mastery_map_html(tutor, None), elem_id="mastery-map")
                with gr.Accordion(say("own_picture"), open=False, elem_id="own-image"):
                    with gr.Tab(say("upload_tab")):
                        self.photo = gr.Image(
                            sources=["upload", "webcam", "clipboard"], type="numpy",
                            label=say("photo_label"), height=220,
                        )
                    with gr.Tab(say("draw_tab")):
                        self.sketch = gr.Sketchpad(
                            type="numpy", label=say("sketch_label"), height=220,
                            canvas_size=(280, 280),
                        )
                    self.predict_own = gr.Button(say("predict_own"))
                self.export = gr.Button(say("export"), size="sm")
        self._wire()

    def _wire(self) -> None:
        """The page's events: each way of sending a turn, then reading its reply aloud."""
        outputs = [self.chatbot, self.chat, self.session, self.lesson_map, self.live_curve, self.status,
                   self.mastery_map, self.learner]
        submit_kwargs: dict[str, Any] = {"concurrency_limit": None}
        # the box empties at once (so Enter cannot send a message twice); the turn reads the
        # message from a hidden field, which is also what the named API endpoint takes
        take = {"fn": _take_message, "inputs": [self.textbox], "outputs": [self.textbox, self.pending],
                "api_name": False, "queue": False}
        speak = self._speak_event()
        self.textbox.submit(**take).then(
            self._respond, [self.pending, self.chat, self.session, self.learner], outputs,
            api_name="respond", **submit_kwargs,
        ).then(**speak)
        self.send.click(**take).then(
            self._respond, [self.pending, self.chat, self.session, self.learner], outputs,
            api_name=False, **submit_kwargs,
        ).then(**speak)
        self._wire_voice(outputs, speak, submit_kwargs)
        self.language.wire()
        self.chatbot.option_select(
            self._choose_option, [self.chat, self.session, self.learner], outputs, api_name=False,
            **submit_kwargs,
        )
        self.stop.click(self._stop, [self.session], [self.status], api_name="stop", queue=False)
        self.export.click(
            self._export, [self.chat, self.session, self.learner], outputs, api_name=False,
            **submit_kwargs,
        )
        self.predict_own.click(
            self._predict_own, [self.photo, self.sketch, self.chat, self.session, self.learner],
            outputs,
            api_name="predict_own_image", **submit_kwargs,
        )

    def load_event(self, demo: gr.Blocks) -> None:
        """Open the first lesson step, or resume a returning learner, when the page loads."""
        demo.load(
            self._welcome,
            [self.chat, self.session, self.learner],
            [self.chatbot, self.chat, self.session, self.lesson_map, self.live_curve, self.status,
             self.mastery_map, self.learner],
            api_name="start",
        )
        self.language.restore(demo)
        demo.load(self._restore_read_aloud, [self.read_aloud_saved], [self.read_aloud],
                  api_name=False, queue=False)

    def _out(self, chat: _Chat, curve: pd.DataFrame | None, status: str | None = None) -> tuple:
        """One update of the page: every output gets a value, except the two `gr.State`s
        when they already hold this learner's chat and session.

        Why: every update of a streamed turn passes each output through Gradio, which is the
        server's main cost under a class. `gr.skip()` on a component (the curve, the status)
        makes Gradio build a new copy of that component with its whole configuration, and a
        value put in a `gr.State` rebuilds the State's configuration too; both cost more than
        sending the same small value again, which changes nothing on the page. A State is
        skipped only when it already holds these very objects (the chat list is changed in
        place).
        """
        update = (
            chat.messages,
            gr.skip() if chat.chat_stored else chat.messages,
            gr.skip() if chat.session_stored else chat.session,
            lesson_map_markdown(self.tutor, chat.session),
            curve,
            status_line(self.tutor.status()) if status is None else status,
            mastery_map_html(self.tutor, chat.session),
            chat.session.id,  # last: what a client of the API reads the learner's id from
        )
        chat.chat_stored = chat.session_stored = True  # from this update on, the States hold them
        return update

    def _open(self, history: list | None, session: Session | None,
              learner_id: str | None = None) -> _Chat:
        """This learner's chat (the list the State holds, now without old buttons) and session.

        Without a Session in this process (a new tab, or one a replica that went down or a
        restarted server served), the learner the browser's id names is resumed from the
        store, with their conversation so far; an unknown id or none starts a new learner.
        """
        self.start()
        chat = _Chat(
            messages=history if history is not None else [],
            session=session or self.tutor.resume(learner_id),
            chat_stored=history is not None,
            session_stored=session is not None,
        )
        chat.resumed = session is None and bool(chat.session.state_id)
        if chat.resumed and not chat.messages:
            chat.messages.extend(_replayed(chat.session))
        chat.messages[:] = self._settled(chat.messages)
        return chat

    def _settled(self, messages: list) -> list:
        """Earlier turns' messages as the Chatbot's own finished form, without their buttons.

        Why: every update of a turn passes the whole chat through `Chatbot.postprocess`, which
        rebuilds each message (and re-indents its text) unless it already is a
        `gradio.components.chatbot.Message`; old messages never change again, so they are
        converted once here instead of on each of the turn's updates.
        """
        settled: list = []
        for item in messages:
            if not isinstance(item, ChatbotMessage):
                settled.extend(self.chatbot.postprocess([item]).root)
            else:
                settled.append(item)
        for item in settled:
            item.options = None  # only the latest choices are live
        return settled

    # ----- events -----------------------------------------------------------------------
    def _joined(self, session: Session, request: gr.Request | None) -> list[Reply]:
        """The class in the page's address (`?class=CODE`), joined: its Reply, or none."""
        code = request.query_params.get("class", "") if request is not None else ""
        if not code or code.strip().lower() == session.class_code:
            return []
        try:
            return [self.tutor.join_class(session, code)]
        except ValueError as error:  # a code that is not one: say so, teach on
            return [Reply(text=str(error), kind="help")]

    def _welcome(self, history: list | None, session: Session | None, learner_id: str | None,
                 request: gr.Request | None = None) -> Iterator[tuple]:
        chat = self._open(history, session, learner_id)
        session = chat.session
        joined = self._joined(session, request)
        if chat.messages and not chat.resumed:
            chat.messages.extend(message for reply in joined for message in reply_to_messages(reply))
            yield self._out(chat, live_curve(session.history))
            return
        if chat.resumed:  # a returning learner: their conversation (above), then where they were
            state = self.tutor.pack.get(session.state_id)
            right, asked = session.flashcard_score
            welcome = gr.ChatMessage(
                role="assistant",
                content=f"**Welcome back!** You were at **{state.title}**, with "
                f"{len(session.runs)} training run(s) and {right} of {asked} flashcards right. "
                "Carry on where you left off, or say `restart` to begin again.",
            )
            chat.messages.extend(message for reply in joined for message in reply_to_messages(reply))
            welcome.options = options_payload(Reply(text="", options=self.tutor.agent.options_for(session)))
            chat.messages.append(welcome)
            yield self._out(chat, live_curve(session.history))
            return
        yield from self._turn(chat, itertools.chain(joined, self.tutor.stream(session, "")))

    def _choose_option(
        self, history: list, session: Session | None, learner_id: str | None,
        event: gr.SelectData,
    ) -> Iterator[tuple]:
        value = event.value
        message = value.get("value") if isinstance(value, dict) else value
        yield from self._respond(str(message or ""), history, session, learner_id)

    def _predict_own(self, photo: Any, sketch: Any, history: list | None,
                     session: Session | None, learner_id: str | None = None) -> Iterator[tuple]:
        chat = self._open(history, session, learner_id)
        has_sketch = isinstance(sketch, dict) and any(
            sketch.get(key) is not None for key in ("composite", "background"))
        image = photo if photo is not None else (sketch if has_sketch else None)
        label = "(my photo)" if photo is not None else "(my drawing)"
        chat.messages.append(gr.ChatMessage(role="user", content=label))
        reply = self.tutor.predict_own_image(chat.session, image)
        messages = reply_to_messages(reply)
        if messages:
            messages[-1].options = options_payload(reply)
        chat.messages.extend(messages)
        yield self._out(chat, live_curve(chat.session.history))

    def _export(self, history: list | None, session: Session | None,
                learner_id: str | None = None) -> Iterator[tuple]:
        yield from self._respond("export my notebook", history, session, learner_id)

    def _stop(self, session: Session | None) -> str:
        if session is not None and self.tutor.stop(session):
            return str(say("stopping"))
        return str(say("nothing_training"))

    def _respond(self, message: Any, history: list | None, session: Session | None,
                 learner_id: str | None = None) -> Iterator[tuple]:
        """Stream one turn: the learner's message, then each block and the training progress."""
        chat = self._open(history, session, learner_id)
        text = message.get("text", "") if isinstance(message, dict) else str(message or "")
        yield from self._respond_in(chat, text)

    def _respond_in(self, chat: _Chat, text: str, shown: str | None = None) -> Iterator[tuple]:
        """The turn of `text` in an opened chat; `shown` is what the learner's bubble says."""
        shown = as_plain_text(shown if shown is not None else text) or "(empty message)"
        chat.messages.append(gr.ChatMessage(role="user", content=shown))
        yield self._out(chat, live_curve(chat.session.history))
        yield from self._turn(chat, self.tutor.stream(chat.session, text))

    def _turn(self, chat: _Chat, replies: Iterator[Reply]) -> Iterator[tuple]:
        """Render a stream of Replies into the chat as they come."""
        history, session = chat.messages, chat.session
        curve = live_curve(session.history)  # the same frame until an epoch ends
        status: str | None = None
        box_index: int | None = None
        last_reply: Reply | None = None
        shown_at, epochs_drawn = time.monotonic(), 0  # the learner's message was just shown
        for reply in replies:
            if not reply.final:
                progress = reply.progress
                epochs = len(progress.history) if progress is not None else 0
                steady = progress is not None and progress.step > 0 and epochs == epochs_drawn
                if steady and time.monotonic() - shown_at < PROGRESS_INTERVAL:
                    continue  # a step update soon after the last one: the next will carry it
                shown_at = time.monotonic()
                box = training_box(reply)
                if box_index is None:
                    history.append(box)
                    box_index = len(history) - 1
                else:
                    history[box_index] = box
                if epochs != epochs_drawn and progress is not None:  # an epoch ended
                    curve = live_curve(session.history + progress.history)
                    epochs_drawn = epochs
                status = reply.text.split(" - ")[0]
                yield self._out(chat, curve, status)
                continue
            if box_index is not None:  # the first block after progress closes the box
                history[box_index] = finished_box(history[box_index], reply)
                box_index = None
                status = None
                curve = live_curve(session.history)
            history.extend(reply_to_messages(reply))
            last_reply = reply
            if time.monotonic() - shown_at >= BLOCK_INTERVAL:  # else the next update carries it
                shown_at = time.monotonic()
                yield self._out(chat, curve, status)
        if last_reply is not None and last_reply.options:
            for index in range(len(history) - 1, -1, -1):
                if getattr(history[index], "role", None) == "assistant":
                    history[index].options = options_payload(last_reply)
                    break
        yield self._out(chat, live_curve(session.history))


def _take_message(message: str) -> tuple[str, str]:
    return "", message

def _replayed(session: Session) -> list[gr.ChatMessage]:
    """A returning learner's last 40 messages, for a chat that starts empty (their own as text)."""
    return [gr.ChatMessage(role="user" if entry["role"] == "user" else "assistant",
                           content=as_plain_text(entry["text"]) if entry["role"] == "user"
                           else entry["text"])
            for entry in session.transcript[-40:]]


def build_app(tutor: Tutor | None = None) -> gr.Blocks:
    """The standalone page: a header, the tutor block and a short footer."""
    with gr.Blocks(title=TITLE, fill_height=True, analytics_enabled=ANALYTICS) as demo:
        gr.Markdown(f"# 🧠 Brain Tutor\n{say('header_intro')}")
        block = TutorBlock(tutor)
        block.load_event(demo)
    demo.queue(default_concurrency_limit=None)
    demo.tutor_block = block  # type: ignore[attr-defined]
    return demo
