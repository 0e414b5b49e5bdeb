"""The Tutor's voice: speech in and out for one learner's turn (a part of `tutor.api.Tutor`).

A mixin, kept apart from the chat: the Tutor provides `agent`, `pack`, `store` and `meaning`
(what a message does, so that rival phrases can be told apart). The speech engines are
imported when first used, never with the page.
"""

from __future__ import annotations

import logging
from typing import Any

from tutor.reply import Option, Reply
from tutor.session import Session

log = logging.getLogger(__name__)


class TutorVoice:
    """Speech to text and text to speech, in the light of the learner's turn."""

    agent: Any
    pack: Any
    store: Any
    _spoken_commands: tuple | None = None  # the spoken phrase table, read by the parser

    def meaning(self, message: str) -> str | None:  # provided by the Tutor
        raise NotImplementedError

    def voice_status(self) -> str:
        """One line: which voice engines run here, or why voice is off (loads nothing)."""
        from tutor.speech import voice

        return voice.voice_status()

    def transcribe(self, audio: object) -> str:
        """Speech to text, offline (faster-whisper); raises tutor.speech.errors.VoiceError with a
        friendly message for a missing engine or an empty, silent, long or unreadable recording."""
        from tutor.speech import transcription

        return transcription.transcribe(audio).text

    def expected_speech(self, session: Session) -> list:
        """What makes sense to say at this learner's turn (tutor.speech.spoken.expected_phrases)."""
        from tutor.speech import spoken

        if self._spoken_commands is None:  # built once: the table through the agent's parser
            self._spoken_commands = spoken.commands(self.meaning)
        return spoken.expected_phrases(
            commands=self._spoken_commands,
            options=[(option.label, option.message) for option in self.agent.options_for(session)],
            steps=[(state.id, state.title) for state in self.pack.states],
            card_pending=session.pending_card is not None,
        )

    def hear(self, session: Session, audio: object):
        """Speech to text in the light of this turn (tutor.speech.recognition.hear): a `Heard` whose
        `.message` is what to act on, or None with `.candidates` to ask about. Raises
        tutor.speech.errors.VoiceError like `transcribe`."""
        from tutor.speech import recognition

        return recognition.hear(audio, self.expected_speech(session), self.meaning)

    def ask_what_was_said(self, session: Session, heard) -> Reply:
        """The reply to a recording the tutor is not sure of: "Did you say **next**?" with the
        best candidates as buttons and the learner's own words; nothing else happens."""
        words = heard.text.strip() or "something I couldn't make out"
        candidates = list(heard.candidates)
        question = (f"Did you say **{candidates[0].message}**?" if candidates else
                    "I'm not sure what you said.")
        text = f"I heard \"{words}\". {question} Pick one, or say it again."
        options = [Option(candidate.message, candidate.message) for candidate in candidates]
        if heard.text.strip() and all(heard.text.strip().lower() != candidate.message
                                      for candidate in candidates):
            options.append(Option(f"No, I said: {heard.text.strip()[:60]}", heard.text.strip()))
        session.transcript.append({"role": "user", "text": f"(spoken) {words}"[:2000]})
        session.transcript.append({"role": "tutor", "text": text})
        self.store.save(session)
        return Reply(text=text, options=options, state=session.state_id, kind="help")

    def speak(self, text: str):
        """Read a reply's prose aloud, offline; returns a tutor.speech.synthesis.Speech (`.audio` plays
        in `gr.Audio`, `.write_wav(path)` saves it). Raises tutor.speech.errors.VoiceError when it cannot."""
        from tutor.speech import synthesis

        return synthesis.speak(text)


def warm_up_voice() -> None:
    """Load the voice engines that are installed; a missing one is reported by `voice_status`."""
    try:
        from tutor.speech import synthesis, transcription, voice

        if transcription.can_transcribe() or synthesis.can_speak():
            voice.warm_up()
    except Exception:  # never raised into a page: the first spoken turn will explain
        log.exception("voice warm-up failed")
