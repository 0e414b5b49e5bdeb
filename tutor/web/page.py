"""The Gradio page: the only module that imports gradio, and it never imports TensorFlow.

It renders Replies as chat messages: text with the Keras code that ran, plots inline with their
alt text, the next options as clickable chips, and training as a live tool box plus a curve.
Each browser tab gets its own Session through `gr.State`; nothing per learner is global.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
from gradio.components.chatbot import Message as ChatbotMessage

from tutor.api import Tutor
from tutor.figures import render
from tutor.reply import Plot, Reply
from tutor.session import Session

LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
TITLE = "Brain Tutor"
CSS = """
#tutor-chat .message { font-size: 0.98rem; }
#lesson-map { font-size: 0.95rem; }
#status-line { min-height: 1.5em; }
/* chat figures are inline PNGs; Gradio caps Markdown images at 384 px, too small to read */
#tutor-chat .message-row img[src^="data:image/png"] {
  max-width: min(100%, 700px) !important; max-height: 640px !important;
  width: auto !important; height: auto !important;
}
"""


# The streaming read-aloud player (see `Page._speak_last`). Its value is one JSON line per piece
# of speech, {"turn", "index", "seconds", "audio": a WAV data URL}; this script queues each new
# piece and plays them in order, a new turn (or the toggle switched off) stopping the last.
# Gradio's own streaming gr.Audio output needs the ffmpeg program (it re-encodes to AAC for
# HLS), which the Space and this machine do not have; this needs nothing but the browser.
# window.brainTutorVoice.log records when each piece arrived and started playing (the tests
# read it).
VOICE_STREAM_TEMPLATE = '<div class="voice-stream" aria-hidden="true"></div>'
VOICE_STREAM_JS = """
const player = window.brainTutorVoice = window.brainTutorVoice || {
  turn: null, next_index: 0, queue: [], current: null, log: [],
  note(clip, event, extra) {
    this.log.push({turn: clip.turn, index: clip.index, event, at: performance.now(), ...extra});
    if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
  },
  stop() {
    this.queue = [];
    if (this.current) { this.current.pause(); this.current = null; }
  },
  play_next() {
    if (this.current || !this.queue.length) return;
    const clip = this.queue.shift();
    const audio = new Audio(clip.audio);
    this.current = audio;
    const done = () => { if (this.current === audio) { this.current = null; this.play_next(); } };
    audio.addEventListener('ended', done);
    audio.addEventListener('error', done);
    audio.play().then(() => this.note(clip, 'play'), (error) => {
      this.note(clip, 'blocked', {error: String(error)});  // autoplay refused: the replay player
      this.stop();                                           // gets the whole reply
    });
  },
  take(value) {
    for (const line of String(value || '').split('\\n')) {
      let clip;
      try { clip = JSON.parse(line); } catch (error) { continue; }
      if (!clip || !clip.turn || !clip.audio) continue;
      if (clip.turn !== this.turn) { this.stop(); this.turn = clip.turn; this.next_index = 0; }
      if (clip.index < this.next_index) continue;
      this.next_index = clip.index + 1;
      this.note(clip, 'received', {seconds: clip.seconds, bytes: clip.audio.length});
      this.queue.push(clip);
      this.play_next();
    }
  },
};
watch('value', () => player.take(props.value));
"""

# Seconds between the training box's step updates in the page. The trainer reports every
# 0.25 s; every update re-sends the learner's whole chat through Gradio's postprocessing,
# which holds the Python lock every learner's turn needs, so the page takes one a second.
# A new epoch and a place in the queue are always shown at once.
PROGRESS_INTERVAL = 1.0
# Seconds within which the blocks of one reply (text, code, figure) go to the page together:
# most turns make all their blocks in a fraction of a second, and each update costs the server
# the whole chat again, so a quick turn is one update after the echo, not four.
BLOCK_INTERVAL = 0.5


def figure_markdown(plot: Plot) -> str:
    """A plot as a chat message: its PNG inline, with the plot's own description as alt text.

    Why inline: on every streamed update Gradio re-checks each file in a chat against the file
    system (a dozen path resolutions per figure), and a learner's chat holds fifteen figures
    by the end of the notebook; under twenty learners that was the server's largest single
    cost. An inline image is text, which passes through untouched, and the browser decodes it
    once. The `<img alt>` carries the description for screen readers.
    """
    encoded = base64.b64encode(plot.png()).decode("ascii")
    alt = re.sub(r"[\[\]\\\s]+", " ", plot.alt).strip()  # one line, no Markdown brackets
    return f"![{alt}](data:image/png;base64,{encoded})"


EPOCH_ORDER = [str(epoch) for epoch in range(1, 1001)]  # the live curve's x axis, in order


def live_curve(history: list[dict[str, float]]) -> pd.DataFrame | None:
    """The side panel's accuracy curve as data, one row per epoch and series.

    The browser draws it (`gr.LinePlot`), so a live update costs the server a few rows instead
    of a matplotlib drawing (about 0.2 s of one core per epoch per learner); the chat still
    gets the full loss and accuracy figure once, at the end of the training. Epochs are labels
    (in the order `EPOCH_ORDER` gives), so the axis reads 1, 2, 3 and never 1.5.
    """
    rows = [
        {"epoch": str(epoch), "accuracy": float(row[key]), "data": name}
        for epoch, row in enumerate(history, start=1)
        for key, name in (("accuracy", "training"), ("val_accuracy", "validation"))
        if key in row and math.isfinite(float(row[key]))
    ]
    if not rows:  # an empty plot; after an empty frame the page drew later curves with no legend
        return None
    return pd.DataFrame(rows, columns=["epoch", "accuracy", "data"])


def reply_to_messages(reply: Reply) -> list[gr.ChatMessage]:
    """One final Reply as chat messages: text and code, then each plot with its caption."""
    messages: list[gr.ChatMessage] = []
    text = reply.text or ""
    if reply.code:
        text = f"{text}\n\n**Keras code that ran:**\n```python\n{reply.code}\n```".strip()
    if text:
        messages.append(gr.ChatMessage(role="assistant", content=text))
    for path in reply.files:
        messages.append(gr.ChatMessage(role="assistant", content=gr.File(path)))
    for plot in reply.figures:  # the figure and its caption in one message: one fewer per update
        messages.append(gr.ChatMessage(role="assistant",
                                       content=f"{figure_markdown(plot)}\n\n*Figure: {plot.alt}*"))
    return messages


def _options_payload(reply: Reply) -> list[dict[str, str]]:
    return [{"label": option.label, "value": option.message} for option in reply.options]


def _training_box(reply: Reply, started: bool) -> gr.ChatMessage:
    progress = reply.progress
    title = "Training"
    if progress is not None and progress.epoch == 0:
        title = "Training: waiting for a free slot"
    elif progress is not None:
        title = f"Training: epoch {progress.epoch} of {progress.epochs}"
        if progress.steps:
            title += f", {progress.fraction:.0%} done"
    return gr.ChatMessage(
        role="assistant",
        content=reply.text,
        metadata={"title": title, "status": "pending", "log": "Press Stop to end it early."},
    )


def lesson_map_markdown(tutor: Tutor, session: Session | None) -> str:
    """The side panel: all steps, the current one marked, visited and checked ones ticked."""
    rows = tutor.lesson_map(session) if session is not None else [
        {"id": state.id, "title": state.title, "current": False, "visited": False,
         "check_passed": False}
        for state in tutor.pack.states
    ]
    lines = [f"**{tutor.pack.title}**"]
    for number, row in enumerate(rows, start=1):
        marker = "▶" if row["current"] else ("✓" if row["visited"] else "○")
        title = f"**{row['title']}**" if row["current"] else row["title"]
        star = " ★" if row["check_passed"] else ""
        lines.append(f"{marker} {number}. {title}{star}")
    if session is not None:
        right, asked = session.flashcard_score
        if asked:
            lines.append(f"Flashcards: {right} of {asked} right")
    lines.append("<small>▶ you are here · ✓ visited · ★ check passed</small>")
    return "  \n".join(lines)


@dataclass
class _Chat:
    """One turn's view of a learner: their chat messages and session, and whether the page's
    `gr.State`s already hold these objects (then an update need not send them again)."""

    messages: list
    session: Session
    chat_stored: bool
    session_stored: bool


class TutorBlock:
    """The whole tutor, rendered inside whatever `gr.Blocks` is open when it is created.

        with gr.Blocks() as demo:
            TutorBlock(Tutor())
    """

    def __init__(self, tutor: Tutor | None = None, height: int = 640) -> None:
        self.tutor = tutor or Tutor()
        self.tutor.warm_up()
        # Many learners share this server: their figures are drawn in a helper process, so a
        # drawing never holds up another learner's turn (see tutor/figures/render.py).
        render.start_helper()
        self.tutor.train_in_processes()  # and their fits in worker processes
        self._render(height)

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
        self.learner = gr.BrowserState(None, storage_key="brain-tutor-learner-id")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                self.chatbot = gr.Chatbot(
                    label="Brain Tutor",
                    elem_id="tutor-chat",
                    height=height,
                    latex_delimiters=LATEX_DELIMITERS,
                    placeholder="Loading the first lesson...",
                    buttons=["copy"],
                    group_consecutive_messages=False,
                )
                with gr.Row():
                    self.textbox = gr.Textbox(
                        placeholder="Type 'next', a guess, a command or a question...",
                        label="Message to the tutor",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        max_length=4000,
                        autofocus=True,
                        elem_id="tutor-input",
                    )
                    self.pending = gr.Textbox(visible=False, label="message")
                    self.send = gr.Button("Send", variant="primary", scale=1, min_width=80)
                    self.stop = gr.Button("Stop training", variant="stop", scale=1, min_width=80)
                self._render_voice()
            with gr.Column(scale=1, min_width=240):
                self.status = gr.Markdown(tutor.status(), elem_id="status-line")
                self.lesson_map = gr.Markdown(lesson_map_markdown(tutor, None), elem_id="lesson-map")
                self.live_curve = gr.LinePlot(
                    x="epoch", y="accuracy", color="data", label="Live training curve",
                    show_label=False,  # a shown label pushes the legend out of the box
                    title="Live curve: accuracy per epoch", x_title="epoch", y_title="accuracy",
                    color_title="images", y_lim=[0, 1], height=300, elem_id="live-curve",
                    sort=EPOCH_ORDER,
                    color_map={"training": "#1f77b4", "validation": "#d95f02"},
                )
                with gr.Accordion("Try your own picture", open=False, elem_id="own-image"):
                    with gr.Tab("Upload or webcam"):
                        self.photo = gr.Image(
                            sources=["upload", "webcam", "clipboard"], type="numpy",
                            label="A photo of one piece of clothing", height=220,
                        )
                    with gr.Tab("Draw"):
                        self.sketch = gr.Sketchpad(
                            type="numpy", label="Draw an outline (dark on white)", height=220,
                            canvas_size=(280, 280),
                        )
                    self.predict_own = gr.Button("Predict my picture")
                self.export = gr.Button("Export my notebook", size="sm")
        self._wire()

    def _render_voice(self) -> None:
        """The microphone, the read-aloud toggle, its player and a line saying what voice can do.

        A missing engine hides the microphone (speech in) or disables the toggle (speech out),
        and the line under them says why; the toggle's choice is kept in the browser.
        """
        from tutor.speech import voice

        listen_problem, speak_problem = voice.transcription_problem(), voice.speech_problem()
        with gr.Row():
            self.microphone = gr.Audio(
                sources=["microphone", "upload"], type="filepath", label="Ask by voice",
                scale=3, elem_id="voice-in", visible=listen_problem is None,
            )
            with gr.Column(scale=2, min_width=160):
                self.read_aloud = gr.Checkbox(
                    False, label="Read replies aloud", elem_id="read-aloud",
                    interactive=speak_problem is None,
                    info=None if speak_problem is None else
                    "Unavailable: " + speak_problem.removeprefix("Replies can't be read aloud: "),
                )
                # the reply's sentences play one by one as they are made (VOICE_STREAM_JS);
                # the whole reply then lands in the player, to hear again
                self.voice_stream = gr.HTML("", html_template=VOICE_STREAM_TEMPLATE,
                                            js_on_load=VOICE_STREAM_JS, elem_id="voice-stream",
                                            visible=speak_problem is None)
                self.voice_out = gr.Audio(label="The tutor's voice (replay)", autoplay=False,
                                          interactive=False, elem_id="voice-out",
                                          visible=speak_problem is None)
        self.voice_note = gr.Markdown(_voice_note(listen_problem, speak_problem, voice.voice_status()),
                                      elem_id="voice-status")
        # the toggle's choice, kept in the browser for this learner (off on a first visit)
        self.read_aloud_saved = gr.BrowserState(False, storage_key="brain-tutor-read-aloud")

    def _wire(self) -> None:
        outputs = [self.chatbot, self.chat, self.session, self.lesson_map, self.live_curve, self.status,
                   self.learner]
        submit_kwargs: dict[str, Any] = {"concurrency_limit": None}
        # the box empties at once (so Enter cannot send a message twice); the turn reads the
        # message from a hidden field, which is also what the named API endpoint takes
        take = {"fn": _take_message, "inputs": [self.textbox], "outputs": [self.textbox, self.pending],
                "api_name": False, "queue": False}
        speak = {"fn": self._speak_last, "inputs": [self.session, self.read_aloud],
                 "outputs": [self.voice_stream, self.voice_out, self.status], "api_name": False}
        self.textbox.submit(**take).then(
            self._respond, [self.pending, self.chat, self.session], outputs,
            api_name="respond", **submit_kwargs,
        ).then(**speak)
        self.send.click(**take).then(
            self._respond, [self.pending, self.chat, self.session], outputs,
            api_name=False, **submit_kwargs,
        ).then(**speak)
        for event in (self.microphone.stop_recording, self.microphone.upload):
            event(
                self._voice, [self.microphone, self.chat, self.session], outputs,
                api_name=False, **submit_kwargs,
            ).then(**speak).then(lambda: None, None, self.microphone, api_name=False, queue=False)
        self.read_aloud.input(lambda on: bool(on), self.read_aloud, self.read_aloud_saved,
                              api_name=False, queue=False,
                              js="(on) => { if (!on) window.brainTutorVoice?.stop(); return on; }")
        self.chatbot.option_select(
            self._choose_option, [self.chat, self.session], outputs, api_name=False,
            **submit_kwargs,
        )
        self.stop.click(self._stop, [self.session], [self.status], api_name="stop", queue=False)
        self.export.click(
            self._export, [self.chat, self.session], outputs, api_name=False, **submit_kwargs,
        )
        self.predict_own.click(
            self._predict_own, [self.photo, self.sketch, self.chat, self.session], outputs,
            api_name="predict_own_image", **submit_kwargs,
        )

    def load_event(self, demo: gr.Blocks) -> None:
        """Open the first lesson step, or resume a returning learner, when the page loads."""
        demo.load(
            self._welcome,
            [self.chat, self.session, self.learner],
            [self.chatbot, self.chat, self.session, self.lesson_map, self.live_curve, self.status,
             self.learner],
            api_name="start",
        )
        demo.load(self._restore_read_aloud, [self.read_aloud_saved], [self.read_aloud],
                  api_name=False, queue=False)

    def _restore_read_aloud(self, saved: Any) -> Any:
        """The learner's read-aloud choice from earlier in their visit, if a voice can read."""
        from tutor.speech import voice

        return voice.can_speak() if saved else gr.skip()

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
            self.tutor.status() if status is None else status,
            chat.session.id,
        )
        chat.chat_stored = chat.session_stored = True  # from this update on, the States hold them
        return update

    def _open(self, history: list | None, session: Session | None, session_stored: bool = True
              ) -> _Chat:
        """This learner's chat (the list the State holds, now without old buttons) and session."""
        chat = _Chat(
            messages=history if history is not None else [],
            session=session or self.tutor.new_session(),
            chat_stored=history is not None,
            session_stored=session is not None and session_stored,
        )
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
    def _welcome(self, history: list | None, session: Session | None, learner_id: str | None
                 ) -> Iterator[tuple]:
        stored = session is not None
        chat = self._open(history, session or self.tutor.resume(learner_id), session_stored=stored)
        session = chat.session
        if chat.messages:
            yield self._out(chat, live_curve(session.history))
            return
        if session.state_id:  # a returning learner: their conversation, then where they were
            chat.messages.extend(
                gr.ChatMessage(role="user" if entry["role"] == "user" else "assistant",
                               content=_as_plain_text(entry["text"]) if entry["role"] == "user"
                               else entry["text"])
                for entry in session.transcript[-40:]
            )
            state = self.tutor.pack.get(session.state_id)
            right, asked = session.flashcard_score
            welcome = gr.ChatMessage(
                role="assistant",
                content=f"**Welcome back!** You were at **{state.title}**, with "
                f"{len(session.runs)} training run(s) and {right} of {asked} flashcards right. "
                "Carry on where you left off, or say `restart` to begin again.",
            )
            welcome.options = _options_payload(Reply(text="", options=self.tutor.agent.options_for(session)))
            chat.messages.append(welcome)
            yield self._out(chat, live_curve(session.history))
            return
        yield from self._turn(chat, self.tutor.stream(session, ""))

    def _choose_option(
        self, history: list, session: Session | None, event: gr.SelectData
    ) -> Iterator[tuple]:
        value = event.value
        message = value.get("value") if isinstance(value, dict) else value
        yield from self._respond(str(message or ""), history, session)

    def _predict_own(self, photo: Any, sketch: Any, history: list | None,
                     session: Session | None) -> Iterator[tuple]:
        chat = self._open(history, session)
        has_sketch = isinstance(sketch, dict) and any(
            sketch.get(key) is not None for key in ("composite", "background"))
        image = photo if photo is not None else (sketch if has_sketch else None)
        label = "(my photo)" if photo is not None else "(my drawing)"
        chat.messages.append(gr.ChatMessage(role="user", content=label))
        reply = self.tutor.predict_own_image(chat.session, image)
        messages = reply_to_messages(reply)
        if messages:
            messages[-1].options = _options_payload(reply)
        chat.messages.extend(messages)
        yield self._out(chat, live_curve(chat.session.history))

    def _voice(self, audio: Any, history: list | None, session: Session | None) -> Iterator[tuple]:
        """A recording, heard in the light of this turn (`Tutor.hear`): what it says is handled
        like typed text, or, when the tutor is not sure, it asks "Did you say ...?"."""
        from tutor.speech.voice import VoiceError

        if audio is None:
            return
        chat = self._open(history, session)
        try:
            heard = self.tutor.hear(chat.session, audio)
        except VoiceError as error:
            chat.messages.append(gr.ChatMessage(role="user", content="(a voice message)"))
            chat.messages.append(gr.ChatMessage(role="assistant", content=str(error)))
            yield self._out(chat, live_curve(chat.session.history))
            return
        if heard.message is not None:  # the bubble shows what was acted on
            yield from self._respond_in(chat, heard.message, heard.message)
            return
        # not sure what was said: ask, with the best guesses as buttons; nothing else happens
        reply = self.tutor.ask_what_was_said(chat.session, heard)
        chat.messages.append(gr.ChatMessage(role="user", content=_as_plain_text(heard.text)))
        messages = reply_to_messages(reply)
        if messages:
            messages[-1].options = _options_payload(reply)
        chat.messages.extend(messages)
        yield self._out(chat, live_curve(chat.session.history))

    def _speak_last(self, session: Session | None, read_aloud: bool) -> Iterator[tuple]:
        """With the toggle on, read the turn's last reply aloud (its prose, not its code).

        Streams: each piece of speech (the opening sentence first) goes to the page's player
        as soon as it is made, so the learner hears the reply while the rest is synthesised;
        the whole reply then goes to the replay player.
        """
        if not read_aloud or session is None:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        from tutor.speech import voice

        text = next((entry["text"] for entry in reversed(session.transcript)
                     if entry["role"] == "tutor"), "")
        turn, lines, pieces, rate = uuid.uuid4().hex[:12], [], [], 0
        try:
            for index, (rate, samples) in enumerate(voice.speak_stream(text)):
                pieces.append(samples)
                lines.append(_voice_clip(turn, index, rate, samples))
                yield "\n".join(lines), gr.skip(), gr.skip()
        except voice.VoiceError as error:
            yield gr.skip(), gr.skip(), f"Voice: {error}"
            if not pieces:
                return
        yield gr.skip(), (rate, np.concatenate(pieces)), gr.skip()

    def _export(self, history: list | None, session: Session | None) -> Iterator[tuple]:
        yield from self._respond("export my notebook", history, session)

    def _stop(self, session: Session | None) -> str:
        if session is not None and self.tutor.stop(session):
            return "Stopping the training after the current batch..."
        return "Nothing is training right now."

    def _respond(self, message: Any, history: list | None, session: Session | None) -> Iterator[tuple]:
        """Stream one turn: the learner's message, then each block and the training progress."""
        chat = self._open(history, session)
        text = message.get("text", "") if isinstance(message, dict) else str(message or "")
        yield from self._respond_in(chat, text)

    def _respond_in(self, chat: _Chat, text: str, shown: str | None = None) -> Iterator[tuple]:
        """The turn of `text` in an opened chat; `shown` is what the learner's bubble says."""
        shown = _as_plain_text(shown if shown is not None else text) or "(empty message)"
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
                box = _training_box(reply, box_index is not None)
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
                stopped = reply.progress is not None and reply.progress.stopped
                title = ("Training failed" if reply.kind == "error" else
                         "Training stopped" if stopped or "stopped" in reply.text[:80] else
                         "Training finished")
                previous = history[box_index]
                history[box_index] = gr.ChatMessage(
                    role="assistant",
                    content=previous.content if isinstance(previous, gr.ChatMessage) else "",
                    metadata={"title": title, "status": "done"},
                )
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
                    history[index].options = _options_payload(last_reply)
                    break
        yield self._out(chat, live_curve(session.history))


