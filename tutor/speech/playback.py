"""Replies read aloud on this machine's own speakers, for the terminal chat (`--voice`).

A local player program (aplay, paplay, sox's play or ffplay) plays what `tutor.speech.synthesis`
made; `ReplyPlayer` does it in a thread, so the chat never waits for the sound.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tutor.speech import synthesis
from tutor.speech.errors import VoiceError, VoiceInputError
from tutor.speech.synthesis import Speech

log = logging.getLogger(__name__)

PLAYERS: list[list[str]] = [
    ["aplay", "-q"],
    ["paplay"],
    ["play", "-q"],
    ["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"],
]


def play(speech: Speech) -> bool:
    """Play through the first local player that works (aplay, paplay, sox play, ffplay).

    Blocks until the audio ends; returns False if no player is installed or none could play.
    """
    players = [player for player in PLAYERS if shutil.which(player[0])]
    if not players:
        return False
    with tempfile.TemporaryDirectory(prefix="brain-tutor-voice-") as folder:
        path = speech.write_wav(Path(folder) / "reply.wav")
        for player in players:
            try:
                result = subprocess.run([*player, str(path)], stdin=subprocess.DEVNULL,
                                        capture_output=True, timeout=speech.duration + 15, check=False)
            except (OSError, subprocess.TimeoutExpired) as error:
                log.info("%s could not play: %s", player[0], error)
                continue
            if result.returncode == 0:
                return True
            log.info("%s could not play (exit %s)", player[0], result.returncode)
    return False


def player_problem() -> str | None:
    """Why this machine cannot play sound itself (for the terminal chat), or None."""
    if any(shutil.which(player[0]) for player in PLAYERS):
        return None
    return ("no audio player is installed (Debian: apt-get install alsa-utils for aplay, "
            "pulseaudio-utils for paplay, sox for play, or ffmpeg for ffplay)")


class ReplyPlayer:
    """Reads replies aloud on this machine's speakers, one at a time, without blocking the caller.

        player = ReplyPlayer()
        if player.problem:  print(player.problem)    # why nothing will be heard
        player.say(reply.text)                       # returns at once; plays in a thread

    A reply that arrives while another is playing waits; older waiting replies are dropped, so
    the learner hears the latest. If playing fails (no sound device), `problem` says so and later
    replies are not tried.
    """

    def __init__(self) -> None:
        self.problem: str | None = synthesis.speech_problem() or (
            f"Replies can't be read aloud: {player_problem()}." if player_problem() else None)
        self._waiting: str | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.on_problem: Callable[[str], None] | None = None

    def say(self, text: str) -> None:
        """Queue `text` (Markdown) to be read aloud; returns at once."""
        if self.problem or not text.strip():
            return
        with self._wake:
            self._waiting = text
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="reply-player", daemon=True)
                self._thread.start()
            self._wake.notify()

    def wait(self, timeout: float | None = None) -> None:
        """Block until everything queued has been played (for tests and for the end of a chat)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread is not None and (self._waiting is not None or self._busy):
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.05)

    _busy = False

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._waiting is None:
                    self._wake.wait()
                text, self._waiting = self._waiting, None
                self._busy = True
            try:
                if self.problem is None and not play(synthesis.speak(text)):
                    self._fail("Replies can't be read aloud: no audio player could play sound "
                               "here (is there a sound device?).")
            except VoiceInputError:
                pass  # nothing to read in that reply (only code or a table)
            except VoiceError as error:
                self._fail(str(error))
            finally:
                self._busy = False

    def _fail(self, problem: str) -> None:
        self.problem = problem
        if self.on_problem is not None:
            self.on_problem(problem)
