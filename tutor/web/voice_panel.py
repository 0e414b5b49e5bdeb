"""The page's voice controls: the microphone, the read-aloud toggle and its streaming player.

A part of `TutorBlock` (a mixin), kept apart from the chat: what is drawn for voice, how a
recording becomes a turn, and how a reply is read aloud piece by piece. The player runs in the
browser (static/voice.js). The speech engines are imported when first used, not with the page.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from tutor.session import Session
from tutor.web.messages import as_plain_text, options_payload, reply_to_messages
from tutor.web.panel import live_curve
from tutor.web.strings import text as say

if TYPE_CHECKING:
    from tutor.api import Tutor

STATIC = Path(__file__).parent / "static"
# The streaming read-aloud player (see `VoicePanel._speak_last` and static/voice.js).
VOICE_STREAM_TEMPLATE = '<div class="voice-stream" aria-hidden="true"></div>'
VOICE_STREAM_JS = (STATIC / "voice.js").read_text(encoding="utf-8")
# Switching the toggle off silences the player at once, before the server hears of it.
READ_ALOUD_JS = (STATIC / "read_aloud.js").read_text(encoding="utf-8").strip()


class VoicePanel:
    """The voice half of `TutorBlock`; the block provides `tutor`, its `chat`, `session` and
    `learner` states, `_open`, `_out` and `_respond_in` (a turn of the chat)."""

    tutor: Tutor

    def _render_voice(self) -> None:
        """The microphone, the read-aloud toggle, its player and a line saying what voice can do.

        A missing engine hides the microphone (speech in) or disables the toggle (speech out),
        and the line under them says why; the toggle's choice is kept in the browser.
        """
        from tutor.speech import synthesis, transcription, voice

        listen_problem, speak_problem = transcription.transcription_problem(), synthesis.speech_problem()
        with gr.Row():
            self.microphone = gr.Audio(
                sources=["microphone", "upload"], type="filepath", label=say("voice_in"),
                scale=3, elem_id="voice-in", visible=listen_problem is None,
            )
            with gr.Column(scale=2, min_width=160):
                self.read_aloud = gr.Checkbox(
                    False, label=say("read_aloud"), elem_id="read-aloud",
                    interactive=speak_problem is None,
                    info=None if speak_problem is None else  # the engine's reason, in English
                    "Unavailable: " + speak_problem.removeprefix("Replies can't be read aloud: "),
                )
                # the reply's sentences play one by one as they are made (VOICE_STREAM_JS);
                # the whole reply then lands in the player, to hear again
                self.voice_stream = gr.HTML("", html_template=VOICE_STREAM_TEMPLATE,
                                            js_on_load=VOICE_STREAM_JS, elem_id="voice-stream",
                                            visible=speak_problem is None)
                self.voice_out = gr.Audio(label=say("voice_replay"), autoplay=False,
                                          interactive=False, elem_id="voice-out",
                                          visible=speak_problem is None)
        self.voice_note = gr.Markdown(_voice_note(listen_problem, speak_problem, voice.voice_status()),
                                      elem_id="voice-status")
        # the toggle's choice, kept in the browser for this learner (off on a first visit)
        self.read_aloud_saved = gr.BrowserState(False, storage_key="brain-tutor-read-aloud")

    def _speak_event(self) -> dict[str, Any]:
        """The event that follows each turn: read its last reply aloud if the toggle is on."""
        return {"fn": self._speak_last, "inputs": [self.session, self.read_aloud],
                "outputs": [self.voice_stream, self.voice_out, self.status], "api_name": False}

    def _wire_voice(self, outputs: list, speak: dict[str, Any], submit_kwargs: dict[str, Any]) -> None:
        """A recording (stopped or uploaded) is a turn, then the microphone empties; the toggle's
        choice is saved in the browser."""
        for event in (self.microphone.stop_recording, self.microphone.upload):
            event(
                self._voice, [self.microphone, self.chat, self.session, self.learner], outputs,
                api_name=False, **submit_kwargs,
            ).then(**speak).then(lambda: None, None, self.microphone, api_name=False, queue=False)
        self.read_aloud.input(lambda on: bool(on), self.read_aloud, self.read_aloud_saved,
                              api_name=False, queue=False, js=READ_ALOUD_JS)

    def _restore_read_aloud(self, saved: Any) -> Any:
        """The learner's read-aloud choice from earlier in their visit, if a voice can read."""
        from tutor.speech import synthesis

        return synthesis.can_speak() if saved else gr.skip()

    def _voice(self, audio: Any, history: list | None, session: Session | None,
               learner_id: str | None = None) -> Iterator[tuple]:
        """A recording, heard in the light of this turn (`Tutor.hear`): what it says is handled
        like typed text, or, when the tutor is not sure, it asks "Did you say ...?"."""
        from tutor.speech.errors import VoiceError

        if audio is None:
            return
        chat = self._open(history, session, learner_id)
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
        chat.messages.append(gr.ChatMessage(role="user", content=as_plain_text(heard.text)))
        messages = reply_to_messages(reply)
        if messages:
            messages[-1].options = options_payload(reply)
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
        from tutor.speech import synthesis
        from tutor.speech.errors import VoiceError

        text = next((entry["text"] for entry in reversed(session.transcript)
                     if entry["role"] == "tutor"), "")
        turn, lines, pieces, rate = uuid.uuid4().hex[:12], [], [], 0
        try:
            for index, (rate, samples) in enumerate(synthesis.speak_stream(text)):
                pieces.append(samples)
                lines.append(_voice_clip(turn, index, rate, samples))
                yield "\n".join(lines), gr.skip(), gr.skip()
        except VoiceError as error:
            yield gr.skip(), gr.skip(), f"Voice: {error}"
            if not pieces:
                return
        yield gr.skip(), (rate, np.concatenate(pieces)), gr.skip()


def _voice_clip(turn: str, index: int, rate: int, samples: np.ndarray) -> str:
    """One line of the streaming player's value: a piece of speech as a WAV data URL.

    The value grows by a line per piece (Gradio then sends only the new line), so a piece
    cannot be missed if the page takes two updates at once; `turn` tells a new reply apart.
    """
    from tutor.speech import synthesis

    audio = base64.b64encode(synthesis.wav_bytes(rate, samples)).decode("ascii")
    return json.dumps({"turn": turn, "index": index, "seconds": round(len(samples) / rate, 3),
                       "audio": f"data:audio/wav;base64,{audio}"})


def _voice_note(listen_problem: str | None, speak_problem: str | None, status: str) -> str:
    """The line under the voice controls: which engines run, or what is missing and why."""
    if listen_problem is None and speak_problem is None:
        return f"<small>{status}, {say('voice_ready')}</small>"
    parts = []
    if listen_problem is not None:
        parts.append(listen_problem.removeprefix("Speech input is off: ").rstrip(".")
                     .join(("Speech input is unavailable (", "), so there is no microphone; "
                            "type your questions instead.")))
    if speak_problem is not None:
        parts.append(speak_problem.removeprefix("Replies can't be read aloud: ").rstrip(".")
                     .join(("Replies can't be read aloud (", ").")))
    title = "Voice unavailable" if listen_problem and speak_problem else "Voice partly unavailable"
    return f"<small>**{title}.** {' '.join(parts)}</small>"  # in English, as the engines' reasons