def _voice_clip(turn: str, index: int, rate: int, samples: np.ndarray) -> str:
    """One line of the streaming player's value: a piece of speech as a WAV data URL.

    The value grows by a line per piece (Gradio then sends only the new line), so a piece
    cannot be missed if the page takes two updates at once; `turn` tells a new reply apart.
    """
    from tutor.speech import voice

    audio = base64.b64encode(voice.wav_bytes(rate, samples)).decode("ascii")
    return json.dumps({"turn": turn, "index": index, "seconds": round(len(samples) / rate, 3),
                       "audio": f"data:audio/wav;base64,{audio}"})


def _voice_note(listen_problem: str | None, speak_problem: str | None, status: str) -> str:
    """The line under the voice controls: which engines run, or what is missing and why."""
    if listen_problem is None and speak_problem is None:
        return f"<small>{status}, offline. Record a question or upload a recording.</small>"
    parts = []
    if listen_problem is not None:
        parts.append(listen_problem.removeprefix("Speech input is off: ").rstrip(".")
                     .join(("Speech input is unavailable (", "), so there is no microphone; "
                            "type your questions instead.")))
    if speak_problem is not None:
        parts.append(speak_problem.removeprefix("Replies can't be read aloud: ").rstrip(".")
                     .join(("Replies can't be read aloud (", ").")))
    title = "Voice unavailable" if listen_problem and speak_problem else "Voice partly unavailable"
    return f"<small>**{title}.** {' '.join(parts)}</small>"


def _take_message(text: str) -> tuple[str, str]:
    return "", text


def _as_plain_text(text: str) -> str:
    """Show the learner's own words as text, never as HTML or Markdown that runs."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for character in "\\`*_{}[]()#+!|~":
        escaped = escaped.replace(character, "\\" + character)
    return escaped


def build_app(tutor: Tutor | None = None) -> gr.Blocks:
    """The standalone page: a header, the tutor block and a short footer."""
    with gr.Blocks(title=TITLE, fill_height=True) as demo:
        gr.Markdown(
            "# 🧠 Brain Tutor\nBuild a neural network that recognises clothing, one step at a "
            "time. Click the suggested steps, type a guess, or ask a question."
        )
        block = TutorBlock(tutor)
        block.load_event(demo)
    demo.queue(default_concurrency_limit=None)
    demo.tutor_block = block  # type: ignore[attr-defined]
    return demo


# Events Gradio runs at once, and threads for them (Gradio's default: 40). A turn holds one from
# the learner's message to its last update, and a training turn holds it while the training
# waits for a free slot and runs; with the default, a class of thirty, each also having their
# reply read aloud, would leave later messages waiting in Gradio's own queue.
MAX_EVENTS = 200


def launch(demo: gr.Blocks, **kwargs: Any) -> None:
    """Serve the page with the tutor's stylesheet; keyword arguments go to `Blocks.launch`."""
    kwargs.setdefault("max_threads", MAX_EVENTS)
    demo.launch(css=CSS, **kwargs)
